import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLogRecord, type LogBatch, type LogRecord } from '@meshlog/core';
import { EnrichK8sPathConfigSchema, EnrichK8sPathTransform } from './enrich_k8s_path/enrich-k8s-path-transform.js';
import { EnrichMeshConfigSchema, EnrichMeshTransform } from './enrich_mesh/enrich-mesh-transform.js';

test('enrich_k8s_path: resource attributes from the path; shared resources are replaced, not changed', () => {
  const shared = { 'host.name': 'node-1' };
  const a: LogRecord = { ...emptyLogRecord(), resource: shared, attributes: { 'log.file.path': '/var/log/pods/shop_cart-1_u-1/cart/2.log' } };
  const b: LogRecord = { ...emptyLogRecord(), resource: shared, attributes: { 'log.file.path': '/var/log/pods/shop_cart-1_u-1/cart/2.log' } };
  const c: LogRecord = { ...emptyLogRecord(), resource: shared, attributes: { 'log.file.path': '/var/log/syslog' } };
  const explicit: LogRecord = { ...emptyLogRecord(), resource: { 'k8s.namespace.name': 'given' }, attributes: { 'log.file.path': '/var/log/pods/shop_cart-1_u-1/cart/2.log' } };
  const batch: LogBatch = { kind: 'logs', tenant: 't', source: 's', records: [a, b, c, explicit] };
  new EnrichK8sPathTransform(EnrichK8sPathConfigSchema.parse({})).process(batch);
  assert.deepEqual(a.resource, { 'host.name': 'node-1', 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'cart-1', 'k8s.container.name': 'cart', 'k8s.pod.uid': 'u-1', 'k8s.container.restart_count': 2 });
  assert.equal(a.resource, b.resource, 'one new object per resource and path');
  assert.deepEqual(shared, { 'host.name': 'node-1' }, 'the shared object is untouched');
  assert.equal(c.resource, shared, 'nothing to add: same object');
  assert.equal(explicit.resource['k8s.namespace.name'], 'given', 'existing attributes win');
});

test('enrich_mesh: identity from attributes a source already set, only where `when` matches', () => {
  const als: LogRecord = { ...emptyLogRecord(), attributes: { 'log.source': 'envoy', 'envoy.upstream_cluster': 'inbound|8080||', 'envoy.downstream_peer_uri_san': 'spiffe://cluster.local/ns/shop/sa/frontend' } };
  const other: LogRecord = { ...emptyLogRecord(), attributes: { 'log.source': 'app', 'envoy.upstream_cluster': 'inbound|8080||' } };
  new EnrichMeshTransform(EnrichMeshConfigSchema.parse({ when: { attributes: { 'log.source': 'envoy' } } })).process({ kind: 'logs', tenant: 't', source: 's', records: [als, other] });
  assert.equal(als.attributes['mesh.mtls'], true);
  assert.equal(als.attributes['source.k8s.service_account.name'], 'frontend');
  assert.equal(other.attributes['mesh.direction'], undefined);
});
