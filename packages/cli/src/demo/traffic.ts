/**
 * The request walker: turns one visitor request into the telemetry a real
 * mesh would emit for it.
 *
 * A request enters at the ingress gateway and walks the call graph in
 * topology.ts. Every hop between two meshed services yields an outbound
 * access log on the caller's sidecar, an inbound access log on the callee's
 * sidecar, a CLIENT span and a SERVER span, and whatever the handler logs;
 * database calls yield a CLIENT span (sidecars log pooled TCP connections
 * only when they close, which the walker does now and then).
 *
 * Invariants:
 * - Every record of one request carries the same trace id and x-request-id;
 *   an outbound access log carries the client span's id, an inbound one and
 *   the handler's logs the server span's id, and both access logs of a hop
 *   show the same `traceparent` (the client span's context, as sent).
 * - Time flows forward: a child call starts after its parent's and ends
 *   before its parent ends; the client side of a hop brackets the server
 *   side. Timestamps are epoch ms of the simulated instant, so the caller
 *   decides whether they are "now" (the live demo) or any fixed time (tests).
 * - Envoy's behaviour is modelled where it shows in the logs: Istio's default
 *   retry policy (2 retries on connect failure and 503, a different host per
 *   retry, 25 ms base back-off), `URX` once retries are exhausted, route
 *   timeouts as `504 UT` on the client with `0 DC` on the server, local
 *   replies with Envoy's own bodies and byte counts.
 */

import type { AccessLogEntry } from './access-log-formats.js';
import { accessLogSeverity, ENVOY_LOCAL_REPLY, formatIstioJson, formatIstioText, tlsFailureReply } from './access-log-formats.js';
import type { AppError, AppLogEvent, AppLogStyleName, Fields, LogLevel } from './app-log-formats.js';
import { LEVEL_SEVERITY, renderAppLog } from './app-log-formats.js';
import type { LogTemplate } from './app-log-catalog.js';
import { BUSINESS_ERROR_LOGS, defaultLogger, dependencyError, ENDPOINT_LOGS, internalError, postgresRefusedError, slowQueryLog } from './app-log-catalog.js';
import type { IncidentState } from './incidents.js';
import type { DemoLogRecord, DemoResource, DemoSpan, OtlpKeyValue } from './otlp-json.js';
import { intAttr, SPAN_FLAGS_LOCAL_PARENT, SPAN_FLAGS_REMOTE_PARENT, SpanKind, StatusCode, stringAttr } from './otlp-json.js';
import type { SeededRandom } from './random.js';
import type { RequestValues } from './request-values.js';
import { fillTemplate, newRequestValues, SCANNER_AGENTS, SCANNER_PATHS } from './request-values.js';
import type { CallSpec, DatabaseCall, EndpointSpec, Pod, ServiceCall, ServiceSpec, Topology } from './topology.js';
import { authorityFor, ENTRY_ROUTES, EXTERNAL_HOST, inboundCluster, outboundCluster, outboundSni, serviceFqdn } from './topology.js';

/** Everything one visitor request produced. */
export interface RequestTelemetry {
  readonly traceId: string;
  readonly requestId: string;
  readonly startMs: number;
  /** The latest `observedMs` of its records: when a collector would have seen all of it. */
  readonly endMs: number;
  /** The status the visitor got from the gateway (0: the visitor disconnected). */
  readonly status: number;
  readonly logs: DemoLogRecord[];
  readonly spans: DemoSpan[];
}

// Rates outside incidents, per hop or per request. Together with the
// business errors in topology.ts they put ~1-2% of visitor requests at 4xx/5xx.
const P_SCANNER = 0.003; // a probe for /.env and friends: 404 NR at the gateway
const P_VISITOR_DISCONNECT = 0.002; // the browser went away: 0 DC at the gateway
const P_INTERNAL_ERROR = 0.001; // a handler bug: 500 with a stack trace
const P_CONNECT_FAILURE = 0.0005; // a pod restarting: UF, usually saved by a retry
const P_TCP_CLOSE_LOG = 0.002; // a pooled database connection closes: one TCP access log
const SLOW_QUERY_LOG_MS = 100; // the services' own slow-query threshold
const POSTGRES_LOG_MIN_DURATION_MS = 250; // log_min_duration_statement
const RETRY_BASE_MS = 25; // Envoy's default retry back-off base interval
const GATEWAY_TIMEOUT_MS = 15_000;

const ACCESS_ATTRS = {
  'istio-text': [stringAttr('log.source', 'envoy'), stringAttr('log.format', 'istio-text'), stringAttr('log.iostream', 'stdout')],
  'istio-json': [stringAttr('log.source', 'envoy'), stringAttr('log.format', 'istio-json'), stringAttr('log.iostream', 'stdout')],
} as const;
const APP_ATTRS = {
  stdout: [stringAttr('log.source', 'app'), stringAttr('log.iostream', 'stdout')],
  stderr: [stringAttr('log.source', 'app'), stringAttr('log.iostream', 'stderr')],
} as const;

const UF_CONNECT_REFUSED = {
  flags: 'UF',
  details: 'upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}',
  transport: 'delayed_connect_error:_111',
  body: ENVOY_LOCAL_REPLY.connectionFailure,
};
const TLS_EXPIRED_REASON = 'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED';
const UF_TLS_EXPIRED = {
  flags: 'UF',
  details: `upstream_reset_before_response_started{connection_failure,${TLS_EXPIRED_REASON.replace(/ /g, '_')}}`,
  transport: TLS_EXPIRED_REASON,
  body: tlsFailureReply(TLS_EXPIRED_REASON),
};

/** gRPC status codes the walker uses. */
const GRPC = { OK: 0, INTERNAL: 13, UNAVAILABLE: 14 } as const;

interface HopResult {
  /** HTTP status the caller saw (0: no response). */
  readonly status: number;
  readonly grpcStatus: number;
  readonly ok: boolean;
  readonly endMs: number;
  /** Envoy's local reply body, or the status line, for the caller's error log. */
  readonly detail: string;
}

interface ServeResult {
  readonly status: number;
  readonly grpcStatus: number;
  readonly bytesSent: number;
  readonly endMs: number;
  /** x-envoy-upstream-service-time as the inbound sidecar measured it. */
  readonly serviceTimeMs: number | null;
}

interface InboundRequest {
  readonly clientPod: Pod;
  readonly clientSpanId: string;
  readonly traceparent: string;
  readonly upstreamLocalPort: number;
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  readonly requestBytes: number;
  readonly authority: string;
  readonly userAgent: string;
  readonly xForwardedFor: string | null;
  readonly deadlineMs: number;
}

/** How the ingress gateway's hop differs: its downstream is a browser, not a sidecar. */
interface EdgeInfo {
  readonly gatewayPod: Pod;
  readonly visitorDisconnects: boolean;
}

function userAgentFor(caller: ServiceSpec, target: ServiceSpec): string {
  const grpc = target.protocol === 'grpc';
  switch (caller.language) {
    case 'go':
      return grpc ? 'grpc-go/1.64.0' : 'Go-http-client/1.1';
    case 'node':
      return grpc ? 'grpc-node-js/1.10.8' : 'got (https://github.com/sindresorhus/got)';
    case 'java':
      return grpc ? 'grpc-java-netty/1.63.0' : 'Java-http-client/21.0.3';
    case 'python':
      return grpc ? 'grpc-python/1.62.2 grpc-c/39.0.0 (linux; chttp2)' : 'python-requests/2.31.0';
    default:
      return 'envoy';
  }
}

const ephemeralPort = (rng: SeededRandom): number => rng.int(32_768, 60_999);
const threadName = (rng: SeededRandom): string => `http-nio-8080-exec-${rng.int(1, 10)}`;

/** Walks one visitor request. Create one per request; `run` once. */
export class RequestWalk {
  readonly traceId: string;
  readonly requestId: string;
  readonly values: RequestValues;
  readonly logs: DemoLogRecord[] = [];
  readonly spans: DemoSpan[] = [];
  private lastObservedMs = 0;

  constructor(
    private readonly topology: Topology,
    private readonly rng: SeededRandom,
    private readonly incidents: IncidentState,
  ) {
    this.traceId = rng.nonZeroHex(32);
    this.requestId = rng.uuid();
    this.values = newRequestValues(rng);
  }

  run(startMs: number): RequestTelemetry {
    const gateway = this.rng.pick(this.pods('istio-ingressgateway'));
    const rootSpanId = this.rng.nonZeroHex(16);
    const v = this.values;
    let status: number;
    let endMs: number;
    let name: string;
    let method = 'GET';
    let route: string | undefined;

    if (this.rng.chance(P_SCANNER)) {
      // No route matches: the gateway answers by itself.
      const path = this.rng.pick(SCANNER_PATHS);
      endMs = startMs + this.rng.float(0.1, 0.6);
      status = 404;
      name = 'GET';
      this.accessLog(gateway, 'istio-text', rootSpanId, {
        ...this.edgeEntry(gateway, startMs, endMs),
        method: 'GET', path, protocol: 'HTTP/1.1', responseCode: 404, responseFlags: 'NR', responseCodeDetails: 'route_not_found',
        userAgent: this.rng.pick(SCANNER_AGENTS), bytesReceived: 0, bytesSent: 0, upstreamServiceTimeMs: null,
        upstreamHost: null, upstreamCluster: null, upstreamLocalAddress: null, traceparent: null,
      }, endMs);
    } else {
      const entry = this.rng.weighted(ENTRY_ROUTES.map((r) => r.endpoint), ENTRY_ROUTES.map((r) => r.weight));
      const endpoint = this.endpoint(entry);
      method = endpoint.method;
      route = endpoint.route;
      name = `${method} ${route}`;
      const hop = this.callService(gateway, rootSpanId, { kind: 'service', endpoint: entry, timeoutMs: GATEWAY_TIMEOUT_MS }, startMs, {
        gatewayPod: gateway,
        visitorDisconnects: this.rng.chance(P_VISITOR_DISCONNECT),
      });
      status = hop.status;
      endMs = hop.endMs + this.rng.float(0.02, 0.1);
    }

    const attrs: OtlpKeyValue[] = [
      stringAttr('http.request.method', method),
      stringAttr('url.scheme', 'https'),
      stringAttr('server.address', EXTERNAL_HOST),
      stringAttr('client.address', v.clientIp),
      stringAttr('user_agent.original', v.userAgent),
      stringAttr('guid:x-request-id', this.requestId),
    ];
    if (route !== undefined) attrs.push(stringAttr('http.route', route));
    if (status > 0) attrs.push(intAttr('http.response.status_code', status));
    this.span(gateway.proxy, rootSpanId, undefined, name, SpanKind.SERVER, startMs, endMs, attrs, status >= 500 ? StatusCode.ERROR : StatusCode.UNSET);

    return { traceId: this.traceId, requestId: this.requestId, startMs, endMs: Math.max(endMs, this.lastObservedMs), status, logs: this.logs, spans: this.spans };
  }

  private pods(service: string): readonly Pod[] {
    const pods = this.topology.pods.get(service);
    if (!pods || pods.length === 0) throw new Error(`no pods for ${service}`);
    return pods;
  }

  private service(name: string): ServiceSpec {
    const s = this.topology.services.get(name);
    if (!s) throw new Error(`unknown service ${name}`);
    return s;
  }

  private endpoint(id: string): EndpointSpec {
    const e = this.topology.endpoints.get(id);
    if (!e) throw new Error(`unknown endpoint ${id}`);
    return e;
  }

  /** Istio's retries pick a host not tried yet (`previous_hosts`) while there is one. */
  private pickPod(pods: readonly Pod[], tried: readonly Pod[]): Pod {
    const fresh = pods.filter((p) => !tried.includes(p));
    return this.rng.pick(fresh.length > 0 ? fresh : pods);
  }

  private edgeEntry(gateway: Pod, startMs: number, endMs: number): AccessLogEntry {
    const v = this.values;
    return {
      startTimeMs: startMs, method: null, path: null, protocol: v.clientProtocol, responseCode: 0, responseFlags: null,
      responseCodeDetails: null, connectionTerminationDetails: null, upstreamTransportFailureReason: null,
      bytesReceived: 0, bytesSent: 0, durationMs: endMs - startMs, upstreamServiceTimeMs: null,
      // No load balancer in front appends X-Forwarded-For: the gateway is the first proxy.
      xForwardedFor: null, userAgent: v.userAgent, requestId: this.requestId, authority: EXTERNAL_HOST,
      upstreamHost: null, upstreamCluster: null, upstreamLocalAddress: null,
      downstreamLocalAddress: `${gateway.ip}:${gateway.service.targetPort}`,
      downstreamRemoteAddress: `${v.clientIp}:${v.clientPort}`,
      requestedServerName: EXTERNAL_HOST, routeName: null, traceparent: null,
    };
  }

  /** One hop to a meshed service, retries and all, seen from the caller's sidecar. */
  private callService(caller: Pod, parentSpanId: string, call: ServiceCall, startMs: number, edge?: EdgeInfo): HopResult {
    const rng = this.rng;
    const v = this.values;
    const endpoint = this.endpoint(call.endpoint);
    const target = this.service(endpoint.service);
    const targetPods = this.pods(target.name);
    const clientSpanId = rng.nonZeroHex(16);
    const traceparent = `00-${this.traceId}-${clientSpanId}-01`;
    const path = fillTemplate(endpoint.path, v);
    const protocol = edge ? v.clientProtocol : target.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1';
    const requestBytes = rng.int(endpoint.requestBytes[0], endpoint.requestBytes[1]);
    const authority = edge ? EXTERNAL_HOST : authorityFor(caller.service, target);
    const userAgent = edge ? v.userAgent : userAgentFor(caller.service, target);
    const deadlineMs = call.timeoutMs === undefined ? Number.POSITIVE_INFINITY : startMs + call.timeoutMs;
    const certExpired = this.incidents.certExpired(caller.service.name, caller.index);

    const tried: Pod[] = [];
    let t = startMs + rng.float(0.05, 0.3);
    let attempts = 0;
    let pod = targetPods[0] as Pod;
    let status = 503;
    let grpcStatus: number = GRPC.OK;
    let flags: string | null = null;
    let details = 'via_upstream';
    let transport: string | null = null;
    let bytesSent = 0;
    let attemptEnd = t;
    let serviceTime: number | null = null;
    let upstreamLocal: string | null = null;

    while (attempts < 3) {
      attempts++;
      pod = this.pickPod(targetPods, tried);
      tried.push(pod);
      const localPort = ephemeralPort(rng);
      const fault = certExpired ? UF_TLS_EXPIRED : rng.chance(P_CONNECT_FAILURE) ? UF_CONNECT_REFUSED : undefined;
      if (fault) {
        attemptEnd = t + rng.float(0.4, 3);
        status = 503;
        grpcStatus = GRPC.OK;
        flags = fault.flags;
        details = fault.details;
        transport = fault.transport;
        bytesSent = fault.body.length;
        serviceTime = null;
        upstreamLocal = null;
      } else {
        const served = this.serve(pod, endpoint, target, t + rng.float(0.1, 0.5), {
          clientPod: caller, clientSpanId, traceparent, upstreamLocalPort: localPort, method: endpoint.method, path,
          protocol: target.protocol === 'grpc' ? 'HTTP/2' : 'HTTP/1.1', requestBytes, authority, userAgent,
          xForwardedFor: edge ? v.clientIp : null, deadlineMs,
        });
        attemptEnd = served.endMs + rng.float(0.1, 0.5);
        status = served.status;
        grpcStatus = served.grpcStatus;
        flags = null;
        details = 'via_upstream';
        transport = null;
        bytesSent = served.bytesSent;
        serviceTime = served.serviceTimeMs;
        upstreamLocal = `${caller.ip}:${localPort}`;
      }
      if (status !== 503 || attemptEnd >= deadlineMs) break;
      if (attempts < 3) t = attemptEnd + rng.float(0, RETRY_BASE_MS * 2 ** (attempts - 1));
    }

    let endMs = attemptEnd;
    if (attempts === 3 && status === 503) flags = flags === null ? 'URX' : `${flags},URX`;
    if (endMs > deadlineMs) {
      endMs = deadlineMs;
      status = 504;
      grpcStatus = GRPC.OK;
      flags = 'UT';
      details = 'response_timeout';
      transport = null;
      bytesSent = ENVOY_LOCAL_REPLY.timeout.length;
      serviceTime = null;
    }
    if (edge?.visitorDisconnects) {
      // The browser closed the stream before the response was sent.
      endMs = startMs + (endMs - startMs) * rng.float(0.3, 0.95);
      status = 0;
      flags = 'DC';
      details = 'downstream_remote_disconnect';
      bytesSent = 0;
      serviceTime = null;
    }
    const clientEnd = endMs + rng.float(0.05, 0.2);
    const ok = status > 0 && status < 400 && grpcStatus === GRPC.OK;
    const fqdn = serviceFqdn(target);

    const entry: AccessLogEntry = {
      startTimeMs: startMs, method: endpoint.method, path, protocol, responseCode: status, responseFlags: flags,
      responseCodeDetails: details, connectionTerminationDetails: null, upstreamTransportFailureReason: transport,
      bytesReceived: requestBytes, bytesSent, durationMs: clientEnd - startMs, upstreamServiceTimeMs: serviceTime,
      xForwardedFor: null, userAgent, requestId: this.requestId, authority,
      upstreamHost: `${pod.ip}:${target.targetPort}`, upstreamCluster: outboundCluster(target), upstreamLocalAddress: upstreamLocal,
      downstreamLocalAddress: edge ? `${edge.gatewayPod.ip}:${edge.gatewayPod.service.targetPort}` : `${this.topology.clusterIps.get(target.name) ?? '10.96.0.1'}:${target.port}`,
      downstreamRemoteAddress: edge ? `${v.clientIp}:${v.clientPort}` : `${caller.ip}:${ephemeralPort(rng)}`,
      requestedServerName: edge ? EXTERNAL_HOST : null, routeName: edge ? null : 'default', traceparent,
    };
    this.accessLog(caller, caller.service.accessLog ?? 'istio-text', clientSpanId, entry, clientEnd);

    const attrs: OtlpKeyValue[] = [
      stringAttr('http.request.method', endpoint.method),
      stringAttr('server.address', fqdn),
      intAttr('server.port', target.port),
      stringAttr('url.full', `http://${authority}${path}`),
      stringAttr('network.protocol.version', protocol === 'HTTP/2' ? '2' : '1.1'),
      stringAttr('peer.service', target.name),
      stringAttr('upstream_cluster', outboundCluster(target)),
      stringAttr('guid:x-request-id', this.requestId),
    ];
    if (status > 0) attrs.push(intAttr('http.response.status_code', status));
    if (flags !== null) attrs.push(stringAttr('response_flags', flags));
    if (target.protocol === 'grpc') {
      attrs.push(stringAttr('rpc.system', 'grpc'), stringAttr('rpc.service', target.grpcService ?? target.name), stringAttr('rpc.method', endpoint.route.split('/').pop() ?? ''), intAttr('rpc.grpc.status_code', status === 200 ? grpcStatus : GRPC.UNAVAILABLE));
    }
    const name = edge ? `router ${outboundCluster(target)} egress` : target.protocol === 'grpc' ? endpoint.route.slice(1) : `${endpoint.method} ${endpoint.route}`;
    this.span(caller.app ?? caller.proxy, clientSpanId, parentSpanId, name, SpanKind.CLIENT, startMs, clientEnd, attrs, ok ? StatusCode.UNSET : StatusCode.ERROR, ok ? undefined : flags === null ? undefined : details);

    const detail = flags === null ? `${status}` : flags === 'UT' ? ENVOY_LOCAL_REPLY.timeout : transport !== null && transport.startsWith('TLS') ? tlsFailureReply(transport) : ENVOY_LOCAL_REPLY.connectionFailure;
    return { status, grpcStatus, ok, endMs: clientEnd, detail };
  }

  /** One attempt arriving at a pod: its inbound sidecar, handler, and SERVER span. */
  private serve(pod: Pod, endpoint: EndpointSpec, service: ServiceSpec, startMs: number, req: InboundRequest): ServeResult {
    const rng = this.rng;
    const v = this.values;
    const serverSpanId = rng.nonZeroHex(16);
    const slow = this.incidents.slowdown(service.name);
    const inbound = (responseCode: number, flags: string | null, details: string, transport: string | null, bytesSent: number, endMs: number, serviceTime: number | null, upstreamLocal: string | null): void => {
      this.accessLog(pod, service.accessLog ?? 'istio-text', serverSpanId, {
        startTimeMs: startMs, method: req.method, path: req.path, protocol: req.protocol, responseCode, responseFlags: flags,
        responseCodeDetails: details, connectionTerminationDetails: null, upstreamTransportFailureReason: transport,
        bytesReceived: req.requestBytes, bytesSent, durationMs: endMs - startMs, upstreamServiceTimeMs: serviceTime,
        xForwardedFor: req.xForwardedFor, userAgent: req.userAgent, requestId: this.requestId, authority: req.authority,
        upstreamHost: `${pod.ip}:${service.targetPort}`, upstreamCluster: inboundCluster(service), upstreamLocalAddress: upstreamLocal,
        downstreamLocalAddress: `${pod.ip}:${service.targetPort}`, downstreamRemoteAddress: `${req.clientPod.ip}:${req.upstreamLocalPort}`,
        requestedServerName: outboundSni(service), routeName: 'default', traceparent: req.traceparent,
      }, endMs);
    };

    // Payments error burst: the app is either restarting (its sidecar cannot
    // connect to it) or up but without its database.
    let paymentsMode: 'restarting' | 'no-database' | undefined;
    if (service.name === 'payments' && this.incidents.paymentsDown && rng.chance(0.75)) {
      paymentsMode = rng.chance(0.5) ? 'restarting' : 'no-database';
    }
    if (paymentsMode === 'restarting') {
      const endMs = startMs + rng.float(0.3, 1.5);
      inbound(503, UF_CONNECT_REFUSED.flags, UF_CONNECT_REFUSED.details, UF_CONNECT_REFUSED.transport, UF_CONNECT_REFUSED.body.length, endMs, null, null);
      return { status: 503, grpcStatus: GRPC.OK, bytesSent: UF_CONNECT_REFUSED.body.length, endMs, serviceTimeMs: endMs - startMs };
    }

    const appStart = startMs + rng.float(0.05, 0.25);
    const selfTotal = rng.logNormal(endpoint.selfMs, 0.5) * slow;
    let t = appStart + selfTotal * 0.4;
    if (slow > 1 && service.appLogStyle === 'pino' && rng.chance(0.2)) {
      const s = slowQueryLog(service, '', selfTotal);
      this.appLog(pod, serverSpanId, s.level, s.msg, s.logger, s.fields, t);
    }
    const business = endpoint.errors?.find((e) => rng.chance(e.p));
    let failure: { status: number; grpcStatus: number } | undefined;
    const log = (level: LogLevel, msg: string, logger: string, fields: Fields, timeMs: number, error?: AppError): void =>
      this.appLog(pod, serverSpanId, level, msg, logger, fields, timeMs, error);
    // A handler without its database answers 503; one whose dependency failed
    // answers 500 (gRPC: UNAVAILABLE), which Istio's default policy does not
    // retry, so one outage is not multiplied at every hop above it.
    const unavailable = service.protocol === 'grpc' ? { status: 200, grpcStatus: GRPC.UNAVAILABLE } : { status: 503, grpcStatus: GRPC.OK };
    const dependencyFailed = service.protocol === 'grpc' ? { status: 200, grpcStatus: GRPC.UNAVAILABLE } : { status: 500, grpcStatus: GRPC.OK };

    for (const call of endpoint.calls) {
      if (call.p !== undefined && !rng.chance(call.p)) continue;
      if (call.skipOnError === true && (business !== undefined || failure !== undefined)) continue;
      if (failure !== undefined) break;
      if (call.kind === 'db') {
        if (call.cacheMiss === true) log('info', 'cache miss', 'cache/redis.go:52', { key: `${call.target}:${v.productId}` }, t);
        const dbEnd = this.databaseCall(pod, serverSpanId, call, t, slow, paymentsMode === 'no-database');
        if (dbEnd.failed) {
          log('warn', 'retrying upstream', 'store/postgres.go:74', { target: 'postgres.data:5432', attempt: 2, backoff_ms: 50 }, dbEnd.endMs - 0.3);
          const e = postgresRefusedError(service, this.topology.clusterIps.get('postgres') ?? '10.96.0.1', rng);
          log('error', e.msg, e.logger, { order_id: v.orderId }, dbEnd.endMs, e.error);
          failure = unavailable;
        }
        t = dbEnd.endMs + rng.float(0.02, 0.2);
        continue;
      }
      const hop = this.callService(pod, serverSpanId, call, t + rng.float(0.05, 0.3));
      t = hop.endMs + rng.float(0.05, 0.3);
      if (hop.ok) continue;
      const target = this.service(this.endpoint(call.endpoint).service);
      if (call.optional === true) {
        log('warn', `${target.name} unavailable, continuing without it`, defaultLogger(service), { status: hop.status, grpc_status: hop.grpcStatus }, t);
      } else if (hop.status >= 400 && hop.status < 500) {
        log('warn', `${target.name} rejected the request`, defaultLogger(service), { status: hop.status }, t);
        failure = { status: hop.status, grpcStatus: GRPC.OK };
      } else {
        const e = dependencyError(service, target, hop.status, hop.detail, rng);
        log('error', e.msg, e.logger, { status: hop.status }, t, e.error);
        failure = dependencyFailed;
      }
    }

    if (failure === undefined && business === undefined && rng.chance(P_INTERNAL_ERROR)) {
      const e = internalError(service, rng);
      log('error', e.msg, e.logger, {}, t, e.error);
      failure = service.protocol === 'grpc' ? { status: 200, grpcStatus: GRPC.INTERNAL } : { status: 500, grpcStatus: GRPC.OK };
    }
    t += selfTotal * 0.6;
    const appEnd = t;

    let status = 200;
    let grpcStatus: number = GRPC.OK;
    if (failure !== undefined) ({ status, grpcStatus } = failure);
    else if (business !== undefined) {
      status = business.status;
      const tpl = BUSINESS_ERROR_LOGS[business.reason];
      if (tpl) this.templateLog(pod, serverSpanId, tpl, appStart, appEnd);
    } else {
      if (endpoint.id === 'frontend.static' && rng.chance(0.35)) status = 304;
      for (const tpl of ENDPOINT_LOGS[endpoint.id] ?? []) if (rng.chance(tpl.p)) this.templateLog(pod, serverSpanId, tpl, appStart, appEnd);
    }
    const ok = status < 400 && grpcStatus === GRPC.OK;
    const bytesSent = status === 304 ? 0 : ok ? rng.int(endpoint.responseBytes[0], endpoint.responseBytes[1]) : rng.int(20, 180);

    const attrs: OtlpKeyValue[] = [
      stringAttr('http.request.method', endpoint.method),
      stringAttr('url.path', req.path.split('?')[0] ?? req.path),
      stringAttr('url.scheme', 'http'),
      stringAttr('http.route', endpoint.route),
      stringAttr('server.address', req.authority.split(':')[0] ?? req.authority),
      intAttr('server.port', service.targetPort),
      stringAttr('client.address', req.clientPod.ip),
      stringAttr('user_agent.original', req.userAgent),
      stringAttr('network.protocol.version', req.protocol === 'HTTP/2' ? '2' : '1.1'),
      intAttr('http.response.status_code', status),
    ];
    if (service.protocol === 'grpc') {
      attrs.push(stringAttr('rpc.system', 'grpc'), stringAttr('rpc.service', service.grpcService ?? service.name), stringAttr('rpc.method', endpoint.route.split('/').pop() ?? ''), intAttr('rpc.grpc.status_code', grpcStatus));
    }
    const spanName = service.protocol === 'grpc' ? endpoint.route.slice(1) : `${endpoint.method} ${endpoint.route}`;
    const failed = status >= 500 || grpcStatus !== GRPC.OK;
    this.span(pod.app, serverSpanId, req.clientSpanId, spanName, SpanKind.SERVER, appStart, appEnd, attrs, failed ? StatusCode.ERROR : StatusCode.UNSET, undefined, SPAN_FLAGS_REMOTE_PARENT);

    const inboundEnd = appEnd + rng.float(0.05, 0.2);
    if (inboundEnd > req.deadlineMs) {
      // The client's route timeout fired first and reset the stream.
      const resetAt = Math.max(req.deadlineMs + rng.float(0.1, 0.5), startMs);
      inbound(0, 'DC', 'downstream_remote_disconnect', null, 0, resetAt, null, `127.0.0.6:${ephemeralPort(rng)}`);
      return { status: 0, grpcStatus: GRPC.OK, bytesSent: 0, endMs: inboundEnd, serviceTimeMs: null };
    }
    inbound(status, null, 'via_upstream', null, bytesSent, inboundEnd, appEnd - appStart, `127.0.0.6:${ephemeralPort(rng)}`);
    return { status, grpcStatus, bytesSent, endMs: inboundEnd, serviceTimeMs: inboundEnd - startMs };
  }

  private databaseCall(pod: Pod, parentSpanId: string, call: DatabaseCall, startMs: number, slow: number, refused: boolean): { endMs: number; failed: boolean } {
    const rng = this.rng;
    const store = this.service(call.system === 'redis' ? 'redis' : 'postgres');
    const spanId = rng.nonZeroHex(16);
    const statement = fillTemplate(call.statement, this.values);
    const storeIp = this.topology.clusterIps.get(store.name) ?? '10.96.0.1';
    const attrs: OtlpKeyValue[] = [
      stringAttr('db.system', call.system),
      stringAttr('db.operation.name', call.operation),
      stringAttr(call.system === 'redis' ? 'db.namespace' : 'db.collection.name', call.system === 'redis' ? '0' : call.target),
      stringAttr('db.query.text', statement),
      stringAttr('server.address', serviceFqdn(store)),
      intAttr('server.port', store.port),
    ];
    const name = `${call.operation} ${call.target}`;
    if (refused && call.system === 'postgresql') {
      const endMs = startMs + rng.float(0.5, 2.5);
      attrs.push(stringAttr('error.type', 'connection_refused'));
      this.span(pod.app, spanId, parentSpanId, name, SpanKind.CLIENT, startMs, endMs, attrs, StatusCode.ERROR, `dial tcp ${storeIp}:5432: connect: connection refused`);
      return { endMs, failed: true };
    }
    // Under a latency spike the store's locks are contended: slower and far more long-tailed.
    const contention = slow > 1 ? slow * rng.logNormal(1, 1.2) : 1;
    const duration = (call.system === 'redis' ? rng.logNormal(0.25, 0.4) : rng.logNormal(0.9, 0.6)) * contention;
    const endMs = startMs + duration;
    this.span(pod.app, spanId, parentSpanId, name, SpanKind.CLIENT, startMs, endMs, attrs, StatusCode.UNSET);

    if (duration >= SLOW_QUERY_LOG_MS && call.system === 'postgresql') {
      const s = slowQueryLog(pod.service, statement, duration);
      this.appLog(pod, parentSpanId, s.level, s.msg, s.logger, s.fields, endMs + 0.05);
    }
    const postgres = this.pods('postgres')[0];
    if (duration >= POSTGRES_LOG_MIN_DURATION_MS && call.system === 'postgresql' && postgres?.app) {
      this.storeLog(postgres, 'postgres', 'info', `duration: ${duration.toFixed(3)} ms  execute <unnamed>: ${statement}`, endMs);
    }
    if (pod.proxy && rng.chance(P_TCP_CLOSE_LOG)) {
      // An idle pooled connection was closed: the sidecar's TCP proxy logs it
      // once, with the whole connection's byte counts and lifetime.
      const lifetime = rng.float(10_000, 120_000);
      const localPort = ephemeralPort(rng);
      this.accessLog(pod, pod.service.accessLog ?? 'istio-text', spanId, {
        startTimeMs: endMs - lifetime, method: null, path: null, protocol: null, responseCode: 0, responseFlags: null,
        responseCodeDetails: null, connectionTerminationDetails: null, upstreamTransportFailureReason: null,
        bytesReceived: rng.int(2_000, 400_000), bytesSent: rng.int(5_000, 4_000_000), durationMs: lifetime, upstreamServiceTimeMs: null,
        xForwardedFor: null, userAgent: null, requestId: null, authority: null,
        upstreamHost: `${this.pods(store.name)[0]?.ip ?? storeIp}:${store.targetPort}`, upstreamCluster: outboundCluster(store),
        upstreamLocalAddress: `${pod.ip}:${localPort}`, downstreamLocalAddress: `${storeIp}:${store.port}`,
        downstreamRemoteAddress: `${pod.ip}:${ephemeralPort(rng)}`, requestedServerName: null, routeName: null, traceparent: null,
      }, endMs + rng.float(0.1, 1));
    }
    return { endMs, failed: false };
  }

  private accessLog(pod: Pod, encoding: 'istio-text' | 'istio-json', spanId: string, entry: AccessLogEntry, writtenMs: number): void {
    if (!pod.proxy) return;
    const severity = accessLogSeverity(entry.responseCode, entry.responseFlags);
    const observedMs = writtenMs + this.rng.float(2, 40);
    this.noteObserved(observedMs);
    this.logs.push({
      resource: pod.proxy,
      timeMs: entry.startTimeMs,
      observedMs,
      severityNumber: severity.number,
      severityText: severity.text,
      body: encoding === 'istio-json' ? formatIstioJson(entry) : formatIstioText(entry),
      attributes: ACCESS_ATTRS[encoding],
      traceId: this.traceId,
      spanId,
    });
  }

  private appLog(pod: Pod, spanId: string, level: LogLevel, msg: string, logger: string, fields: Fields, timeMs: number, error?: AppError): void {
    if (!pod.app) return;
    const style = pod.service.appLogStyle;
    if (style === 'none') return;
    const event: AppLogEvent = error === undefined
      ? { timeMs, level, msg, fields, logger, traceId: this.traceId, spanId }
      : { timeMs, level, msg, fields, logger, traceId: this.traceId, spanId, error };
    const rendered = renderAppLog(style as AppLogStyleName, event, { service: pod.service.name, pod: pod.name, thread: threadName(this.rng), pid: 1 });
    const severity = LEVEL_SEVERITY[level];
    const observedMs = timeMs + this.rng.float(2, 40);
    this.noteObserved(observedMs);
    this.logs.push({
      resource: pod.app,
      timeMs,
      observedMs,
      severityNumber: severity.number,
      severityText: severity.text,
      body: rendered.body,
      attributes: APP_ATTRS[rendered.stream],
      traceId: this.traceId,
      spanId,
    });
  }

  private templateLog(pod: Pod, spanId: string, tpl: LogTemplate, fromMs: number, toMs: number): void {
    const fields = tpl.fields ? tpl.fields({ v: this.values, rng: this.rng, durationMs: toMs - fromMs }) : {};
    this.appLog(pod, spanId, tpl.level, tpl.msg, tpl.logger, fields, fromMs + (toMs - fromMs) * this.rng.float(0.6, 1));
  }

  /** A data store's own line: no trace context, as databases do not propagate it. */
  private storeLog(pod: Pod, style: 'postgres' | 'redis', level: LogLevel, msg: string, timeMs: number): void {
    if (!pod.app) return;
    const rendered = renderAppLog(style, { timeMs, level, msg, fields: {}, logger: '' }, { service: pod.service.name, pod: pod.name, thread: '', pid: 2000 + this.rng.int(0, 7000) });
    const severity = LEVEL_SEVERITY[level];
    const observedMs = timeMs + this.rng.float(2, 40);
    this.noteObserved(observedMs);
    this.logs.push({ resource: pod.app, timeMs, observedMs, severityNumber: severity.number, severityText: severity.text, body: rendered.body, attributes: APP_ATTRS[rendered.stream] });
  }

  private span(resource: DemoResource | undefined, spanId: string, parentSpanId: string | undefined, name: string, kind: number, startMs: number, endMs: number, attributes: OtlpKeyValue[], statusCode: number, statusMessage?: string, flags = SPAN_FLAGS_LOCAL_PARENT): void {
    if (!resource) return;
    const span: DemoSpan = {
      resource, traceId: this.traceId, spanId, flags, name, kind, startMs, endMs, attributes, statusCode,
      ...(parentSpanId === undefined ? {} : { parentSpanId }),
      ...(statusMessage === undefined ? {} : { statusMessage }),
    };
    this.spans.push(span);
  }

  private noteObserved(ms: number): void {
    if (ms > this.lastObservedMs) this.lastObservedMs = ms;
  }
}

/** Type guard used by tests walking the call graph. */
export function isServiceCall(call: CallSpec): call is ServiceCall {
  return call.kind === 'service';
}
