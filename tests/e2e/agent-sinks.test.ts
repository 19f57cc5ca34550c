/**
 * The agent's `loki` and `otlp` sinks end to end, and how every shipping
 * sink treats a destination's answers.
 *
 * Receiver: a real Grafana Loki or OpenTelemetry Collector binary cannot be
 * installed on this machine (Debian's `loki` package is an unrelated
 * pedigree-analysis tool, the Collector is not packaged, and npm has no
 * Loki or Collector server), so the receiver is our own `meshlog server`
 * child process, which implements Loki's push API (/loki/api/v1/push, JSON
 * + gzip as the sink sends it) and OTLP/HTTP (/v1/logs, protobuf + gzip).
 * A real `meshlog agent` child process tails real files into each sink;
 * the lines are read back through the server's Loki query API.
 *
 * The answer handling (Retry-After honoured, permanent errors never
 * retried) needs a destination that answers 429 and 400 on demand, so
 * there the receiver is a scripted HTTP server in this process (a real
 * socket; only its answers are scripted).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { freePort, linesOf, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';

const dir = tempDir('meshlog-agent-sinks-');
let server: ServerProcess;
const agents: AgentProcess[] = [];

before(async () => {
  server = await startServerProcess({ dataDir: join(dir, 'server') });
  writeFileSync(join(dir, 'token'), server.token);
});

after(async () => {
  for (const a of agents) await a.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startAgent(name: string, sinks: string, sources = 'files: { type: file, include: [FILE], start_at: beginning, poll_interval_ms: 50 }'): Promise<{ agent: AgentProcess; file: string }> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const file = join(d, 'app.log');
  writeFileSync(file, '');
  const port = await freePort();
  const config = join(d, 'agent.yaml');
  writeFileSync(config, `agent:\n  data_dir: ${join(d, 'data')}\n  http: { port: ${port} }\nsources:\n  ${sources.replace('FILE', file)}\nsinks:\n${sinks}`);
  const agent = await startAgentProcess(config, port);
  agents.push(agent);
  return { agent, file };
}

async function waitForQuery(query: string, want: number, timeoutMs = 60_000): Promise<Awaited<ReturnType<typeof lokiQueryRange>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await lokiQueryRange(server, query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (linesOf(res.body).length >= want || Date.now() > deadline) return res;
    await sleep(300);
  }
}

test('loki sink: tailed lines reach a Loki push API under the configured labels, attributes as structured metadata', { timeout: 120_000 }, async () => {
  const marker = randomUUID();
  const { agent, file } = await startAgent(
    'loki',
    `  loki:\n    type: loki\n    inputs: [files]\n    endpoint: ${server.url}\n    token_file: ${join(dir, 'token')}\n    labels: { job: agent-e2e, env: test }\n    initial_backoff_ms: 100\n`,
  );
  const lines = Array.from({ length: 500 }, (_, i) => `checkout ${i} ok ${marker}`);
  appendFileSync(file, lines.join('\n') + '\n');
  const res = await waitForQuery(`{job="agent-e2e", env="test"} |= "${marker}"`, lines.length);
  assert.deepEqual(linesOf(res.body).sort(), [...lines].sort());
  // The file's path travelled as structured metadata (Loki 3 puts it in the result's labels).
  const stream = res.body.data.result[0]!.stream;
  assert.equal(stream['job'], 'agent-e2e');
  assert.equal(stream['log_file_path'] ?? stream['log.file.path'], file);
  assert.equal(await agent.metric('meshlog_sink_delivered_records_total'), lines.length);
  assert.equal(await agent.metric('meshlog_sink_dead_letter_records_total'), 0);
});

test('otlp sink: tailed lines reach an OTLP/HTTP endpoint (/v1/logs) with their attributes', { timeout: 120_000 }, async () => {
  const marker = randomUUID();
  const { agent, file } = await startAgent(
    'otlp',
    `  otlp:\n    type: otlp\n    inputs: [files]\n    endpoint: ${server.url}\n    token_file: ${join(dir, 'token')}\n    initial_backoff_ms: 100\n`,
  );
  const lines = Array.from({ length: 500 }, (_, i) => `payment ${i} settled é ✓ ${marker}`);
  appendFileSync(file, lines.join('\n') + '\n');
  const res = await waitForQuery(`{service_name="unknown_service"} |= "${marker}"`, lines.length);
  assert.deepEqual(linesOf(res.body).sort(), [...lines].sort());
  const withPath = await lokiQueryRange(server, `{service_name="unknown_service"} |= "${marker}" | log_file_name="app.log"`);
  assert.equal(withPath.status, 200, JSON.stringify(withPath.body));
  assert.equal(linesOf(withPath.body).length, lines.length);
  assert.equal(await agent.metric('meshlog_sink_delivered_records_total'), lines.length);
});

/** A destination whose answers the test scripts; it records when each request came and what it carried. */
async function scriptedDestination(answer: (n: number) => { status: number; headers?: Record<string, string> }): Promise<{ url: string; requests: { at: number; records: number }[]; server: Server }> {
  const requests: { at: number; records: number }[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as { streams: { values: unknown[] }[] };
      requests.push({ at: Date.now(), records: body.streams.reduce((n, s) => n + s.values.length, 0) });
      const a = answer(requests.length);
      res.writeHead(a.status, a.headers ?? {}).end(a.status >= 400 ? 'scripted answer\n' : '');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, requests, server: srv };
}

test('a 429 with Retry-After: 3 is retried no sooner than 3 s later (the backoff alone would have been 100 ms), then delivered', { timeout: 120_000 }, async (t) => {
  const dest = await scriptedDestination((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 204 }));
  t.after(() => dest.server.close());
  const { agent, file } = await startAgent('retry-after', `  loki:\n    type: loki\n    inputs: [files]\n    endpoint: ${dest.url}\n    initial_backoff_ms: 100\n    max_backoff_ms: 200\n`);
  appendFileSync(file, 'one\ntwo\nthree\n');
  const deadline = Date.now() + 30_000;
  while (dest.requests.length < 2 && Date.now() < deadline) await sleep(100);
  assert.equal(dest.requests.length, 2, 'the request was tried again');
  // Behaviour, not speed: the second try waited for the destination's Retry-After rather than the configured 100-200 ms backoff.
  assert.ok(dest.requests[1]!.at - dest.requests[0]!.at >= 2900, `retried after ${dest.requests[1]!.at - dest.requests[0]!.at} ms`);
  assert.equal(dest.requests[1]!.records, 3);
  while ((await agent.metric('meshlog_sink_delivered_records_total')) < 3 && Date.now() < deadline) await sleep(100);
  assert.equal(await agent.metric('meshlog_sink_delivered_records_total'), 3);
  assert.equal(await agent.metric('meshlog_sink_retries_total', 'cause="http_429"'), 1);
});

test('a permanent error (400) is never retried: the request is dead-lettered, counted and logged, and later records still go', { timeout: 120_000 }, async (t) => {
  const dest = await scriptedDestination((n) => (n === 1 ? { status: 400 } : { status: 204 }));
  t.after(() => dest.server.close());
  const { agent, file } = await startAgent('permanent', `  loki:\n    type: loki\n    inputs: [files]\n    endpoint: ${dest.url}\n    initial_backoff_ms: 50\n    max_backoff_ms: 100\n`);
  appendFileSync(file, 'refused one\nrefused two\n');
  const deadline = Date.now() + 30_000;
  while ((await agent.metric('meshlog_sink_dead_letter_records_total', 'reason="http_400"')) < 2 && Date.now() < deadline) await sleep(100);
  assert.equal(await agent.metric('meshlog_sink_dead_letter_records_total', 'reason="http_400"'), 2);
  // Many backoff periods later, still exactly one request for those records.
  await sleep(1500);
  assert.equal(dest.requests.length, 1);
  assert.match(agent.output(), /refused a request for good/);
  appendFileSync(file, 'accepted three\n');
  while (dest.requests.length < 2 && Date.now() < deadline) await sleep(100);
  assert.equal(dest.requests.length, 2);
  assert.equal(dest.requests[1]!.records, 1);
  assert.equal(await agent.metric('meshlog_sink_retries_total'), 0);
});
