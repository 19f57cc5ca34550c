/**
 * Mesh access log formats, on samples rendered from each format's published
 * definition (the format strings below are quoted from the sources named
 * next to them), asserting every field lands where docs/schema.md says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLogRecord, type Attributes, type LogRecord } from '@meshlog/core';
import { ParseTransform } from '../parse-transform.js';
import { ParseConfigSchema } from '../config.js';
import { envoyTextLayoutOf } from './envoy-text.js';

// envoyproxy/envoy docs/root/configuration/observability/access_log/usage.rst, "Default format string".
const ENVOY_DEFAULT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"';

// istio/istio at tag 1.1.0, pilot/pkg/networking/core/v1alpha3/listener.go, EnvoyTextLogFormat.
const ISTIO_1_1 =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" ' +
  '%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%';

// istio/istio 1.2.0, same file, EnvoyTextLogFormat (1.3-1.5: EnvoyTextLogFormat12).
const ISTIO_1_2 =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" ' +
  '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%';

// istio/istio 1.3.0, EnvoyTextLogFormat13 (the default through 1.7.x).
const ISTIO_1_3 = ISTIO_1_2 + ' %ROUTE_NAME%';

// istio/istio 1.8.0, EnvoyTextLogFormat (no mixer status); 1.9-1.11 for proxies before 1.9.
const ISTIO_1_8 =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ' +
  '%REQUESTED_SERVER_NAME% %ROUTE_NAME%';

// istio/istio 1.9.0 accesslog.go EnvoyTextLogFormatIstio19; the only default from 1.12 (telemetry_logging.go).
const ISTIO_1_9 =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% ' +
  '%CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% ' +
  '"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%';

// istio/istio 1.23.0+ telemetry_logging.go: %UPSTREAM_CLUSTER_RAW% in place of %UPSTREAM_CLUSTER%.
const ISTIO_1_23 = ISTIO_1_9.replace('%UPSTREAM_CLUSTER%', '%UPSTREAM_CLUSTER_RAW%');

// kumahq/kuma MeshAccessLog defaultHttpAccessLogFormat (docs: policies/meshaccesslog.md "Plain"), before and after the trace id field.
const KUMA_HTTP =
  '[%START_TIME%] %KUMA_MESH% "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" ' +
  '"%KUMA_SOURCE_SERVICE%" "%KUMA_DESTINATION_SERVICE%" "%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%" "%UPSTREAM_HOST%"';
const KUMA_HTTP_TRACE = KUMA_HTTP.replace('"%REQ(X-REQUEST-ID)%"', '"%REQ(X-B3-TRACEID?X-DATADOG-TRACEID)%" "%REQ(X-REQUEST-ID)%"');
// kumahq/kuma defaultNetworkAccessLogFormat.
const KUMA_TCP =
  '[%START_TIME%] %RESPONSE_FLAGS% %KUMA_MESH% %KUMA_SOURCE_ADDRESS_WITHOUT_PORT%(%KUMA_SOURCE_SERVICE%)->%UPSTREAM_HOST%(%KUMA_DESTINATION_SERVICE%) ' +
  'took %DURATION%ms, sent %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes';

/** An outbound request from frontend to cart that failed to connect (503 UF,URX) through Istio. */
const VALUES: Record<string, string> = {
  START_TIME: '2024-05-01T12:00:00.123Z',
  'REQ(:METHOD)': 'POST',
  'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': '/api/v1/cart/items?sku=A-42&qty=2',
  PROTOCOL: 'HTTP/1.1',
  RESPONSE_CODE: '503',
  RESPONSE_FLAGS: 'UF,URX',
  RESPONSE_CODE_DETAILS: 'upstream_reset_before_response_started{connection_failure,TLS_error:_268436501:SSL_routines}',
  CONNECTION_TERMINATION_DETAILS: '-',
  'DYNAMIC_METADATA(istio.mixer:status)': '-',
  UPSTREAM_TRANSPORT_FAILURE_REASON: 'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED',
  BYTES_RECEIVED: '57',
  BYTES_SENT: '91',
  DURATION: '25',
  'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': '-',
  'REQ(X-FORWARDED-FOR)': '203.0.113.9',
  'REQ(USER-AGENT)': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'REQ(X-REQUEST-ID)': '6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11',
  'REQ(:AUTHORITY)': 'cart.shop.svc.cluster.local:8080',
  UPSTREAM_HOST: '10.244.1.17:8080',
  UPSTREAM_CLUSTER: 'outbound|8080||cart.shop.svc.cluster.local',
  UPSTREAM_CLUSTER_RAW: 'outbound|8080||cart.shop.svc.cluster.local',
  UPSTREAM_LOCAL_ADDRESS: '10.244.2.5:41234',
  DOWNSTREAM_LOCAL_ADDRESS: '10.96.14.2:8080',
  DOWNSTREAM_REMOTE_ADDRESS: '10.244.2.5:52000',
  REQUESTED_SERVER_NAME: '-',
  ROUTE_NAME: 'default',
  KUMA_MESH: 'default',
  KUMA_SOURCE_SERVICE: 'frontend_shop_svc_8080',
  KUMA_DESTINATION_SERVICE: 'cart_shop_svc_8080',
  KUMA_SOURCE_ADDRESS_WITHOUT_PORT: '10.244.2.5',
  'REQ(X-B3-TRACEID?X-DATADOG-TRACEID)': '80f198ee56343ba864fe8b2a57d3eff7',
};

/** Envoy's substitution: each %OPERATOR% replaced by its value ('-' when absent). */
function render(format: string, values: Record<string, string>): string {
  return format.replace(/%([A-Z_]+(?:\([^)]*\))?)%/g, (_, op: string) => values[op] ?? '-');
}

function parse(line: string, opts: Record<string, unknown> = {}, resource: Attributes = {}): LogRecord {
  const t = new ParseTransform(ParseConfigSchema.parse(opts));
  const r: LogRecord = { ...emptyLogRecord(), body: line, resource, observedTimeUnixNano: 1n, timeUnixNano: 1n };
  const outcome = t.parseRecord(r);
  assert.equal(outcome, 'ok', `not parsed: ${line}`);
  return r;
}

const START_NS = BigInt(Date.parse('2024-05-01T12:00:00.123Z')) * 1_000_000n;

/** What every Envoy-based layout gives for VALUES. */
const ENVOY_COMMON: Attributes = {
  'http.request.method': 'POST',
  'url.path': '/api/v1/cart/items',
  'url.query': 'sku=A-42&qty=2',
  'network.protocol.name': 'http',
  'network.protocol.version': '1.1',
  'http.response.status_code': 503,
  'envoy.response_flags': 'UF,URX',
  'http.request.body.size': 57,
  'http.response.body.size': 91,
  'envoy.duration_ms': 25,
  'http.request.header.x-forwarded-for': '203.0.113.9',
  'user_agent.original': VALUES['REQ(USER-AGENT)']!,
  'http.request.header.x-request-id': '6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11',
  'server.address': 'cart.shop.svc.cluster.local',
  'server.port': 8080,
  'envoy.upstream_host': '10.244.1.17:8080',
};

const ISTIO_END: Attributes = {
  'envoy.upstream_cluster': 'outbound|8080||cart.shop.svc.cluster.local',
  'envoy.upstream_local_address': '10.244.2.5:41234',
  'envoy.downstream_local_address': '10.96.14.2:8080',
  'client.address': '10.244.2.5',
  'client.port': 52000,
  // Mesh identity from the outbound cluster (this workload, the resource, is the source).
  'mesh.direction': 'outbound',
  'destination.service.name': 'cart',
  'destination.k8s.namespace.name': 'shop',
  'destination.port': 8080,
};
const TRANSPORT = { 'envoy.upstream_transport_failure_reason': VALUES['UPSTREAM_TRANSPORT_FAILURE_REASON']! };
const DETAILS = { 'envoy.response_code_details': VALUES['RESPONSE_CODE_DETAILS']! };
const ROUTE = { 'envoy.route_name': 'default' };
const RESOURCE = { 'service.name': 'frontend', 'k8s.namespace.name': 'shop' };

const CASES: { name: string; format: string; layout: string; expected: Attributes }[] = [
  { name: 'Envoy default', format: ENVOY_DEFAULT, layout: 'envoy', expected: { ...ENVOY_COMMON, 'log.format': 'envoy' } },
  { name: 'Istio 1.1', format: ISTIO_1_1, layout: 'istio-1.1', expected: { ...ENVOY_COMMON, ...ISTIO_END, 'log.format': 'istio-text' } },
  { name: 'Istio 1.2', format: ISTIO_1_2, layout: 'istio-1.2', expected: { ...ENVOY_COMMON, ...ISTIO_END, ...TRANSPORT, 'log.format': 'istio-text' } },
  { name: 'Istio 1.3-1.7', format: ISTIO_1_3, layout: 'istio-1.3', expected: { ...ENVOY_COMMON, ...ISTIO_END, ...TRANSPORT, ...ROUTE, 'log.format': 'istio-text' } },
  { name: 'Istio 1.8', format: ISTIO_1_8, layout: 'istio-1.8', expected: { ...ENVOY_COMMON, ...ISTIO_END, ...TRANSPORT, ...ROUTE, 'log.format': 'istio-text' } },
  { name: 'Istio 1.9-1.22', format: ISTIO_1_9, layout: 'istio-1.9', expected: { ...ENVOY_COMMON, ...ISTIO_END, ...TRANSPORT, ...DETAILS, ...ROUTE, 'log.format': 'istio-text' } },
  { name: 'Istio 1.23+ (UPSTREAM_CLUSTER_RAW)', format: ISTIO_1_23, layout: 'istio-1.9', expected: { ...ENVOY_COMMON, ...ISTIO_END, ...TRANSPORT, ...DETAILS, ...ROUTE, 'log.format': 'istio-text' } },
];

for (const c of CASES) {
  test(`${c.name}: every field lands in its attribute`, () => {
    const line = render(c.format, VALUES);
    assert.equal(envoyTextLayoutOf(line), c.layout);
    const r = parse(line, {}, RESOURCE);
    assert.deepEqual(r.attributes, c.expected);
    assert.equal(r.timeUnixNano, START_NS, 'the record time is %START_TIME%');
    assert.equal(r.observedTimeUnixNano, 1n, 'the observed time is kept');
    assert.equal(r.severityNumber, 17, '5xx and no level of its own: ERROR');
    assert.equal(r.severityText, 'ERROR');
    // The same line through each explicit format name of the Envoy family.
    for (const format of ['envoy', 'istio']) assert.deepEqual(parse(line, { format }, RESOURCE).attributes, c.expected);
  });
}

test('Envoy documentation example, verbatim', () => {
  const r = parse('[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"');
  assert.deepEqual(r.attributes, {
    'http.request.method': 'POST',
    'url.path': '/api/v1/locations',
    'network.protocol.name': 'http',
    'network.protocol.version': '2',
    'http.response.status_code': 204,
    'http.request.body.size': 154,
    'http.response.body.size': 0,
    'envoy.duration_ms': 226,
    'envoy.upstream_service_time_ms': 100,
    'http.request.header.x-forwarded-for': '10.0.35.28',
    'user_agent.original': 'nsq2http',
    'http.request.header.x-request-id': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
    'server.address': 'locations',
    'envoy.upstream_host': 'tcp://10.0.2.1:80',
    'log.format': 'envoy',
  });
  assert.equal(r.severityNumber, 9);
});

test('Istio inbound with the mesh SNI: mTLS, destination is this workload; a TCP connection; a 404 from the gateway', () => {
  const inbound = render(ISTIO_1_9, {
    ...VALUES,
    RESPONSE_CODE: '200',
    RESPONSE_FLAGS: '-',
    RESPONSE_CODE_DETAILS: 'via_upstream',
    UPSTREAM_TRANSPORT_FAILURE_REASON: '-',
    'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': '12',
    UPSTREAM_CLUSTER: 'inbound|8080||',
    UPSTREAM_HOST: '10.244.1.17:8080',
    REQUESTED_SERVER_NAME: 'outbound_.8080_._.cart.shop.svc.cluster.local',
  });
  const r = parse(inbound, {}, { 'service.name': 'cart', 'k8s.namespace.name': 'shop' });
  assert.equal(r.attributes['mesh.direction'], 'inbound');
  assert.equal(r.attributes['mesh.mtls'], true);
  assert.equal(r.attributes['tls.client.server_name'], 'outbound_.8080_._.cart.shop.svc.cluster.local');
  assert.equal(r.attributes['destination.service.name'], 'cart');
  assert.equal(r.attributes['destination.k8s.namespace.name'], 'shop');
  assert.equal(r.attributes['envoy.upstream_service_time_ms'], 12);
  assert.equal(r.severityNumber, 9);

  const tcp = '[2024-05-01T12:00:01.000Z] "- - -" 0 - - - "-" 1234 5678 10000 - "-" "-" "-" "-" "10.244.3.3:5432" outbound|5432||postgres.data.svc.cluster.local 10.244.2.5:40000 10.96.3.3:5432 10.244.2.5:39998 - -';
  const t = parse(tcp);
  assert.equal(t.attributes['http.request.method'], undefined, 'a TCP line has no method');
  assert.equal(t.attributes['http.response.status_code'], 0);
  assert.equal(t.attributes['envoy.duration_ms'], 10000);
  assert.equal(t.attributes['destination.service.name'], 'postgres');
  assert.equal(t.severityNumber, 9, 'a TCP close without flags is INFO');

  const reset = '[2024-05-01T12:00:02.000Z] "GET /slow HTTP/2" 0 DC downstream_remote_disconnect - "-" 0 0 15001 - "-" "curl/8.5.0" "r-1" "shop.example.com" "10.244.1.4:8080" outbound|8080||web.shop.svc.cluster.local 10.244.0.9:43210 10.244.0.9:8443 198.51.100.7:61000 shop.example.com -';
  assert.equal(parse(reset).severityNumber, 13, 'code 0 with a flag: the client went away, WARN');
  const notFound = parse('[2024-05-01T12:00:03.000Z] "GET /.env HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "198.51.100.7" "zgrab/0.x" "r-2" "shop.example.com" "-" - - 10.244.0.9:8080 198.51.100.7:55555 - -');
  assert.equal(notFound.severityNumber, 13);
  assert.equal(notFound.attributes['envoy.response_code_details'], 'route_not_found');
  assert.equal(notFound.attributes['envoy.upstream_cluster'], undefined, 'an absent cluster (-) is no attribute');
});

test('attributes: none sets the record fields (time, severity, trace context) and writes no attribute', () => {
  const line = JSON.stringify({ ...ISTIO_JSON, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
  const own = { 'log.source': 'envoy' };
  const r = parse(line, { attributes: 'none' });
  assert.deepEqual(r.attributes, {});
  assert.equal(r.timeUnixNano, START_NS);
  assert.equal(r.severityNumber, 17);
  assert.equal(r.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  const t = new ParseTransform(ParseConfigSchema.parse({ attributes: 'none' }));
  const rec: LogRecord = { ...emptyLogRecord(), body: render(ISTIO_1_9, { ...VALUES, RESPONSE_CODE: '0', RESPONSE_FLAGS: 'DC' }), attributes: own };
  t.parseRecord(rec);
  assert.equal(rec.attributes, own, 'the same object, untouched');
  assert.deepEqual(own, { 'log.source': 'envoy' });
  assert.equal(rec.severityNumber, 13, 'the status class still gives the severity');
});

test('a record keeps the severity and trace id it arrived with', () => {
  const t = new ParseTransform(ParseConfigSchema.parse({}));
  const r: LogRecord = { ...emptyLogRecord(), body: render(ISTIO_1_9, VALUES), severityNumber: 9, severityText: 'INFO', traceId: 'aa'.repeat(16) };
  t.parseRecord(r);
  assert.equal(r.severityNumber, 9);
  assert.equal(r.traceId, 'aa'.repeat(16));
});

test('Kuma HTTP (both versions) and TCP defaults', () => {
  const http = parse(render(KUMA_HTTP, VALUES), { format: 'kuma' });
  assert.deepEqual(http.attributes, {
    ...ENVOY_COMMON,
    'mesh.name': 'default',
    'source.service.name': 'frontend_shop_svc_8080',
    'destination.service.name': 'cart_shop_svc_8080',
    'client.address': '10.244.2.5',
    'log.format': 'kuma-http',
  });
  assert.equal(envoyTextLayoutOf(render(KUMA_HTTP, VALUES)), 'kuma-http');
  const traced = parse(render(KUMA_HTTP_TRACE, VALUES));
  assert.equal(envoyTextLayoutOf(render(KUMA_HTTP_TRACE, VALUES)), 'kuma-http-trace');
  assert.equal(traced.traceId, '80f198ee56343ba864fe8b2a57d3eff7');
  assert.equal(traced.attributes['http.request.header.x-request-id'], '6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11');
  const dd = parse(render(KUMA_HTTP_TRACE, { ...VALUES, 'REQ(X-B3-TRACEID?X-DATADOG-TRACEID)': '5208512171318403364' }));
  assert.equal(dd.traceId, '000000000000000048485a3953bb6124', 'a Datadog decimal id');

  const tcpLine = render(KUMA_TCP, { ...VALUES, RESPONSE_FLAGS: '-', DURATION: '1523', BYTES_SENT: '1024', BYTES_RECEIVED: '2048', UPSTREAM_HOST: '10.244.9.9:6379', KUMA_DESTINATION_SERVICE: 'redis_shop_svc_6379' });
  assert.equal(envoyTextLayoutOf(tcpLine), 'kuma-tcp');
  const tcp = parse(tcpLine);
  assert.deepEqual(tcp.attributes, {
    'mesh.name': 'default',
    'client.address': '10.244.2.5',
    'source.service.name': 'frontend_shop_svc_8080',
    'envoy.upstream_host': '10.244.9.9:6379',
    'destination.service.name': 'redis_shop_svc_6379',
    'envoy.duration_ms': 1523,
    'http.response.body.size': 1024,
    'http.request.body.size': 2048,
    'log.format': 'kuma-tcp',
  });
  assert.equal(tcp.timeUnixNano, START_NS);
});

// Istio's JSON encoding (telemetry_logging.go EnvoyJSONLogFormatIstio, 1.9+); Envoy types the numeric operators.
const ISTIO_JSON = {
  start_time: '2024-05-01T12:00:00.123Z',
  route_name: 'default',
  method: 'POST',
  path: '/api/v1/cart/items?sku=A-42&qty=2',
  protocol: 'HTTP/1.1',
  response_code: 503,
  response_flags: 'UF,URX',
  response_code_details: VALUES['RESPONSE_CODE_DETAILS'],
  connection_termination_details: null,
  bytes_received: 57,
  bytes_sent: 91,
  duration: 25,
  upstream_service_time: null,
  x_forwarded_for: '203.0.113.9',
  user_agent: VALUES['REQ(USER-AGENT)'],
  request_id: '6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11',
  authority: 'cart.shop.svc.cluster.local:8080',
  upstream_host: '10.244.1.17:8080',
  upstream_cluster: 'outbound|8080||cart.shop.svc.cluster.local',
  upstream_local_address: '10.244.2.5:41234',
  downstream_local_address: '10.96.14.2:8080',
  downstream_remote_address: '10.244.2.5:52000',
  requested_server_name: null,
  upstream_transport_failure_reason: VALUES['UPSTREAM_TRANSPORT_FAILURE_REASON'],
};

test('Istio JSON (1.9+, and 1.3-1.8 with istio_policy_status), values as numbers or strings, with traceparent', () => {
  const r = parse(JSON.stringify({ ...ISTIO_JSON, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), {}, RESOURCE);
  assert.deepEqual(r.attributes, { ...ENVOY_COMMON, ...ISTIO_END, ...TRANSPORT, ...DETAILS, ...ROUTE, 'log.format': 'envoy-json' });
  assert.equal(r.timeUnixNano, START_NS);
  assert.equal(r.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(r.spanId, '00f067aa0ba902b7');
  assert.equal(r.flags, 1);
  assert.equal(r.severityNumber, 17);

  const old: Record<string, unknown> = { ...ISTIO_JSON, istio_policy_status: 'UNAVAILABLE', response_code: '503', bytes_sent: '91' };
  delete old['response_code_details'];
  delete old['connection_termination_details'];
  const o = parse(JSON.stringify(old), { format: 'istio' });
  assert.equal(o.attributes['istio.policy_status'], 'UNAVAILABLE');
  assert.equal(o.attributes['http.response.status_code'], 503);
  assert.equal(o.attributes['http.response.body.size'], 91);
});

test("Consul's default JSON access log, and its mesh names", () => {
  // consul website/content/docs/connect/observability/access-logs.mdx, "Default log format".
  const line = JSON.stringify({
    start_time: '2024-05-01T12:00:00.123Z',
    route_name: null,
    method: 'GET',
    path: '/orders',
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: '-',
    response_code_details: 'via_upstream',
    connection_termination_details: null,
    bytes_received: 0,
    bytes_sent: 512,
    duration: 7,
    upstream_service_time: '6',
    x_forwarded_for: null,
    user_agent: 'curl/8.5.0',
    request_id: '0f3e2d1c-aaaa-bbbb-cccc-0123456789ab',
    authority: 'localhost:9191',
    upstream_host: '10.0.4.12:20000',
    upstream_cluster: 'backend.default.dc1.internal.7b0d6a0b-1c5f-4e4f-8a3b-2e1d0c9b8a7f.consul',
    upstream_local_address: '10.0.4.10:51000',
    downstream_local_address: '127.0.0.1:9191',
    downstream_remote_address: '127.0.0.1:40000',
    requested_server_name: null,
    upstream_transport_failure_reason: null,
  });
  const r = parse(line, { format: 'consul' });
  assert.equal(r.attributes['log.format'], 'consul-json');
  assert.equal(r.attributes['mesh.direction'], 'outbound');
  assert.equal(r.attributes['destination.service.name'], 'backend');
  assert.equal(r.attributes['destination.service.namespace'], 'default');
  assert.equal(r.attributes['envoy.upstream_service_time_ms'], 6);
  assert.equal(r.attributes['envoy.response_flags'], undefined, "Envoy's '-' is no flag");
  assert.equal(r.attributes['server.address'], 'localhost');
  assert.equal(r.attributes['server.port'], 9191);
});

test('Linkerd apache and JSON access logs (the documentation examples)', () => {
  // linkerd website, features/access-logging.md.
  const apache = parse('10.42.0.63:51160 traffic.booksapp.serviceaccount.identity.linkerd.cluster.local - [2022-08-23T20:28:20.071809491Z] "GET http://webapp:7000/ HTTP/2.0" 200', {}, { 'k8s.namespace.name': 'booksapp' });
  assert.deepEqual(apache.attributes, {
    'client.address': '10.42.0.63',
    'client.port': 51160,
    'linkerd.client.id': 'traffic.booksapp.serviceaccount.identity.linkerd.cluster.local',
    'mesh.mtls': true,
    'source.k8s.service_account.name': 'traffic',
    'source.k8s.namespace.name': 'booksapp',
    'http.request.method': 'GET',
    'url.full': 'http://webapp:7000/',
    'url.path': '/',
    'network.protocol.name': 'http',
    'network.protocol.version': '2',
    'http.response.status_code': 200,
    'mesh.direction': 'inbound',
    'log.format': 'linkerd-apache',
  });
  assert.equal(apache.timeUnixNano, BigInt(Date.parse('2022-08-23T20:28:20Z')) * 1_000_000n + 71_809_491n);
  const probe = parse('10.42.0.1:43682 - - [2022-08-23T20:28:23.049685223Z] "GET /ping HTTP/1.1" 200', { format: 'linkerd' });
  assert.equal(probe.attributes['mesh.mtls'], false, 'no client identity: not meshed mTLS');
  assert.equal(probe.attributes['url.path'], '/ping');

  const json = parse(
    '{"client.addr":"10.42.0.70:32996","client.id":"traffic.booksapp.serviceaccount.identity.linkerd.cluster.local","host":"webapp:7000","method":"POST","processing_ns":"30036","request_bytes":"33","response_bytes":"0","status":303,"timestamp":"2022-08-23T20:33:42.436964052Z","total_ns":"14122403","trace_id":"","uri":"http://webapp:7000/authors","user_agent":"Go-http-client/1.1","version":"HTTP/2.0"}',
  );
  assert.deepEqual(json.attributes, {
    'client.address': '10.42.0.70',
    'client.port': 32996,
    'linkerd.client.id': 'traffic.booksapp.serviceaccount.identity.linkerd.cluster.local',
    'mesh.mtls': true,
    'source.k8s.service_account.name': 'traffic',
    'source.k8s.namespace.name': 'booksapp',
    'server.address': 'webapp',
    'server.port': 7000,
    'http.request.method': 'POST',
    'url.full': 'http://webapp:7000/authors',
    'url.path': '/authors',
    'network.protocol.name': 'http',
    'network.protocol.version': '2',
    'http.response.status_code': 303,
    'http.request.body.size': 33,
    'http.response.body.size': 0,
    'linkerd.total_ns': 14122403,
    'linkerd.processing_ns': 30036,
    'user_agent.original': 'Go-http-client/1.1',
    'mesh.direction': 'inbound',
    'log.format': 'linkerd-json',
  });
  const traced = parse('{"client.addr":"10.42.0.70:1","client.id":"-","status":500,"timestamp":"2022-08-23T20:33:42Z","trace_id":"a3ce929d0e0e4736","uri":"/x","version":"HTTP/1.1"}');
  assert.equal(traced.traceId, '0000000000000000a3ce929d0e0e4736', 'a B3 trace id');
  assert.equal(traced.severityNumber, 17);
  const requestId = parse('{"client.addr":"10.42.0.70:1","client.id":"-","status":200,"trace_id":"6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11","uri":"/x"}');
  assert.equal(requestId.traceId, '', 'an x-request-id in trace_id is no trace id');
  assert.equal(requestId.attributes['linkerd.trace_id'], '6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11');
});

test('Hubble flows: hubble observe -o json, L3/L4 and L7 HTTP', () => {
  // Shapes from cilium api/v1/flow/flow.proto (proto field names, as the CLI prints them).
  const l4 = {
    flow: {
      time: '2024-05-01T12:00:00.123456789Z',
      verdict: 'DROPPED',
      drop_reason_desc: 'POLICY_DENIED',
      IP: { source: '10.244.2.5', destination: '10.244.1.17', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 52000, destination_port: 8080, flags: { SYN: true } } },
      source: { ID: 1234, identity: 5678, namespace: 'shop', labels: ['k8s:app=frontend', 'k8s:io.cilium.k8s.policy.serviceaccount=frontend'], pod_name: 'frontend-5c9d-abcde', workloads: [{ name: 'frontend', kind: 'Deployment' }] },
      destination: { identity: 9012, namespace: 'shop', labels: ['k8s:io.cilium.k8s.policy.serviceaccount=cart'], pod_name: 'cart-7d9f-x2x4z' },
      Type: 'L3_L4',
      node_name: 'kind-worker',
      traffic_direction: 'EGRESS',
      is_reply: false,
      Summary: 'TCP Flags: SYN',
    },
    node_name: 'kind-worker',
    time: '2024-05-01T12:00:00.123456789Z',
  };
  const r = parse(JSON.stringify(l4));
  assert.deepEqual(r.attributes, {
    'hubble.verdict': 'DROPPED',
    'hubble.drop_reason': 'POLICY_DENIED',
    'hubble.flow_type': 'L3_L4',
    'hubble.traffic_direction': 'EGRESS',
    'hubble.is_reply': false,
    'k8s.node.name': 'kind-worker',
    'source.address': '10.244.2.5',
    'destination.address': '10.244.1.17',
    'network.type': 'ipv4',
    'network.transport': 'tcp',
    'source.port': 52000,
    'destination.port': 8080,
    'source.k8s.namespace.name': 'shop',
    'source.k8s.pod.name': 'frontend-5c9d-abcde',
    'source.cilium.identity': 5678,
    'source.k8s.service_account.name': 'frontend',
    'source.k8s.workload.name': 'frontend',
    'source.k8s.workload.kind': 'Deployment',
    'destination.k8s.namespace.name': 'shop',
    'destination.k8s.pod.name': 'cart-7d9f-x2x4z',
    'destination.cilium.identity': 9012,
    'destination.k8s.service_account.name': 'cart',
    'log.format': 'hubble',
  });
  assert.equal(r.timeUnixNano, BigInt(Date.parse('2024-05-01T12:00:00Z')) * 1_000_000n + 123_456_789n);
  assert.equal(r.severityNumber, 13, 'a dropped flow is WARN');

  const l7 = {
    time: '2024-05-01T12:00:01Z',
    verdict: 'FORWARDED',
    source: { namespace: 'shop', pod_name: 'frontend-5c9d-abcde' },
    destination: { namespace: 'shop', pod_name: 'cart-7d9f-x2x4z' },
    Type: 'L7',
    l7: {
      type: 'RESPONSE',
      latency_ns: '1840000',
      http: {
        code: 503,
        method: 'GET',
        url: 'http://cart.shop:8080/api/v1/cart?id=1',
        protocol: 'HTTP/1.1',
        headers: [{ key: 'X-Request-Id', value: 'r-9' }, { key: 'traceparent', value: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
      },
    },
    trace_context: { parent: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' } },
  };
  const h = parse(JSON.stringify(l7), { format: 'hubble' });
  assert.equal(h.attributes['http.response.status_code'], 503);
  assert.equal(h.attributes['http.request.method'], 'GET');
  assert.equal(h.attributes['url.full'], 'http://cart.shop:8080/api/v1/cart?id=1');
  assert.equal(h.attributes['url.path'], '/api/v1/cart');
  assert.equal(h.attributes['url.query'], 'id=1');
  assert.equal(h.attributes['hubble.l7.latency_ns'], 1840000);
  assert.equal(h.attributes['hubble.l7.type'], 'RESPONSE');
  assert.equal(h.attributes['http.request.header.x-request-id'], 'r-9');
  assert.equal(h.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(h.spanId, '00f067aa0ba902b7');
  assert.equal(h.severityNumber, 17);
});

test('lines that are not the configured format: kept with parse.error, or dropped, and counted', () => {
  const errors: string[] = [];
  const discarded: [number, string][] = [];
  const metrics = { received() {}, sent() {}, error: (t: string) => errors.push(t), discarded: (n: number, reason: string) => discarded.push([n, reason]), queueDepth() {} };
  const keep = new ParseTransform(ParseConfigSchema.parse({ format: 'istio' }), metrics);
  const batch = { kind: 'logs' as const, tenant: 't', source: 's', records: [{ ...emptyLogRecord(), body: 'not an access log' }, { ...emptyLogRecord(), body: render(ISTIO_1_9, VALUES) }, { ...emptyLogRecord(), body: '{"broken' }] };
  const out = keep.process(batch);
  assert.equal(out.kind === 'logs' && out.records.length, 3);
  assert.equal(batch.records[0]!.attributes['parse.error'], 'no_match');
  assert.equal(batch.records[1]!.attributes['parse.error'], undefined);
  assert.equal(batch.records[2]!.attributes['parse.error'], 'invalid_json');
  assert.deepEqual(errors, ['parse_no_match', 'parse_invalid_json']);

  const drop = new ParseTransform(ParseConfigSchema.parse({ format: 'linkerd', on_error: 'drop' }), metrics);
  const b2 = { kind: 'logs' as const, tenant: 't', source: 's', records: [{ ...emptyLogRecord(), body: 'nope' }, { ...emptyLogRecord(), body: '10.0.0.1:1 - - [2022-08-23T20:28:23Z] "GET / HTTP/1.1" 200' }] };
  const o2 = drop.process(b2);
  assert.equal(o2.kind === 'logs' && o2.records.length, 1);
  assert.equal(drop.selfAccounted(), 1, 'the engine must not count the drop a second time');
  assert.deepEqual(discarded, [[1, 'parse_failed']]);

  // auto leaves what it does not recognize alone, without an error.
  const auto = new ParseTransform(ParseConfigSchema.parse({}), metrics);
  const plain = { ...emptyLogRecord(), body: '2024-05-01 12:00:00 plain text from some app' };
  assert.equal(auto.parseRecord(plain), 'unrecognized');
  assert.deepEqual(plain.attributes, {});
});
