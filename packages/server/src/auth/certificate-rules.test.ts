import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificateInfo } from '@meshlog/core';
import { CertificateIdentities, CertificateRuleSchema, spiffePatternProblem, type CertificateRule } from './certificate-rules.js';

const cert = (...spiffeIds: string[]): PeerCertificateInfo => ({ spiffeIds, subject: 'CN=test', serial: 'AB12', fingerprint256: 'AA:BB' });
const rule = (spiffe_id: string, tenant: string, roles: CertificateRule['roles'] = ['ingester']): CertificateRule => CertificateRuleSchema.parse({ spiffe_id, tenant, roles });

test('* is one path segment, a final ** the rest (one segment or more); the first matching rule wins', () => {
  const ids = new CertificateIdentities([
    rule('spiffe://cluster.local/ns/payments/sa/api', 'payments-api', ['ingester', 'viewer']),
    rule('spiffe://cluster.local/ns/payments/sa/*', 'payments'),
    rule('spiffe://cluster.local/ns/*/sa/fluent-bit', 'logging'),
    rule('spiffe://cluster.local/agents/**', 'agents'),
  ]);
  const tenant = (id: string): string | undefined => {
    const r = ids.identify(cert(id));
    return 'principal' in r ? r.principal.tenant : undefined;
  };
  assert.equal(tenant('spiffe://cluster.local/ns/payments/sa/api'), 'payments-api', 'the earlier, exact rule wins');
  assert.equal(tenant('spiffe://cluster.local/ns/payments/sa/worker'), 'payments');
  assert.equal(tenant('spiffe://cluster.local/ns/payments/sa/worker/extra'), undefined, '* is exactly one segment');
  assert.equal(tenant('spiffe://cluster.local/ns/payments/sa'), undefined);
  assert.equal(tenant('spiffe://cluster.local/ns/shop/sa/fluent-bit'), 'logging');
  assert.equal(tenant('spiffe://cluster.local/agents/node-1'), 'agents');
  assert.equal(tenant('spiffe://cluster.local/agents/eu/node-1'), 'agents');
  assert.equal(tenant('spiffe://cluster.local/agents'), undefined, '** needs at least one segment');
  assert.equal(tenant('spiffe://other.domain/ns/payments/sa/worker'), undefined, 'the trust domain is literal');
  assert.equal(tenant('spiffe://cluster.local/ns/Payments/sa/worker'), undefined, 'segments compare case-sensitively');
  assert.equal(tenant('spiffe://cluster.local/ns//sa/worker'), undefined, 'an empty segment matches nothing');

  const p = ids.identify(cert('spiffe://cluster.local/ns/payments/sa/api'));
  assert.ok('principal' in p);
  assert.deepEqual(p.principal, { id: 'spiffe://cluster.local/ns/payments/sa/api', kind: 'certificate', name: 'CN=test', tenant: 'payments-api', roles: ['ingester', 'viewer'], method: 'mtls' });
});

test('a certificate no rule matches, without a SPIFFE ID or with two is refused, and the message names it', () => {
  const ids = new CertificateIdentities([rule('spiffe://cluster.local/ns/payments/sa/*', 'payments')]);
  const refusal = (c: PeerCertificateInfo): string => {
    const r = ids.identify(c);
    assert.ok('refuse' in r);
    return r.refuse;
  };
  assert.match(refusal(cert('spiffe://cluster.local/ns/shop/sa/api')), /client certificate spiffe:\/\/cluster\.local\/ns\/shop\/sa\/api matches none of the 1 auth\.certificate_rules; add a rule for it/);
  assert.match(refusal(cert()), /CN=test \(serial AB12\) has no SPIFFE ID/);
  assert.match(refusal(cert('spiffe://a/x', 'spiffe://a/y')), /has 2 SPIFFE IDs .*exactly one/);
  const none = new CertificateIdentities([]).identify(cert('spiffe://a/x'));
  assert.ok('refuse' in none && /no auth\.certificate_rules are configured/.test(none.refuse));
});

test('patterns: what is not one says why', () => {
  assert.equal(spiffePatternProblem('spiffe://td/ns/*/sa/**'), undefined);
  assert.equal(spiffePatternProblem('spiffe://td'), undefined);
  assert.match(spiffePatternProblem('spiffe:///x')!, /trust domain is missing/);
  assert.match(spiffePatternProblem('spiffe://TD/x')!, /lower case/);
  assert.match(spiffePatternProblem('spiffe://td/x/')!, /empty path segment/);
  assert.match(spiffePatternProblem('spiffe://td/**/x')!, /only be the last segment/);
  assert.match(spiffePatternProblem('spiffe://td/sa-*')!, /partial wildcards/);
});
