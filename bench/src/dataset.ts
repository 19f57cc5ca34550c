/**
 * The storage benchmark's seeded dataset: Envoy/Istio sidecar access logs
 * (Istio's default TEXT format and its JSON format) and application logs
 * (JSON, logfmt, plain) from ~50 services with Zipf-skewed traffic over 24
 * hours, ~2% 5xx, trace ids shared by the records of one request, and a few
 * planted rare tokens for needle searches.
 *
 * It is written twice: as NDJSON (the raw form grep and zstd run over, about
 * 580 bytes per record) and as OTLP/HTTP protobuf request bodies (what the
 * server ingests), framed as [u32 length][body] in one file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { formatIstioJson, formatIstioText, type AccessLogEntry } from 'meshlog/demo';
import { otlpType } from '@meshlog/components';
import { writePayload as writeFramed } from './payload-file.js';

export const NEEDLE = 'ZQX9needle7f3a';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Service {
  index: number;
  name: string;
  namespace: string;
  pods: string[];
  weight: number;
  paths: string[];
  port: number;
}

const WORDS = ['orders', 'cart', 'items', 'users', 'payments', 'invoices', 'shipments', 'search', 'reviews', 'inventory', 'prices', 'sessions', 'tokens', 'accounts', 'ledger', 'quotes'];
const NAMESPACES = ['shop', 'payments', 'identity', 'catalog', 'logistics', 'platform', 'data', 'edge'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'okhttp/4.12.0', 'Go-http-client/1.1', 'python-requests/2.31.0', 'grpc-go/1.62.1', 'Envoy/1.29'];
const APP_MESSAGES = [
  'request handled',
  'cache miss for key',
  'slow query detected',
  'retrying upstream call',
  'payment authorized',
  'user session refreshed',
  'published event to topic',
  'feature flag evaluated',
  'connection pool exhausted, waiting',
  'validation failed for field',
];

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

export function buildServices(seed: number, count = 50): Service[] {
  const r = rng(seed);
  const out: Service[] = [];
  for (let i = 0; i < count; i++) {
    const base = `${WORDS[i % WORDS.length]}${i >= WORDS.length ? `-${Math.floor(i / WORDS.length)}` : ''}`;
    const name = `${base}-svc`;
    const pods = Array.from({ length: 2 + (i % 3) }, () => `${name}-${hex(r, 9)}-${hex(r, 5)}`);
    const paths = Array.from({ length: 6 }, (_, k) => `/api/v${1 + (k % 2)}/${WORDS[(i + k) % WORDS.length]}`);
    out.push({ index: i, name, namespace: NAMESPACES[i % NAMESPACES.length]!, pods, weight: 1 / Math.pow(i + 1, 0.9), paths, port: 8080 + (i % 3) * 1000 });
  }
  const total = out.reduce((s, x) => s + x.weight, 0);
  for (const s of out) s.weight /= total;
  return out;
}

export interface DatasetRecord {
  timeMs: number;
  service: Service;
  pod: string;
  container: string;
  severity: number;
  level: string;
  traceId: string;
  spanId: string;
  body: string;
  format: string;
}

export interface DatasetSummary {
  records: number;
  ndjsonBytes: number;
  protobufBytes: number;
  payloads: number;
  startMs: number;
  endMs: number;
  needleTimesMs: number[];
  sampleTraceId: string;
  busiestService: string;
  errors5xx: number;
}

/**
 * Generates `count` records over [endMs - 24h, endMs) and writes both files.
 * Records come in time order, grouped into OTLP requests of `chunk` records.
 */
export async function writeDataset(opts: { seed: number; count: number; endMs: number; ndjsonPath: string; payloadPath: string; chunk?: number }): Promise<DatasetSummary> {
  const r = rng(opts.seed);
  const services = buildServices(opts.seed);
  const cumulative: number[] = [];
  services.reduce((acc, s) => (cumulative.push(acc + s.weight), acc + s.weight), 0);
  const pick = (): Service => {
    const x = r();
    let i = cumulative.findIndex((c) => c >= x);
    if (i < 0) i = services.length - 1;
    return services[i]!;
  };
  const startMs = opts.endMs - 24 * 3600 * 1000;
  const step = (opts.endMs - startMs) / opts.count;
  const chunk = opts.chunk ?? 2000;
  const needleAt = new Set(Array.from({ length: 8 }, (_, i) => Math.floor(((i + 0.5) / 8) * opts.count)));
  const summary: DatasetSummary = { records: 0, ndjsonBytes: 0, protobufBytes: 0, payloads: 0, startMs, endMs: opts.endMs, needleTimesMs: [], sampleTraceId: '', busiestService: services[0]!.name, errors5xx: 0 };
  const ndjson = createWriteStream(opts.ndjsonPath);
  const payloads = createWriteStream(opts.payloadPath);
  const Request = otlpType('ExportLogsServiceRequest');
  let pending: DatasetRecord[] = [];

  let i = 0;
  while (i < opts.count) {
    // One request through the mesh: client sidecar, server sidecar, app log; one trace.
    const client = pick();
    const server = pick();
    const traceId = hex(r, 32);
    const requestId = `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`;
    const t = startMs + i * step;
    const status = r() < 0.02 ? [503, 500, 504][Math.floor(r() * 3)]! : r() < 0.03 ? 404 : 200;
    const path = `${server.paths[Math.floor(r() * server.paths.length)]!}/${Math.floor(r() * 100000)}`;
    const method = r() < 0.7 ? 'GET' : 'POST';
    const duration = status === 504 ? 15000 : Math.round(2 + r() * r() * 400);
    const flags = status >= 500 ? (status === 504 ? 'UT' : 'UF,URX') : null;
    const serverPod = server.pods[Math.floor(r() * server.pods.length)]!;
    const authority = `${server.name}.${server.namespace}.svc.cluster.local:${server.port}`;
    const entry = (side: 'outbound' | 'inbound'): AccessLogEntry => ({
      startTimeMs: t,
      method,
      path,
      protocol: 'HTTP/1.1',
      responseCode: status,
      responseFlags: flags,
      responseCodeDetails: status >= 500 && flags ? 'upstream_reset_before_response_started{connection_failure}' : 'via_upstream',
      connectionTerminationDetails: null,
      upstreamTransportFailureReason: null,
      bytesReceived: method === 'POST' ? Math.floor(r() * 2000) : 0,
      bytesSent: Math.floor(200 + r() * 4000),
      durationMs: duration,
      upstreamServiceTimeMs: status >= 500 ? null : Math.max(1, duration - 1),
      xForwardedFor: null,
      userAgent: AGENTS[Math.floor(r() * AGENTS.length)]!,
      requestId,
      authority,
      upstreamHost: `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}:${server.port}`,
      upstreamCluster: side === 'outbound' ? `outbound|${server.port}||${server.name}.${server.namespace}.svc.cluster.local` : `inbound|${server.port}||`,
      upstreamLocalAddress: `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}:${40000 + Math.floor(r() * 20000)}`,
      downstreamLocalAddress: `10.96.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}:${server.port}`,
      downstreamRemoteAddress: `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}:${40000 + Math.floor(r() * 20000)}`,
      requestedServerName: side === 'inbound' ? `outbound_.${server.port}_._.${server.name}.${server.namespace}.svc.cluster.local` : null,
      routeName: 'default',
      traceparent: `00-${traceId}-${hex(r, 16)}-01`,
    });
    const severity = status >= 500 ? 17 : status >= 400 ? 13 : 9;
    const level = severity === 17 ? 'error' : severity === 13 ? 'warn' : 'info';
    // One service in ten logs Istio's JSON format (long lines); the rest the default TEXT
    // format. This keeps the dataset near the brief's ~580 bytes per NDJSON record.
    const json = (s: Service): boolean => s.index % 10 === 7;
    const records: DatasetRecord[] = [
      { timeMs: t, service: client, pod: client.pods[0]!, container: 'istio-proxy', severity, level, traceId, spanId: hex(r, 16), body: json(client) ? formatIstioJson(entry('outbound')) : formatIstioText(entry('outbound')), format: 'envoy' },
      { timeMs: t + 1, service: server, pod: serverPod, container: 'istio-proxy', severity, level, traceId, spanId: hex(r, 16), body: json(server) ? formatIstioJson(entry('inbound')) : formatIstioText(entry('inbound')), format: 'envoy' },
    ];
    const msg = APP_MESSAGES[Math.floor(r() * APP_MESSAGES.length)]!;
    const appLevel = status >= 500 ? 'error' : r() < 0.1 ? 'warn' : r() < 0.3 ? 'debug' : 'info';
    const appSeverity = { debug: 5, info: 9, warn: 13, error: 17 }[appLevel]!;
    const style = server.name.length % 3;
    const orderId = Math.floor(r() * 1e9);
    const appBody =
      style === 0
        ? JSON.stringify({ level: appLevel, ts: new Date(t).toISOString(), logger: `${server.name}.handler`, msg, order_id: orderId, user_id: `u-${hex(r, 8)}`, latency_ms: duration, trace_id: traceId, path, status })
        : style === 1
          ? `time=${new Date(t).toISOString()} level=${appLevel} logger=${server.name}.http msg="${msg}" order_id=${orderId} user_id=u-${hex(r, 8)} latency_ms=${duration} trace_id=${traceId} path=${path} status=${status} request_id=${requestId}`
          : `${new Date(t).toISOString()} ${appLevel.toUpperCase().padEnd(5)} [${server.name}] ${msg}: order=${orderId} path=${path} status=${status} took=${duration}ms trace=${traceId} request=${requestId}`;
    records.push({ timeMs: t + 2, service: server, pod: serverPod, container: server.name, severity: appSeverity, level: appLevel, traceId, spanId: hex(r, 16), body: appBody, format: 'app' });
    if (status >= 500) summary.errors5xx += 2;
    for (const rec of records) {
      if (i >= opts.count) break;
      if (needleAt.has(i)) {
        rec.body += ` rare-marker=${NEEDLE}`;
        summary.needleTimesMs.push(rec.timeMs);
      }
      if (i === Math.floor(opts.count / 3)) summary.sampleTraceId = rec.traceId;
      const line = JSON.stringify({ ts: new Date(rec.timeMs).toISOString(), service: rec.service.name, namespace: rec.service.namespace, pod: rec.pod, container: rec.container, level: rec.level, trace_id: rec.traceId, span_id: rec.spanId, body: rec.body }) + '\n';
      summary.ndjsonBytes += Buffer.byteLength(line);
      if (!ndjson.write(line)) await once(ndjson, 'drain');
      pending.push(rec);
      i++;
      if (pending.length >= chunk) {
        summary.protobufBytes += await writePayload(payloads, Request, pending);
        summary.payloads++;
        pending = [];
      }
    }
  }
  if (pending.length > 0) {
    summary.protobufBytes += await writePayload(payloads, Request, pending);
    summary.payloads++;
  }
  summary.records = i;
  ndjson.end();
  payloads.end();
  await Promise.all([once(ndjson, 'finish'), once(payloads, 'finish')]);
  return summary;
}

type ProtoType = ReturnType<typeof otlpType>;

async function writePayload(out: WriteStream, Request: ProtoType, records: DatasetRecord[]): Promise<number> {
  const byResource = new Map<string, { service: Service; pod: string; container: string; records: DatasetRecord[] }>();
  for (const rec of records) {
    const key = `${rec.pod}/${rec.container}`;
    let g = byResource.get(key);
    if (!g) byResource.set(key, (g = { service: rec.service, pod: rec.pod, container: rec.container, records: [] }));
    g.records.push(rec);
  }
  const kv = (key: string, value: string): object => ({ key, value: { stringValue: value } });
  const body = Request.encode(
    Request.fromObject({
      resourceLogs: [...byResource.values()].map((g) => ({
        resource: {
          attributes: [
            kv('service.name', g.service.name),
            kv('service.namespace', g.service.namespace),
            kv('k8s.namespace.name', g.service.namespace),
            kv('k8s.pod.name', g.pod),
            kv('k8s.container.name', g.container),
            kv('k8s.cluster.name', 'bench'),
          ],
        },
        scopeLogs: [
          {
            scope: { name: g.container === 'istio-proxy' ? 'envoy' : 'app' },
            logRecords: g.records.map((rec) => ({
              timeUnixNano: (BigInt(Math.floor(rec.timeMs)) * 1_000_000n + BigInt(Math.floor((rec.timeMs % 1) * 1e6))).toString(),
              severityNumber: rec.severity,
              severityText: rec.level.toUpperCase(),
              body: { stringValue: rec.body },
              attributes: [kv('log.source', rec.format === 'envoy' ? 'envoy' : 'app')],
              traceId: Buffer.from(rec.traceId, 'hex'),
              spanId: Buffer.from(rec.spanId, 'hex'),
              flags: 1,
            })),
          },
        ],
      })),
    }),
  ).finish();
  await writeFramed(out, Buffer.from(body));
  return body.length;
}
