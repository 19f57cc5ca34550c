/**
 * Loki's query API as Grafana and logcli call it, against a real server
 * process over real sockets, checked against the shapes of Loki's HTTP API
 * reference: query_range (GET and form POST; streams, matrix; step,
 * interval, direction, stats), query (vector; log queries refused as Loki
 * does), labels and label values (with `query`), series (`match[]`
 * repeated), index/stats, index/volume(_range), format_query,
 * status/buildinfo, plain-text errors, `| trace_id="..."`, traces joined to
 * logs, and tenant isolation throughout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '@meshlog/server';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonTrace } from '../helpers/otlp-payloads.js';

const S = 1_000_000_000n;
let server: ServerProcess;
let otherToken: string;
/** A minute boundary ten minutes ago: every step test counts from it. */
const T = (BigInt(Math.floor(Date.now() / 60_000) * 60) - 600n) * S;
const TRACE = randomUUID().replaceAll('-', '');

async function push(token: string, streams: { stream: Record<string, string>; values: ([string, string] | [string, string, Record<string, string>])[] }[]): Promise<void> {
  const r = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ streams }) });
  assert.equal(r.status, 204, await r.text());
}

interface Answer {
  status: number;
  type: string;
  text: string;
  json: () => Record<string, unknown> & { status?: string; data?: unknown };
}

async function get(path: string, params: Record<string, string | string[]> = {}, token = server.token): Promise<Answer> {
  const u = new URL(server.url + path);
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
  const r = await fetch(u, { headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as never };
}

async function post(path: string, params: Record<string, string | string[]>, token = server.token): Promise<Answer> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  const r = await fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as never };
}

const ns = (t: bigint): string => t.toString();
const sec = (t: bigint): number => Number(t / 1_000_000n) / 1000;

before(async () => {
  const dataDir = join(tempDir(), 'data');
  mkdirSync(dataDir, { recursive: true });
  otherToken = new TokenStore(dataDir).create('other', ['analyst', 'ingester']);
  server = await startServerProcess({ dataDir });
  await push(server.token, [
    { stream: { app: 'steps', env: 'test' }, values: [[ns(T), 's0'], [ns(T + 30n * S), 's30'], [ns(T + 60n * S), 's60'], [ns(T + 61n * S), 's61']] },
    { stream: { app: 'web', env: 'prod' }, values: [[ns(T + 1n * S), 'GET /a 200'], [ns(T + 2n * S), 'GET /b 500', { trace_id: TRACE }], [ns(T + 3n * S), 'POST /c 200']] },
    { stream: { app: 'db', env: 'prod' }, values: [[ns(T + 4n * S), 'slow query']] },
  ]);
  await push(otherToken, [{ stream: { app: 'web', env: 'prod' }, values: [[ns(T + 5n * S), 'other tenant secret']] }]);
  // The trace's spans, for the traces+logs join.
  const spans = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: otlpJsonTrace(TRACE, { service: 'web' }).body });
  assert.equal(spans.status, 200);
});

after(async () => {
  await server?.stop();
});

const window = { start: ns(T - 60n * S), end: ns(T + 300n * S) };

test('query_range, log query: streams with Loki shape, newest first, stats; GET and form POST agree', async () => {
  const r = await get('/loki/api/v1/query_range', { query: '{env="prod"}', ...window, limit: '100' });
  assert.equal(r.status, 200, r.text);
  const body = r.json() as { status: string; data: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[]; stats: { summary: Record<string, number> } } };
  assert.equal(body.status, 'success');
  assert.equal(body.data.resultType, 'streams');
  const web = body.data.result.find((s) => s.stream['app'] === 'web' && s.stream['trace_id'] === undefined)!;
  assert.deepEqual(web.stream, { app: 'web', env: 'prod', service_name: 'web' });
  assert.deepEqual(web.values, [[ns(T + 3n * S), 'POST /c 200'], [ns(T + 1n * S), 'GET /a 200']], 'values are [ns string, line], newest first (direction=backward)');
  // Structured metadata is part of the stream's labels, as Loki 3 answers.
  assert.ok(body.data.result.some((s) => s.stream['trace_id'] === TRACE && s.values[0]![1] === 'GET /b 500'));
  assert.ok(!r.text.includes('other tenant secret'));
  for (const k of ['bytesProcessedPerSecond', 'linesProcessedPerSecond', 'totalBytesProcessed', 'totalLinesProcessed', 'execTime', 'queueTime', 'totalEntriesReturned']) {
    assert.equal(typeof body.data.stats.summary[k], 'number', `stats.summary.${k}`);
  }
  assert.equal(body.data.stats.summary['totalEntriesReturned'], 4);

  const form = await post('/loki/api/v1/query_range', { query: '{env="prod"}', ...window, limit: '100' });
  assert.equal(form.status, 200, form.text);
  assert.deepEqual((form.json() as { data: { result: unknown } }).data.result, body.data.result);

  const forward = await get('/loki/api/v1/query_range', { query: '{app="steps"}', ...window, direction: 'forward', limit: '2' });
  assert.deepEqual((forward.json() as { data: { result: { values: [string, string][] }[] } }).data.result[0]!.values.map((v) => v[1]), ['s0', 's30']);
});

test('query_range, interval: at most one entry per interval, from the first', async () => {
  const r = await get('/loki/api/v1/query_range', { query: '{app="steps"}', ...window, direction: 'forward', interval: '45s' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((r.json() as { data: { result: { values: [string, string][] }[] } }).data.result[0]!.values.map((v) => v[1]), ['s0', 's60']);
});

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];
const matrixOf = (a: Answer): Matrix => {
  assert.equal(a.status, 200, a.text);
  const d = (a.json() as { data: { resultType: string; result: Matrix } }).data;
  assert.equal(d.resultType, 'matrix');
  return d.result;
};

test('metric range queries: each step t covers (t - range, t], as Loki evaluates them', async () => {
  const q = (query: string, step: string) => get('/loki/api/v1/query_range', { query, start: ns(T), end: ns(T + 120n * S), step });
  // Entries at T, T+30, T+60, T+61: a window is open on the left, closed on the right.
  const byMinute = matrixOf(await q('count_over_time({app="steps"}[1m])', '60'));
  assert.deepEqual(byMinute, [{ metric: { app: 'steps', env: 'test', service_name: 'steps' }, values: [[sec(T), '1'], [sec(T + 60n * S), '2'], [sec(T + 120n * S), '1']] }]);
  const overlapping = matrixOf(await q('count_over_time({app="steps"}[1m])', '30s'));
  assert.deepEqual(overlapping[0]!.values, [[sec(T), '1'], [sec(T + 30n * S), '2'], [sec(T + 60n * S), '2'], [sec(T + 90n * S), '2'], [sec(T + 120n * S), '1']]);
  const rate = matrixOf(await q('rate({app="steps"}[1m])', '1m'));
  assert.deepEqual(rate[0]!.values.map((v) => v[1]), ['0.016666666666666666', '0.03333333333333333', '0.016666666666666666']);
  const bytes = matrixOf(await q('sum(bytes_over_time({app="steps"}[1m]))', '60'));
  assert.deepEqual(bytes, [{ metric: {}, values: [[sec(T), '2'], [sec(T + 60n * S), '6'], [sec(T + 120n * S), '3']] }]);
  // Default step from the range (max(floor(120 s / 250), 1 s) = 1 s): 121 points, every window holds an entry.
  const dflt = matrixOf(await get('/loki/api/v1/query_range', { query: 'count_over_time({app="steps"}[1m])', start: ns(T), end: ns(T + 120n * S) }));
  assert.equal(dflt[0]!.values.length, 121);
  assert.deepEqual(dflt[0]!.values[59], [sec(T + 59n * S), '2']);
  // sum by over streams and line filters.
  const byEnv = matrixOf(await q('sum by (env) (count_over_time({env=~"prod|test"} |= "s" [5m]))', '120'));
  assert.deepEqual(byEnv, [
    { metric: { env: 'prod' }, values: [[sec(T + 120n * S), '1']] },
    { metric: { env: 'test' }, values: [[sec(T), '1'], [sec(T + 120n * S), '4']] },
  ]);
});

test('instant queries: a vector at `time`; offset shifts the window; log queries refused as Loki does', async () => {
  const r = await get('/loki/api/v1/query', { query: 'count_over_time({app="steps"}[1m])', time: ns(T + 60n * S) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((r.json() as { data: unknown }).data, {
    resultType: 'vector',
    result: [{ metric: { app: 'steps', env: 'test', service_name: 'steps' }, value: [sec(T + 60n * S), '2'] }],
    stats: (r.json() as { data: { stats: unknown } }).data.stats,
  });
  const offset = await post('/loki/api/v1/query', { query: 'sum(count_over_time({app="steps"}[1m] offset 1m))', time: ns(T + 120n * S) });
  assert.deepEqual((offset.json() as { data: { result: unknown } }).data.result, [{ metric: {}, value: [sec(T + 120n * S), '2'] }]);
  const log = await get('/loki/api/v1/query', { query: '{app="steps"}' });
  assert.equal(log.status, 400);
  assert.match(log.type, /^text\/plain/);
  assert.equal(log.text, 'log queries are not supported as an instant query type, please change your query to a range query type');
});

test('errors are plain text with the status, as Loki writes them', async () => {
  const bad = await get('/loki/api/v1/query_range', { query: '{app="steps"' });
  assert.equal(bad.status, 400);
  assert.equal(bad.type, 'text/plain; charset=utf-8');
  assert.match(bad.text, /^parse error at line 1, col 13: /);
  const step = await get('/loki/api/v1/query_range', { query: 'count_over_time({app="steps"}[1m])', start: ns(T), end: ns(T + 3600n * S), step: '0.1' });
  assert.equal(step.status, 400);
  assert.equal(step.text, 'exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter');
  const order = await get('/loki/api/v1/query_range', { query: '{app="steps"}', start: ns(T), end: ns(T - S) });
  assert.equal(order.text, 'end timestamp must not be before or equal to start time');
  const noAuth = await fetch(`${server.url}/loki/api/v1/labels`);
  assert.equal(noAuth.status, 401);
  assert.equal(noAuth.headers.get('www-authenticate'), 'Bearer realm="meshlog"');
  assert.match(await noAuth.text(), /^missing credentials/);
});

test('labels and label values, optionally restricted by a selector', async () => {
  const all = await get('/loki/api/v1/labels', window);
  assert.deepEqual(all.json(), { status: 'success', data: ['app', 'env', 'service_name'] });
  const values = await get('/loki/api/v1/label/app/values', window);
  assert.deepEqual((values.json() as { data: string[] }).data, ['db', 'steps', 'web']);
  const restricted = await get('/loki/api/v1/label/app/values', { ...window, query: '{env="prod"}' });
  assert.deepEqual((restricted.json() as { data: string[] }).data, ['db', 'web']);
  const other = await get('/loki/api/v1/label/app/values', window, otherToken);
  assert.deepEqual((other.json() as { data: string[] }).data, ['web'], 'another tenant sees its own streams only');
});

test('series: match[] repeated (GET and form POST), label sets of the streams', async () => {
  const r = await get('/loki/api/v1/series', { 'match[]': ['{app="web"}', '{app="db"}'], ...window });
  assert.equal(r.status, 200, r.text);
  const data = (r.json() as { data: Record<string, string>[] }).data;
  assert.deepEqual(
    data.map((l) => l['app']).sort(),
    ['db', 'web'],
  );
  assert.deepEqual(data.find((l) => l['app'] === 'db'), { app: 'db', env: 'prod', service_name: 'db' });
  const form = await post('/loki/api/v1/series', { 'match[]': ['{env=~".+"}'], ...window });
  assert.equal((form.json() as { data: unknown[] }).data.length, 3);
});

test('index/stats, index/volume and index/volume_range', async () => {
  const stats = await get('/loki/api/v1/index/stats', { query: '{app="steps"}', ...window });
  const s = stats.json() as { streams: number; chunks: number; entries: number; bytes: number };
  assert.equal(s.streams, 1);
  assert.equal(s.entries, 4);
  assert.equal(s.bytes, 11);
  assert.ok(s.chunks >= 1);

  const volume = await get('/loki/api/v1/index/volume', { query: '{env=~".+"}', ...window });
  assert.equal(volume.status, 200, volume.text);
  const v = (volume.json() as { data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }).data;
  assert.equal(v.resultType, 'vector');
  assert.deepEqual(
    v.result.map((x) => [x.metric, x.value[1]]),
    [
      [{ env: 'prod' }, '41'],
      [{ env: 'test' }, '11'],
    ],
    'bytes per series of the labels the selector names, largest first',
  );
  const targeted = await get('/loki/api/v1/index/volume', { query: '{env="prod"}', targetLabels: 'app', ...window });
  assert.deepEqual((targeted.json() as { data: { result: { metric: unknown }[] } }).data.result.map((x) => x.metric), [{ app: 'web' }, { app: 'db' }]);
  const byLabel = await get('/loki/api/v1/index/volume', { query: '{env="prod"}', aggregateBy: 'labels', ...window });
  assert.deepEqual(
    (byLabel.json() as { data: { result: { metric: Record<string, string> }[] } }).data.result.map((x) => Object.keys(x.metric)[0]).sort(),
    ['app', 'env', 'service_name'],
  );
  const ranged = await get('/loki/api/v1/index/volume_range', { query: '{app="steps"}', start: ns(T), end: ns(T + 120n * S), step: '60' });
  const m = (ranged.json() as { data: { resultType: string; result: Matrix } }).data;
  assert.equal(m.resultType, 'matrix');
  assert.deepEqual(m.result, [{ metric: { app: 'steps' }, values: [[sec(T + 60n * S), '5'], [sec(T + 120n * S), '6']] }]);
});

test('format_query and status/buildinfo', async () => {
  assert.deepEqual((await get('/loki/api/v1/format_query', { query: '{foo=   "bar"}' })).json(), { status: 'success', data: '{foo="bar"}' });
  assert.deepEqual((await post('/loki/api/v1/format_query', { query: 'sum by(a)(rate({x="y"}|="z"[5m]))' })).json(), { status: 'success', data: 'sum by (a) (rate({x="y"} |= "z" [5m]))' });
  const info = (await get('/loki/api/v1/status/buildinfo')).json() as Record<string, string>;
  for (const k of ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']) assert.equal(typeof info[k], 'string', k);
  assert.match(info['version']!, /^3\./);
});

test('| trace_id="..." filters on the trace id; /api/v1/traces/{id}?logs=true joins spans and logs', async () => {
  const r = await get('/loki/api/v1/query_range', { query: `{env="prod"} | trace_id="${TRACE}"`, ...window });
  const streams = (r.json() as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } }).data.result;
  assert.deepEqual(
    streams.flatMap((s) => s.values.map((v) => v[1])),
    ['GET /b 500'],
  );
  const count = await get('/loki/api/v1/query', { query: `sum(count_over_time({env="prod"} | trace_id="${TRACE}" [1h]))`, time: ns(T + 300n * S) });
  assert.equal((count.json() as { data: { result: { value: [number, string] }[] } }).data.result[0]!.value[1], '1');

  const joined = await get(`/api/v1/traces/${TRACE}`, { logs: 'true' });
  assert.equal(joined.status, 200, joined.text);
  const j = joined.json() as { status: string; data: { traceId: string; spans: { traceId: string; id: string; name: string }[]; logs: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] } } };
  assert.equal(j.data.traceId, TRACE);
  assert.equal(j.data.spans.length, 3);
  assert.ok(j.data.spans.every((s) => s.traceId === TRACE));
  assert.equal(j.data.logs.resultType, 'streams');
  assert.deepEqual(j.data.logs.result.map((s) => [s.stream['app'], s.values.map((v) => v[1])]), [['web', ['GET /b 500']]]);
  const other = await get(`/api/v1/traces/${TRACE}`, { logs: 'true' }, otherToken);
  assert.equal(other.status, 404, 'another tenant does not see the trace');
});

test('pipelines beyond the store run in the LogQL evaluator: parsers, label filters, formats, metric queries over them', async () => {
  const re = '| regexp "(?P<method>\\\\w+) (?P<path>\\\\S+) (?P<status>\\\\d+)"';
  const errors = await get('/loki/api/v1/query_range', { query: `{app="web"} ${re} | status >= 500 | line_format "{{.method}} {{.path}} failed"`, ...window });
  assert.equal(errors.status, 200, errors.text);
  const streams = (errors.json() as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } }).data.result;
  assert.deepEqual(streams.map((s) => s.values.map((v) => v[1])), [['GET /b failed']]);
  assert.equal(streams[0]!.stream['status'], '500', 'parsed labels are part of the stream');
  const byMethod = await get('/loki/api/v1/query', { query: `sum by (method) (count_over_time({app="web"} ${re} [1h]))`, time: ns(T + 300n * S) });
  assert.equal(byMethod.status, 200, byMethod.text);
  assert.deepEqual((byMethod.json() as { data: { result: unknown } }).data.result, [
    { metric: { method: 'GET' }, value: [sec(T + 300n * S), '2'] },
    { metric: { method: 'POST' }, value: [sec(T + 300n * S), '1'] },
  ]);
  const bad = await get('/loki/api/v1/query_range', { query: '{app="web"} | line_format "{{.x"', ...window });
  assert.equal(bad.status, 400);
  assert.match(bad.type, /^text\/plain/);
});
