import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlsDecodeError, AlsStreamDecoder, nodeResource, parseIstioNodeId, responseFlagsOf, traceContext } from './als-decode.js';
import { alsType } from './als-proto.js';

const NOW = 1_800_000_000_000_000_000n;

function encode(message: Record<string, unknown>): Buffer {
  const t = alsType('StreamAccessLogsMessage');
  return Buffer.from(t.encode(t.fromObject(message)).finish());
}

const sv = (s: string): Record<string, unknown> => ({ stringValue: s });
const socket = (address: string, portValue: number): Record<string, unknown> => ({ socketAddress: { address, portValue } });

/** What an Istio sidecar (1.2x) sends as its node: id, cluster and the metadata pilot-agent fills in. */
const ISTIO_NODE = {
  id: 'sidecar~10.1.2.3~reviews-v2-7d79d5bd5d-8zkqb.bookinfo~bookinfo.svc.cluster.local',
  cluster: 'reviews.bookinfo',
  metadata: {
    fields: {
      NAMESPACE: sv('bookinfo'),
      NAME: sv('reviews-v2-7d79d5bd5d-8zkqb'),
      WORKLOAD_NAME: sv('reviews-v2'),
      OWNER: sv('kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2'),
      CLUSTER_ID: sv('Kubernetes'),
      LABELS: { structValue: { fields: { app: sv('reviews'), version: sv('v2'), 'service.istio.io/canonical-name': sv('reviews'), 'service.istio.io/canonical-revision': sv('v2') } } },
    },
  },
  locality: { region: 'europe-west1', zone: 'europe-west1-b' },
};

const START = { seconds: 1_800_000_000, nanos: 123_456_789 };
const ms = (n: number): Record<string, unknown> => ({ seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1_000_000 });

const HTTP_ENTRY = {
  commonProperties: {
    downstreamRemoteAddress: socket('10.1.9.7', 51234),
    downstreamDirectRemoteAddress: socket('10.1.9.7', 51234),
    downstreamLocalAddress: socket('10.1.2.3', 9080),
    tlsProperties: {
      tlsVersion: 'TLSv1_3',
      tlsCipherSuite: { value: 0x1301 },
      tlsSniHostname: 'outbound_.9080_._.reviews.bookinfo.svc.cluster.local',
      peerCertificateProperties: { subjectAltName: [{ uri: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage' }] },
      localCertificateProperties: { subjectAltName: [{ uri: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews' }] },
    },
    startTime: START,
    timeToLastRxByte: ms(1),
    timeToFirstUpstreamRxByte: ms(30),
    timeToLastDownstreamTxByte: ms(35),
    duration: ms(36),
    upstreamRemoteAddress: socket('10.1.2.3', 9080),
    upstreamLocalAddress: socket('127.0.0.6', 40811),
    upstreamCluster: 'inbound|9080||',
    responseFlags: { upstreamConnectionFailure: true, upstreamRetryLimitExceeded: true },
    routeName: 'default',
    upstreamTransportFailureReason: 'delayed_connect_error:_111',
    upstreamRequestAttemptCount: 2,
    customTags: { mesh: 'prod' },
    accessLogType: 'DownstreamEnd',
  },
  protocolVersion: 'HTTP11',
  request: {
    requestMethod: 'GET',
    scheme: 'http',
    authority: 'reviews:9080',
    path: '/reviews/0',
    userAgent: 'python-requests/2.31.0',
    forwardedFor: '203.0.113.9',
    requestId: '5a3f9c1e-7d2b-4f4a-9d1b-0b6f3c2a1e77',
    requestHeadersBytes: 412,
    requestBodyBytes: 0,
    requestHeaders: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-tenant': 'acme' },
  },
  response: {
    responseCode: { value: 503 },
    responseHeadersBytes: 120,
    responseBodyBytes: 91,
    responseHeaders: { 'x-envoy-upstream-service-time': '29' },
    responseCodeDetails: 'upstream_reset_before_response_started{connection_failure}',
  },
};

test('an HTTP entry maps to OTel attributes, the node to the resource, and the body to Envoy\'s default format', () => {
  const d = new AlsStreamDecoder().decode(encode({ identifier: { node: ISTIO_NODE, logName: 'als' }, httpLogs: { logEntry: [HTTP_ENTRY] } }), NOW);
  assert.equal(d.http, 1);
  const r = d.records[0]!;
  assert.deepEqual(r.resource, {
    'envoy.node.id': ISTIO_NODE.id,
    'envoy.node.cluster': 'reviews.bookinfo',
    'envoy.node.type': 'sidecar',
    'k8s.pod.ip': '10.1.2.3',
    'k8s.namespace.name': 'bookinfo',
    'k8s.pod.name': 'reviews-v2-7d79d5bd5d-8zkqb',
    'service.name': 'reviews',
    'service.version': 'v2',
    'k8s.deployment.name': 'reviews-v2',
    'k8s.cluster.name': 'Kubernetes',
    'cloud.region': 'europe-west1',
    'cloud.availability_zone': 'europe-west1-b',
  });
  assert.equal(r.timeUnixNano, 1_800_000_000_123_456_789n);
  assert.equal(r.observedTimeUnixNano, NOW);
  assert.equal(r.severityNumber, 17);
  assert.equal(r.severityText, 'ERROR');
  assert.equal(r.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(r.spanId, '00f067aa0ba902b7');
  assert.equal(r.flags, 1);
  assert.deepEqual(r.attributes, {
    'log.source': 'envoy',
    'log.format': 'envoy-als',
    'envoy.log_name': 'als',
    'envoy.access_log_type': 'DownstreamEnd',
    'client.address': '10.1.9.7',
    'client.port': 51234,
    'network.peer.address': '10.1.9.7',
    'network.peer.port': 51234,
    'network.local.address': '10.1.2.3',
    'network.local.port': 9080,
    'server.address': '10.1.2.3',
    'server.port': 9080,
    'envoy.upstream_local_address': '127.0.0.6:40811',
    'envoy.upstream_cluster': 'inbound|9080||',
    'envoy.route_name': 'default',
    'envoy.response_flags': 'UF,URX',
    'envoy.upstream_transport_failure_reason': 'delayed_connect_error:_111',
    'envoy.upstream_request_attempt_count': 2,
    'envoy.custom_tag.mesh': 'prod',
    'envoy.duration_ms': 36,
    'envoy.request_duration_ms': 1,
    'envoy.response_duration_ms': 30,
    'envoy.response_tx_duration_ms': 5,
    'tls.protocol.name': 'tls',
    'tls.protocol.version': '1.3',
    'tls.cipher': 'TLS_AES_128_GCM_SHA256',
    'tls.client.server_name': 'outbound_.9080_._.reviews.bookinfo.svc.cluster.local',
    'tls.mtls': true,
    'tls.client.spiffe_id': 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
    'tls.client.san.uri': 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
    'tls.server.spiffe_id': 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
    'tls.server.san.uri': 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
    'network.protocol.name': 'http',
    'network.protocol.version': '1.1',
    'http.request.method': 'GET',
    'url.scheme': 'http',
    'url.path': '/reviews/0',
    'http.request.header.host': 'reviews:9080',
    'user_agent.original': 'python-requests/2.31.0',
    'http.request.header.traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'http.request.header.x-tenant': 'acme',
    'http.request.header.x-request-id': '5a3f9c1e-7d2b-4f4a-9d1b-0b6f3c2a1e77',
    'http.request.header.x-forwarded-for': '203.0.113.9',
    'http.request.body.size': 0,
    'envoy.request_headers_bytes': 412,
    'http.response.status_code': 503,
    'envoy.response_code_details': 'upstream_reset_before_response_started{connection_failure}',
    'http.response.body.size': 91,
    'envoy.response_headers_bytes': 120,
    'http.response.header.x-envoy-upstream-service-time': '29',
    'envoy.upstream_service_time_ms': 29,
  });
  assert.equal(
    r.body,
    '[2027-01-15T08:00:00.123Z] "GET /reviews/0 HTTP/1.1" 503 UF,URX 0 91 36 29 "203.0.113.9" "python-requests/2.31.0" ' +
      '"5a3f9c1e-7d2b-4f4a-9d1b-0b6f3c2a1e77" "reviews:9080" "10.1.2.3:9080"',
  );
});

test('a TCP entry: bytes and connection info, no HTTP fields; an upstream failure is an error', () => {
  const decoder = new AlsStreamDecoder();
  decoder.decode(encode({ identifier: { node: ISTIO_NODE, logName: 'tcp' } }), NOW);
  const d = decoder.decode(
    encode({
      tcpLogs: {
        logEntry: [
          {
            commonProperties: {
              startTime: START,
              downstreamRemoteAddress: socket('10.1.2.3', 43110),
              upstreamRemoteAddress: socket('10.1.7.7', 5432),
              upstreamCluster: 'outbound|5432||postgres.db.svc.cluster.local',
              duration: ms(1200),
              accessLogType: 'TcpConnectionEnd',
            },
            connectionProperties: { receivedBytes: 2138, sentBytes: 1346 },
          },
          { commonProperties: { startTime: START, responseFlags: { upstreamConnectionFailure: true }, upstreamRemoteAddress: socket('10.1.7.8', 5432) } },
        ],
      },
    }),
    NOW,
  );
  assert.equal(d.tcp, 2);
  const [ok, failed] = d.records as [(typeof d.records)[0], (typeof d.records)[0]];
  // The identifier of the first message names the node for the whole stream.
  assert.equal(ok.resource['service.name'], 'reviews');
  assert.equal(ok.attributes['envoy.log_name'], 'tcp');
  assert.equal(ok.attributes['network.transport'], 'tcp');
  assert.equal(ok.attributes['envoy.bytes_received'], 2138);
  assert.equal(ok.attributes['envoy.bytes_sent'], 1346);
  assert.equal(ok.attributes['envoy.duration_ms'], 1200);
  assert.equal(ok.attributes['server.address'], '10.1.7.7');
  assert.equal(ok.attributes['envoy.access_log_type'], 'TcpConnectionEnd');
  assert.equal(ok.attributes['http.request.method'], undefined);
  assert.equal(ok.attributes['network.protocol.name'], undefined);
  assert.equal(ok.severityNumber, 9);
  assert.equal(ok.body, '[2027-01-15T08:00:00.123Z] "- - -" 0 - 2138 1346 1200 - "-" "-" "-" "-" "10.1.7.7:5432"');
  assert.equal(failed.severityNumber, 17);
  assert.equal(failed.attributes['envoy.response_flags'], 'UF');
  assert.equal(failed.body, '[2027-01-15T08:00:00.123Z] "- - -" 0 UF 0 0 - - "-" "-" "-" "-" "10.1.7.8:5432"');
});

test('severity follows the status class; plain TLS without a peer certificate is not mTLS', () => {
  const d = new AlsStreamDecoder().decode(
    encode({
      httpLogs: {
        logEntry: [
          { request: { requestMethod: 'POST', path: '/a' }, response: { responseCode: { value: 201 } }, commonProperties: { tlsProperties: { tlsVersion: 'TLSv1_2', tlsCipherSuite: { value: 0xc02f } } } },
          { request: { requestMethod: 'GET', path: '/b' }, response: { responseCode: { value: 404 } } },
          { request: { requestMethod: 'GET', path: '/c' }, response: {} },
        ],
      },
    }),
    NOW,
  );
  const [a, b, c] = d.records as [(typeof d.records)[0], (typeof d.records)[0], (typeof d.records)[0]];
  assert.equal(a.severityNumber, 9);
  assert.equal(a.attributes['tls.mtls'], false);
  assert.equal(a.attributes['tls.protocol.version'], '1.2');
  assert.equal(a.attributes['tls.cipher'], 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  assert.equal(b.severityNumber, 13);
  // No response code: the client went away before a response (Envoy prints 0).
  assert.equal(c.severityNumber, 17);
  assert.equal(c.attributes['http.response.status_code'], undefined);
  assert.match(c.body, /"GET \/c -" 0 - 0 0 - - /);
  // A start time outside unsigned 64-bit nanoseconds is no time: the record takes the time Meshlog saw it.
  const far = new AlsStreamDecoder().decode(encode({ httpLogs: { logEntry: [{ commonProperties: { startTime: { seconds: '4611686018427387904' } } }, { commonProperties: { startTime: { seconds: -5 } } }] } }), NOW);
  assert.deepEqual(far.records.map((x) => x.timeUnixNano), [NOW, NOW]);
  // Without start_time the record takes the time Meshlog saw it; no node: no resource.
  assert.equal(c.timeUnixNano, NOW);
  assert.deepEqual(c.resource, {});
  assert.equal(a.attributes['client.address'], undefined);
});

test('response flags print as Envoy short codes in Envoy\'s order', () => {
  assert.equal(responseFlagsOf(undefined), '');
  assert.equal(responseFlagsOf({ upstreamRetryLimitExceeded: true, upstreamConnectionFailure: true }), 'UF,URX');
  assert.equal(responseFlagsOf({ noRouteFound: true, failedLocalHealthcheck: true, dnsResolutionFailure: true }), 'LH,NR,DF');
  assert.equal(responseFlagsOf({ unauthorizedDetails: { reason: 'EXTERNAL_SERVICE' }, rateLimited: true }), 'RL,UAEX');
  assert.equal(responseFlagsOf({ unauthorizedDetails: {} }), '');
  assert.equal(responseFlagsOf({ downstreamConnectionTermination: true, streamIdleTimeout: true, overloadManager: true }), 'DC,SI,OM');
});

test('Istio node ids, gateways, old cluster names and plain Envoy nodes', () => {
  assert.deepEqual(parseIstioNodeId('sidecar~10.1.2.3~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local'), {
    type: 'sidecar',
    ip: '10.1.2.3',
    pod: 'productpage-v1-6b746f74dc-9stvs',
    namespace: 'default',
  });
  assert.equal(parseIstioNodeId('envoy-1'), undefined);

  // Istio without metadata (older releases or a trimmed node): id and cluster only.
  assert.deepEqual(nodeResource({ id: 'sidecar~10.1.2.3~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local', cluster: 'productpage.default' }), {
    'envoy.node.id': 'sidecar~10.1.2.3~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local',
    'envoy.node.cluster': 'productpage.default',
    'envoy.node.type': 'sidecar',
    'k8s.pod.ip': '10.1.2.3',
    'k8s.namespace.name': 'default',
    'k8s.pod.name': 'productpage-v1-6b746f74dc-9stvs',
    'service.name': 'productpage',
  });
  // Istio before 1.6 used the cluster `istio-proxy` for every sidecar: the pod's Deployment names the service.
  assert.equal(nodeResource({ id: 'sidecar~10.1.2.4~ratings-v1-7dc98c7588-2xk4q.default~default.svc.cluster.local', cluster: 'istio-proxy' })['service.name'], 'ratings-v1');
  const gw = nodeResource({ id: 'router~10.1.0.9~istio-ingressgateway-5d8f9c7b6-qwert.istio-system~istio-system.svc.cluster.local', cluster: 'istio-ingressgateway.istio-system' });
  assert.equal(gw['envoy.node.type'], 'router');
  assert.equal(gw['service.name'], 'istio-ingressgateway');
  assert.equal(gw['k8s.namespace.name'], 'istio-system');
  // A plain Envoy: --service-node and --service-cluster.
  assert.deepEqual(nodeResource({ id: 'edge-proxy-1', cluster: 'edge', locality: { zone: 'z1' } }), {
    'envoy.node.id': 'edge-proxy-1',
    'envoy.node.cluster': 'edge',
    'service.name': 'edge',
    'cloud.availability_zone': 'z1',
  });
});

test('trace context from traceparent, B3 single header and x-b3 headers', () => {
  assert.deepEqual(traceContext({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 0 });
  assert.deepEqual(traceContext({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' }), { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', flags: 1 });
  assert.deepEqual(traceContext({ 'X-B3-TraceId': '463ac35c9f6413ad', 'X-B3-SpanId': '72485a3953bb6124', 'X-B3-Sampled': '1' }), {
    traceId: '0000000000000000463ac35c9f6413ad',
    spanId: '72485a3953bb6124',
    flags: 1,
  });
  assert.equal(traceContext({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }), undefined);
  assert.equal(traceContext({ traceparent: 'garbage', 'x-b3-traceid': 'xyz' }), undefined);
  assert.equal(traceContext({}), undefined);
});

test('undecodable bytes are an AlsDecodeError naming the message; unknown fields are skipped', () => {
  const decoder = new AlsStreamDecoder();
  decoder.decode(encode({ identifier: { node: { id: 'n', cluster: 'c' }, logName: 'l' } }), NOW);
  assert.throws(() => decoder.decode(Buffer.from([0x12, 0xff, 0x01]), NOW), (err: unknown) => err instanceof AlsDecodeError && /message 1 of the stream is not a valid envoy\.service\.accesslog\.v3\.StreamAccessLogsMessage/.test(err.message));
  // A field this build does not know (number 99, varint) in front of a good entry: skipped, entry kept.
  const good = encode({ httpLogs: { logEntry: [{ request: { path: '/x' } }] } });
  const withUnknown = Buffer.concat([Buffer.from([0x98, 0x06, 0x07]), good]);
  const d = decoder.decode(withUnknown, NOW);
  assert.equal(d.records.length, 1);
  assert.equal(d.records[0]!.attributes['url.path'], '/x');
  assert.equal(d.records[0]!.resource['service.name'], 'c');
});

/** mulberry32: reproducible mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: mutated stream messages either decode to records or fail with AlsDecodeError, never anything else', () => {
  const seeds = [
    encode({ identifier: { node: ISTIO_NODE, logName: 'als' }, httpLogs: { logEntry: [HTTP_ENTRY] } }),
    encode({ tcpLogs: { logEntry: [{ commonProperties: { startTime: START, responseFlags: { upstreamConnectionFailure: true } }, connectionProperties: { receivedBytes: 1 } }] } }),
  ];
  const random = rng(0x5eed);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = Buffer.from(seeds[i % seeds.length]!);
    const edits = 1 + Math.floor(random() * 4);
    let b: Buffer = bytes;
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * b.length);
      const op = random();
      if (op < 0.5) b[at] = Math.floor(random() * 256);
      else if (op < 0.75) b = b.subarray(0, at);
      else b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), b.subarray(at)]);
    }
    try {
      const d = new AlsStreamDecoder().decode(b, NOW);
      for (const r of d.records) {
        assert.equal(typeof r.body, 'string');
        assert.ok(r.timeUnixNano > 0n);
      }
      decoded++;
    } catch (err) {
      assert.ok(err instanceof AlsDecodeError, `unexpected ${String(err)}`);
      rejected++;
    }
  }
  assert.ok(decoded > 100 && rejected > 100, `decoded ${decoded}, rejected ${rejected}`);
});
