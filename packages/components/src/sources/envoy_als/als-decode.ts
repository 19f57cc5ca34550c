/**
 * Envoy ALS messages -> the internal model. One `AlsStreamDecoder` per
 * stream: the first message's `identifier` names the Envoy node, which
 * becomes the resource of every record on the stream (Istio's node id and
 * metadata give the pod, namespace and service); each HTTP or TCP entry
 * becomes one log record whose attributes follow OpenTelemetry semantic
 * conventions where one exists and `envoy.*` otherwise (all listed in
 * docs/schema.md), and whose body is the entry rendered in Envoy's default
 * access log format, so line filters (`|= " 503 "`) work as on file-based
 * Envoy logs.
 *
 * Invariants: mapping never throws on a decoded message (absent fields are
 * left out, odd values are kept as text); only undecodable bytes throw, as
 * `AlsDecodeError`, whose message says what is wrong.
 */
import { Severity, emptyLogRecord, severityFromHttpStatus, type Attributes, type LogRecord } from '@meshlog/core';
import {
  decodeAlsMessage,
  type AccessLogCommon,
  type CertificateProperties,
  type EnvoyAddress,
  type EnvoyNode,
  type HttpAccessLogEntry,
  type ProtoStruct,
  type ProtoTimestamp,
  type ProtoValue,
  type ResponseFlags,
  type TcpAccessLogEntry,
  type TlsProperties,
} from './als-proto.js';

export class AlsDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlsDecodeError';
  }
}

export interface DecodedAlsMessage {
  records: LogRecord[];
  http: number;
  tcp: number;
}

/** Decodes the messages of one stream in order; keeps the node identity the first message carried. */
export class AlsStreamDecoder {
  private resource: Attributes = {};
  private logName = '';
  private messages = 0;

  /** Resource attributes from the stream's identifier (empty until one arrived). */
  get nodeResource(): Attributes {
    return this.resource;
  }

  decode(bytes: Buffer, now: bigint): DecodedAlsMessage {
    const index = this.messages++;
    let message;
    try {
      message = decodeAlsMessage(bytes);
    } catch (err) {
      throw new AlsDecodeError(`message ${index} of the stream is not a valid envoy.service.accesslog.v3.StreamAccessLogsMessage: ${(err as Error).message}`);
    }
    // Envoy sends the identifier in the first message only; a later one (a proxy that restarts
    // its stream logic) replaces it.
    if (message.identifier) {
      this.resource = nodeResource(message.identifier.node ?? {});
      this.logName = message.identifier.logName ?? '';
    }
    const records: LogRecord[] = [];
    const http = message.httpLogs?.logEntry ?? [];
    const tcp = message.tcpLogs?.logEntry ?? [];
    for (const entry of http) records.push(httpRecord(entry, this.resource, this.logName, now));
    for (const entry of tcp) records.push(tcpRecord(entry, this.resource, this.logName, now));
    return { records, http: http.length, tcp: tcp.length };
  }
}

// ---------------------------------------------------------------- node -> resource

/**
 * The resource of a node. Istio's sidecars and gateways name themselves
 * `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` (type
 * `sidecar` or `router`) and carry metadata (NAME, NAMESPACE, LABELS,
 * WORKLOAD_NAME, OWNER, CLUSTER_ID); metadata wins where both say something.
 * A plain Envoy has an opaque id and its `--service-cluster` as cluster.
 */
export function nodeResource(node: EnvoyNode): Attributes {
  const out: Attributes = {};
  const id = node.id ?? '';
  const cluster = node.cluster ?? '';
  if (id) out['envoy.node.id'] = id;
  if (cluster) out['envoy.node.cluster'] = cluster;

  const meta = structToJson(node.metadata) as Record<string, unknown>;
  const labels = (isObject(meta['LABELS']) ? meta['LABELS'] : {}) as Record<string, unknown>;
  const istio = parseIstioNodeId(id);
  if (istio) {
    out['envoy.node.type'] = istio.type;
    if (istio.ip) out['k8s.pod.ip'] = istio.ip;
  }
  const namespace = str(meta['NAMESPACE']) || istio?.namespace || '';
  const pod = str(meta['NAME']) || istio?.pod || '';
  if (namespace) out['k8s.namespace.name'] = namespace;
  if (pod) out['k8s.pod.name'] = pod;

  const clusterService = cluster && cluster !== 'istio-proxy' ? (namespace && cluster.endsWith(`.${namespace}`) ? cluster.slice(0, -namespace.length - 1) : cluster) : '';
  const service =
    str(labels['service.istio.io/canonical-name']) ||
    str(labels['app.kubernetes.io/name']) ||
    str(labels['app']) ||
    clusterService ||
    str(meta['WORKLOAD_NAME']) ||
    deploymentOfPod(pod);
  if (service) out['service.name'] = service;
  const version = str(labels['service.istio.io/canonical-revision']) || str(labels['app.kubernetes.io/version']) || str(labels['version']);
  if (version && version !== 'latest') out['service.version'] = version;

  // OWNER: kubernetes://apis/apps/v1/namespaces/<ns>/deployments/<name>
  const owner = /\/deployments\/([^/]+)$/.exec(str(meta['OWNER']));
  if (owner) out['k8s.deployment.name'] = owner[1]!;
  const clusterId = str(meta['CLUSTER_ID']);
  if (clusterId) out['k8s.cluster.name'] = clusterId;
  if (node.locality?.region) out['cloud.region'] = node.locality.region;
  if (node.locality?.zone) out['cloud.availability_zone'] = node.locality.zone;
  return out;
}

/** `sidecar~10.1.2.3~reviews-v1-5c9d8b7f4-x2x9z.default~default.svc.cluster.local` -> its parts. */
export function parseIstioNodeId(id: string): { type: string; ip: string; pod: string; namespace: string } | undefined {
  const parts = id.split('~');
  if (parts.length !== 4) return undefined;
  const [type, ip, podDotNamespace, domain] = parts as [string, string, string, string];
  if (!type || !podDotNamespace) return undefined;
  // The DNS domain starts with the namespace; the pod part ends with `.<namespace>`.
  let namespace = domain.includes('.') ? domain.slice(0, domain.indexOf('.')) : '';
  let pod = podDotNamespace;
  if (namespace && pod.endsWith(`.${namespace}`)) pod = pod.slice(0, -namespace.length - 1);
  else if (pod.includes('.')) {
    namespace = pod.slice(pod.lastIndexOf('.') + 1);
    pod = pod.slice(0, pod.lastIndexOf('.'));
  }
  return { type, ip, pod, namespace };
}

/** A Deployment's pods are `<deployment>-<replicaset hash>-<5 chars>`; other pod names stay as they are. */
function deploymentOfPod(pod: string): string {
  const m = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(pod);
  return m ? m[1]! : pod;
}

// ---------------------------------------------------------------- entries -> records

function httpRecord(entry: HttpAccessLogEntry, resource: Attributes, logName: string, now: bigint): LogRecord {
  const common = entry.commonProperties ?? {};
  const req = entry.request ?? {};
  const res = entry.response ?? {};
  const r = baseRecord(common, resource, logName, now);
  const a = r.attributes;

  const method = req.requestMethod && req.requestMethod !== 'METHOD_UNSPECIFIED' ? req.requestMethod : '';
  const protocol = HTTP_VERSIONS[entry.protocolVersion ?? ''];
  const status = res.responseCode !== undefined ? (res.responseCode.value ?? 0) : undefined;

  a['network.protocol.name'] = 'http';
  if (protocol) a['network.protocol.version'] = protocol.version;
  if (method) a['http.request.method'] = method;
  set(a, 'url.scheme', req.scheme);
  set(a, 'url.path', req.path);
  set(a, 'http.request.header.host', req.authority);
  set(a, 'user_agent.original', req.userAgent);
  // Configured extra headers first, so the dedicated fields below win for the same name.
  for (const [name, value] of Object.entries(req.requestHeaders ?? {})) set(a, `http.request.header.${name.toLowerCase()}`, value);
  set(a, 'http.request.header.x-request-id', req.requestId);
  set(a, 'http.request.header.referer', req.referer);
  set(a, 'http.request.header.x-forwarded-for', req.forwardedFor);
  set(a, 'http.request.header.x-envoy-original-path', req.originalPath);
  setCount(a, 'http.request.body.size', req.requestBodyBytes);
  setCount(a, 'envoy.request_headers_bytes', req.requestHeadersBytes);

  if (status !== undefined) a['http.response.status_code'] = status;
  set(a, 'envoy.response_code_details', res.responseCodeDetails);
  setCount(a, 'http.response.body.size', res.responseBodyBytes);
  setCount(a, 'envoy.response_headers_bytes', res.responseHeadersBytes);
  for (const [name, value] of Object.entries(res.responseHeaders ?? {})) set(a, `http.response.header.${name.toLowerCase()}`, value);
  for (const [name, value] of Object.entries(res.responseTrailers ?? {})) set(a, `envoy.response_trailer.${name.toLowerCase()}`, value);
  const grpcStatus = lookup(res.responseTrailers, 'grpc-status') ?? lookup(res.responseHeaders, 'grpc-status');
  if (grpcStatus !== undefined && /^\d{1,2}$/.test(grpcStatus)) a['rpc.grpc.status_code'] = Number(grpcStatus);
  const serviceTime = lookup(res.responseHeaders, 'x-envoy-upstream-service-time');
  if (serviceTime !== undefined && /^\d+$/.test(serviceTime)) a['envoy.upstream_service_time_ms'] = Number(serviceTime);

  const trace = traceContext(req.requestHeaders ?? {});
  if (trace) {
    r.traceId = trace.traceId;
    r.spanId = trace.spanId;
    r.flags = trace.flags;
  }

  r.severityNumber = severityFromHttpStatus(status ?? 0);
  r.severityText = severityWord(r.severityNumber);
  r.body = renderDefaultFormat({
    startMs: Number(r.timeUnixNano / 1_000_000n),
    method: method || '-',
    path: req.originalPath || req.path || '-',
    protocol: protocol?.name ?? '-',
    status: status ?? 0,
    flags: responseFlagsOf(common.responseFlags) || '-',
    bytesReceived: req.requestBodyBytes ?? '0',
    bytesSent: res.responseBodyBytes ?? '0',
    durationMs: totalDurationMs(common),
    upstreamServiceTime: serviceTime ?? '-',
    forwardedFor: req.forwardedFor || '-',
    userAgent: req.userAgent || '-',
    requestId: req.requestId || '-',
    authority: req.authority || '-',
    upstreamHost: addressText(common.upstreamRemoteAddress) || '-',
  });
  return r;
}

/** Flags that mean a proxied TCP connection failed on the upstream side. */
const TCP_FAILURE_FLAGS = new Set(['UF', 'UH', 'UO', 'NR', 'NC', 'DF', 'UT', 'URX', 'UMSDR', 'OM', 'DO']);

function tcpRecord(entry: TcpAccessLogEntry, resource: Attributes, logName: string, now: bigint): LogRecord {
  const common = entry.commonProperties ?? {};
  const conn = entry.connectionProperties ?? {};
  const r = baseRecord(common, resource, logName, now);
  const a = r.attributes;
  a['network.transport'] = 'tcp';
  setCount(a, 'envoy.bytes_received', conn.receivedBytes);
  setCount(a, 'envoy.bytes_sent', conn.sentBytes);
  const flags = responseFlagsOf(common.responseFlags);
  const failed = common.upstreamTransportFailureReason || flags.split(',').some((f) => TCP_FAILURE_FLAGS.has(f));
  r.severityNumber = failed ? Severity.ERROR : Severity.INFO;
  r.severityText = severityWord(r.severityNumber);
  r.body = renderDefaultFormat({
    startMs: Number(r.timeUnixNano / 1_000_000n),
    method: '-',
    path: '-',
    protocol: '-',
    status: 0,
    flags: flags || '-',
    bytesReceived: conn.receivedBytes ?? '0',
    bytesSent: conn.sentBytes ?? '0',
    durationMs: totalDurationMs(common),
    upstreamServiceTime: '-',
    forwardedFor: '-',
    userAgent: '-',
    requestId: '-',
    authority: '-',
    upstreamHost: addressText(common.upstreamRemoteAddress) || '-',
  });
  return r;
}

/** What HTTP and TCP entries share: time, endpoints, TLS, upstream, flags, timings. */
function baseRecord(common: AccessLogCommon, resource: Attributes, logName: string, now: bigint): LogRecord {
  const r = emptyLogRecord();
  r.resource = resource;
  r.observedTimeUnixNano = now;
  // The model (and the store) keep time as unsigned 64-bit nanoseconds; anything else is not a time.
  const start = common.startTime ? nanosOf(common.startTime) : 0n;
  r.timeUnixNano = start > 0n && start <= U64_MAX ? start : now;
  const a: Attributes = { 'log.source': 'envoy', 'log.format': 'envoy-als' };
  r.attributes = a;
  if (logName) a['envoy.log_name'] = logName;
  if (common.accessLogType && common.accessLogType !== 'NotSet') a['envoy.access_log_type'] = String(common.accessLogType);

  setEndpoint(a, 'client', common.downstreamRemoteAddress);
  setEndpoint(a, 'network.peer', common.downstreamDirectRemoteAddress);
  setEndpoint(a, 'network.local', common.downstreamLocalAddress);
  setEndpoint(a, 'server', common.upstreamRemoteAddress);
  set(a, 'envoy.upstream_local_address', addressText(common.upstreamLocalAddress));
  set(a, 'envoy.upstream_cluster', common.upstreamCluster);
  set(a, 'envoy.route_name', common.routeName);
  set(a, 'envoy.response_flags', responseFlagsOf(common.responseFlags));
  set(a, 'envoy.upstream_transport_failure_reason', common.upstreamTransportFailureReason);
  set(a, 'envoy.downstream_transport_failure_reason', common.downstreamTransportFailureReason);
  set(a, 'envoy.connection_termination_details', common.connectionTerminationDetails);
  set(a, 'envoy.stream_id', common.streamId);
  if (common.upstreamRequestAttemptCount) a['envoy.upstream_request_attempt_count'] = common.upstreamRequestAttemptCount;
  for (const [name, value] of Object.entries(common.customTags ?? {})) set(a, `envoy.custom_tag.${name}`, value);

  const duration = totalDurationMs(common);
  if (duration !== undefined) a['envoy.duration_ms'] = duration;
  const request = durationMs(common.timeToLastRxByte);
  if (request !== undefined) a['envoy.request_duration_ms'] = request;
  const response = durationMs(common.timeToFirstUpstreamRxByte);
  if (response !== undefined) a['envoy.response_duration_ms'] = response;
  const lastTx = durationMs(common.timeToLastDownstreamTxByte);
  if (response !== undefined && lastTx !== undefined) a['envoy.response_tx_duration_ms'] = Math.max(0, lastTx - response);

  if (common.tlsProperties) setTls(a, common.tlsProperties);
  return r;
}

// ---------------------------------------------------------------- TLS

const TLS_VERSIONS: Record<string, string> = { TLSv1: '1.0', TLSv1_1: '1.1', TLSv1_2: '1.2', TLSv1_3: '1.3' };

/** IANA names of the cipher suites Envoy (BoringSSL) negotiates by default; others are kept as their code. */
const CIPHER_SUITES: Record<number, string> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xcca8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0xcca9: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0x009d: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  0xc009: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  0xc013: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
};

/**
 * The downstream connection's TLS. The peer is the downstream client, so its
 * certificate is `tls.client.*` and Envoy's own is `tls.server.*`; a peer
 * certificate means the hop was mutual TLS (`tls.mtls`), and its SPIFFE URI
 * SAN is the calling workload's identity.
 */
function setTls(a: Attributes, tls: TlsProperties): void {
  a['tls.protocol.name'] = 'tls';
  const version = TLS_VERSIONS[tls.tlsVersion ?? ''];
  if (version) a['tls.protocol.version'] = version;
  const cipher = tls.tlsCipherSuite?.value;
  if (cipher !== undefined) a['tls.cipher'] = CIPHER_SUITES[cipher] ?? `0x${cipher.toString(16).toUpperCase().padStart(4, '0')}`;
  set(a, 'tls.client.server_name', tls.tlsSniHostname);
  set(a, 'tls.client.ja3', tls.ja3Fingerprint);
  const peer = tls.peerCertificateProperties;
  const peerPresented = certificatePresent(peer);
  a['tls.mtls'] = peerPresented;
  if (peer) setCertificate(a, 'tls.client', peer);
  if (tls.localCertificateProperties) setCertificate(a, 'tls.server', tls.localCertificateProperties);
}

function certificatePresent(cert: CertificateProperties | undefined): boolean {
  return !!cert && (!!cert.subject || !!cert.issuer || (cert.subjectAltName ?? []).some((s) => !!s.uri || !!s.dns));
}

function setCertificate(a: Attributes, prefix: 'tls.client' | 'tls.server', cert: CertificateProperties): void {
  set(a, `${prefix}.subject`, cert.subject);
  set(a, `${prefix}.issuer`, cert.issuer);
  const uris = (cert.subjectAltName ?? []).map((s) => s.uri ?? '').filter((u) => u !== '');
  const spiffe = uris.find((u) => u.startsWith('spiffe://'));
  if (spiffe) a[`${prefix}.spiffe_id`] = spiffe;
  if (uris.length > 0) a[`${prefix}.san.uri`] = uris.join(',');
}

// ---------------------------------------------------------------- trace context

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** W3C traceparent first, then B3 (single `b3` header or the `x-b3-*` set); 64-bit B3 trace ids are left-padded. */
export function traceContext(headers: Record<string, string>): { traceId: string; spanId: string; flags: number } | undefined {
  const h = (name: string): string | undefined => lookup(headers, name)?.trim().toLowerCase();
  const tp = h('traceparent');
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (m && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!)) return { traceId: m[2]!, spanId: m[3]!, flags: parseInt(m[4]!, 16) };
  const single = h('b3');
  if (single) {
    const [traceId, spanId, sampled] = single.split('-');
    const t = b3Ids(traceId, spanId);
    if (t) return { ...t, flags: sampled === '1' || sampled === 'd' ? 1 : 0 };
  }
  const t = b3Ids(h('x-b3-traceid'), h('x-b3-spanid'));
  if (t) return { ...t, flags: h('x-b3-sampled') === '1' || h('x-b3-flags') === '1' ? 1 : 0 };
  return undefined;
}

function b3Ids(traceId: string | undefined, spanId: string | undefined): { traceId: string; spanId: string } | undefined {
  if (!traceId || !spanId || !/^([0-9a-f]{16}|[0-9a-f]{32})$/.test(traceId) || !/^[0-9a-f]{16}$/.test(spanId)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId: traceId.padStart(32, '0'), spanId };
}

// ---------------------------------------------------------------- Envoy's default format

/** Short codes in Envoy's order (`ResponseFlagUtils::ALL_RESPONSE_STRINGS_FLAGS`), by ResponseFlags field. */
const RESPONSE_FLAG_CODES: readonly (readonly [string, string])[] = [
  ['failedLocalHealthcheck', 'LH'],
  ['noHealthyUpstream', 'UH'],
  ['upstreamRequestTimeout', 'UT'],
  ['localReset', 'LR'],
  ['upstreamRemoteReset', 'UR'],
  ['upstreamConnectionFailure', 'UF'],
  ['upstreamConnectionTermination', 'UC'],
  ['upstreamOverflow', 'UO'],
  ['noRouteFound', 'NR'],
  ['delayInjected', 'DI'],
  ['faultInjected', 'FI'],
  ['rateLimited', 'RL'],
  ['unauthorizedDetails', 'UAEX'],
  ['rateLimitServiceError', 'RLSE'],
  ['downstreamConnectionTermination', 'DC'],
  ['upstreamRetryLimitExceeded', 'URX'],
  ['streamIdleTimeout', 'SI'],
  ['invalidEnvoyRequestHeaders', 'IH'],
  ['downstreamProtocolError', 'DPE'],
  ['upstreamMaxStreamDurationReached', 'UMSDR'],
  ['responseFromCacheFilter', 'RFCF'],
  ['noFilterConfigFound', 'NFCF'],
  ['durationTimeout', 'DT'],
  ['upstreamProtocolError', 'UPE'],
  ['noClusterFound', 'NC'],
  ['overloadManager', 'OM'],
  ['dnsResolutionFailure', 'DF'],
];

/** `UF,URX` as Envoy's %RESPONSE_FLAGS% prints them, or '' when none is set. */
export function responseFlagsOf(flags: ResponseFlags | undefined): string {
  if (!flags) return '';
  const out: string[] = [];
  for (const [field, code] of RESPONSE_FLAG_CODES) {
    const v = flags[field];
    if (v === true) out.push(code);
    // Unauthorized carries a reason; Envoy prints UAEX for the external authorization service.
    else if (field === 'unauthorizedDetails' && typeof v === 'object' && v !== null && v.reason === 'EXTERNAL_SERVICE') out.push(code);
  }
  return out.join(',');
}

const HTTP_VERSIONS: Record<string, { name: string; version: string }> = {
  HTTP10: { name: 'HTTP/1.0', version: '1.0' },
  HTTP11: { name: 'HTTP/1.1', version: '1.1' },
  HTTP2: { name: 'HTTP/2', version: '2' },
  HTTP3: { name: 'HTTP/3', version: '3' },
};

export interface DefaultFormatFields {
  startMs: number;
  method: string;
  path: string;
  protocol: string;
  status: number;
  flags: string;
  bytesReceived: string;
  bytesSent: string;
  durationMs: number | undefined;
  upstreamServiceTime: string;
  forwardedFor: string;
  userAgent: string;
  requestId: string;
  authority: string;
  upstreamHost: string;
}

/**
 * Envoy's default access log format (without the trailing newline):
 * `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
 * %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
 * "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`.
 */
export function renderDefaultFormat(f: DefaultFormatFields): string {
  return (
    `[${new Date(f.startMs).toISOString()}] "${f.method} ${f.path} ${f.protocol}" ${f.status} ${f.flags} ` +
    `${f.bytesReceived} ${f.bytesSent} ${f.durationMs ?? '-'} ${f.upstreamServiceTime} "${f.forwardedFor}" ` +
    `"${f.userAgent}" "${f.requestId}" "${f.authority}" "${f.upstreamHost}"`
  );
}

// ---------------------------------------------------------------- small helpers

function severityWord(n: number): string {
  return n >= Severity.ERROR ? 'ERROR' : n >= Severity.WARN ? 'WARN' : 'INFO';
}

function set(a: Attributes, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '') a[key] = value;
}

/** uint64 counts arrive as decimal strings; they fit a double for any real byte count. */
function setCount(a: Attributes, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '' && /^\d+$/.test(value)) a[key] = Number(value);
}

function lookup(map: Record<string, string> | undefined, name: string): string | undefined {
  if (!map) return undefined;
  if (map[name] !== undefined) return map[name];
  for (const [k, v] of Object.entries(map)) if (k.toLowerCase() === name) return v;
  return undefined;
}

const U64_MAX = (1n << 64n) - 1n;

function nanosOf(t: ProtoTimestamp): bigint {
  const seconds = /^-?\d+$/.test(t.seconds ?? '') ? BigInt(t.seconds!) : 0n;
  return seconds * 1_000_000_000n + BigInt(Math.trunc(t.nanos ?? 0));
}

/** A Duration in whole milliseconds, truncated as Envoy's %DURATION% does. */
function durationMs(d: ProtoTimestamp | undefined): number | undefined {
  if (!d) return undefined;
  return Number(nanosOf(d) / 1_000_000n);
}

/** %DURATION%: the request's total duration, or time to the last byte sent downstream. */
function totalDurationMs(common: AccessLogCommon): number | undefined {
  return durationMs(common.duration) ?? durationMs(common.timeToLastDownstreamTxByte);
}

function setEndpoint(a: Attributes, prefix: 'client' | 'server' | 'network.peer' | 'network.local', address: EnvoyAddress | undefined): void {
  if (!address) return;
  const s = address.socketAddress;
  if (s) {
    set(a, `${prefix}.address`, s.address);
    if (s.portValue) a[`${prefix}.port`] = s.portValue;
    return;
  }
  const other = address.pipe?.path ?? address.envoyInternalAddress?.serverListenerName;
  set(a, `${prefix}.address`, other);
}

/** `10.1.2.3:8080`, `[::1]:8080`, a pipe path or an internal listener name, as Envoy prints addresses. */
function addressText(address: EnvoyAddress | undefined): string {
  if (!address) return '';
  const s = address.socketAddress;
  if (s) {
    const host = s.address ?? '';
    const h = host.includes(':') ? `[${host}]` : host;
    const port = s.portValue ?? s.namedPort;
    return port !== undefined ? `${h}:${port}` : h;
  }
  return address.pipe?.path ?? (address.envoyInternalAddress?.serverListenerName ? `envoy://${address.envoyInternalAddress.serverListenerName}/${address.envoyInternalAddress.endpointId ?? ''}` : '');
}

function structToJson(s: ProtoStruct | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: ProtoValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structToJson(v.structValue);
  if (v.listValue !== undefined) return (v.listValue.values ?? []).map(valueToJson);
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
