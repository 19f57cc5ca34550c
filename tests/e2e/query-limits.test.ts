/**
 * Query guardrails answer with an error that names the limit and how to
 * narrow the query: rows scanned, entries returned, time range.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

let server: ServerProcess;
before(async () => {
  const dir = tempDir();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'limits:\n  max_rows_to_read: 50\n  max_entries_limit: 20\n  max_query_range_hours: 48\n');
  server = await startServerProcess({ dataDir: join(dir, 'data'), args: ['--config', config] });
  const r = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: otlpJsonLogs(Array.from({ length: 200 }, (_, i) => `limited ${i}`), { service: 'limits' }),
  });
  assert.equal(r.status, 200);
});
after(async () => {
  await server.stop();
});

test('a query that would scan more rows than allowed gets limit_exceeded naming the setting', async () => {
  const res = await lokiQueryRange(server, '{service_name="limits"}', { limit: '10' });
  assert.equal(res.status, 400);
  const body = res.body as unknown as { error: string };
  assert.match(body.error, /max_rows_to_read/);
  assert.match(body.error, /narrow/);
});

test('limit above max_entries_limit and a range above max_query_range_hours are refused', async () => {
  const tooMany = await lokiQueryRange(server, '{service_name="limits"}', { limit: '21' });
  assert.equal(tooMany.status, 400);
  assert.match((tooMany.body as unknown as { error: string }).error, /max entries limit per query exceeded, limit > max_entries_limit_per_query \(21 > 20\); lower the limit \(limits\.max_entries_limit\)/);
  const tooLong = await lokiQueryRange(server, '{service_name="limits"}', { since: '72h', limit: '5' });
  assert.equal(tooLong.status, 400);
  assert.match((tooLong.body as unknown as { error: string }).error, /the query time range exceeds the limit \(query length: 72h0m0s, limit: 48h0m0s\); narrow start and end \(limits\.max_query_range_hours\)/);
});
