/**
 * Envoy command operators and the attributes they land in (docs/schema.md,
 * "Envoy-based access logs"). Shared by the TEXT layouts (Envoy's default,
 * each Istio version, Kuma) and the JSON dictionaries (Istio, Consul).
 *
 * Envoy's rules kept: `-` is an absent value (TEXT; JSON prints null, except
 * `%RESPONSE_FLAGS%` which prints `-`); numbers may arrive as JSON numbers or
 * strings; response code 0 means no response was sent.
 */
import type { LogRecord } from '@meshlog/core';
import { severityName } from '@meshlog/core';
import { REQUEST_ID_ATTRIBUTE, applyTime, putAttribute, type ParseEnv } from '../fields.js';
import { traceIdHexOrDecimal, applyTraceContext } from '../../../normalize/trace-context.js';
import { enrichMeshIdentity } from '../../../normalize/mesh-identity.js';

export const F = {
  StartTime: 0,
  RequestLine: 1,
  Method: 2,
  Path: 3,
  Protocol: 4,
  ResponseCode: 5,
  ResponseFlags: 6,
  ResponseCodeDetails: 7,
  ConnectionTerminationDetails: 8,
  UpstreamTransportFailureReason: 9,
  MixerStatus: 10,
  BytesReceived: 11,
  BytesSent: 12,
  Duration: 13,
  UpstreamServiceTime: 14,
  XForwardedFor: 15,
  UserAgent: 16,
  RequestId: 17,
  Authority: 18,
  UpstreamHost: 19,
  UpstreamCluster: 20,
  UpstreamLocalAddress: 21,
  DownstreamLocalAddress: 22,
  DownstreamRemoteAddress: 23,
  RequestedServerName: 24,
  RouteName: 25,
  KumaMesh: 26,
  KumaSourceService: 27,
  KumaDestinationService: 28,
  KumaSourceAddress: 29,
  TraceIdAnyEncoding: 30,
  Traceparent: 31,
  DownstreamPeerUriSan: 32,
  UpstreamPeerUriSan: 33,
  GrpcStatus: 34,
  UpstreamRequestAttemptCount: 35,
  RequestDuration: 36,
  ResponseDuration: 37,
} as const;
export type F = (typeof F)[keyof typeof F];

/** The keys of Envoy JSON access logs (Istio's, Consul's and common custom ones) and their operators. */
export const ENVOY_JSON_KEYS = new Map<string, F>([
  ['start_time', F.StartTime],
  ['method', F.Method],
  ['path', F.Path],
  ['protocol', F.Protocol],
  ['response_code', F.ResponseCode],
  ['response_flags', F.ResponseFlags],
  ['response_code_details', F.ResponseCodeDetails],
  ['connection_termination_details', F.ConnectionTerminationDetails],
  ['upstream_transport_failure_reason', F.UpstreamTransportFailureReason],
  ['istio_policy_status', F.MixerStatus],
  ['bytes_received', F.BytesReceived],
  ['bytes_sent', F.BytesSent],
  ['duration', F.Duration],
  ['upstream_service_time', F.UpstreamServiceTime],
  ['x_forwarded_for', F.XForwardedFor],
  ['user_agent', F.UserAgent],
  ['request_id', F.RequestId],
  ['authority', F.Authority],
  ['upstream_host', F.UpstreamHost],
  ['upstream_cluster', F.UpstreamCluster],
  ['upstream_local_address', F.UpstreamLocalAddress],
  ['downstream_local_address', F.DownstreamLocalAddress],
  ['downstream_remote_address', F.DownstreamRemoteAddress],
  ['requested_server_name', F.RequestedServerName],
  ['route_name', F.RouteName],
  ['traceparent', F.Traceparent],
  ['downstream_peer_uri_san', F.DownstreamPeerUriSan],
  ['upstream_peer_uri_san', F.UpstreamPeerUriSan],
  ['grpc_status', F.GrpcStatus],
  ['upstream_request_attempt_count', F.UpstreamRequestAttemptCount],
  ['request_duration', F.RequestDuration],
  ['response_duration', F.ResponseDuration],
]);

/** gRPC status names as `%GRPC_STATUS%` prints them, to codes. */
const GRPC_CODES = new Map<string, number>([
  ['OK', 0], ['Canceled', 1], ['Cancelled', 1], ['Unknown', 2], ['InvalidArgument', 3], ['DeadlineExceeded', 4], ['NotFound', 5],
  ['AlreadyExists', 6], ['PermissionDenied', 7], ['ResourceExhausted', 8], ['FailedPrecondition', 9], ['Aborted', 10],
  ['OutOfRange', 11], ['Unimplemented', 12], ['Internal', 13], ['Unavailable', 14], ['DataLoss', 15], ['Unauthenticated', 16],
]);

/** Digits to a non-negative integer; -1 when not all digits. */
export function intOf(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function numberOf(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : -1;
  if (typeof v === 'string') return intOf(v);
  return -1;
}

/**
 * `host:port`, `[v6]:port`, a bare host or a bare v6 address into
 * `<prefix>.address` and `<prefix>.port`.
 */
export function putHostPort(record: LogRecord, env: ParseEnv, prefix: 'client' | 'server' | 'source' | 'destination', v: string): void {
  let host = v;
  let port = -1;
  if (v.charCodeAt(0) === 91 /* [ */) {
    const close = v.indexOf(']');
    if (close > 0) {
      host = v.slice(1, close);
      if (v.charCodeAt(close + 1) === 58) port = intOf(v.slice(close + 2));
    }
  } else {
    const colon = v.lastIndexOf(':');
    if (colon > 0 && v.indexOf(':') === colon) {
      const p = intOf(v.slice(colon + 1));
      if (p >= 0) {
        host = v.slice(0, colon);
        port = p;
      }
    }
  }
  if (host !== '') putAttribute(record, env, prefix + '.address', host);
  if (port > 0 && port < 65536) putAttribute(record, env, prefix + '.port', port);
}

/** `HTTP/1.1` → name `http`, version `1.1`; `HTTP/2` and `HTTP/2.0` → `2`. */
export function putProtocol(record: LogRecord, env: ParseEnv, v: string): void {
  const slash = v.indexOf('/');
  if (slash <= 0) {
    putAttribute(record, env, 'network.protocol.name', v.toLowerCase());
    return;
  }
  putAttribute(record, env, 'network.protocol.name', v.slice(0, slash).toLowerCase());
  let version = v.slice(slash + 1);
  if (version.length === 3 && version.charCodeAt(1) === 46 && version.charCodeAt(2) === 48 && version.charCodeAt(0) !== 49) version = version.slice(0, 1);
  if (version !== '') putAttribute(record, env, 'network.protocol.version', version);
}

/** A request target: origin form `/p?q` into url.path/url.query, absolute form also into url.full. */
export function putTarget(record: LogRecord, env: ParseEnv, v: string): void {
  let pathStart = 0;
  if (v.startsWith('http://') || v.startsWith('https://')) {
    putAttribute(record, env, 'url.full', v);
    const slash = v.indexOf('/', v.indexOf('//') + 2);
    if (slash < 0) return;
    pathStart = slash;
  }
  const q = v.indexOf('?', pathStart);
  if (q < 0) {
    putAttribute(record, env, 'url.path', pathStart === 0 ? v : v.slice(pathStart));
  } else {
    putAttribute(record, env, 'url.path', v.slice(pathStart, q));
    if (q + 1 < v.length) putAttribute(record, env, 'url.query', v.slice(q + 1));
  }
}

/** The quoted request line of TEXT formats: `METHOD TARGET PROTOCOL` (each `-` when absent). */
function putRequestLine(record: LogRecord, env: ParseEnv, v: string): void {
  const s1 = v.indexOf(' ');
  const s2 = s1 < 0 ? -1 : v.lastIndexOf(' ');
  if (s1 < 0 || s2 <= s1) return;
  const method = v.slice(0, s1);
  const target = v.slice(s1 + 1, s2);
  const protocol = v.slice(s2 + 1);
  if (method !== '-') putAttribute(record, env, 'http.request.method', method);
  if (target !== '-') putTarget(record, env, target);
  if (protocol !== '-') putProtocol(record, env, protocol);
}

function putInt(record: LogRecord, env: ParseEnv, key: string, v: unknown): void {
  const n = numberOf(v);
  if (n >= 0) putAttribute(record, env, key, n);
}

/**
 * One operator's value. `v` is the text (TEXT formats) or the JSON value;
 * absent values (`-`, null, '') are skipped. Returns false for a value that
 * breaks the format (a non-numeric response code), which fails the line.
 */
export function applyEnvoyField(record: LogRecord, env: ParseEnv, f: F, v: unknown): boolean {
  if (v === null || v === undefined || v === '-' || v === '') return true;
  if (f === F.ResponseCode) {
    const n = numberOf(v);
    if (n < 0 || n > 999) return false;
    putAttribute(record, env, 'http.response.status_code', n);
    return true;
  }
  if (typeof v !== 'string' && typeof v !== 'number') return true;
  const s = typeof v === 'string' ? v : String(v);
  switch (f) {
    case F.StartTime:
      applyTime(record, s);
      break;
    case F.RequestLine:
      putRequestLine(record, env, s);
      break;
    case F.Method:
      putAttribute(record, env, 'http.request.method', s);
      break;
    case F.Path:
      putTarget(record, env, s);
      break;
    case F.Protocol:
      putProtocol(record, env, s);
      break;
    case F.ResponseFlags:
      putAttribute(record, env, 'envoy.response_flags', s);
      break;
    case F.ResponseCodeDetails:
      putAttribute(record, env, 'envoy.response_code_details', s);
      break;
    case F.ConnectionTerminationDetails:
      putAttribute(record, env, 'envoy.connection_termination_details', s);
      break;
    case F.UpstreamTransportFailureReason:
      putAttribute(record, env, 'envoy.upstream_transport_failure_reason', s);
      break;
    case F.MixerStatus:
      putAttribute(record, env, 'istio.policy_status', s);
      break;
    case F.BytesReceived:
      putInt(record, env, 'http.request.body.size', v);
      break;
    case F.BytesSent:
      putInt(record, env, 'http.response.body.size', v);
      break;
    case F.Duration:
      putInt(record, env, 'envoy.duration_ms', v);
      break;
    case F.UpstreamServiceTime:
      putInt(record, env, 'envoy.upstream_service_time_ms', v);
      break;
    case F.RequestDuration:
      putInt(record, env, 'envoy.request_duration_ms', v);
      break;
    case F.ResponseDuration:
      putInt(record, env, 'envoy.response_duration_ms', v);
      break;
    case F.UpstreamRequestAttemptCount:
      putInt(record, env, 'envoy.upstream_request_attempt_count', v);
      break;
    case F.XForwardedFor:
      putAttribute(record, env, 'http.request.header.x-forwarded-for', s);
      break;
    case F.UserAgent:
      putAttribute(record, env, 'user_agent.original', s);
      break;
    case F.RequestId:
      putAttribute(record, env, REQUEST_ID_ATTRIBUTE, s);
      break;
    case F.Authority:
      putHostPort(record, env, 'server', s);
      break;
    case F.UpstreamHost:
      putAttribute(record, env, 'envoy.upstream_host', s);
      break;
    case F.UpstreamCluster:
      putAttribute(record, env, 'envoy.upstream_cluster', s);
      break;
    case F.UpstreamLocalAddress:
      putAttribute(record, env, 'envoy.upstream_local_address', s);
      break;
    case F.DownstreamLocalAddress:
      putAttribute(record, env, 'envoy.downstream_local_address', s);
      break;
    case F.DownstreamRemoteAddress:
      putHostPort(record, env, 'client', s);
      break;
    case F.RequestedServerName:
      putAttribute(record, env, 'tls.client.server_name', s);
      break;
    case F.RouteName:
      putAttribute(record, env, 'envoy.route_name', s);
      break;
    case F.KumaMesh:
      putAttribute(record, env, 'mesh.name', s);
      break;
    case F.KumaSourceService:
      putAttribute(record, env, 'source.service.name', s);
      break;
    case F.KumaDestinationService:
      putAttribute(record, env, 'destination.service.name', s);
      break;
    case F.KumaSourceAddress:
      putAttribute(record, env, 'client.address', s);
      break;
    case F.TraceIdAnyEncoding: {
      const id = traceIdHexOrDecimal(s);
      if (id) applyTraceContext(record, id, '', -1);
      break;
    }
    case F.Traceparent:
      env.trace.traceparent = s;
      break;
    case F.DownstreamPeerUriSan:
      putAttribute(record, env, 'envoy.downstream_peer_uri_san', s);
      break;
    case F.UpstreamPeerUriSan:
      putAttribute(record, env, 'envoy.upstream_peer_uri_san', s);
      break;
    case F.GrpcStatus: {
      const n = typeof v === 'number' ? v : intOf(s) >= 0 ? intOf(s) : (GRPC_CODES.get(s) ?? -1);
      if (n >= 0 && n <= 16) putAttribute(record, env, 'rpc.grpc.status_code', n);
      break;
    }
  }
  return true;
}

/**
 * After the fields: trace context, mesh identity, and the status class as
 * severity when the record has none. Code 0 is a TCP connection's close
 * (INFO) or, with a response flag, a stream reset before any response (WARN).
 */
export function finishAccessLog(record: LogRecord, env: ParseEnv): void {
  env.trace.applyTo(record);
  if (env.writeAttributes) enrichMeshIdentity(record.attributes);
  if (record.severityNumber === 0) {
    const code = env.status;
    let n = 9;
    if (code >= 500) n = 17;
    else if (code >= 400) n = 13;
    else if (code <= 0 && env.flags !== '' && env.flags !== '-') n = 13;
    record.severityNumber = n;
    record.severityText = severityName(n);
  }
}
