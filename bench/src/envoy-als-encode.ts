/**
 * Dataset records as Envoy's gRPC access log service sends them:
 * `StreamAccessLogsMessage`s of `HTTPAccessLogEntry`s, 500 entries a
 * message, encoded with the server's own ALS protos. (Envoy sends a message
 * when `buffer_size_bytes` fills or `buffer_flush_interval` passes; 500
 * entries is a busy Envoy with a buffer raised from the 16 KiB default,
 * about 40 of these entries.)
 *
 * Each record becomes the entry of the request it logs (logged-request.ts):
 * a sidecar line gives method, path, status, flags, durations, bytes,
 * addresses, upstream cluster and route; an app line only path, status and
 * latency, so its entry has only those. Records of the dataset come from
 * ~150 sidecars and apps; here they travel on C streams, each opened by one
 * Envoy's node identifier, so the stored records carry those C nodes as
 * their resource: throughput depends on the entries, not on whose they are.
 */
import { ALS_METHOD, ALS_SERVICE, alsType } from '@meshlog/components';
import { loggedRequest } from './logged-request.js';
import { chunks, type FlatRecord } from './reencode.js';

export const ALS_PATH = `/${ALS_SERVICE}/${ALS_METHOD}`;
const ENTRIES_PER_MESSAGE = 500;

/** Envoy's short response flags (`%RESPONSE_FLAGS%`) the dataset uses, as the ALS ResponseFlags fields. */
const RESPONSE_FLAGS: Record<string, string> = { UF: 'upstreamConnectionFailure', URX: 'upstreamRetryLimitExceeded', UT: 'upstreamRequestTimeout' };

/** The records of one OTLP request as messages of at most ENTRIES_PER_MESSAGE entries. */
export function alsMessages(records: FlatRecord[]): Buffer[] {
  const Message = alsType('StreamAccessLogsMessage');
  return chunks(records, ENTRIES_PER_MESSAGE).map((part) => Buffer.from(Message.encode(Message.fromObject({ httpLogs: { logEntry: part.map(httpEntry) } })).finish()));
}

/** What stream `i` opens with, as Envoy does: its node (an Istio sidecar's identity) and log name. */
export function alsIdentifier(i: number): Buffer {
  const Message = alsType('StreamAccessLogsMessage');
  const pod = `bench-envoy-${i}`;
  return Buffer.from(
    Message.encode(
      Message.fromObject({
        identifier: {
          node: {
            id: `sidecar~10.0.0.${i + 1}~${pod}.bench~bench.svc.cluster.local`,
            cluster: 'bench-envoy.bench',
            metadata: { fields: { NAMESPACE: { stringValue: 'bench' }, NAME: { stringValue: pod }, LABELS: { structValue: { fields: { app: { stringValue: 'bench-envoy' } } } } } },
          },
          logName: 'meshlog-als',
        },
      }),
    ).finish(),
  );
}

function httpEntry(r: FlatRecord): Record<string, unknown> {
  const { side, entry: e } = loggedRequest(r);
  const flags = Object.fromEntries((e.responseFlags ?? '').split(',').flatMap((f) => (RESPONSE_FLAGS[f] ? [[RESPONSE_FLAGS[f], true]] : [])));
  return {
    commonProperties: {
      startTime: secondsNanos(e.startTimeMs),
      duration: secondsNanos(e.durationMs),
      ...(e.upstreamServiceTimeMs !== null ? { timeToLastUpstreamRxByte: secondsNanos(e.upstreamServiceTimeMs) } : {}),
      ...address('downstreamRemoteAddress', e.downstreamRemoteAddress),
      ...address('downstreamLocalAddress', e.downstreamLocalAddress),
      ...address('upstreamRemoteAddress', e.upstreamHost),
      ...address('upstreamLocalAddress', e.upstreamLocalAddress),
      ...(e.upstreamCluster ? { upstreamCluster: e.upstreamCluster } : {}),
      ...(Object.keys(flags).length > 0 ? { responseFlags: flags } : {}),
      ...(e.routeName ? { routeName: e.routeName } : {}),
      // Inbound traffic in an Istio mesh arrives over mutual TLS.
      ...(side === 'inbound' ? { tlsProperties: { tlsVersion: 'TLSv1_3', ...(e.requestedServerName ? { tlsSniHostname: e.requestedServerName } : {}) } } : {}),
    },
    ...(e.protocol ? { protocolVersion: e.protocol === 'HTTP/2' ? 'HTTP2' : 'HTTP11' } : {}),
    request: {
      ...(e.method ? { requestMethod: e.method } : {}),
      scheme: 'http',
      ...(e.authority ? { authority: e.authority } : {}),
      ...(e.path ? { path: e.path } : {}),
      ...(e.userAgent ? { userAgent: e.userAgent } : {}),
      ...(e.requestId ? { requestId: e.requestId } : {}),
      ...(e.xForwardedFor ? { forwardedFor: e.xForwardedFor } : {}),
      requestBodyBytes: e.bytesReceived,
      ...(e.traceparent ? { requestHeaders: { traceparent: e.traceparent } } : {}),
    },
    response: {
      responseCode: { value: e.responseCode },
      responseBodyBytes: e.bytesSent,
      ...(e.responseCodeDetails ? { responseCodeDetails: e.responseCodeDetails } : {}),
      // The upstream's own time, as Envoy's default format prints it (%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%), when
      // `additional_response_headers_to_log` names the header.
      ...(e.upstreamServiceTimeMs !== null ? { responseHeaders: { 'x-envoy-upstream-service-time': String(e.upstreamServiceTimeMs) } } : {}),
    },
  };
}

/** Milliseconds as a protobuf Timestamp (since the epoch) or Duration. */
function secondsNanos(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) };
}

/** `10.1.2.3:8080` as an Envoy socket address field, or nothing. */
function address(field: string, hostPort: string | null): Record<string, unknown> {
  if (!hostPort) return {};
  const colon = hostPort.lastIndexOf(':');
  return { [field]: { socketAddress: { address: hostPort.slice(0, colon), portValue: Number(hostPort.slice(colon + 1)) } } };
}
