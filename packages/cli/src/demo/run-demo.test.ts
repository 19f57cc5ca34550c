/**
 * runDemo against a real HTTP server on loopback: wire format, auth header,
 * gzip, Retry-After, a rejected token, and an unreachable server.
 */

import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { ExportLogsServiceRequest, ExportTraceServiceRequest } from './otlp-json.js';
import { runDemo, validateDemoOptions } from './run-demo.js';
import { OtlpHttpSender, parseRetryAfter } from './otlp-http-sender.js';

interface Recorded {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly answeredStatus: number;
  readonly at: number;
}

/** A loopback OTLP receiver that answers with `respond(index, path)` and records every request. */
async function startServer(respond: (index: number, path: string) => { status: number; headers?: Record<string, string>; body?: string }) {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      const answer = respond(requests.length, req.url ?? '');
      requests.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as unknown, answeredStatus: answer.status, at: Date.now() });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('runDemo', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('posts gzip OTLP JSON with the bearer token and retries a 429 after Retry-After', async () => {
    const server = await startServer((i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    closers.push(server.close);
    const errors: Error[] = [];
    const stats = await runDemo({ url: `${server.url}/`, token: 'demo-token', rate: 200, durationSec: 1.5, seed: 1, onError: (e) => errors.push(e) });

    assert.ok(server.requests.length >= 3, `${server.requests.length} requests`);
    for (const r of server.requests) {
      assert.equal(r.headers.authorization, 'Bearer demo-token');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.ok(r.path === '/v1/logs' || r.path === '/v1/traces', r.path);
    }
    const logs = server.requests.filter((r) => r.path === '/v1/logs').map((r) => r.body as ExportLogsServiceRequest);
    const traces = server.requests.filter((r) => r.path === '/v1/traces').map((r) => r.body as ExportTraceServiceRequest);
    assert.ok(logs.length > 0 && traces.length > 0);
    for (const body of logs) {
      assert.ok(Array.isArray(body.resourceLogs) && body.resourceLogs.length > 0);
      let count = 0;
      for (const rl of body.resourceLogs) {
        assert.ok(rl.resource.attributes.some((kv) => kv.key === 'k8s.pod.name' && typeof kv.value.stringValue === 'string'));
        for (const sl of rl.scopeLogs) {
          assert.equal(typeof sl.scope.name, 'string');
          for (const rec of sl.logRecords) {
            count++;
            assert.match(rec.timeUnixNano, /^\d+$/);
            assert.equal(typeof rec.severityNumber, 'number');
            assert.equal(typeof rec.body.stringValue, 'string');
            // Live records are stamped with the current time.
            assert.ok(Math.abs(Number(BigInt(rec.timeUnixNano) / 1_000_000n) - Date.now()) < 10 * 60_000);
          }
        }
      }
      assert.ok(count <= 1000, 'batches hold at most 1000 records');
    }
    for (const body of traces) for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) assert.match(span.traceId, /^[0-9a-f]{32}$/);

    // The first batch was refused with 429 and sent again, no sooner than a second later.
    const first = server.requests[0];
    assert.equal(first?.answeredStatus, 429);
    const retried = server.requests.slice(1).find((r) => r.path === first?.path && JSON.stringify(r.body) === JSON.stringify(first?.body));
    assert.ok(retried, 'the refused batch arrived again');
    assert.ok((retried?.at ?? 0) - (first?.at ?? 0) >= 950, 'after Retry-After');
    assert.ok(errors.some((e) => e.message.includes('429')), 'the 429 was reported');

    assert.ok(stats.requests > 150, `${stats.requests} requests`);
    assert.equal(stats.batchesFailed, 1);
    assert.equal(stats.batchesDropped, 0);
    assert.equal(stats.batchesSent, server.requests.length - 1);
    const sentRecords = logs.slice(0).reduce((n, b) => n + b.resourceLogs.reduce((m, rl) => m + rl.scopeLogs.reduce((k, sl) => k + sl.logRecords.length, 0), 0), 0);
    const firstRecords = first?.path === '/v1/logs' ? (first.body as ExportLogsServiceRequest).resourceLogs.reduce((m, rl) => m + rl.scopeLogs.reduce((k, sl) => k + sl.logRecords.length, 0), 0) : 0;
    assert.equal(stats.logRecords, sentRecords - firstRecords, 'acknowledged log records are counted once');
    assert.ok(stats.spans > 0);
  });

  it('stops at once with a clear error when the token is rejected', async () => {
    const server = await startServer(() => ({ status: 401, body: '{"error":"unauthorized"}' }));
    closers.push(server.close);
    const errors: Error[] = [];
    const started = Date.now();
    const stats = await runDemo({ url: server.url, token: 'wrong', rate: 50, durationSec: 30, seed: 2, gzip: false, onError: (e) => errors.push(e) });
    assert.ok(Date.now() - started < 5_000, 'did not run for the whole duration');
    assert.equal(stats.batchesSent, 0);
    assert.ok(server.requests.length >= 1 && server.requests.length <= 3, `${server.requests.length} requests`);
    assert.equal(server.requests[0]?.headers['content-encoding'], undefined, 'gzip off');
    assert.equal(errors.filter((e) => e.message.includes('401')).length, 1, 'one clear error');
    assert.match(errors[0]?.message ?? '', /token/);
  });

  it('reports failures to reach the server without throwing, and honours the abort signal', async () => {
    const server = await startServer(() => ({ status: 200 }));
    await server.close(); // nothing listens on that port any more
    const errors: Error[] = [];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 700);
    const stats = await runDemo({ url: server.url, token: 't', rate: 100, signal: controller.signal, seed: 3, onError: (e) => errors.push(e) });
    assert.ok(errors.length > 0, 'errors reported');
    assert.equal(stats.batchesSent, 0);
    assert.ok(stats.batchesFailed > 0);
    assert.ok(stats.requests > 0);
  });

  it('rejects options that cannot work', () => {
    assert.throws(() => validateDemoOptions({ url: 'not a url', token: 't', rate: 1 }), /url/);
    assert.throws(() => validateDemoOptions({ url: 'ftp://x', token: 't', rate: 1 }), /http/);
    assert.throws(() => validateDemoOptions({ url: 'http://x', token: '', rate: 1 }), /token/);
    assert.throws(() => validateDemoOptions({ url: 'http://x', token: 't', rate: 0 }), /rate/);
    assert.throws(() => validateDemoOptions({ url: 'http://x', token: 't', rate: 1, durationSec: -1 }), /durationSec/);
  });
});

describe('OtlpHttpSender', () => {
  it('parses Retry-After as seconds or a date', () => {
    assert.equal(parseRetryAfter('1', 0), 1000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfter(null, 0), undefined);
    assert.equal(parseRetryAfter('soon', 0), undefined);
  });

  it('keeps at most maxPendingBatches waiting and counts what it drops', async () => {
    const never: typeof fetch = () => new Promise<Response>(() => undefined);
    const errors: Error[] = [];
    const sender = new OtlpHttpSender({ url: 'http://127.0.0.1:9', token: 't', maxPendingBatches: 3, maxInFlight: 1, fetch: never, onError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) sender.enqueue('logs', { resourceLogs: [] }, 5);
    // One in flight, three waiting, six dropped oldest-first.
    assert.equal(sender.backlog, 4);
    assert.equal(sender.stats.batchesDropped, 6);
    assert.equal(sender.stats.recordsDropped, 30);
    assert.equal(errors.length, 1, 'overflow is reported once per interval, with totals');
    assert.match(errors[0]?.message ?? '', /not keeping up/);
    sender.close();
    assert.equal(sender.backlog, 1);
  });
});
