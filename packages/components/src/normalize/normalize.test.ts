import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLogRecord } from '@meshlog/core';
import { parseEpoch, parseEpochText, parseRfc3339, parseTimestamp } from './timestamp.js';
import { applyTraceContext, b3SampledFlags, datadogIdToHex, normalizeSpanId, normalizeTraceId, parseB3Single, parseTraceparent, traceIdHexOrDecimal, TraceFields } from './trace-context.js';
import { enrichMeshIdentity, parseConsulName, parseIstioCluster, parseIstioSni, parseLinkerdIdentity, parseSpiffeId } from './mesh-identity.js';
import { k8sMetadataFromPath } from './k8s-path.js';

const ms = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;

test('RFC 3339 timestamps: fractions to the nanosecond, zones, separators', () => {
  assert.equal(parseRfc3339('2016-04-15T20:17:00.310Z'), ms('2016-04-15T20:17:00.310Z'));
  assert.equal(parseRfc3339('2022-08-23T20:28:20.071809491Z'), ms('2022-08-23T20:28:20Z') + 71_809_491n);
  assert.equal(parseRfc3339('2024-05-01T14:00:00+02:00'), ms('2024-05-01T12:00:00Z'));
  assert.equal(parseRfc3339('2024-05-01T10:30:00-0130'), ms('2024-05-01T12:00:00Z'));
  assert.equal(parseRfc3339('2024-05-01 12:00:00,123'), ms('2024-05-01T12:00:00.123Z'), 'Python logging, no zone: UTC');
  assert.equal(parseRfc3339('2024-05-01T12:00:00.1234567891234Z'), ms('2024-05-01T12:00:00Z') + 123_456_789n, 'digits past ns are dropped');
  for (const bad of ['2024-13-01T00:00:00Z', '2024-05-01T25:00:00Z', '2024-05-01', '2024-05-01T12:00:00Q', '2024-05-01T12:00:00.Z', 'x024-05-01T12:00:00Z', '1970-01-01T00:00:00Z', '2024-05-01T12:00:00+2:00']) {
    assert.equal(parseRfc3339(bad), undefined, bad);
  }
});

test('epoch numbers: seconds, ms, µs, ns by magnitude; out-of-range refused', () => {
  assert.equal(parseEpoch(1714560000), ms('2024-05-01T10:40:00Z'));
  assert.equal(parseEpoch(1714560000.123456), ms('2024-05-01T10:40:00Z') + 123_456_000n, 'zap: µs precision of a double');
  assert.equal(parseEpoch(1714560000123), ms('2024-05-01T10:40:00.123Z'), 'pino');
  assert.equal(parseEpoch(1714560000123456), ms('2024-05-01T10:40:00.123Z') + 456_000n);
  assert.equal(parseEpochText('1714560000123456789'), ms('2024-05-01T10:40:00.123Z') + 456_789n, 'ns exact from text');
  assert.equal(parseEpoch(42), undefined);
  assert.equal(parseEpoch(-1), undefined);
  assert.equal(parseEpoch(Number.NaN), undefined);
  assert.equal(parseEpochText('12ab'), undefined);
  assert.equal(parseTimestamp('1714560000'), ms('2024-05-01T10:40:00Z'));
  assert.equal(parseTimestamp('yesterday'), undefined);
  assert.equal(parseTimestamp(true), undefined);
});

test('traceparent: valid, and each way it can be invalid', () => {
  const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.deepEqual(parseTraceparent(good), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
  assert.deepEqual(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra'), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 0 }, 'a later version may append fields');
  const bad = [
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero span id
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // uppercase
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x', // version 00 has no more fields
    '00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01', // misplaced dash
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz', // flags
    '0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '',
  ];
  for (const b of bad) assert.equal(parseTraceparent(b), undefined, b);
});

test('B3: single header, multi headers, 64-bit ids padded; Datadog decimal ids', () => {
  assert.deepEqual(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90'), { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', flags: 1 });
  assert.deepEqual(parseB3Single('a3ce929d0e0e4736-00f067aa0ba902b7'), { traceId: '0000000000000000a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: -1 });
  assert.deepEqual(parseB3Single('a3ce929d0e0e4736-00f067aa0ba902b7-d'), { traceId: '0000000000000000a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
  assert.equal(parseB3Single('0'), undefined, 'sampling only: no ids');
  assert.equal(parseB3Single('xyz-00f067aa0ba902b7-1'), undefined);
  assert.equal(normalizeTraceId('A3CE929D0E0E4736'), '0000000000000000a3ce929d0e0e4736');
  assert.equal(normalizeTraceId('a3ce929d0e0e47'), '');
  assert.equal(normalizeTraceId('0000000000000000'), '');
  assert.equal(normalizeSpanId('00F067AA0BA902B7'), '00f067aa0ba902b7');
  assert.equal(normalizeSpanId('00f067aa0ba902b'), '');
  assert.equal(b3SampledFlags('0'), 0);
  assert.equal(b3SampledFlags('maybe'), -1);
  assert.equal(datadogIdToHex('5208512171318403364'), '48485a3953bb6124');
  assert.equal(datadogIdToHex('18446744073709551616'), '', 'above 2^64-1');
  assert.equal(datadogIdToHex('0'), '');
  assert.equal(traceIdHexOrDecimal('5208512171318403364'), '000000000000000048485a3953bb6124');
  assert.equal(traceIdHexOrDecimal('80f198ee56343ba864fe8b2a57d3eff7'), '80f198ee56343ba864fe8b2a57d3eff7');
});

test('trace context is only set on records without one; sources are tried in order', () => {
  const r = emptyLogRecord();
  assert.equal(applyTraceContext(r, '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 1), true);
  assert.equal(applyTraceContext(r, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '', -1), false, 'kept the first');
  assert.equal(r.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(r.flags, 1);

  const f = new TraceFields();
  f.traceparent = 'garbage';
  f.b3TraceId = 'a3ce929d0e0e4736';
  f.b3SpanId = '00f067aa0ba902b7';
  f.b3Sampled = '1';
  f.traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const r2 = emptyLogRecord();
  f.applyTo(r2);
  assert.equal(r2.traceId, '0000000000000000a3ce929d0e0e4736', 'an invalid traceparent falls through to B3');
  assert.equal(r2.flags, 1);
  f.reset();
  f.ddTraceId = '5208512171318403364';
  f.ddSpanId = '1';
  const r3 = emptyLogRecord();
  f.applyTo(r3);
  assert.equal(r3.traceId, '000000000000000048485a3953bb6124');
  assert.equal(r3.spanId, '0000000000000001');
});

test('SPIFFE IDs of Istio, Consul and Kuma', () => {
  assert.deepEqual(parseSpiffeId('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews'), { trustDomain: 'cluster.local', namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews' });
  assert.deepEqual(parseSpiffeId('spiffe://7b0d6a0b.consul/ap/default/ns/default/dc/dc1/svc/web'), { trustDomain: '7b0d6a0b.consul', partition: 'default', namespace: 'default', datacenter: 'dc1', service: 'web' });
  assert.deepEqual(parseSpiffeId('spiffe://default/backend_kuma-demo_svc_3001'), { trustDomain: 'default', service: 'backend_kuma-demo_svc_3001' });
  assert.equal(parseSpiffeId('https://example.com/ns/x'), undefined);
  assert.equal(parseSpiffeId('spiffe:///ns/x'), undefined);
});

test('Istio cluster names and SNI; Consul names; Linkerd identities', () => {
  assert.deepEqual(parseIstioCluster('outbound|9080|v2|reviews.bookinfo.svc.cluster.local'), { direction: 'outbound', port: 9080, subset: 'v2', host: 'reviews.bookinfo.svc.cluster.local', service: 'reviews', namespace: 'bookinfo' });
  assert.deepEqual(parseIstioCluster('outbound|443||api.stripe.com'), { direction: 'outbound', port: 443, host: 'api.stripe.com' });
  assert.deepEqual(parseIstioCluster('inbound|8080||'), { direction: 'inbound', port: 8080 });
  assert.deepEqual(parseIstioCluster('inbound|9080|http|reviews.bookinfo.svc.cluster.local'), { direction: 'inbound', port: 9080, host: 'reviews.bookinfo.svc.cluster.local', service: 'reviews', namespace: 'bookinfo' }, 'pre-1.10 inbound: the third field is a port name');
  assert.deepEqual(parseIstioCluster('PassthroughCluster'), { direction: 'outbound' });
  assert.deepEqual(parseIstioCluster('InboundPassthroughClusterIpv4'), { direction: 'inbound' });
  assert.equal(parseIstioCluster('outbound|9080'), undefined);
  assert.equal(parseIstioCluster('backend.default.dc1.internal.x.consul'), undefined);
  assert.deepEqual(parseIstioSni('outbound_.9080_.v1_.reviews.bookinfo.svc.cluster.local'), { direction: 'outbound', port: 9080, subset: 'v1', host: 'reviews.bookinfo.svc.cluster.local', service: 'reviews', namespace: 'bookinfo' });
  assert.deepEqual(parseIstioSni('outbound_.8080_._.cart.shop.svc.cluster.local'), { direction: 'outbound', port: 8080, host: 'cart.shop.svc.cluster.local', service: 'cart', namespace: 'shop' }, 'no subset');
  assert.equal(parseIstioSni('shop.example.com'), undefined);
  assert.deepEqual(parseConsulName('backend.default.dc1.internal.7b0d6a0b-1c5f-4e4f.consul'), { service: 'backend', namespace: 'default', datacenter: 'dc1' });
  assert.deepEqual(parseConsulName('backend.team-a.part-1.dc1.internal.7b0d6a0b.consul'), { service: 'backend', namespace: 'team-a', partition: 'part-1', datacenter: 'dc1' });
  assert.deepEqual(parseConsulName('backend.dc1.internal.7b0d6a0b.consul'), { service: 'backend', datacenter: 'dc1' });
  assert.equal(parseConsulName('backend.consul'), undefined);
  assert.deepEqual(parseLinkerdIdentity('web.emojivoto.serviceaccount.identity.linkerd.cluster.local'), { serviceAccount: 'web', namespace: 'emojivoto' });
  assert.equal(parseLinkerdIdentity('-'), undefined);
});

test('mesh identity and the mTLS rule', () => {
  // Inbound with Istio's mTLS SNI: mTLS; the SNI names the destination (this workload).
  const inbound: Record<string, string | number | boolean> = { 'envoy.upstream_cluster': 'inbound|8080||', 'tls.client.server_name': 'outbound_.8080_._.cart.shop.svc.cluster.local' };
  enrichMeshIdentity(inbound);
  assert.equal(inbound['mesh.direction'], 'inbound');
  assert.equal(inbound['mesh.mtls'], true);
  assert.equal(inbound['destination.k8s.namespace.name'], 'shop');
  assert.equal(inbound['destination.service.name'], 'cart');

  // Inbound plaintext (no SNI): not mTLS.
  const plain: Record<string, string | number | boolean> = { 'envoy.upstream_cluster': 'inbound|8080||' };
  enrichMeshIdentity(plain);
  assert.equal(plain['mesh.mtls'], false);

  // Inbound with a peer SPIFFE ID: mTLS, and who called.
  const peer: Record<string, string | number | boolean> = { 'envoy.upstream_cluster': 'inbound|8080||', 'envoy.downstream_peer_uri_san': 'spiffe://cluster.local/ns/shop/sa/frontend' };
  enrichMeshIdentity(peer);
  assert.equal(peer['mesh.mtls'], true);
  assert.equal(peer['source.k8s.namespace.name'], 'shop');
  assert.equal(peer['source.k8s.service_account.name'], 'frontend');

  // Outbound: destination from the cluster; mTLS unknown (unset).
  const out: Record<string, string | number | boolean> = { 'envoy.upstream_cluster': 'outbound|9080||reviews.bookinfo.svc.cluster.local' };
  enrichMeshIdentity(out);
  assert.equal(out['mesh.direction'], 'outbound');
  assert.equal(out['mesh.mtls'], undefined);
  assert.equal(out['destination.service.name'], 'reviews');
  assert.equal(out['destination.port'], 9080);
  assert.equal(out['source.service.name'], undefined, 'this workload is the resource: not copied into attributes');

  // Consul outbound and its SPIFFE peer.
  const consul: Record<string, string | number | boolean> = { 'envoy.upstream_cluster': 'backend.default.dc1.internal.7b0d6a0b.consul', 'envoy.upstream_peer_uri_san': 'spiffe://7b0d6a0b.consul/ns/default/dc/dc1/svc/backend' };
  enrichMeshIdentity(consul);
  assert.equal(consul['destination.service.name'], 'backend');
  assert.equal(consul['destination.service.namespace'], 'default');
  assert.equal(consul['mesh.mtls'], true);

  // Existing attributes are never overwritten; nothing to read: nothing written.
  const kept: Record<string, string | number | boolean> = { 'envoy.upstream_cluster': 'outbound|9080||reviews.bookinfo.svc.cluster.local', 'destination.service.name': 'explicit' };
  enrichMeshIdentity(kept);
  assert.equal(kept['destination.service.name'], 'explicit');
  const none: Record<string, string | number | boolean> = { 'http.request.method': 'GET' };
  enrichMeshIdentity(none);
  assert.deepEqual(none, { 'http.request.method': 'GET' });
});

test('Kubernetes metadata from pod log paths', () => {
  assert.deepEqual(k8sMetadataFromPath('/var/log/pods/shop_cart-7d9f8b6c5-x2x4z_0b8a2c1e-3f4d-4e5f-9a8b-7c6d5e4f3a2b/cart/3.log'), {
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'cart-7d9f8b6c5-x2x4z',
    'k8s.container.name': 'cart',
    'k8s.pod.uid': '0b8a2c1e-3f4d-4e5f-9a8b-7c6d5e4f3a2b',
    'k8s.container.restart_count': 3,
  });
  assert.equal(k8sMetadataFromPath('/host/var/log/pods/shop_cart-1_uid/istio-proxy/0.log.20240501-120000.gz')?.['k8s.container.restart_count'], 0, 'rotated file, host mount prefix');
  const id = 'a'.repeat(60) + '0b1f';
  assert.deepEqual(k8sMetadataFromPath(`/var/log/containers/cart-7d9f8b6c5-x2x4z_shop_istio-proxy-${id}.log`), {
    'k8s.pod.name': 'cart-7d9f8b6c5-x2x4z',
    'k8s.namespace.name': 'shop',
    'k8s.container.name': 'istio-proxy',
    'container.id': id,
  });
  for (const bad of ['/var/log/syslog', '/var/log/pods/shop_cart/cart/0.log', '/var/log/pods/a_b_c_d/x/0.log', '/var/log/containers/cart_shop_app-xyz.log', '/var/log/pods/ns_pod_uid/0.log']) {
    assert.equal(k8sMetadataFromPath(bad), undefined, bad);
  }
});
