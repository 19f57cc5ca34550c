/**
 * The HTTP ingest protocols of the ingest suite beyond OTLP/HTTP: where
 * each posts, how its senders authenticate, and how the dataset's records
 * become its request bodies (re-encoded before the measurement, see
 * reencode.ts), as the protocol's real senders shape them.
 */
import { compressSync } from 'snappy';
import { lokiType } from '@meshlog/components';
import type { PostTarget } from './http-post.js';
import { loggedRequest } from './logged-request.js';
import { chunks, svc, unixNanoToMs, type FlatRecord, type PayloadEncoder } from './reencode.js';

export interface HttpProtocol extends PayloadEncoder {
  /** The figures' key: `ingest.<key>_records_per_s`. */
  key: string;
  label: string;
  target: PostTarget;
}

const lokiBasicAuth = (token: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`bench:${token}`).toString('base64')}` });

/** Records grouped into Loki streams by the labels Promtail's Kubernetes discovery gives them, in first-seen order. */
function lokiStreams(records: FlatRecord[]): { labels: Record<string, string>; records: FlatRecord[] }[] {
  const streams = new Map<string, { labels: Record<string, string>; records: FlatRecord[] }>();
  for (const r of records) {
    const labels = { service_name: svc(r), namespace: r.resource['k8s.namespace.name'] ?? '', pod: r.resource['k8s.pod.name'] ?? '', container: r.resource['k8s.container.name'] ?? '' };
    const k = JSON.stringify(labels);
    let s = streams.get(k);
    if (!s) streams.set(k, (s = { labels, records: [] }));
    s.records.push(r);
  }
  return [...streams.values()];
}

/**
 * Loki push (JSON and protobuf+snappy), Elasticsearch bulk, Splunk HEC,
 * Datadog intake and Zipkin, each with the records of one OTLP request,
 * shaped as those protocols' common senders (Promtail, Filebeat, the Splunk
 * OTel Collector, the Datadog Agent, Envoy's Zipkin tracer and zipkin-js)
 * send them.
 */
export const HTTP_PROTOCOLS: HttpProtocol[] = [
  {
    key: 'loki_json',
    label: 'Loki push JSON',
    target: { endpoint: '/loki/api/v1/push', contentType: 'application/json', auth: lokiBasicAuth },
    encode: (records) => Buffer.from(JSON.stringify({ streams: lokiStreams(records).map(({ labels, records: rs }) => ({ stream: labels, values: rs.map((r) => [r.timeUnixNano, r.body]) })) })),
  },
  {
    key: 'loki_proto',
    label: 'Loki push protobuf+snappy',
    target: { endpoint: '/loki/api/v1/push', contentType: 'application/x-protobuf', auth: lokiBasicAuth },
    encode: (records) => {
      const PushRequest = lokiType('PushRequest');
      const streams = lokiStreams(records).map(({ labels, records: rs }) => ({
        // Prometheus' text form of a label set, as Promtail's client writes it.
        labels: `{${Object.entries(labels)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ')}}`,
        entries: rs.map((r) => {
          const ns = BigInt(r.timeUnixNano);
          return { timestamp: { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) }, line: r.body };
        }),
      }));
      return compressSync(Buffer.from(PushRequest.encode(PushRequest.fromObject({ streams })).finish()));
    },
  },
  {
    key: 'es_bulk',
    label: 'Elasticsearch _bulk',
    target: { endpoint: '/_bulk', contentType: 'application/x-ndjson', auth: (t) => ({ authorization: `ApiKey ${Buffer.from(`bench:${t}`).toString('base64')}` }), failed: (b) => b.startsWith('{"took"') && b.includes('"errors":true') },
    encode: (records) =>
      Buffer.from(
        records
          .map(
            (r) =>
              `{"create":{"_index":"logs-bench"}}\n${JSON.stringify({
                '@timestamp': new Date(Number(BigInt(r.timeUnixNano) / 1_000_000n)).toISOString(),
                message: r.body,
                log: { level: r.severityText.toLowerCase() },
                service: { name: svc(r) },
                kubernetes: { namespace: r.resource['k8s.namespace.name'], pod: { name: r.resource['k8s.pod.name'] }, container: { name: r.resource['k8s.container.name'] } },
                ...(r.traceId ? { trace: { id: r.traceId } } : {}),
              })}`,
          )
          .join('\n') + '\n',
      ),
  },
  {
    key: 'splunk_hec',
    label: 'Splunk HEC',
    target: { endpoint: '/services/collector/event', contentType: 'application/json', auth: (t) => ({ authorization: `Splunk ${t}` }), failed: (b) => !b.includes('"code":0') },
    encode: (records) =>
      Buffer.from(
        records
          .map((r) => JSON.stringify({ time: Number(BigInt(r.timeUnixNano) / 1_000_000n) / 1000, host: r.resource['k8s.pod.name'], sourcetype: 'mesh', event: r.body, fields: { 'service.name': svc(r), 'k8s.namespace.name': r.resource['k8s.namespace.name'] } }))
          .join('\n'),
      ),
  },
  {
    key: 'datadog',
    label: 'Datadog logs',
    target: { endpoint: '/api/v2/logs', contentType: 'application/json', auth: (t) => ({ 'dd-api-key': t }) },
    encode: (records) =>
      chunks(records, 1000).map((part) =>
        Buffer.from(
          JSON.stringify(
          part.map((r) => ({
            message: r.body,
            service: svc(r),
            hostname: r.resource['k8s.pod.name'],
            status: r.severityText.toLowerCase(),
            timestamp: Number(BigInt(r.timeUnixNano) / 1_000_000n),
            ddsource: 'envoy',
            ddtags: `kube_namespace:${r.resource['k8s.namespace.name'] ?? ''}`,
          })),
          ),
        ),
      ),
  },
  {
    key: 'zipkin',
    label: 'Zipkin v2 JSON spans',
    target: { endpoint: '/api/v2/spans', contentType: 'application/json', auth: (t) => ({ authorization: `Bearer ${t}` }) },
    // Brave's reporter caps a message at 500 KB; 500 spans stay under it.
    encode: (records) => chunks(records, 500).map((part) => Buffer.from(JSON.stringify(part.map(zipkinSpan)))),
  },
];

/**
 * A record as the Zipkin span of the request it logs: a sidecar line as
 * Envoy's Zipkin tracer reports its CLIENT (outbound) or SERVER (inbound)
 * span, with Envoy's tags; an app line as a local span named after its
 * message, the line itself an annotation (zipkin-js's `annotate`).
 */
function zipkinSpan(r: FlatRecord): Record<string, unknown> {
  const { side, entry: e, message } = loggedRequest(r);
  const ids = { traceId: r.traceId, id: r.spanId, timestamp: e.startTimeMs * 1000, duration: Math.max(1, e.durationMs * 1000), localEndpoint: { serviceName: svc(r) } };
  const status = String(e.responseCode);
  if (side === 'app') {
    return { ...ids, name: message, tags: { 'http.path': e.path, 'http.status_code': status, level: r.severityText.toLowerCase() }, annotations: [{ timestamp: unixNanoToMs(r.timeUnixNano) * 1000, value: r.body }] };
  }
  const remote = side === 'outbound' ? e.upstreamHost : e.downstreamRemoteAddress;
  const colon = remote?.lastIndexOf(':') ?? -1;
  return {
    ...ids,
    name: `${e.authority ?? '-'}/*`,
    kind: side === 'outbound' ? 'CLIENT' : 'SERVER',
    ...(remote && colon > 0 ? { remoteEndpoint: { ipv4: remote.slice(0, colon), port: Number(remote.slice(colon + 1)) } } : {}),
    tags: {
      component: 'proxy',
      'http.method': e.method ?? '-',
      'http.url': `http://${e.authority ?? '-'}${e.path ?? ''}`,
      'http.protocol': e.protocol ?? '-',
      'http.status_code': status,
      'guid:x-request-id': e.requestId ?? '-',
      user_agent: e.userAgent ?? '-',
      request_size: String(e.bytesReceived),
      response_size: String(e.bytesSent),
      response_flags: e.responseFlags ?? '-',
      upstream_cluster: e.upstreamCluster ?? '-',
      'istio.canonical_service': svc(r),
      'istio.namespace': r.resource['k8s.namespace.name'] ?? '',
      ...(e.responseCode >= 500 ? { error: 'true' } : {}),
    },
  };
}
