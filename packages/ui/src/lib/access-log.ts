/**
 * Istio/Envoy access logs, read back from their two default shapes: Istio's
 * text `accessLogFormat` and its JSON labels. The service map is built from
 * these: an outbound entry on a caller's sidecar names the caller (its
 * stream's service) and the callee (the upstream cluster
 * `outbound|port||<service>.<namespace>.svc...`); the callee's inbound
 * entry for the same request says whether the hop was mutual TLS (Istio
 * sets the requested server name, SNI, only on mTLS).
 */

export interface AccessLog {
  direction: 'outbound' | 'inbound' | 'other';
  status: number | undefined;
  durationMs: number | undefined;
  requestId: string | undefined;
  upstreamCluster: string | undefined;
  /** The service the upstream cluster names (outbound entries). */
  upstreamService: string | undefined;
  sni: string | undefined;
  fields: Record<string, string>;
}

const TEXT_LINE =
  /^\[(\S+)\] "(\S+) (\S+) (\S+)" (\d{1,3}) (\S+) (\S+) (\S+) "([^"]*)" (\d+) (\d+) (\d+) (\d+|-) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$/;
const TEXT_NAMES = [
  'start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details', 'connection_termination_details',
  'upstream_transport_failure_reason', 'bytes_received', 'bytes_sent', 'duration', 'upstream_service_time', 'x_forwarded_for', 'user_agent',
  'request_id', 'authority', 'upstream_host', 'upstream_cluster', 'upstream_local_address', 'downstream_local_address', 'downstream_remote_address',
  'requested_server_name', 'route_name',
];

export function parseAccessLog(line: string): AccessLog | undefined {
  let fields: Record<string, string> | undefined;
  if (line.startsWith('[')) {
    const m = TEXT_LINE.exec(line);
    if (m) {
      fields = {};
      TEXT_NAMES.forEach((n, i) => {
        const v = m[i + 1]!;
        if (v !== '-') fields![n] = v;
      });
    }
  } else if (line.startsWith('{') && line.includes('"upstream_cluster"')) {
    try {
      const obj = JSON.parse(line) as Record<string, unknown>;
      fields = {};
      for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) fields[k] = String(v);
    } catch {
      return undefined;
    }
  }
  if (!fields || fields['response_code'] === undefined) return undefined;
  const cluster = fields['upstream_cluster'];
  const direction = cluster?.startsWith('outbound|') ? 'outbound' : cluster?.startsWith('inbound|') ? 'inbound' : 'other';
  const host = cluster?.split('|')[3];
  return {
    direction,
    status: Number(fields['response_code']),
    durationMs: fields['duration'] !== undefined ? Number(fields['duration']) : undefined,
    requestId: fields['request_id'],
    upstreamCluster: cluster,
    upstreamService: host ? host.split('.')[0] : undefined,
    sni: fields['requested_server_name'],
    fields,
  };
}

export interface Edge {
  from: string;
  to: string;
  calls: number;
  errors: number;
  /** Calls whose inbound side was seen, and of those the mTLS ones. */
  matched: number;
  mtls: number;
  durations: number[];
}

export interface EdgeStats {
  from: string;
  to: string;
  calls: number;
  ratePerSecond: number;
  errorShare: number;
  p95Ms: number | undefined;
  /** Share of the calls whose inbound entry was seen that were mTLS; undefined when none was seen. */
  mtlsShare: number | undefined;
}

export interface ServiceMapData {
  nodes: string[];
  edges: EdgeStats[];
  lines: number;
  spanSeconds: number;
}

/** Builds the map from access log lines, each with its stream's service name. */
export function buildServiceMap(entries: { service: string; line: string; tsMs: number }[], rangeSeconds?: number): ServiceMapData {
  const edges = new Map<string, Edge>();
  const inboundTls = new Map<string, boolean>();
  const parsed: { service: string; log: AccessLog; tsMs: number }[] = [];
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (const e of entries) {
    const log = parseAccessLog(e.line);
    if (!log) continue;
    parsed.push({ service: e.service, log, tsMs: e.tsMs });
    if (log.direction === 'inbound' && log.requestId) inboundTls.set(`${log.requestId}|${e.service}`, log.sni !== undefined && log.sni !== '');
  }
  for (const { service, log, tsMs } of parsed) {
    if (log.direction !== 'outbound' || !log.upstreamService) continue;
    minTs = Math.min(minTs, tsMs);
    maxTs = Math.max(maxTs, tsMs);
    const key = `${service}→${log.upstreamService}`;
    let edge = edges.get(key);
    if (!edge) edges.set(key, (edge = { from: service, to: log.upstreamService, calls: 0, errors: 0, matched: 0, mtls: 0, durations: [] }));
    edge.calls++;
    if (log.status === 0 || (log.status !== undefined && log.status >= 500)) edge.errors++;
    if (log.durationMs !== undefined && Number.isFinite(log.durationMs)) edge.durations.push(log.durationMs);
    const tls = log.requestId ? inboundTls.get(`${log.requestId}|${log.upstreamService}`) : undefined;
    if (tls !== undefined) {
      edge.matched++;
      if (tls) edge.mtls++;
    }
  }
  // The rate is over the time the returned lines cover (a line limit may cut the range short).
  const spanSeconds = rangeSeconds ?? (maxTs > minTs ? (maxTs - minTs) / 1000 : 1);
  const nodes = new Set<string>();
  const stats: EdgeStats[] = [];
  for (const e of edges.values()) {
    nodes.add(e.from);
    nodes.add(e.to);
    e.durations.sort((a, b) => a - b);
    stats.push({
      from: e.from,
      to: e.to,
      calls: e.calls,
      ratePerSecond: e.calls / Math.max(spanSeconds, 1),
      errorShare: e.calls ? e.errors / e.calls : 0,
      p95Ms: e.durations.length ? e.durations[Math.min(e.durations.length - 1, Math.floor(e.durations.length * 0.95))] : undefined,
      mtlsShare: e.matched ? e.mtls / e.matched : undefined,
    });
  }
  stats.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  return { nodes: [...nodes].sort(), edges: stats, lines: parsed.length, spanSeconds };
}
