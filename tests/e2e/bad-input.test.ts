/**
 * Bad input gets a clear error naming the problem, and the server keeps
 * serving: malformed OTLP, a misspelled config key, missing credentials.
 * Also checks `/metrics` counts against what was sent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { freePort, linesOf, lokiQueryRange, runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

async function post(path: string, body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, ...headers }, body });
  return { status: r.status, text: await r.text() };
}

test('malformed OTLP gets a 400 that names the problem, and the server keeps serving', async () => {
  const badJson = await post('/v1/logs', '{"resourceLogs": [', { 'content-type': 'application/json' });
  assert.equal(badJson.status, 400);
  assert.match(badJson.text, /invalid JSON/);

  const badProto = await post('/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
  assert.equal(badProto.status, 400);

  const wrongType = await post('/v1/logs', 'hello', { 'content-type': 'text/plain' });
  assert.equal(wrongType.status, 400);
  assert.match((JSON.parse(wrongType.text) as { message: string }).message, /unsupported content type "text\/plain"/);

  const badTrace = await post('/v1/logs', otlpJsonLogs(['x'], { traceId: 'not-hex' }), { 'content-type': 'application/json' });
  assert.equal(badTrace.status, 200, 'a bad record is rejected via partial success, not the whole request');
  assert.match(badTrace.text, /"rejectedLogRecords":1/);
  assert.match(badTrace.text, /traceId: expected 32 hex digits/);

  const badGzip = await post('/v1/logs', Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(badGzip.status, 400);
  assert.match(badGzip.text, /cannot decompress gzip/);

  // Still serving, and gzip works.
  const marker = randomUUID();
  const ok = await post('/v1/logs', gzipSync(otlpJsonLogs([`after bad input ${marker}`])), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(ok.status, 200);
  const res = await lokiQueryRange(server, `{service_name="test-svc"} |= "${marker}"`);
  assert.deepEqual(linesOf(res.body), [`after bad input ${marker}`]);
});

test('bad queries get a 400 naming line and column', async () => {
  const res = await lokiQueryRange(server, '{service_name="x"');
  assert.equal(res.status, 400);
  // Loki's shape: the message alone, as plain text.
  assert.match(String((res.body as unknown as { error: string }).error), /^parse error at line 1, col \d+: /);
});

test('every API but /ready needs a token (including /metrics, which names tenants)', async () => {
  assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
  assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).status, 200);
  const noToken = await fetch(`${server.url}/loki/api/v1/labels`);
  assert.equal(noToken.status, 401);
  assert.equal(noToken.headers.get('www-authenticate'), 'Bearer realm="meshlog"');
  const wrong = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { authorization: 'Bearer mlk_wrong', 'content-type': 'application/json' }, body: otlpJsonLogs(['x']) });
  assert.equal(wrong.status, 401);
  // A tenant header is ignored: the tenant comes from the token.
  const scoped = await fetch(`${server.url}/loki/api/v1/labels`, { headers: { authorization: `Bearer ${server.token}`, 'x-scope-orgid': 'someone-else' } });
  assert.equal(scoped.status, 200);
});

test('/metrics counts what was received and stored, per component', async () => {
  const before = await metricValues();
  const n = 37;
  const r = await post('/v1/logs', otlpJsonLogs(Array.from({ length: n }, (_, i) => `metrics line ${i}`)), { 'content-type': 'application/json' });
  assert.equal(r.status, 200);
  const after = await metricValues();
  assert.equal(after.received('otlp') - before.received('otlp'), n);
  assert.equal(after.sent('otlp') - before.sent('otlp'), n);
  assert.equal(after.received('store') - before.received('store'), n);
  assert.equal(after.sent('store') - before.sent('store'), n);
});

test('/metrics shows the ingest WAL: what it holds, what the store took, whether the store refuses it', async () => {
  const r = await post('/v1/logs', otlpJsonLogs(['wal metrics line']), { 'content-type': 'application/json' });
  assert.equal(r.status, 200);
  // The store takes the acknowledged group shortly after the answer; wait until the applied sequence catches up.
  let text = '';
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  for (let i = 0; i < 100; i++) {
    text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
    if (value('meshlog_wal_applied_seq') === value('meshlog_wal_committed_seq')) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(value('meshlog_wal_committed_seq') >= 1, 'a group was committed');
  assert.equal(value('meshlog_wal_applied_seq'), value('meshlog_wal_committed_seq'), 'and taken by the store');
  assert.equal(value('meshlog_wal_backlog_records'), 0);
  assert.equal(value('meshlog_wal_failing_seconds'), 0);
  assert.equal(value('meshlog_wal_apply_failures_total'), 0);
  assert.ok(value('meshlog_wal_segments') >= 1);
});

async function metricValues(): Promise<{ received(id: string): number; sent(id: string): number }> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
  const read = (name: string, id: string): number => {
    const m = new RegExp(`^${name}\\{component_id="${id}"[^}]*\\} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { received: (id) => read('meshlog_component_received_records_total', id), sent: (id) => read('meshlog_component_sent_records_total', id) };
}

test('a config file with a misspelled key fails at start naming the key and its line', async () => {
  const dir = tempDir();
  const file = join(dir, 'meshlog.yaml');
  writeFileSync(file, `server:\n  http_port: ${await freePort()}\nsources:\n  otlp:\n    type: otlp\n    max_wiat_ms: 100\nsinks:\n  store:\n    type: store\n    inputs: [otlp]\n`);
  const r = await runCli(['server', '--config', file, '--data-dir', join(dir, 'data')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /sources\.otlp\.max_wiat_ms: unknown key "max_wiat_ms"; did you mean "max_wait_ms"\? \(line 6, column 5\)/);
});
