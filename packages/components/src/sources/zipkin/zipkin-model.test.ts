import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, type Span } from '@meshlog/core';
import { ZipkinDecodeError, spanToZipkin, zipkinSpansToModel, type StoredSpan } from './zipkin-model.js';
import { decodeZipkinProto, zipkinListOfSpans } from './zipkin-proto.js';

const NOW = 1_700_000_999_000_000_000n;

/** What the store gives back: attribute values as text, service.name from the resource. */
function stored(s: Span): StoredSpan {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.attributes)) attributes[k] = String(v);
  const service = s.resource['service.name'];
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano,
    endTimeUnixNano: s.endTimeUnixNano,
    serviceName: service === undefined ? undefined : String(service),
    attributes,
    statusCode: s.statusCode,
    statusMessage: s.statusMessage,
    events: s.events,
  };
}

const FULL = [
  {
    traceId: '5af7183fb1d4cf5f',
    parentId: '6b221d5bc9e6496c',
    id: '352bff9a74ca9ad2',
    kind: 'CLIENT',
    name: 'get /api',
    timestamp: 1556604172355737,
    duration: 1431,
    localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1', port: 3306 },
    remoteEndpoint: { serviceName: 'backend', ipv4: '172.19.0.2', ipv6: '2001:db8::c001', port: 9000 },
    annotations: [
      { timestamp: 1556604172355800, value: 'wire send' },
      { timestamp: 1556604172356900, value: 'wire receive' },
    ],
    tags: { 'http.method': 'GET', 'http.path': '/api', error: 'upstream reset' },
    debug: true,
    shared: true,
  },
  {
    traceId: '00000000000000005af7183fb1d4cf5f',
    id: '6b221d5bc9e6496c',
    kind: 'SERVER',
    name: 'get /',
    timestamp: 1556604172355000,
    duration: 3000,
    localEndpoint: { serviceName: 'frontend', ipv6: '::1' },
  },
  { traceId: '463ac35c9f6413ad48485a3953bb6124', id: 'a2fb4a1d1a96d312', name: 'local work', timestamp: 1556604172356000 },
];

test('Zipkin v2 JSON maps to spans and back field for field', () => {
  const spans = zipkinSpansToModel(FULL, NOW);
  const [a, b, c] = spans;
  assert.ok(a && b && c);
  assert.equal(a.traceId, '00000000000000005af7183fb1d4cf5f');
  assert.equal(a.parentSpanId, '6b221d5bc9e6496c');
  assert.equal(a.kind, SpanKind.CLIENT);
  assert.equal(a.startTimeUnixNano, 1_556_604_172_355_737_000n);
  assert.equal(a.endTimeUnixNano - a.startTimeUnixNano, 1_431_000n);
  assert.deepEqual(a.resource, { 'service.name': 'frontend' });
  assert.deepEqual(a.attributes, {
    'http.method': 'GET',
    'http.path': '/api',
    error: 'upstream reset',
    'network.local.address': '192.168.99.1',
    'network.local.port': 3306,
    'peer.service': 'backend',
    'network.peer.address': '172.19.0.2',
    'zipkin.remote_endpoint.ipv6': '2001:db8::c001',
    'network.peer.port': 9000,
    'zipkin.shared': true,
    'zipkin.debug': true,
  });
  assert.equal(a.statusCode, 2);
  assert.equal(a.statusMessage, 'upstream reset');
  assert.deepEqual(
    a.events.map((e) => [e.name, e.timeUnixNano]),
    [
      ['wire send', 1_556_604_172_355_800_000n],
      ['wire receive', 1_556_604_172_356_900_000n],
    ],
  );
  assert.equal(b.kind, SpanKind.SERVER);
  assert.equal(c.kind, SpanKind.INTERNAL, 'no kind: a local span');
  assert.equal(c.endTimeUnixNano, c.startTimeUnixNano, 'no duration: unknown');

  const back = spans.map((s) => spanToZipkin(stored(s)));
  assert.deepEqual(back[0], FULL[0]);
  assert.deepEqual(back[1], { ...FULL[1], traceId: '5af7183fb1d4cf5f' }, 'a 128-bit id with a zero high half is shown as 64-bit, as Zipkin does');
  assert.deepEqual(back[2], FULL[2]);
  assert.deepEqual(Object.keys(back[0]!), Object.keys(FULL[0]!), "Zipkin's field order");
});

test('late data: a span without timestamp starts at its first annotation and comes back without one', () => {
  const [s] = zipkinSpansToModel([{ traceId: '1', id: '2', annotations: [{ timestamp: 20, value: 'b' }, { timestamp: 10, value: 'a' }] }], NOW);
  assert.equal(s!.startTimeUnixNano, 10_000n);
  assert.equal(s!.traceId, '00000000000000000000000000000001', 'short ids are left-padded as Zipkin does');
  assert.equal(s!.spanId, '0000000000000002');
  const back = spanToZipkin(stored(s!));
  assert.equal(back['timestamp'], undefined);
  assert.deepEqual(back['annotations'], [
    { timestamp: 20, value: 'b' },
    { timestamp: 10, value: 'a' },
  ]);
  const [t] = zipkinSpansToModel([{ traceId: '1', id: '2' }], NOW);
  assert.equal(t!.startTimeUnixNano, NOW);
});

test('OTLP spans render as Zipkin does them: kind, error tag from status, endpoints only from valid addresses', () => {
  const back = spanToZipkin({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    name: 'GET /cart',
    kind: SpanKind.SERVER,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_000_000_400n,
    serviceName: 'cart',
    attributes: { 'network.peer.address': 'cart.internal', 'network.peer.port': '99999', 'http.route': '/cart' },
    statusCode: 2,
    statusMessage: '',
    events: [{ timeUnixNano: 1_700_000_000_000_000_100n, name: 'exception', attributes: { 'exception.type': 'Timeout' } }],
  });
  assert.deepEqual(back, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    id: 'b7ad6b7169203331',
    kind: 'SERVER',
    name: 'GET /cart',
    timestamp: 1_700_000_000_000_000,
    duration: 1,
    localEndpoint: { serviceName: 'cart' },
    annotations: [{ timestamp: 1_700_000_000_000_000, value: 'exception {"exception.type":"Timeout"}' }],
    tags: { 'network.peer.address': 'cart.internal', 'network.peer.port': '99999', 'http.route': '/cart', error: 'true' },
  });
});

test('errors name the span and the field', () => {
  const fails = (list: unknown, re: RegExp): void => assert.throws(() => zipkinSpansToModel(list, NOW), (err: unknown) => err instanceof ZipkinDecodeError && re.test(err.message));
  fails({ traceId: 'a' }, /expected a JSON list of spans, got object/);
  fails([{ traceId: 'a', id: 'b' }, { id: 'b' }], /^spans\[1\]\.traceId: required$/);
  fails([{ traceId: 'xyz', id: 'b' }], /^spans\[0\]\.traceId: expected 16 or 32 hex characters, got "xyz"/);
  fails([{ traceId: 'a'.repeat(33), id: 'b' }], /spans\[0\]\.traceId/);
  fails([{ traceId: 'a', id: '0' }], /spans\[0\]\.id: must not be all zeros/);
  fails([{ traceId: 'a', id: 'b', kind: 'INTERNAL' }], /spans\[0\]\.kind: expected CLIENT, SERVER, PRODUCER or CONSUMER/);
  fails([{ traceId: 'a', id: 'b', timestamp: '1556604172355737' }], /spans\[0\]\.timestamp: expected a non-negative number of microseconds/);
  fails([{ traceId: 'a', id: 'b', duration: -1 }], /spans\[0\]\.duration/);
  fails([{ traceId: 'a', id: 'b', localEndpoint: { ipv4: '300.1.1.1' } }], /spans\[0\]\.localEndpoint\.ipv4: not an IPv4 address/);
  fails([{ traceId: 'a', id: 'b', remoteEndpoint: { port: 70000 } }], /spans\[0\]\.remoteEndpoint\.port/);
  fails([{ traceId: 'a', id: 'b', tags: { a: { b: 1 } } }], /spans\[0\]\.tags\.a: expected a string/);
  fails([{ traceId: 'a', id: 'b', annotations: [{ value: 'x' }] }], /spans\[0\]\.annotations\[0\]\.timestamp: required/);
  fails([{ traceId: 'a', id: 'b', shared: 'yes' }], /spans\[0\]\.shared: expected true or false/);
  fails(['span'], /spans\[0\]: expected a span object/);
});

test('proto3 ListOfSpans decodes to the same spans as JSON', () => {
  const t = zipkinListOfSpans();
  const msg = t.fromObject({
    spans: [
      {
        traceId: Buffer.from('5af7183fb1d4cf5f', 'hex'),
        parentId: Buffer.from('6b221d5bc9e6496c', 'hex'),
        id: Buffer.from('352bff9a74ca9ad2', 'hex'),
        kind: 1,
        name: 'get /api',
        timestamp: 1556604172355737,
        duration: 1431,
        localEndpoint: { serviceName: 'frontend', ipv4: Buffer.from([192, 168, 99, 1]), port: 3306 },
        remoteEndpoint: { serviceName: 'backend', ipv4: Buffer.from([172, 19, 0, 2]), ipv6: Buffer.from('20010db8' + '0'.repeat(20) + 'c001', 'hex'), port: 9000 },
        annotations: [
          { timestamp: 1556604172355800, value: 'wire send' },
          { timestamp: 1556604172356900, value: 'wire receive' },
        ],
        tags: { 'http.method': 'GET', 'http.path': '/api', error: 'upstream reset' },
        shared: true,
        debug: true,
      },
    ],
  });
  const list = decodeZipkinProto(Buffer.from(t.encode(msg).finish()));
  const fromProto = zipkinSpansToModel(list, NOW);
  const fromJson = zipkinSpansToModel([FULL[0]], NOW);
  assert.deepEqual(fromProto, fromJson);
  assert.throws(() => decodeZipkinProto(Buffer.from([0x0a, 0x05, 0x0a, 0x03, 1, 2, 3])), /spans\[0\]\.traceId: expected 8 or 16 bytes, got 3/);
  assert.throws(() => decodeZipkinProto(Buffer.from([0x0a, 0xff, 0xff])), /invalid protobuf ListOfSpans/);
});
