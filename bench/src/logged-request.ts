/**
 * The request a dataset record logs, read back from its line, for the
 * protocols that carry requests rather than lines (Envoy ALS entries,
 * Zipkin spans). Every record of the dataset logs one request through the
 * mesh: the client's and the server's sidecar access logs (Istio TEXT, or
 * Istio JSON for one service in ten) and the server app's own line (JSON,
 * logfmt or plain text, each with path, status and latency).
 *
 * A line that fits none of these throws: the dataset and this reader must
 * agree, or a row would carry other records than the rest.
 */
import { ISTIO_TEXT_LINE, type AccessLogEntry } from 'meshlog/demo';
import { NEEDLE } from './dataset.js';
import { unixNanoToMs, type FlatRecord } from './reencode.js';

export interface LoggedRequest {
  /** Who wrote the line: the client's sidecar, the server's, or the server app. */
  side: 'outbound' | 'inbound' | 'app';
  /** For app lines only what they say (path, status, latency); the rest null. */
  entry: AccessLogEntry;
  /** App lines: their message (`payment authorized`). */
  message?: string;
}

const NEEDLE_SUFFIX = ` rare-marker=${NEEDLE}`;
const dashless = (v: string | undefined): string | null => (v === undefined || v === '-' ? null : v);

export function loggedRequest(r: FlatRecord): LoggedRequest {
  // A few records carry a planted needle after their line (dataset.ts); the request is the line before it.
  const line = r.body.endsWith(NEEDLE_SUFFIX) ? r.body.slice(0, -NEEDLE_SUFFIX.length) : r.body;
  const entry = r.resource['k8s.container.name'] === 'istio-proxy' ? (line.startsWith('{') ? fromIstioJson(line) : fromIstioText(line)) : undefined;
  if (entry) return { side: entry.upstreamCluster?.startsWith('inbound|') ? 'inbound' : 'outbound', entry };
  const app = fromAppLine(line, unixNanoToMs(r.timeUnixNano));
  if (!app) throw new Error(`dataset line not understood as a request: ${line.slice(0, 200)}`);
  return app;
}

function fromIstioText(line: string): AccessLogEntry | undefined {
  const m = ISTIO_TEXT_LINE.exec(line);
  if (!m) return undefined;
  const g = (i: number): string | null => dashless(m[i]);
  return {
    startTimeMs: Date.parse(m[1]!),
    method: g(2),
    path: g(3),
    protocol: g(4),
    responseCode: Number(m[5]),
    responseFlags: g(6),
    responseCodeDetails: g(7),
    connectionTerminationDetails: g(8),
    upstreamTransportFailureReason: g(9),
    bytesReceived: Number(m[10]),
    bytesSent: Number(m[11]),
    durationMs: Number(m[12]),
    upstreamServiceTimeMs: m[13] === '-' ? null : Number(m[13]),
    xForwardedFor: g(14),
    userAgent: g(15),
    requestId: g(16),
    authority: g(17),
    upstreamHost: g(18),
    upstreamCluster: g(19),
    upstreamLocalAddress: g(20),
    downstreamLocalAddress: g(21),
    downstreamRemoteAddress: g(22),
    requestedServerName: g(23),
    routeName: g(24),
    traceparent: null,
  };
}

function fromIstioJson(line: string): AccessLogEntry {
  const j = JSON.parse(line) as Record<string, string | number | null>;
  const s = (k: string): string | null => (typeof j[k] === 'string' ? dashless(j[k]) : null);
  const n = (k: string): number => Number(j[k] ?? 0);
  return {
    startTimeMs: Date.parse(String(j['start_time'])),
    method: s('method'),
    path: s('path'),
    protocol: s('protocol'),
    responseCode: n('response_code'),
    responseFlags: s('response_flags'),
    responseCodeDetails: s('response_code_details'),
    connectionTerminationDetails: s('connection_termination_details'),
    upstreamTransportFailureReason: s('upstream_transport_failure_reason'),
    bytesReceived: n('bytes_received'),
    bytesSent: n('bytes_sent'),
    durationMs: n('duration'),
    upstreamServiceTimeMs: j['upstream_service_time'] === null ? null : n('upstream_service_time'),
    xForwardedFor: s('x_forwarded_for'),
    userAgent: s('user_agent'),
    requestId: s('request_id'),
    authority: s('authority'),
    upstreamHost: s('upstream_host'),
    upstreamCluster: s('upstream_cluster'),
    upstreamLocalAddress: s('upstream_local_address'),
    downstreamLocalAddress: s('downstream_local_address'),
    downstreamRemoteAddress: s('downstream_remote_address'),
    requestedServerName: s('requested_server_name'),
    routeName: s('route_name'),
    traceparent: s('traceparent'),
  };
}

/** JSON (`"path":…,"status":…,"latency_ms":…`), logfmt (`path=… status=… latency_ms=…`) or plain (`path=… status=… took=…ms`). */
function fromAppLine(line: string, timeMs: number): LoggedRequest | undefined {
  const path = /"?path"?[=:]"?([^"\s,]+)/.exec(line)?.[1];
  const status = /"?status"?[=:](\d+)/.exec(line)?.[1];
  const latency = /(?:"?latency_ms"?[=:]|took=)(\d+)/.exec(line)?.[1];
  if (path === undefined || status === undefined || latency === undefined) return undefined;
  const message = /"msg":"([^"]*)"|msg="([^"]*)"|\] ([^:]+):/.exec(line);
  const requestId = /request(?:_id)?=(\S+)/.exec(line)?.[1] ?? null;
  return {
    side: 'app',
    message: message?.[1] ?? message?.[2] ?? message?.[3] ?? 'request',
    entry: { ...UNKNOWN_REQUEST, startTimeMs: timeMs, path, responseCode: Number(status), durationMs: Number(latency), requestId },
  };
}

/** An entry that knows nothing, for what an app line does not say. */
const UNKNOWN_REQUEST: AccessLogEntry = {
  startTimeMs: 0,
  method: null,
  path: null,
  protocol: null,
  responseCode: 0,
  responseFlags: null,
  responseCodeDetails: null,
  connectionTerminationDetails: null,
  upstreamTransportFailureReason: null,
  bytesReceived: 0,
  bytesSent: 0,
  durationMs: 0,
  upstreamServiceTimeMs: null,
  xForwardedFor: null,
  userAgent: null,
  requestId: null,
  authority: null,
  upstreamHost: null,
  upstreamCluster: null,
  upstreamLocalAddress: null,
  downstreamLocalAddress: null,
  downstreamRemoteAddress: null,
  requestedServerName: null,
  routeName: null,
  traceparent: null,
};
