import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_DEFAULT_POLICY_ID, DAY_NS, SelectorError, canonicalSelector, policyIdFor, type RetentionPolicy } from './model.js';
import { compareSpecificity, cutoffNs, ruleFor, rulesForTenant } from './rules.js';

const policy = (tenant: string, selector: string | undefined, keep_days: number): RetentionPolicy => {
  const canonical = selector ? canonicalSelector(selector).text : '';
  return { id: policyIdFor(tenant, canonical), tenant, ...(canonical ? { selector: canonical } : {}), keep_days, updated_by: 't', updated_at: '' };
};

test('a selector policy beats the tenant default; the default is always last', () => {
  const rules = rulesForTenant([policy('t', undefined, 90), policy('t', '{k8s_namespace_name="payments"}', 400)], 30);
  assert.deepEqual(
    rules.map((r) => [r.selector, r.keepDays]),
    [
      ['{k8s_namespace_name="payments"}', 400],
      ['', 90],
    ],
  );
  assert.equal(ruleFor(rules, { k8s_namespace_name: 'payments', service_name: 'ledger' }).keepDays, 400);
  assert.equal(ruleFor(rules, { k8s_namespace_name: 'shop' }).keepDays, 90);
  assert.equal(ruleFor(rules, {}).keepDays, 90);
});

test('without a default policy the configured default applies, named "default"', () => {
  const rules = rulesForTenant([policy('t', '{app="x"}', 7)], 90);
  assert.equal(rules.at(-1)!.policyId, CONFIG_DEFAULT_POLICY_ID);
  assert.equal(rules.at(-1)!.keepDays, 90);
  assert.equal(ruleFor(rules, { app: 'y' }).policyId, CONFIG_DEFAULT_POLICY_ID);
});

test('more matchers win, then more equality matchers, then the longer keep, then the id', () => {
  const ns = policy('t', '{namespace="payments"}', 400);
  const nsApp = policy('t', '{namespace="payments", app="ledger"}', 30);
  const nsRe = policy('t', '{namespace=~"pay.*"}', 1000);
  const short = policy('t', '{team="a"}', 10);
  const long = policy('t', '{tier="gold"}', 0); // keep forever counts as longest
  const rules = rulesForTenant([ns, nsApp, nsRe, short, long, policy('t', undefined, 90)], 90);
  assert.deepEqual(
    rules.map((r) => r.selector),
    ['{app="ledger", namespace="payments"}', '{tier="gold"}', '{namespace="payments"}', '{team="a"}', '{namespace=~"pay.*"}', ''],
  );
  // The two-matcher policy shortens retention for its streams below the one-matcher policy.
  assert.equal(ruleFor(rules, { namespace: 'payments', app: 'ledger' }).keepDays, 30);
  assert.equal(ruleFor(rules, { namespace: 'payments', app: 'api' }).keepDays, 400);
  // An exact matcher beats a regex of the same size, even with a shorter keep.
  assert.equal(ruleFor(rules, { namespace: 'payments' }).keepDays, 400);
  assert.equal(ruleFor(rules, { namespace: 'payroll' }).keepDays, 1000);
  // Equally specific: the longer keep wins (forever beats 10 days).
  assert.equal(ruleFor(rules, { team: 'a', tier: 'gold' }).keepDays, 0);
  // The order is total and stable.
  const again = rulesForTenant([long, short, nsRe, nsApp, ns, policy('t', undefined, 90)], 90);
  assert.deepEqual(again, rules);
  assert.ok(compareSpecificity(rules[0]!, rules[1]!) < 0);
});

test('regex and negative matchers follow the store: anchored RE2, a missing label is ""', () => {
  const rules = rulesForTenant([policy('t', '{namespace=~"pay|bill"}', 5), policy('t', '{env!="prod", app="x"}', 6)], 90);
  assert.equal(ruleFor(rules, { namespace: 'pay' }).keepDays, 5);
  assert.equal(ruleFor(rules, { namespace: 'payments' }).keepDays, 90, 'anchored: "pay" does not match "payments"');
  assert.equal(ruleFor(rules, { app: 'x' }).keepDays, 6, 'a missing env is "" and so != "prod"');
  assert.equal(ruleFor(rules, { app: 'x', env: 'prod' }).keepDays, 90);
});

test('selectors are canonical: matcher order does not make a second policy', () => {
  const a = canonicalSelector('{b="2", a="1"}');
  const b = canonicalSelector('{ a = "1" , b="2" }');
  assert.equal(a.text, '{a="1", b="2"}');
  assert.equal(a.text, b.text);
  assert.equal(policyIdFor('t', a.text), policyIdFor('t', b.text));
  assert.notEqual(policyIdFor('t', a.text), policyIdFor('u', a.text), 'ids are per tenant');
});

test('a selector that selects nothing specific, or does not parse, is refused with the reason', () => {
  assert.throws(() => canonicalSelector('{}'), SelectorError);
  assert.throws(() => canonicalSelector('{a=~".*"}'), /at least one regexp or equality matcher/);
  assert.throws(() => canonicalSelector('{a=~"("}'), /invalid regular expression/);
  assert.throws(() => canonicalSelector('{a="1"} |= "x"'), /parse error at line 1, col 9/);
});

test('cutoffs: keep_days before now; 0 keeps forever', () => {
  const now = 1_000n * DAY_NS;
  assert.equal(cutoffNs({ keepDays: 90 }, now), 910n * DAY_NS);
  assert.equal(cutoffNs({ keepDays: 0 }, now), undefined);
  assert.equal(cutoffNs({ keepDays: 5000 }, now), 0n);
});
