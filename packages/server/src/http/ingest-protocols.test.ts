/**
 * The HEC, Datadog and Zipkin sources behind the real server stack (auth
 * hook, ingest host, error handler, store), driven in-process with
 * `inject`: each protocol's own answers for success, bad input,
 * authentication and limits. Real clients over real sockets are in
 * tests/e2e.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger } from '@meshlog/core';
import { loadServerConfig } from '../config/server-config.js';
import { serverRegistry } from '../registry.js';
import { startServer, type RunningServer } from '../server.js';

let server: RunningServer;
let token: string;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-ingest-protocols-'));
  const file = join(dir, 'meshlog.yaml');
  writeFileSync(file, 'server:\n  max_request_bytes: 8000000\n');
  const config = loadServerConfig(file, { dataDir: join(dir, 'data'), httpPort: 0 }, serverRegistry);
  server = await startServer(config, createLogger({ write: () => undefined }));
  token = readFileSync(server.adminTokenPath, 'utf8').trim();
});
after(async () => {
  await server?.stop();
});

type Headers = Record<string, string>;
async function post(url: string, body: string | Buffer, headers: Headers = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const r = await server.http.inject({ method: 'POST', url, payload: body, headers });
  return { status: r.statusCode, headers: r.headers, body: r.body };
}

test('Splunk HEC: Splunk token forms, Splunk answers, all or nothing', async () => {
  const ev = '{"event":"hello hec","sourcetype":"hec-unit"}';
  assert.deepEqual(await post('/services/collector/event', ev).then((r) => [r.status, JSON.parse(r.body)]), [401, { text: 'Token is required', code: 2 }]);
  // Basic auth carries the token as its password (as for Loki and Elasticsearch clients): a wrong one is an invalid token.
  assert.deepEqual(await post('/services/collector/event', ev, { authorization: 'Basic Zm9vOmJhcg==' }).then((r) => [r.status, JSON.parse(r.body)]), [403, { text: 'Invalid token', code: 4 }]);
  assert.deepEqual(await post('/services/collector/event', ev, { authorization: 'Digest x' }).then((r) => [r.status, JSON.parse(r.body)]), [401, { text: 'Invalid authorization', code: 3 }]);
  assert.deepEqual(await post('/services/collector/event', ev, { authorization: 'Splunk not-a-token' }).then((r) => [r.status, JSON.parse(r.body)]), [403, { text: 'Invalid token', code: 4 }]);

  for (const [path, auth] of [
    ['/services/collector/event', `Splunk ${token}`],
    ['/services/collector', `Bearer ${token}`],
    ['/services/collector/event/1.0', `Splunk ${token}`],
  ] as const) {
    const ok = await post(path, ev, { authorization: auth, 'x-splunk-request-channel': '0a1b2c3d-0000-4000-8000-000000000001' });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, '{"text":"Success","code":0}');
  }
  const timed = '{"time":1700000000.5,"event":"timed hec","sourcetype":"hec-unit"}';
  for (let i = 0; i < 2; i++) assert.equal((await post('/services/collector/event', timed, { authorization: `Splunk ${token}` })).status, 200);
  const gz = await post('/services/collector/raw?sourcetype=hec-unit&host=h1&channel=0a1b2c3d-0000-4000-8000-000000000001', gzipSync('raw one\nraw two\n'), { authorization: `Splunk ${token}`, 'content-encoding': 'gzip' });
  assert.equal(gz.status, 200, gz.body);

  const bad = await post('/services/collector/event', '{"event":"a"}\n{"event":"b"}\n{"event":"c","time":"noon"}', { authorization: `Splunk ${token}` });
  assert.equal(bad.status, 400);
  assert.equal(bad.body, '{"text":"Invalid data format","code":6,"invalid-event-number":2}');
  assert.match(String(bad.headers['x-meshlog-error']), /event 2: "time" must be epoch seconds/);

  const auth = { authorization: `Splunk ${token}` };
  assert.deepEqual(await post('/services/collector/event', '', auth).then((r) => [r.status, JSON.parse(r.body)]), [400, { text: 'No data', code: 5 }]);
  assert.deepEqual(await post('/services/collector/event', '{"host":"x"}', auth).then((r) => [r.status, JSON.parse(r.body)]), [400, { text: 'Event field is required', code: 12, 'invalid-event-number': 0 }]);
  assert.deepEqual(await post('/services/collector/event', ev, { ...auth, 'x-splunk-request-channel': 'nope' }).then((r) => [r.status, JSON.parse(r.body)]), [400, { text: 'Invalid data channel', code: 11 }]);
  assert.deepEqual(await post('/services/collector/event', Buffer.from('not gzip'), { ...auth, 'content-encoding': 'gzip' }).then((r) => [r.status, JSON.parse(r.body)]), [400, { text: 'Invalid data format', code: 6 }]);
  assert.deepEqual(await post('/services/collector/ack', '{"acks":[0]}', auth).then((r) => [r.status, JSON.parse(r.body)]), [400, { text: 'ACK is disabled', code: 14 }]);
  const huge = await post('/services/collector/event', Buffer.alloc(8_100_000, 0x20), auth);
  assert.equal(huge.status, 413);
  assert.deepEqual(JSON.parse(huge.body), { text: 'Invalid data format', code: 6 });

  const health = await server.http.inject({ method: 'GET', url: '/services/collector/health', headers: auth });
  assert.deepEqual([health.statusCode, JSON.parse(health.body)], [200, { text: 'HEC is healthy', code: 17 }]);

  // The all-or-nothing request stored nothing; the good ones are all there.
  const q = await server.http.inject({ method: 'GET', url: `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="hec-unit"}')}&since=1h`, headers: { authorization: `Bearer ${token}` } });
  const lines = (JSON.parse(q.body) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap((s) => s.values.map((v) => v[1]));
  assert.deepEqual(lines.sort(), ['hello hec', 'hello hec', 'hello hec', 'raw one', 'raw two'], 'untimed events sent three times are three events');
  const old = await server.http.inject({ method: 'GET', url: `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="hec-unit"}')}&start=1699999999&end=1700000001`, headers: { authorization: `Bearer ${token}` } });
  const oldLines = (JSON.parse(old.body) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap((s) => s.values.map((v) => v[1]));
  assert.deepEqual(oldLines, ['timed hec'], 'a resent request of timed events is stored once');
});

test('the Splunk scheme is accepted only on HEC routes; other APIs keep their JSON errors', async () => {
  const r = await server.http.inject({ method: 'GET', url: '/api/v2/trace/0123456789abcdef', headers: { authorization: `Splunk ${token}` } });
  assert.equal(r.statusCode, 401);
  const body = JSON.parse(r.body) as { status: string; errorType: string; error: string };
  assert.equal(body.errorType, 'unauthenticated');
  assert.match(body.error, /unsupported Authorization header: send "Authorization: Bearer <token>"/);
  const dd = await server.http.inject({ method: 'GET', url: '/loki/api/v1/labels', headers: { 'dd-api-key': token } });
  assert.equal(dd.statusCode, 401);
});

test('Datadog: DD-API-KEY, 202 {}, 400 for bad JSON, 413 over the limits, 401/403 for keys', async () => {
  const logs = JSON.stringify([{ message: 'dd unit', status: 'warn', service: 'dd-unit', hostname: 'h', ddsource: 'go', ddtags: 'env:test', timestamp: Date.now() }]);
  const key = { 'dd-api-key': token, 'content-type': 'application/json' };
  const ok = await post('/api/v2/logs', gzipSync(logs), { ...key, 'content-encoding': 'gzip' });
  assert.deepEqual([ok.status, ok.body], [202, '{}']);
  const retry = await post('/api/v2/logs', gzipSync(logs), { ...key, 'content-encoding': 'gzip' });
  assert.equal(retry.status, 202, 'a resent request of timestamped logs is acknowledged again (and stored once)');
  for (let i = 0; i < 2; i++) assert.equal((await post('/v1/input?service=dd-unit&ddtags=env:test', 'dd unit v1 line', { ...key, 'content-type': 'text/plain' })).status, 202);
  assert.deepEqual(await post('/api/v2/logs', '{}', key).then((r) => [r.status, r.body]), [202, '{}'], "the Agent's connectivity check");
  assert.equal((await post('/api/v2/logs', logs.replace('dd unit', 'dd unit bearer'), { authorization: `Bearer ${token}` })).status, 202);

  const missing = await post('/api/v2/logs', logs);
  assert.equal(missing.status, 401);
  assert.match((JSON.parse(missing.body) as { errors: string[] }).errors[0]!, /a "dd-api-key" header/);
  assert.equal((await post('/api/v2/logs', logs, { 'dd-api-key': 'wrong' })).status, 403);
  const bad = await post('/api/v2/logs', '[{"message":', key);
  assert.equal(bad.status, 400);
  assert.match((JSON.parse(bad.body) as { errors: string[] }).errors[0]!, /invalid JSON/);
  assert.equal((await post('/api/v2/logs', Buffer.alloc(5 * 1024 * 1024 + 1, 0x20), key)).status, 413);
  assert.equal((await post('/api/v2/logs', JSON.stringify(Array.from({ length: 1001 }, () => ({ message: 'x' }))), key)).status, 413);

  const q = await server.http.inject({ method: 'GET', url: `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="dd-unit", deployment_environment_name="test"}')}&since=1h`, headers: { authorization: `Bearer ${token}` } });
  const lines = (JSON.parse(q.body) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap((s) => s.values.map((v) => v[1]));
  assert.deepEqual(lines.sort(), ['dd unit', 'dd unit bearer', 'dd unit v1 line', 'dd unit v1 line'], 'untimed lines sent twice are two logs; a retry of timestamped logs is one');
});

test('Zipkin: 202 with no body, 400 naming span and field in text, 401 and 415', async () => {
  const spans = [{ traceId: 'aaaaaaaaaaaaaaaa', id: 'bbbbbbbbbbbbbbbb', name: 'unit', timestamp: 1_700_000_000_000_000, duration: 10, localEndpoint: { serviceName: 'zipkin-unit' } }];
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const ok = await post('/api/v2/spans', JSON.stringify(spans), auth);
  assert.deepEqual([ok.status, ok.body], [202, '']);
  const bad = await post('/api/v2/spans', JSON.stringify([...spans, { traceId: 'zz', id: 'b' }]), auth);
  assert.equal(bad.status, 400);
  assert.equal(bad.body, 'spans[1].traceId: expected 16 or 32 hex characters, got "zz"\n');
  const unauth = await post('/api/v2/spans', JSON.stringify(spans), { 'content-type': 'application/json' });
  assert.equal(unauth.status, 401);
  assert.match(String(unauth.headers['content-type']), /text\/plain/);
  assert.equal(unauth.headers['www-authenticate'], 'Bearer realm="meshlog"');
  assert.equal((await post('/api/v2/spans', '<spans/>', { ...auth, 'content-type': 'text/xml' })).status, 415);

  const trace = await server.http.inject({ method: 'GET', url: '/api/v2/trace/aaaaaaaaaaaaaaaa', headers: auth });
  assert.equal(trace.statusCode, 200, trace.body);
  assert.deepEqual(JSON.parse(trace.body), [{ traceId: 'aaaaaaaaaaaaaaaa', id: 'bbbbbbbbbbbbbbbb', name: 'unit', timestamp: 1_700_000_000_000_000, duration: 10, localEndpoint: { serviceName: 'zipkin-unit' } }]);
});
