/**
 * Query guardrails added with the complete Loki API, against real server
 * processes: series per metric query (`limits.max_query_series`, on the
 * fast path and in the evaluator, and for volume queries), concurrent tails
 * per identity (`limits.max_concurrent_tail_requests`), bytes scanned
 * (`limits.max_bytes_to_read`). Each refusal is Loki's plain text and names
 * the limit and how to narrow the query.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { openTail, TailRefused } from '../helpers/loki-tail-client.js';

let server: ServerProcess;
let bytesServer: ServerProcess;

async function push(s: ServerProcess, streams: { stream: Record<string, string>; lines: string[] }[]): Promise<void> {
  const now = BigInt(Date.now() - 60_000) * 1_000_000n;
  const r = await fetch(`${s.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ streams: streams.map((x) => ({ stream: x.stream, values: x.lines.map((l, i) => [String(now + BigInt(i)), l]) })) }),
  });
  assert.equal(r.status, 204);
}

async function get(s: ServerProcess, path: string, params: Record<string, string>): Promise<{ status: number; type: string; text: string }> {
  const u = new URL(s.url + path);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const r = await fetch(u, { headers: { authorization: `Bearer ${s.token}` } });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

before(async () => {
  const dir = tempDir();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'limits:\n  max_query_series: 2\n  max_concurrent_tail_requests: 1\n');
  const bytesConfig = join(dir, 'bytes.yaml');
  writeFileSync(bytesConfig, 'limits:\n  max_bytes_to_read: 2000\n');
  [server, bytesServer] = await Promise.all([
    startServerProcess({ dataDir: join(dir, 'data'), args: ['--config', config] }),
    startServerProcess({ dataDir: join(dir, 'bytes'), args: ['--config', bytesConfig] }),
  ]);
  await push(server, ['a', 'b', 'c'].map((app) => ({ stream: { app, env: 'prod' }, lines: [`level=info app=${app}`, `level=error app=${app}`] })));
  await push(bytesServer, [{ stream: { app: 'big' }, lines: Array.from({ length: 50 }, (_, i) => `${i} ${'x'.repeat(200)}`) }]);
});

after(async () => {
  await Promise.all([server?.stop(), bytesServer?.stop()]);
});

test('a metric query with more series than max_query_series is refused, naming the limit and how to narrow it', async () => {
  for (const query of [
    'count_over_time({env="prod"}[5m])', // the fast path
    'count_over_time({env="prod"} | logfmt [5m])', // the evaluator
  ]) {
    const r = await get(server, '/loki/api/v1/query', { query });
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.equal(r.type, 'text/plain; charset=utf-8');
    assert.match(r.text, /^maximum number of series \(2\) reached for a single query; consider reducing query cardinality by adding more specific stream selectors/);
    assert.match(r.text, /\(limits\.max_query_series\)$/);
  }
  // Aggregated below the limit, the same data is fine.
  const summed = await get(server, '/loki/api/v1/query', { query: 'sum by (env) (count_over_time({env="prod"}[5m]))' });
  assert.equal(summed.status, 200, summed.text);
  const volume = await get(server, '/loki/api/v1/index/volume', { query: '{app=~".+"}' });
  assert.equal(volume.status, 400);
  assert.match(volume.text, /max number of series limit \(limit: 2 series\).*limits\.max_query_series/);
});

function tail(s: ServerProcess): Promise<{ ws: WebSocket } | { status: number; body: string }> {
  return openTail(s.url, '{env="prod"}', s.token).then(
    ({ ws }) => ({ ws }),
    (err: unknown) => {
      if (err instanceof TailRefused) return { status: err.status, body: err.body };
      throw err;
    },
  );
}

test('tails beyond max_concurrent_tail_requests per identity are refused until one closes', async () => {
  const first = await tail(server);
  assert.ok('ws' in first);
  const second = await tail(server);
  assert.ok('status' in second);
  assert.equal(second.status, 400);
  assert.equal(second.body, 'max concurrent tail requests limit exceeded, count > limit (2 > 1); close another tail of this identity first (limits.max_concurrent_tail_requests)');
  const closed = new Promise((r) => first.ws.once('close', r));
  first.ws.close();
  await closed;
  // The slot is released when the server sees the close.
  let third: Awaited<ReturnType<typeof tail>> = { status: 0, body: '' };
  for (let i = 0; i < 20; i++) {
    third = await tail(server);
    if ('ws' in third) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok('ws' in third, JSON.stringify(third));
  third.ws.close();
});

test('a query that would read more bytes than max_bytes_to_read is refused naming that setting', async () => {
  const r = await get(bytesServer, '/loki/api/v1/query_range', { query: '{app="big"}', since: '1h' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /^the query would read too many bytes: it exceeds limits\.max_bytes_to_read .*; narrow the time range or add label matchers/);
});
