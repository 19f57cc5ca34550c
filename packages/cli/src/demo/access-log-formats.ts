/**
 * Istio's sidecar access log encodings, reproduced field for field.
 *
 * TEXT is Istio's default `accessLogFormat` (`EnvoyTextLogFormat` in
 * istio/istio pilot/pkg/model/telemetry_logging.go). JSON is Istio's default
 * JSON labels (`EnvoyJSONLogFormatIstio`) plus `traceparent`, the one label
 * meshes commonly add so access logs join traces (e.g. Kyma's default);
 * Istio's own default JSON has no trace context.
 *
 * Envoy's rules kept here: an absent value prints as `-` in TEXT and as
 * `null` in JSON; `%RESPONSE_CODE%`, `%BYTES_*%` and `%DURATION%` are JSON
 * numbers, while `%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%` is a header and so a
 * string; `%START_TIME%` is ISO 8601 with milliseconds in UTC. The format's
 * trailing newline is the line terminator, which container runtimes and log
 * collectors strip, so the functions here return the line without it.
 */

/** Istio's default TEXT format, verbatim (with `%UPSTREAM_CLUSTER%`, which older releases use; newer ones print the same through `%UPSTREAM_CLUSTER_RAW%`). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/**
 * A line in Istio's default TEXT format, one capture group per operator (24),
 * quoted where the format quotes. Tests and parsers can share it.
 */
export const ISTIO_TEXT_LINE =
  /^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\] "(\S+) (\S+) (\S+)" (\d{1,3}) (\S+) (\S+) (\S+) "([^"]*)" (\d+) (\d+) (\d+) (\d+|-) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$/;

/** Istio's default JSON labels, in the order Istio declares them, plus `traceparent`. */
export const ISTIO_JSON_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  traceparent: '%REQ(TRACEPARENT)%',
};

/**
 * One access log entry: what Envoy knows when the stream ends. `null` is an
 * absent value (Envoy's `-`). A TCP connection has no method, path or
 * protocol and a response code of 0.
 */
export interface AccessLogEntry {
  startTimeMs: number;
  method: string | null;
  path: string | null;
  protocol: string | null;
  responseCode: number;
  /** Comma-separated short flags (`UF,URX`), or null for none. */
  responseFlags: string | null;
  responseCodeDetails: string | null;
  connectionTerminationDetails: string | null;
  upstreamTransportFailureReason: string | null;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTimeMs: number | null;
  xForwardedFor: string | null;
  userAgent: string | null;
  requestId: string | null;
  authority: string | null;
  upstreamHost: string | null;
  upstreamCluster: string | null;
  upstreamLocalAddress: string | null;
  downstreamLocalAddress: string | null;
  downstreamRemoteAddress: string | null;
  requestedServerName: string | null;
  routeName: string | null;
  traceparent: string | null;
}

/** `%START_TIME%` with Envoy's default `%Y-%m-%dT%H:%M:%E3SZ`. */
export function envoyStartTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

const dash = (v: string | null): string => (v === null || v === '' ? '-' : v);

/** The TEXT line for an entry (no trailing newline; see the module header). */
export function formatIstioText(e: AccessLogEntry): string {
  return (
    `[${envoyStartTime(e.startTimeMs)}] "${dash(e.method)} ${dash(e.path)} ${dash(e.protocol)}" ${e.responseCode} ${dash(e.responseFlags)} ` +
    `${dash(e.responseCodeDetails)} ${dash(e.connectionTerminationDetails)} "${dash(e.upstreamTransportFailureReason)}" ${e.bytesReceived} ${e.bytesSent} ` +
    `${Math.round(e.durationMs)} ${e.upstreamServiceTimeMs === null ? '-' : Math.round(e.upstreamServiceTimeMs)} "${dash(e.xForwardedFor)}" "${dash(e.userAgent)}" "${dash(e.requestId)}" ` +
    `"${dash(e.authority)}" "${dash(e.upstreamHost)}" ${dash(e.upstreamCluster)} ${dash(e.upstreamLocalAddress)} ${dash(e.downstreamLocalAddress)} ` +
    `${dash(e.downstreamRemoteAddress)} ${dash(e.requestedServerName)} ${dash(e.routeName)}`
  );
}

const orNull = (v: string | null): string | null => (v === '' ? null : v);

/** The JSON line for an entry, keys in `ISTIO_JSON_FORMAT` order. */
export function formatIstioJson(e: AccessLogEntry): string {
  const line: Record<keyof typeof ISTIO_JSON_FORMAT, string | number | null> = {
    start_time: envoyStartTime(e.startTimeMs),
    route_name: orNull(e.routeName),
    method: orNull(e.method),
    path: orNull(e.path),
    protocol: orNull(e.protocol),
    response_code: e.responseCode,
    // Envoy prints "-" for no flags even in JSON: the operator always has a value.
    response_flags: e.responseFlags ?? '-',
    response_code_details: orNull(e.responseCodeDetails),
    connection_termination_details: orNull(e.connectionTerminationDetails),
    bytes_received: e.bytesReceived,
    bytes_sent: e.bytesSent,
    duration: Math.round(e.durationMs),
    upstream_service_time: e.upstreamServiceTimeMs === null ? null : String(Math.round(e.upstreamServiceTimeMs)),
    x_forwarded_for: orNull(e.xForwardedFor),
    user_agent: orNull(e.userAgent),
    request_id: orNull(e.requestId),
    authority: orNull(e.authority),
    upstream_host: orNull(e.upstreamHost),
    upstream_cluster: orNull(e.upstreamCluster),
    upstream_local_address: orNull(e.upstreamLocalAddress),
    downstream_local_address: orNull(e.downstreamLocalAddress),
    downstream_remote_address: orNull(e.downstreamRemoteAddress),
    requested_server_name: orNull(e.requestedServerName),
    upstream_transport_failure_reason: orNull(e.upstreamTransportFailureReason),
    traceparent: orNull(e.traceparent),
  };
  return JSON.stringify(line);
}

/**
 * Severity of an access log line: the status class stands in for a level.
 * Code 0 is a TCP connection's close (INFO) or, with a flag such as `DC`, a
 * stream reset before any response (WARN).
 */
export function accessLogSeverity(responseCode: number, responseFlags: string | null): { number: number; text: string } {
  if (responseCode >= 500) return { number: 17, text: 'ERROR' };
  if (responseCode >= 400) return { number: 13, text: 'WARN' };
  if (responseCode === 0 && responseFlags !== null && responseFlags !== '-') return { number: 13, text: 'WARN' };
  return { number: 9, text: 'INFO' };
}

/**
 * Response bodies Envoy writes for its own local replies; their lengths are
 * `%BYTES_SENT%` on those lines.
 */
export const ENVOY_LOCAL_REPLY = {
  connectionFailure: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  noHealthyUpstream: 'no healthy upstream',
  timeout: 'upstream request timeout',
} as const;

export function tlsFailureReply(reason: string): string {
  return `${ENVOY_LOCAL_REPLY.connectionFailure}, transport failure reason: ${reason}`;
}
