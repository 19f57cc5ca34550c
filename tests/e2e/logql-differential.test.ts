/**
 * Differential test of LogQL: every language feature is run (a) through a
 * real server's Loki API (selectors, head line filters and trace ids in
 * ClickHouse; metric fast path as one GROUP BY; the evaluator over paged
 * entries for the rest) and (b) through `evaluate()` over a plain in-memory
 * list of the same records, and the two JSON answers must be identical:
 * same streams and series, same entries, same sample value at every step.
 *
 * The fixture is ~3,000 records over 30 minutes, each at its own known
 * nanosecond (no ties, so `limit` cuts the same entries on both sides), in
 * several streams: JSON application lines, Istio-style access lines
 * (status, bytes, duration), logfmt, packed (`| unpack`) lines and plain
 * text with ANSI colours and IP addresses; attributes become structured
 * metadata and some records carry trace and span ids.
 *
 * The reference derives labels on its own, from the rules the server
 * documents (packages/server/README.md "Loki's query API"): stream labels
 * are the promoted resource attributes under label-safe names, structured
 * metadata the record attributes under label-safe names plus trace_id and
 * span_id. Nothing of the server's code is used on side (b).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, parse, type EntryRequest, type EntrySource, type LogEntry, type QueryResult } from '@meshlog/logql';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const S = 1_000_000_000n;
const MS = 1_000_000n;
/** A minute boundary 40 minutes ago: the fixture spans [T0, T0 + 30m). */
const T0 = (BigInt(Math.floor(Date.now() / 60_000) * 60) - 2400n) * S;
const N = 3000;

interface Fixture {
  ts: bigint;
  line: string;
  resource: Record<string, string>;
  attributes: Record<string, string>;
  traceId: string;
  spanId: string;
}

const hex = (n: number, len: number): string => (n.toString(16).repeat(len)).slice(0, len).padStart(len, '0');

const PATHS = ['/api/users', '/api/orders', '/healthz', '/api/cart', '/static/app.js'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUSES = [200, 200, 200, 201, 204, 301, 404, 429, 500, 503];
const LEVELS = ['info', 'info', 'debug', 'warn', 'error'];

function fixture(): Fixture[] {
  const out: Fixture[] = [];
  for (let i = 0; i < N; i++) {
    // Strictly increasing, unique nanoseconds; some exactly on second boundaries.
    const ts = T0 + BigInt(i) * 600n * MS + (i % 17 === 0 ? 0n : BigInt((i * 7919) % 599_000) * 1000n + BigInt(i % 997));
    const kind = i % 6;
    const status = STATUSES[(i * 7) % STATUSES.length]!;
    const method = METHODS[i % METHODS.length]!;
    const path = PATHS[(i * 3) % PATHS.length]!;
    const level = LEVELS[(i * 3 + (i >> 2)) % LEVELS.length]!;
    /** Varies within each stream (a stream is every sixth record). */
    const j = Math.floor(i / 6);
    const latency = ((i * 37) % 2000) / 10;
    const bytes = (i * 131) % 50_000;
    const attributes: Record<string, string> = {};
    if (i % 3 === 0) attributes['http.request.method'] = method;
    if (i % 5 === 0) attributes['user.id'] = `u${i % 7}`;
    if (i % 11 === 0) attributes['tier'] = i % 2 === 0 ? 'gold' : 'silver';
    const traceId = i % 10 === 0 ? hex(1 + (i % 4), 32) : '';
    const spanId = traceId !== '' ? hex(100 + (i % 7), 16) : '';
    let resource: Record<string, string>;
    let line: string;
    switch (kind) {
      case 0:
      case 1:
        resource = { 'service.name': 'api', 'k8s.namespace.name': kind === 0 ? 'prod' : 'dev', 'deployment.environment': kind === 0 ? 'production' : 'development' };
        line = JSON.stringify({ level, status, latency_ms: latency, method, path, user: { id: `u${i % 7}`, plan: i % 2 === 0 ? 'free' : 'pro' }, msg: `handled ${method} ${path}`, size: `${(bytes / 1000).toFixed(1)}KB`, took: `${latency}ms` });
        break;
      case 2:
        resource = { 'service.name': 'istio-proxy', 'k8s.namespace.name': 'prod' };
        line = `[2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z] "${method} ${path} HTTP/1.1" ${status} - via_upstream - "-" ${bytes % 900} ${bytes} ${Math.round(latency)} ${Math.round(latency / 2)} "10.0.${j % 4}.${i % 250}" "curl/8.${i % 3}" "req-${i}" "shop.example" "10.1.${i % 3}.${(i * 3) % 250}:8080"`;
        break;
      case 3:
        resource = { 'service.name': 'worker', 'k8s.namespace.name': 'staging' };
        line = `level=${level} msg="job ${i % 9 === 0 ? 'failed' : 'done'}" queue=${j % 2 === 0 ? 'emails' : 'reports'} duration=${latency}ms size=${(bytes / 1000).toFixed(1)}KB attempt=${1 + (j % 3)} ratio=${(i % 100) / 100}`;
        break;
      case 4:
        resource = { 'service.name': 'db', 'k8s.namespace.name': 'staging' };
        line = i % 4 === 0 ? `\u001b[31mERROR\u001b[0m connection from 192.168.${i % 3}.${i % 200} refused after ${Math.round(latency)}ms` : `\u001b[32mINFO\u001b[0m query ok from 10.${i % 5}.0.${i % 100} rows=${i % 40} took ${Math.round(latency)}ms`;
        break;
      default:
        resource = { 'service.name': 'packed', 'k8s.namespace.name': 'prod' };
        line = JSON.stringify({ _entry: `${level} packed line ${i} status=${status}`, pod: `pod-${j % 3}`, container: j % 2 === 0 ? 'app' : 'sidecar' });
    }
    out.push({ ts, line, resource, attributes, traceId, spanId });
  }
  return out;
}

const FIXTURE = fixture();

// ---- the reference: labels as documented, entries from memory ----

const PROMOTED = ['service.name', 'k8s.namespace.name', 'deployment.environment'];
const safe = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

const ENTRIES: LogEntry[] = FIXTURE.map((f) => {
  const labels: Record<string, string> = {};
  for (const a of PROMOTED) if (f.resource[a] !== undefined) labels[safe(a)] = f.resource[a]!;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.attributes)) metadata[safe(k)] = v;
  if (f.traceId !== '') metadata['trace_id'] = f.traceId;
  if (f.spanId !== '') metadata['span_id'] = f.spanId;
  return { ts: f.ts, line: f.line, labels, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) };
});

function matches(entry: LogEntry, req: EntryRequest): boolean {
  return req.selector.matchers.every((m) => {
    const v = entry.labels[m.name] ?? '';
    switch (m.op) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return new RegExp(`^(?:${m.value})$`, 's').test(v);
      case '!~':
        return !new RegExp(`^(?:${m.value})$`, 's').test(v);
    }
  });
}

/** Everything in memory; no line filter is taken over, so the evaluator applies them all. */
const memorySource: EntrySource = {
  async *entries(req) {
    const picked = ENTRIES.filter((e) => e.ts >= req.startNs && e.ts < req.endNs && matches(e, req));
    picked.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    if (req.direction === 'backward') picked.reverse();
    for (let i = 0; i < picked.length; i += 250) yield picked.slice(i, i + 250);
  },
};

// ---- the server ----

let server: ServerProcess;

function otlpBody(records: Fixture[]): string {
  const byResource = new Map<string, Fixture[]>();
  for (const r of records) {
    const key = JSON.stringify(r.resource);
    byResource.set(key, [...(byResource.get(key) ?? []), r]);
  }
  const attrs = (a: Record<string, string>): unknown[] => Object.entries(a).map(([key, v]) => ({ key, value: { stringValue: v } }));
  return JSON.stringify({
    resourceLogs: [...byResource.entries()].map(([key, rs]) => ({
      resource: { attributes: attrs(JSON.parse(key) as Record<string, string>) },
      scopeLogs: [
        {
          scope: { name: 'differential' },
          logRecords: rs.map((r) => ({
            timeUnixNano: r.ts.toString(),
            observedTimeUnixNano: r.ts.toString(),
            severityNumber: 9,
            body: { stringValue: r.line },
            attributes: attrs(r.attributes),
            ...(r.traceId !== '' ? { traceId: r.traceId, spanId: r.spanId } : {}),
          })),
        },
      ],
    })),
  });
}

before(async () => {
  server = await startServerProcess();
  for (let i = 0; i < FIXTURE.length; i += 500) {
    const r = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: otlpBody(FIXTURE.slice(i, i + 500)) });
    assert.equal(r.status, 200, await r.text());
  }
  // Everything is queryable before the queries start.
  for (let tries = 0; ; tries++) {
    const got = await viaServer('sum(count_over_time({service_name=~".+"}[1h]))', { kind: 'instant', timeNs: T0 + 31n * 60n * S });
    const n = got.resultType === 'vector' ? Number(got.result[0]?.value[1] ?? 0) : 0;
    if (n === N) break;
    assert.ok(tries < 100, `the server holds ${n} of ${N} records`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await server?.stop();
});

type Run = { kind: 'range'; startNs: bigint; endNs: bigint; stepS: number } | { kind: 'instant'; timeNs: bigint } | { kind: 'log'; startNs: bigint; endNs: bigint; limit: number; direction: 'forward' | 'backward' };

/** Queries the reference refuses: the few that exist to check the server refuses them alike. */
const errors: string[] = [];

function serverUrl(query: string, run: Run): URL {
  const u = new URL(`${server.url}/loki/api/v1/${run.kind === 'instant' ? 'query' : 'query_range'}`);
  u.searchParams.set('query', query);
  if (run.kind === 'instant') u.searchParams.set('time', run.timeNs.toString());
  else {
    u.searchParams.set('start', run.startNs.toString());
    u.searchParams.set('end', run.endNs.toString());
  }
  if (run.kind === 'range') u.searchParams.set('step', String(run.stepS));
  if (run.kind === 'log') {
    u.searchParams.set('limit', String(run.limit));
    u.searchParams.set('direction', run.direction);
  }
  return u;
}

async function serverError(query: string, run: Run): Promise<string> {
  const r = await fetch(serverUrl(query, run), { headers: { authorization: `Bearer ${server.token}` } });
  const text = await r.text();
  assert.ok(r.status >= 400 && r.status < 500, `${query}: the server answered ${r.status} ${text}`);
  return text;
}

async function viaServer(query: string, run: Run): Promise<QueryResult> {
  const r = await fetch(serverUrl(query, run), { headers: { authorization: `Bearer ${server.token}` } });
  const text = await r.text();
  assert.equal(r.status, 200, `${query}: ${text}`);
  const body = JSON.parse(text) as { status: string; data: QueryResult & { stats?: unknown } };
  assert.equal(body.status, 'success');
  const { stats: _stats, ...data } = body.data;
  return data as QueryResult;
}

async function viaReference(query: string, run: Run): Promise<QueryResult> {
  const expr = parse(query);
  switch (run.kind) {
    case 'instant':
      return evaluate(expr, { startNs: run.timeNs, endNs: run.timeNs, instant: true, limit: 100, direction: 'backward' }, memorySource);
    case 'range':
      return evaluate(expr, { startNs: run.startNs, endNs: run.endNs, stepMs: run.stepS * 1000, limit: 100, direction: 'backward' }, memorySource);
    case 'log':
      return evaluate(expr, { startNs: run.startNs, endNs: run.endNs, limit: run.limit, direction: run.direction }, memorySource);
  }
}

/** Series order is unspecified by Loki unless the query sorts: order by label set then. */
function normalised(r: QueryResult, keepOrder: boolean): unknown {
  const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort());
  switch (r.resultType) {
    case 'streams':
      return [...r.result].sort((a, b) => (key(a.stream) < key(b.stream) ? -1 : 1));
    case 'matrix':
      return keepOrder ? r.result : [...r.result].sort((a, b) => (key(a.metric) < key(b.metric) ? -1 : 1));
    case 'vector':
      return keepOrder ? r.result : [...r.result].sort((a, b) => (key(a.metric) < key(b.metric) ? -1 : 1));
    case 'scalar':
      return r.result;
  }
}

const END = T0 + 30n * 60n * S;
const RANGE: Run = { kind: 'range', startNs: T0, endNs: END, stepS: 60 };
const ODD_RANGE: Run = { kind: 'range', startNs: T0 + 7n * S + 123n, endNs: END - 13n * S, stepS: 47 };
const INSTANT: Run = { kind: 'instant', timeNs: T0 + 20n * 60n * S + 500n * MS };
const LOG_BACK: Run = { kind: 'log', startNs: T0, endNs: END, limit: 1000, direction: 'backward' };
const LOG_FWD: Run = { kind: 'log', startNs: T0 + 100n * S, endNs: END - 100n * S, limit: 150, direction: 'forward' };

const TRACE = hex(1, 32);

/** Log queries: every selector matcher, line filter, parser, label filter and formatter. */
const LOG_QUERIES = [
  '{service_name="api"}',
  '{service_name!="api", k8s_namespace_name="prod"}',
  '{service_name=~"api|worker"}',
  '{service_name!~"api|db", k8s_namespace_name=~"prod|staging"}',
  '{k8s_namespace_name="dev", deployment_environment="development"}',
  '{service_name="api"} |= "error"',
  '{service_name="api"} != "healthz"',
  '{service_name=~".+"} |~ "orders|cart"',
  '{service_name=~".+"} !~ "GET|POST"',
  '{service_name="api"} |= "error" or "warn"',
  '{service_name="istio-proxy"} |= "DELETE" or "PUT" != "healthz"',
  '{service_name="db"} |= ip("192.168.1.0/24")',
  '{service_name="db"} != ip("10.0.0.0-10.2.255.255")',
  '{service_name="istio-proxy"} |= ip("10.0.1.0/24") or ip("10.0.3.7")',
  '{service_name="api"} |= `"status":5`',
  '{service_name="api"} | json',
  '{service_name="api"} | json | status >= 500',
  '{service_name="api"} | json code="status", uid="user.id", p="path" | code = 404',
  '{service_name="api"} | json | user_plan = "pro" and latency_ms > 100',
  '{service_name="api"} | json | level = "error" or level = "warn"',
  '{service_name="api"} | json | took > 50ms',
  '{service_name="api"} | json | size > 20KB',
  '{service_name="api"} | json | path =~ "/api/.*" | method != "GET"',
  '{service_name="api"} | json | path !~ "/api/.*"',
  '{service_name="worker"} | logfmt',
  '{service_name="worker"} | logfmt | duration > 150ms and queue = "emails"',
  '{service_name="worker"} | logfmt q="queue", a="attempt" | a == 2',
  '{service_name="worker"} | logfmt --strict | size >= 40KB',
  '{service_name="worker"} | logfmt --keep-empty | ratio < 0.1',
  '{service_name="istio-proxy"} | regexp `"(?P<method>\\w+) (?P<path>\\S+) HTTP/[0-9.]+" (?P<status>\\d+)` | status >= 400',
  '{service_name="istio-proxy"} | pattern `<_> "<method> <path> <_>" <status> <_> <_> <_> "<_>" <bytes_in> <bytes_out> <duration> <_> "<client_ip>" <_>` | status = 503 or bytes_out > 45000',
  '{service_name="istio-proxy"} | pattern `<_> "<method> <_>` | method = "PUT"',
  '{service_name="packed"} | unpack',
  '{service_name="packed"} | unpack | pod = "pod-1" |= "error"',
  '{service_name="packed"} | unpack | json | container = "app"',
  '{service_name="db"} | decolorize',
  '{service_name="db"} | decolorize |= "ERROR" | regexp `from (?P<ip>\\S+)` | ip = ip("192.168.0.0/16")',
  '{service_name=~".+"} | http_request_method = "POST"',
  '{service_name=~".+"} | user_id =~ "u[12]" , tier = "gold"',
  '{service_name=~".+"} | trace_id = "' + TRACE + '"',
  '{service_name=~".+"} | trace_id != ""',
  '{service_name="api"} | json | line_format "{{.level}} {{.method | lower}} {{ .path | upper }} {{ printf \\"%05.1f\\" .latency_ms }}"',
  '{service_name="api"} | json | line_format `{{ if eq .level "error" }}ERR {{ .status }}{{ else }}{{ .msg | trunc 12 }}{{ end }} {{ __line__ | len }}`',
  '{service_name="worker"} | logfmt | line_format "{{ .queue | title }} {{ replace \\"job\\" \\"task\\" .msg }} {{ .attempt | add 10 }} {{ __timestamp__ | unixEpoch }}"',
  '{service_name="api"} | json | label_format lvl=level, who="{{.user_id}}-{{.user_plan}}" | lvl = "warn"',
  '{service_name="worker"} | logfmt | label_format queue=`{{ regexReplaceAll "e" .queue "3" }}`, attempt=attempt',
  '{service_name="api"} | json | drop user_id, user_plan, latency_ms',
  '{service_name="api"} | json | keep level, status',
  '{service_name="worker"} | logfmt | drop level="info", queue',
  '{service_name="api"} | json | keep level, path="/healthz"',
  '{service_name="worker"} | json',
  '{service_name="worker"} | logfmt | __error__ = ""',
  '{service_name="api"} | json | status >= 500 | line_format "{{.status}}" | drop __error__',
  '{service_name="api"} | json | status == 503 or (latency_ms < 5 and level = "debug")',
  '{service_name="api"} | json | status != 200 | status > 300 | status <= 429',
];

/** Metric queries: every range and vector aggregation, binary operations, functions. */
const METRIC_QUERIES = [
  'count_over_time({service_name="api"}[1m])',
  'rate({service_name=~".+"} |= "error" [2m])',
  'bytes_over_time({k8s_namespace_name="prod"}[5m])',
  'bytes_rate({service_name="worker"}[90s])',
  'sum(count_over_time({service_name=~".+"}[1m]))',
  'sum by (service_name) (rate({service_name=~".+"} |= "error" [1m]))',
  'sum by (service_name) (rate({service_name=~".+"}[5m]))',
  'sum without (k8s_namespace_name, deployment_environment) (rate({service_name="api"}[3m]))',
  'sum by (http_request_method) (count_over_time({service_name=~".+"}[2m]))',
  'sum by (service_name) (bytes_rate({k8s_namespace_name=~".+"} != "healthz" [5m]))',
  'sum by (service_name) (count_over_time({service_name=~".+"} | trace_id="' + TRACE + '" [5m]))',
  'sum(count_over_time({service_name="db"}[1m] offset 2m))',
  'rate({service_name="db"} |= ip("192.168.0.0/16") [2m])',
  'count_over_time({service_name="api"} | json | status >= 500 [1m])',
  'sum by (status) (count_over_time({service_name="api"} | json [5m]))',
  'rate({service_name="api"} | json | level="error" [5m])',
  'sum by (method) (sum_over_time({service_name="api"} | json | unwrap latency_ms [1m]))',
  'avg_over_time({service_name="api"} | json | unwrap latency_ms [2m]) by (method)',
  'max_over_time({service_name="worker"} | logfmt | unwrap duration(duration) [5m]) by (queue)',
  'min_over_time({service_name="worker"} | logfmt | unwrap bytes(size) [5m]) by (queue)',
  'first_over_time({service_name="istio-proxy"} | pattern `<_> "<method> <_>" <status> <_> <_> <_> "<_>" <_> <bytes_out> <_>` | unwrap bytes_out [2m]) by (method)',
  'last_over_time({service_name="istio-proxy"} | pattern `<_> "<method> <_>" <status> <_> <_> <_> "<_>" <_> <bytes_out> <_>` | unwrap bytes_out [2m]) by (status)',
  'stddev_over_time({service_name="api"} | json | unwrap latency_ms [5m]) by (level)',
  'stdvar_over_time({service_name="api"} | json | unwrap latency_ms [5m]) by (level)',
  'quantile_over_time(0.95, {service_name="api"} | json | unwrap latency_ms [5m]) by (service_name)',
  'quantile_over_time(0.5, {service_name="worker"} | logfmt | unwrap duration_seconds(duration) [3m]) by (queue)',
  'sum by (method) (rate({service_name="api"} | json | unwrap latency_ms [1m]))',
  'sum by (queue) (rate_counter({service_name="worker"} | logfmt | unwrap attempt [5m]))',
  'absent_over_time({service_name="nothing"}[1m])',
  'absent_over_time({service_name="api"} |= "no such text" [5m])',
  'sum by (path) (sum_over_time({service_name="api"} | json | unwrap status | __error__ = "" [5m]))',
  'avg_over_time({service_name="worker"} | logfmt | unwrap ratio [5m]) by (queue, attempt)',
  'sum by (level) (sum_over_time({service_name="api"} | json | unwrap duration(took) [5m]))',
  'avg(rate({service_name=~".+"}[2m])) by (k8s_namespace_name)',
  'min(count_over_time({service_name=~".+"}[1m])) by (k8s_namespace_name)',
  'max(count_over_time({service_name=~".+"}[1m]))',
  'count(count_over_time({service_name=~".+"}[1m])) by (k8s_namespace_name)',
  'stddev(count_over_time({service_name=~".+"}[1m]))',
  'stdvar by (k8s_namespace_name) (count_over_time({service_name=~".+"}[1m]))',
  'topk(2, sum by (service_name) (rate({service_name=~".+"}[5m])))',
  'bottomk(2, sum by (service_name) (count_over_time({service_name=~".+"}[5m])))',
  'topk(3, sum by (path) (count_over_time({service_name="api"} | json [5m]))) by ()',
  'sort(sum by (service_name) (count_over_time({service_name=~".+"}[5m])))',
  'sort_desc(sum by (service_name) (count_over_time({service_name=~".+"}[5m])))',
  'sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [1m])) / sum by (service_name) (count_over_time({service_name=~".+"}[1m]))',
  'sum by (service_name) (rate({service_name=~".+"}[1m])) * 60',
  '2 * sum(rate({service_name="api"}[1m])) + 1',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) > 10',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) > bool 10',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) == bool sum by (service_name) (count_over_time({service_name=~".+"}[1m] offset 1m))',
  'sum by (service_name, k8s_namespace_name) (count_over_time({service_name=~".+"}[2m])) / on (service_name) group_left sum by (service_name) (count_over_time({service_name=~".+"}[2m]))',
  'sum by (service_name) (count_over_time({service_name=~".+"}[2m])) / ignoring (k8s_namespace_name) group_right sum by (service_name, k8s_namespace_name) (count_over_time({service_name=~".+"}[2m]))',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) and sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [1m]))',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) or sum by (service_name) (count_over_time({service_name=~"api"}[1m] offset 5m))',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) unless sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [1m]))',
  'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) % 7 ^ 2 - 3',
  'label_replace(sum by (service_name) (rate({service_name=~".+"}[1m])), "svc", "$1-x", "service_name", "(.*)p(.*)")',
  'label_replace(rate({service_name="db"}[2m]), "k8s_namespace_name", "", "", "")',
  'vector(3)',
  'vector(1) + sum(count_over_time({service_name="db"}[1m]))',
  'sum(count_over_time({service_name="api"}[1m])) or vector(0)',
  '3 > bool 2',
  'sum by (service_name) (count_over_time({service_name=~".+"} | json | __error__ != "" [5m]))',
  'sum by (level) (count_over_time({service_name="api"} | json | line_format "{{.level}}" | label_format level=`{{ .level | upper }}` [5m]))',
  'sum by (pod) (count_over_time({service_name="packed"} | unpack [5m]))',
  'sum by (lvl) (count_over_time({service_name="db"} | decolorize | regexp `^(?P<lvl>[A-Z]+)` [2m]))',
  'sum by (tier) (count_over_time({service_name=~".+"} | tier != "" [10m]))',
  'count_over_time({service_name="api"} | json | keep status [5m])',
  'sum(count_over_time({service_name="worker"} | logfmt | drop queue [2m])) by (level)',
  'sum by (service_name) (count_over_time({service_name=~".+"}[5m] offset 1m)) - sum by (service_name) (count_over_time({service_name=~".+"}[5m]))',
];

/** Runs one query both ways and asserts identical answers. */
async function compare(query: string, run: Run): Promise<void> {
  let b: QueryResult;
  try {
    b = await viaReference(query, run);
  } catch (err) {
    // The reference refuses the query (e.g. Loki's pipeline error for __error__ in a series): the server must too, with the same message.
    const text = await serverError(query, run);
    assert.ok(text.includes((err as Error).message), `${query}: the server answered ${JSON.stringify(text)}, the reference ${JSON.stringify((err as Error).message)}`);
    errors.push(query);
    return;
  }
  const a = await viaServer(query, run);
  const keepOrder = /\b(sort|sort_desc)\(/.test(query);
  const where = `${query} (${run.kind}${run.kind === 'log' ? ` ${run.direction} limit ${run.limit}` : run.kind === 'range' ? ` step ${run.stepS}s` : ''})`;
  assert.equal(a.resultType, b.resultType, where);
  assert.deepEqual(normalised(a, keepOrder), normalised(b, keepOrder), where);
}

test('the fixture is what the reference holds: same streams and entry count', async () => {
  const r = await viaServer('sum by (service_name, k8s_namespace_name, deployment_environment) (count_over_time({service_name=~".+"}[1h]))', { kind: 'instant', timeNs: END });
  const reference = await viaReference('sum by (service_name, k8s_namespace_name, deployment_environment) (count_over_time({service_name=~".+"}[1h]))', { kind: 'instant', timeNs: END });
  assert.deepEqual(normalised(r, false), normalised(reference, false));
  assert.equal(LOG_QUERIES.length + METRIC_QUERIES.length >= 120, true);
});

test('log queries: server and in-memory reference agree (backward and forward, with limits)', async () => {
  const nonEmpty: string[] = [];
  for (const q of LOG_QUERIES) {
    await compare(q, LOG_BACK);
    await compare(q, LOG_FWD);
    const r = await viaReference(q, LOG_BACK);
    if (r.resultType === 'streams' && r.result.length > 0) nonEmpty.push(q);
  }
  // A corpus of empty answers would prove nothing.
  assert.ok(nonEmpty.length >= LOG_QUERIES.length - 2, `queries without entries: ${LOG_QUERIES.filter((q) => !nonEmpty.includes(q)).join('\n')}`);
});

test('metric queries: range (aligned and unaligned steps) and instant, server and reference agree', async () => {
  let nonEmpty = 0;
  for (const q of METRIC_QUERIES) {
    await compare(q, RANGE);
    await compare(q, ODD_RANGE);
    await compare(q, INSTANT);
    const r = await viaReference(q, RANGE).catch(() => undefined);
    if (r && (r.resultType !== 'matrix' || r.result.length > 0)) nonEmpty++;
  }
  assert.deepEqual([...new Set(errors)], ['sum by (service_name) (count_over_time({service_name=~".+"} | json | __error__ != "" [5m]))']);
  assert.ok(nonEmpty >= METRIC_QUERIES.length - 3, `queries with samples: ${nonEmpty} of ${METRIC_QUERIES.length}`);
});
