import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grantsOf } from './oidc.js';

test('claim rules map claims to tenants and roles: arrays match by membership, every match adds', () => {
  const rules = [
    { claim: 'groups', equals: 'payments-oncall', tenant: 'payments', roles: ['analyst' as const] },
    { claim: 'groups', equals: 'sec', tenant: 'payments', roles: ['auditor' as const] },
    { claim: 'realm.team', equals: 'shop', tenant: 'shop', roles: ['viewer' as const] },
    { claim: 'email_verified', equals: true, tenant: 'default', roles: ['viewer' as const] },
  ];
  assert.deepEqual(grantsOf(rules, { groups: ['sec', 'payments-oncall'], realm: { team: 'shop' } }), [
    { tenant: 'payments', roles: ['analyst', 'auditor'] },
    { tenant: 'shop', roles: ['viewer'] },
  ]);
  assert.deepEqual(grantsOf(rules, { groups: 'payments-oncall', email_verified: true }), [
    { tenant: 'payments', roles: ['analyst'] },
    { tenant: 'default', roles: ['viewer'] },
  ]);
  assert.deepEqual(grantsOf(rules, { groups: ['payments'], email_verified: 'true' }), [], 'no partial or type-coerced matches');
});
