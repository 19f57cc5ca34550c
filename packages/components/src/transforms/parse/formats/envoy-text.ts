/**
 * Envoy TEXT access logs: Envoy's default format, Istio's default in each of
 * its versions, and Kuma's defaults, told apart by shape.
 *
 * A line is cut into tokens separated by single spaces: `[bracketed]`,
 * `"quoted"` (up to a `"` followed by a space or the end) or bare. The
 * sequence of token kinds (its signature) names the layout, e.g. Istio 1.9+
 * is `[T] "Q" B B B B "Q" B B B B "Q"x5 B x6`. One linear scan, token bounds
 * in a reused array; no regular expressions, so no backtracking.
 *
 * The layouts, with where each is written down:
 * - `envoy`: Envoy's default format (envoyproxy/envoy,
 *   docs/root/configuration/observability/access_log/usage.rst, "Default
 *   format string"). Istio 1.0 set no format of its own, so its sidecars
 *   logged this.
 * - `istio-1.1`: istio/istio 1.1.0, pilot/pkg/networking/core/v1alpha3/
 *   listener.go `EnvoyTextLogFormat`: Envoy's fields plus
 *   `"%DYNAMIC_METADATA(istio.mixer:status)%"` after the flags and
 *   `%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%
 *   %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%` at the end.
 * - `istio-1.2`: 1.2.0 adds `"%UPSTREAM_TRANSPORT_FAILURE_REASON%"` after the
 *   mixer status (1.3-1.5 keep it as `EnvoyTextLogFormat12` for 1.2 proxies).
 * - `istio-1.3`: 1.3.0 `EnvoyTextLogFormat13` adds `%ROUTE_NAME%`; the default
 *   through 1.7.
 * - `istio-1.8`: 1.8.0 drops the mixer status (Mixer is gone); 1.9-1.11 keep
 *   it for proxies older than 1.9.
 * - `istio-1.9`: 1.9.0 `EnvoyTextLogFormatIstio19` (accesslog.go) adds
 *   `%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%` after the
 *   flags; the only default from 1.12 (pilot/pkg/model/telemetry_logging.go).
 *   Istio 1.23 prints the cluster with `%UPSTREAM_CLUSTER_RAW%` instead of
 *   `%UPSTREAM_CLUSTER%` (same position, the unaltered cluster name), so it
 *   has this shape too.
 * - `kuma-http`: Kuma's default HTTP format (kumahq/kuma, MeshAccessLog and
 *   TrafficLog `defaultHttpAccessLogFormat`): `%KUMA_MESH%` after the time,
 *   then Envoy's fields, then `"%KUMA_SOURCE_SERVICE%"
 *   "%KUMA_DESTINATION_SERVICE%" "%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%"
 *   "%UPSTREAM_HOST%"`; `kuma-http-trace`: the later version with
 *   `"%REQ(X-B3-TRACEID?X-DATADOG-TRACEID)%"` before the request id.
 * - `kuma-tcp`: Kuma's default TCP format, `[%START_TIME%] %RESPONSE_FLAGS%
 *   %KUMA_MESH% %KUMA_SOURCE_ADDRESS_WITHOUT_PORT%(%KUMA_SOURCE_SERVICE%)->
 *   %UPSTREAM_HOST%(%KUMA_DESTINATION_SERVICE%) took %DURATION%ms, sent
 *   %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes`.
 *
 * Consul's default is JSON (envoy-json.ts).
 */
import type { LogRecord } from '@meshlog/core';
import type { ParseEnv } from '../fields.js';
import { setFormat } from '../fields.js';
import { F, applyEnvoyField, finishAccessLog, intOf } from './envoy-fields.js';

const T = 0; // [bracketed]
const Q = 1; // "quoted"
const B = 2; // bare

interface Layout {
  name: string;
  format: string;
  fields: readonly F[];
}

const ENVOY_TAIL = [F.XForwardedFor, F.UserAgent, F.RequestId, F.Authority, F.UpstreamHost] as const;
const ISTIO_END = [F.UpstreamCluster, F.UpstreamLocalAddress, F.DownstreamLocalAddress, F.DownstreamRemoteAddress, F.RequestedServerName] as const;
const COUNTERS = [F.BytesReceived, F.BytesSent, F.Duration, F.UpstreamServiceTime] as const;

const LAYOUTS: Layout[] = [
  { name: 'envoy', format: 'envoy', fields: [F.StartTime, F.RequestLine, F.ResponseCode, F.ResponseFlags, ...COUNTERS, ...ENVOY_TAIL] },
  { name: 'istio-1.1', format: 'istio-text', fields: [F.StartTime, F.RequestLine, F.ResponseCode, F.ResponseFlags, F.MixerStatus, ...COUNTERS, ...ENVOY_TAIL, ...ISTIO_END] },
  {
    name: 'istio-1.2',
    format: 'istio-text',
    fields: [F.StartTime, F.RequestLine, F.ResponseCode, F.ResponseFlags, F.MixerStatus, F.UpstreamTransportFailureReason, ...COUNTERS, ...ENVOY_TAIL, ...ISTIO_END],
  },
  {
    name: 'istio-1.3',
    format: 'istio-text',
    fields: [F.StartTime, F.RequestLine, F.ResponseCode, F.ResponseFlags, F.MixerStatus, F.UpstreamTransportFailureReason, ...COUNTERS, ...ENVOY_TAIL, ...ISTIO_END, F.RouteName],
  },
  {
    name: 'istio-1.8',
    format: 'istio-text',
    fields: [F.StartTime, F.RequestLine, F.ResponseCode, F.ResponseFlags, F.UpstreamTransportFailureReason, ...COUNTERS, ...ENVOY_TAIL, ...ISTIO_END, F.RouteName],
  },
  {
    name: 'istio-1.9',
    format: 'istio-text',
    fields: [
      F.StartTime, F.RequestLine, F.ResponseCode, F.ResponseFlags, F.ResponseCodeDetails, F.ConnectionTerminationDetails, F.UpstreamTransportFailureReason,
      ...COUNTERS, ...ENVOY_TAIL, ...ISTIO_END, F.RouteName,
    ],
  },
  {
    name: 'kuma-http',
    format: 'kuma-http',
    fields: [
      F.StartTime, F.KumaMesh, F.RequestLine, F.ResponseCode, F.ResponseFlags, ...COUNTERS, F.XForwardedFor, F.UserAgent, F.RequestId, F.Authority,
      F.KumaSourceService, F.KumaDestinationService, F.KumaSourceAddress, F.UpstreamHost,
    ],
  },
  {
    name: 'kuma-http-trace',
    format: 'kuma-http',
    fields: [
      F.StartTime, F.KumaMesh, F.RequestLine, F.ResponseCode, F.ResponseFlags, ...COUNTERS, F.XForwardedFor, F.UserAgent, F.TraceIdAnyEncoding, F.RequestId,
      F.Authority, F.KumaSourceService, F.KumaDestinationService, F.KumaSourceAddress, F.UpstreamHost,
    ],
  },
];

/** Which token kind each operator prints as in these formats. */
function kindOf(f: F): number {
  switch (f) {
    case F.StartTime:
      return T;
    case F.RequestLine:
    case F.MixerStatus:
    case F.UpstreamTransportFailureReason:
    case F.XForwardedFor:
    case F.UserAgent:
    case F.RequestId:
    case F.Authority:
    case F.UpstreamHost:
    case F.KumaSourceService:
    case F.KumaDestinationService:
    case F.KumaSourceAddress:
    case F.TraceIdAnyEncoding:
      return Q;
    default:
      return B;
  }
}

/** Signature: token kinds in base 3, with the count, as one number (fits a double exactly up to 33 tokens). */
function signatureOf(kinds: ArrayLike<number>, n: number): number {
  let sig = n;
  for (let i = 0; i < n; i++) sig = sig * 3 + kinds[i]!;
  return sig;
}

const BY_SIGNATURE = new Map<number, Layout>();
for (const layout of LAYOUTS) {
  const kinds = layout.fields.map(kindOf);
  BY_SIGNATURE.set(signatureOf(kinds, kinds.length), layout);
}

const MAX_TOKENS = 32;
const starts = new Int32Array(MAX_TOKENS);
const ends = new Int32Array(MAX_TOKENS);
const kinds = new Uint8Array(MAX_TOKENS);

/** Cuts the line into tokens; returns their count, or -1 when it is not an Envoy-style line. */
function tokenize(line: string): number {
  const n = line.length;
  let i = 0;
  let count = 0;
  while (i < n) {
    if (count === MAX_TOKENS) return -1;
    const c = line.charCodeAt(i);
    if (c === 91 /* [ */ && count === 0) {
      const close = line.indexOf(']', i + 1);
      if (close < 0) return -1;
      starts[count] = i + 1;
      ends[count] = close;
      kinds[count] = T;
      i = close + 1;
    } else if (c === 34 /* " */) {
      let close = line.indexOf('"', i + 1);
      // A quote inside a value (a user agent, say) ends nothing unless a space or the end follows.
      while (close >= 0 && close + 1 < n && line.charCodeAt(close + 1) !== 32) close = line.indexOf('"', close + 1);
      if (close < 0) return -1;
      starts[count] = i + 1;
      ends[count] = close;
      kinds[count] = Q;
      i = close + 1;
    } else {
      let e = line.indexOf(' ', i);
      if (e < 0) e = n;
      starts[count] = i;
      ends[count] = e;
      kinds[count] = B;
      i = e;
    }
    count++;
    if (i < n) {
      if (line.charCodeAt(i) !== 32) return -1;
      i++;
    }
  }
  return count;
}

/** The layout a line has, by name (for tests and the fuzz harness); undefined when none. */
export function envoyTextLayoutOf(line: string): string | undefined {
  const n = tokenize(line);
  if (n <= 0 || kinds[0] !== T) return undefined;
  if (isKumaTcp(line, n)) return 'kuma-tcp';
  return BY_SIGNATURE.get(signatureOf(kinds, n))?.name;
}

function isKumaTcp(line: string, n: number): boolean {
  return n === 12 && line.startsWith('took', starts[4]!) && line.startsWith('received:', starts[9]!);
}

/**
 * `[time] FLAGS MESH src(srcsvc)->upstream(dstsvc) took Nms, sent N bytes,
 * received: N bytes`. Checks everything before writing anything.
 */
function applyKumaTcp(line: string, record: LogRecord, env: ParseEnv): boolean {
  const tok = (i: number): string => line.slice(starts[i]!, ends[i]!);
  const hop = tok(3);
  const arrow = hop.indexOf(')->');
  const open1 = hop.indexOf('(');
  const open2 = arrow < 0 ? -1 : hop.indexOf('(', arrow + 3);
  if (arrow < 0 || !hop.endsWith(')') || open1 < 0 || open1 > arrow || open2 < 0) return false;
  const took = tok(5);
  const duration = took.endsWith('ms,') ? intOf(took.slice(0, -3)) : -1;
  const sent = intOf(tok(7));
  const received = intOf(tok(10));
  if (duration < 0 || sent < 0 || received < 0) return false;
  applyEnvoyField(record, env, F.StartTime, tok(0));
  applyEnvoyField(record, env, F.ResponseFlags, tok(1));
  applyEnvoyField(record, env, F.KumaMesh, tok(2));
  applyEnvoyField(record, env, F.KumaSourceAddress, hop.slice(0, open1));
  applyEnvoyField(record, env, F.KumaSourceService, hop.slice(open1 + 1, arrow));
  applyEnvoyField(record, env, F.UpstreamHost, hop.slice(arrow + 3, open2));
  applyEnvoyField(record, env, F.KumaDestinationService, hop.slice(open2 + 1, -1));
  applyEnvoyField(record, env, F.Duration, duration);
  applyEnvoyField(record, env, F.BytesSent, sent);
  applyEnvoyField(record, env, F.BytesReceived, received);
  return true;
}

/**
 * Parses an Envoy-family TEXT line into the record. Returns the layout name,
 * or undefined when the line has none of the known shapes (nothing written).
 */
export function parseEnvoyText(line: string, record: LogRecord, env: ParseEnv): string | undefined {
  if (line.charCodeAt(0) !== 91) return undefined;
  const n = tokenize(line);
  if (n <= 0 || kinds[0] !== T) return undefined;
  if (isKumaTcp(line, n)) {
    if (!applyKumaTcp(line, record, env)) return undefined;
    setFormat(record, env, 'kuma-tcp');
    finishAccessLog(record, env);
    return 'kuma-tcp';
  }
  const layout = BY_SIGNATURE.get(signatureOf(kinds, n));
  if (!layout) return undefined;
  // The response code is the one value every layout must have right; check it before writing anything.
  const codeAt = layout.fields.indexOf(F.ResponseCode);
  const code = line.slice(starts[codeAt]!, ends[codeAt]!);
  if (intOf(code) < 0) return undefined;
  const fields = layout.fields;
  for (let i = 0; i < fields.length; i++) {
    applyEnvoyField(record, env, fields[i]!, line.slice(starts[i]!, ends[i]!));
  }
  setFormat(record, env, layout.format);
  finishAccessLog(record, env);
  return layout.name;
}
