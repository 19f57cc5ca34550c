/** The demo cluster: the call graph is sound and the cluster looks like one. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTopology, ENDPOINTS, ENTRY_ROUTES, inboundCluster, outboundCluster, outboundSni, SERVICES } from './topology.js';

describe('topology', () => {
  it('has about twenty services in a few namespaces, a quarter of the sidecars logging JSON', () => {
    assert.ok(SERVICES.length >= 18 && SERVICES.length <= 24, `${SERVICES.length} services`);
    const namespaces = new Set(SERVICES.map((s) => s.namespace));
    assert.ok(namespaces.size >= 4 && namespaces.size <= 8);
    assert.ok(namespaces.has('istio-system'));
    const sidecars = SERVICES.filter((s) => s.accessLog !== null);
    const json = sidecars.filter((s) => s.accessLog === 'istio-json').length / sidecars.length;
    assert.ok(json >= 0.2 && json <= 0.35, `JSON share ${json}`);
  });

  it('names endpoints that exist and calls along an acyclic graph', () => {
    const byId = new Map(ENDPOINTS.map((e) => [e.id, e]));
    const services = new Set(SERVICES.map((s) => s.name));
    for (const e of ENDPOINTS) assert.ok(services.has(e.service), `${e.id} belongs to ${e.service}`);
    for (const r of ENTRY_ROUTES) assert.ok(byId.get(r.endpoint)?.service === 'frontend', `${r.endpoint} is a frontend route`);
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (id: string): void => {
      if (done.has(id)) return;
      assert.ok(!visiting.has(id), `cycle through ${id}`);
      visiting.add(id);
      const endpoint = byId.get(id);
      assert.ok(endpoint, `unknown endpoint ${id}`);
      for (const call of endpoint.calls) if (call.kind === 'service') visit(call.endpoint);
      visiting.delete(id);
      done.add(id);
    };
    for (const r of ENTRY_ROUTES) visit(r.endpoint);
    // Every meshed service but the gateway is reachable from the ingress.
    const reached = new Set([...done].map((id) => byId.get(id)?.service));
    for (const s of SERVICES) if (s.accessLog !== null && s.name !== 'istio-ingressgateway') assert.ok(reached.has(s.name), `${s.name} is reachable`);
  });

  it('builds the same cluster for a seed, with unique pod names and addresses', () => {
    const a = buildTopology(7);
    const b = buildTopology(7);
    const podsA = [...a.pods.values()].flat();
    assert.deepEqual(podsA.map((p) => [p.name, p.ip, p.node]), [...b.pods.values()].flat().map((p) => [p.name, p.ip, p.node]));
    assert.equal(new Set(podsA.map((p) => p.name)).size, podsA.length);
    assert.equal(new Set(podsA.map((p) => p.ip)).size, podsA.length);
    for (const p of podsA) {
      if (p.service.workloadKind === 'Deployment') assert.match(p.name, new RegExp(`^${p.service.name}-[b-z2-9]{9,10}-[b-z2-9]{5}$`));
      assert.match(p.ip, /^10\.244\.\d+\.\d+$/);
    }
  });

  it('gives each pod container a resource with the Kubernetes semantic conventions', () => {
    const t = buildTopology(1);
    const payments = t.pods.get('payments')?.[0];
    assert.ok(payments?.app && payments.proxy);
    const attrs = Object.fromEntries(payments.proxy.attributes.map((kv) => [kv.key, kv.value.stringValue]));
    assert.equal(attrs['service.name'], 'payments');
    assert.equal(attrs['k8s.namespace.name'], 'payments');
    assert.equal(attrs['k8s.container.name'], 'istio-proxy');
    assert.equal(attrs['k8s.pod.name'], payments.name);
    assert.equal(attrs['k8s.cluster.name'], 'demo');
    assert.equal(attrs['deployment.environment.name'], 'demo');
    assert.ok(attrs['k8s.node.name'] && attrs['service.version'] && attrs['service.namespace']);
    const app = Object.fromEntries(payments.app.attributes.map((kv) => [kv.key, kv.value.stringValue]));
    assert.equal(app['k8s.container.name'], 'payments');
  });

  it('names clusters and SNI as Istio does', () => {
    const payments = SERVICES.find((s) => s.name === 'payments');
    assert.ok(payments);
    assert.equal(outboundCluster(payments), 'outbound|8080||payments.payments.svc.cluster.local');
    assert.equal(inboundCluster(payments), 'inbound|8080||');
    assert.equal(outboundSni(payments), 'outbound_.8080_._.payments.payments.svc.cluster.local');
  });
});
