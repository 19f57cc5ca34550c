import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamLabelsOf } from '@meshlog/core';
import { MAX_ATTRIBUTES, fluentEventToLogRecord } from './fluent-record.js';

const NOW = 1_800_000_000_000_000_000n;
const T = 1_700_000_000_000_000_000n;

function map(tag: string, record: Record<string, unknown>, metadata?: Record<string, unknown>) {
  return fluentEventToLogRecord({ tag, timeUnixNano: T, record, ...(metadata ? { metadata } : {}) }, NOW);
}

test('Fluent Bit tail + kubernetes filter record: k8s resource, service from the app label, stream, body', () => {
  const r = map('kube.var.log.containers.checkout-7d9f_shop_server-0123.log', {
    log: '{"level":"info"} GET /cart 200\n',
    stream: 'stdout',
    time: '2024-01-01T00:00:00.123Z',
    kubernetes: {
      pod_name: 'checkout-7d9f',
      namespace_name: 'shop',
      pod_id: 'a1b2',
      labels: { app: 'checkout', 'app.kubernetes.io/version': '1.4' },
      annotations: { 'sidecar.istio.io/status': 'injected' },
      host: 'node-3',
      container_name: 'server',
      docker_id: 'deadbeef',
      container_hash: 'sha256:abc',
      container_image: 'registry/checkout:1.4',
    },
  });
  assert.equal(r.body, '{"level":"info"} GET /cart 200');
  assert.equal(r.timeUnixNano, T);
  assert.equal(r.observedTimeUnixNano, NOW);
  assert.deepEqual(r.resource, {
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'checkout-7d9f',
    'k8s.container.name': 'server',
    'k8s.node.name': 'node-3',
    'k8s.pod.uid': 'a1b2',
    'container.id': 'deadbeef',
    'container.image.name': 'registry/checkout:1.4',
    'k8s.pod.label.app': 'checkout',
    'k8s.pod.label.app.kubernetes.io/version': '1.4',
    'k8s.pod.annotation.sidecar.istio.io/status': 'injected',
    'service.name': 'checkout',
  });
  assert.deepEqual(r.attributes, {
    'kubernetes.container_hash': 'sha256:abc',
    'log.iostream': 'stdout',
    time: '2024-01-01T00:00:00.123Z',
    'fluent.tag': 'kube.var.log.containers.checkout-7d9f_shop_server-0123.log',
  });
  const labels = Object.fromEntries(streamLabelsOf(r.resource, r.attributes));
  assert.equal(labels['service_name'], 'checkout');
  assert.equal(labels['k8s_namespace_name'], 'shop');
  assert.equal(labels['k8s_pod_name'], 'checkout-7d9f');
});

test('without the kubernetes filter, the container log tag names pod, namespace and container', () => {
  const id = 'a'.repeat(64);
  const r = map(`kube.var.log.containers.web-5c_prod_nginx-${id}.log`, { log: 'hi', stream: 'stderr' });
  assert.equal(r.resource['k8s.pod.name'], 'web-5c');
  assert.equal(r.resource['k8s.namespace.name'], 'prod');
  assert.equal(r.resource['k8s.container.name'], 'nginx');
  assert.equal(r.resource['container.id'], id);
  assert.equal(r.resource['service.name'], 'nginx');
  assert.equal(r.attributes['log.iostream'], 'stderr');
});

test("Docker's fluentd log driver record", () => {
  const r = map('docker.3f2a', { container_id: 'c'.repeat(64), container_name: '/payments', source: 'stderr', log: 'panic: boom' });
  assert.deepEqual(r.resource, { 'container.id': 'c'.repeat(64), 'container.name': 'payments', 'service.name': 'payments' });
  assert.equal(r.attributes['log.iostream'], 'stderr');
  assert.equal(r.body, 'panic: boom');
});

test('severity from words and pino numbers; trace context from the usual field names', () => {
  const a = map('app', { message: 'slow', level: 'WARNING', trace_id: '0AF7651916CD43DD8448EB211C80319C', span_id: 'b7ad6b7169203331', trace_flags: '01' });
  assert.equal(a.severityNumber, 13);
  assert.equal(a.severityText, 'WARNING');
  assert.equal(a.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(a.spanId, 'b7ad6b7169203331');
  assert.equal(a.flags, 1);
  assert.deepEqual(a.attributes, { 'fluent.tag': 'app' });

  const pino = map('app', { msg: 'done', level: 50, hostname: 'vm-1', pid: 42 });
  assert.equal(pino.severityNumber, 17);
  assert.equal(pino.severityText, 'error');
  assert.equal(pino.resource['host.name'], 'vm-1');
  assert.equal(pino.attributes['pid'], 42);

  const otel = map('app', { msg: 'x', severity: 'debug', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
  assert.equal(otel.severityNumber, 5);
  assert.equal(otel.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(otel.spanId, '00f067aa0ba902b7');
  assert.equal(otel.flags, 1);

  // Malformed ids are not trace context: they stay attributes.
  const bad = map('app', { msg: 'x', traceId: 'not-hex', spanId: '0000000000000000' });
  assert.equal(bad.traceId, '');
  assert.equal(bad.attributes['traceId'], 'not-hex');
  assert.equal(bad.attributes['spanId'], '0000000000000000');
});

test('service.name precedence: record fields, then pod labels, then the container, then the tag', () => {
  assert.equal(map('t', { log: 'x', 'service.name': 'a', app: 'b' }).resource['service.name'], 'a');
  assert.equal(map('t', { log: 'x', service: { name: 'ecs', version: '2' } }).resource['service.name'], 'ecs');
  assert.equal(map('t', { log: 'x', service: { name: 'ecs', version: '2' } }).attributes['service.version'], '2');
  assert.equal(map('t', { log: 'x', app: 'b', kubernetes: { container_name: 'c' } }).resource['service.name'], 'b');
  assert.equal(map('t', { log: 'x', kubernetes: { container_name: 'c', labels: { 'k8s-app': 'dns' } } }).resource['service.name'], 'dns');
  assert.equal(map('t', { log: 'x', kubernetes: { container_name: 'c' } }).resource['service.name'], 'c');
  assert.equal(map('my.app.tag', { log: 'x' }).resource['service.name'], 'my.app.tag');
});

test('a record without log/message/msg: the body is the JSON of what was not mapped, not repeated as attributes', () => {
  const r = map('nginx.access', { remote: '10.0.0.1', method: 'GET', code: 200, level: 'info', nested: { a: 1 } });
  assert.equal(r.body, '{"remote":"10.0.0.1","method":"GET","code":200,"nested":{"a":1}}');
  assert.deepEqual(r.attributes, { 'fluent.tag': 'nginx.access' });
  assert.equal(r.severityNumber, 9);
  assert.equal(map('t', { level: 'info' }).body, '');
});

test('other fields flatten with dots; arrays, binary and odd values get a printable form', () => {
  const r = map('t', {
    log: { structured: true },
    http: { request: { method: 'GET' }, status: 503 },
    tags: ['a', 1],
    raw: new Uint8Array([0xff, 0x00]),
    text: new Uint8Array(Buffer.from('plain')),
    nothing: null,
    big: Number.POSITIVE_INFINITY,
  });
  assert.equal(r.body, '{"structured":true}');
  assert.equal(r.attributes['http.request.method'], 'GET');
  assert.equal(r.attributes['http.status'], 503);
  assert.equal(r.attributes['tags'], '["a",1]');
  assert.equal(r.attributes['raw'], '/wA=');
  assert.equal(r.attributes['text'], 'plain');
  assert.equal('nothing' in r.attributes, false);
  assert.equal(r.attributes['big'], 'Infinity');
});

test('attributes beyond the cap are dropped and counted', () => {
  const record: Record<string, unknown> = { log: 'wide' };
  for (let i = 0; i < MAX_ATTRIBUTES + 50; i++) record[`k${i}`] = i;
  const r = map('t', record);
  assert.equal(Object.keys(r.attributes).length, MAX_ATTRIBUTES);
  assert.equal(r.attributes['fluent.tag'], 't');
  assert.equal(r.attributes['fluent.dropped_attributes_count'], MAX_ATTRIBUTES + 50 - (MAX_ATTRIBUTES - 2));
});
