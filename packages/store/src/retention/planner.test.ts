import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_NS, canonicalSelector, dayOf, policyIdFor, type RetentionPolicy } from './model.js';
import { planDeletions, settledFingerprint, triagePartitions, type HoldScope, type PartitionInfo, type RowClass } from './planner.js';
import { rulesForTenant } from './rules.js';

// "Now" is day 1000 at noon; a partition `daysAgo` days back spans one UTC day.
const NOW = 1000n * DAY_NS + DAY_NS / 2n;
const dayStart = (daysAgo: number): bigint => 1000n * DAY_NS - BigInt(daysAgo) * DAY_NS;
const part = (daysAgo: number, rows: number): PartitionInfo => ({
  tenant: 't',
  day: dayOf(dayStart(daysAgo)),
  minNs: dayStart(daysAgo) + 3_600_000_000_000n,
  maxNs: dayStart(daysAgo) + 20n * 3_600_000_000_000n,
  rows,
});
const policy = (selector: string | undefined, keep_days: number): RetentionPolicy => {
  const canonical = selector ? canonicalSelector(selector).text : '';
  return { id: policyIdFor('t', canonical), tenant: 't', ...(canonical ? { selector: canonical } : {}), keep_days, updated_by: 't', updated_at: '' };
};
// payments 400 days, everything else 90 (rule 0 = payments, rule 1 = default).
const RULES = rulesForTenant([policy('{k8s_namespace_name="payments"}', 400)], 90);
const cls = (p: PartitionInfo, rule: number, rows: number, held = false): RowClass => ({ day: p.day, rule, held, rows, minNs: p.minNs, maxNs: p.maxNs });

test('triage: partitions newer than every cutoff are never read; older ones are inspected', () => {
  const parts = [part(500, 6), part(200, 6), part(100, 6), part(10, 6), part(89, 1)];
  const t = triagePartitions(parts, RULES, [], NOW);
  assert.deepEqual(
    t.inspect.map((p) => p.day),
    [part(500, 0).day, part(200, 0).day, part(100, 0).day],
  );
  assert.deepEqual(
    t.skipped.map((s) => s.reason),
    ['within_policy', 'within_policy'],
  );
});

test('triage: keep-forever everywhere reads nothing; a hold without selector covering a partition skips it', () => {
  const forever = rulesForTenant([], 0);
  assert.equal(triagePartitions([part(500, 1)], forever, [], NOW).inspect.length, 0);
  const p = part(500, 1);
  const whole: HoldScope = { holdId: 'h', matchers: [], fromNs: dayStart(501), toNs: dayStart(499) };
  assert.deepEqual(triagePartitions([p], RULES, [whole], NOW).skipped, [{ day: p.day, reason: 'held' }]);
  // A hold with a selector, or covering only part of the day, needs the rows looked at.
  const bySelector: HoldScope = { holdId: 'h', matchers: canonicalSelector('{a="1"}').matchers };
  const partial: HoldScope = { holdId: 'h', matchers: [], fromNs: p.minNs + 1n };
  assert.equal(triagePartitions([p], RULES, [bySelector], NOW).inspect.length, 1);
  assert.equal(triagePartitions([p], RULES, [partial], NOW).inspect.length, 1);
});

test('payments 400 days, rest 90: past both drops the partition; between 90 and 400 deletes only the rest', () => {
  const old = part(500, 6);
  const mid = part(200, 6);
  const recent = part(100, 6);
  // The store counted rows past their rule: at 500 days everything (3 payments + 3 shop); at 200 and 100 days only shop.
  const classes = [cls(old, 0, 3), cls(old, 1, 3), cls(mid, 1, 3), cls(recent, 1, 3)];
  const plan = planDeletions([old, mid, recent], RULES, classes);
  assert.deepEqual(
    plan.partitions.map((p) => [p.day, p.method, p.deletions.map((d) => [d.policyId, d.rows])]),
    [
      [
        old.day,
        'drop_partition',
        [
          [RULES[0]!.policyId, 3],
          ['default', 3],
        ],
      ],
      [mid.day, 'delete', [['default', 3]]],
      [recent.day, 'delete', [['default', 3]]],
    ],
  );
  const d = plan.partitions[0]!.deletions[0]!;
  assert.equal(d.selector, '{k8s_namespace_name="payments"}');
  assert.equal(d.fromNs, old.minNs);
  assert.equal(d.toNs, old.maxNs + 1n, 'the range is half-open');
  assert.deepEqual(plan.held, []);
});

test('a partition whose rows are all past their rules is dropped even between the cutoffs', () => {
  const mid = part(200, 4); // only shop rows in it
  const plan = planDeletions([mid], RULES, [cls(mid, 1, 4)]);
  assert.equal(plan.partitions[0]!.method, 'drop_partition');
});

test('held rows are never planned; a partition with held rows is never dropped', () => {
  const old = part(500, 6);
  const plan = planDeletions([old], RULES, [cls(old, 0, 3, true), cls(old, 1, 3)]);
  assert.deepEqual(
    plan.partitions.map((p) => [p.method, p.deletions.map((d) => [d.policyId, d.rows])]),
    [['delete', [['default', 3]]]],
  );
  assert.deepEqual(plan.held, [{ day: old.day, policyId: RULES[0]!.policyId, rows: 3 }]);
  // Everything held: nothing to do, and the held rows are reported.
  const all = planDeletions([old], RULES, [cls(old, 0, 3, true), cls(old, 1, 3, true)]);
  assert.deepEqual(all.partitions, []);
  assert.equal(all.held.reduce((n, h) => n + h.rows, 0), 6);
});

test('a partition with nothing past its rules plans nothing; counts beyond the partition never drop it', () => {
  const p = part(200, 6);
  assert.deepEqual(planDeletions([p], RULES, []).partitions, []);
  // Rows arrived between listing (6) and counting (7): not equal, so rows are deleted, not the partition.
  assert.equal(planDeletions([p], RULES, [cls(p, 1, 7)]).partitions[0]!.method, 'delete');
});

test('a rule index the plan does not know is an error, not a silent deletion', () => {
  const p = part(200, 6);
  assert.throws(() => planDeletions([p], RULES, [cls(p, 5, 1)]), /rule 5/);
});

test('settled fingerprint: stable while rows, rules and holds are; none while a cutoff falls inside the partition', () => {
  const mid = part(200, 3); // payments only: nothing deletable, and no cutoff inside the day
  const f = settledFingerprint(mid, RULES, [], NOW);
  assert.ok(f !== undefined);
  assert.equal(settledFingerprint({ ...mid }, RULES, [], NOW + 1_000_000_000n), f, 'time moving on changes nothing while no cutoff crosses the day');
  assert.notEqual(settledFingerprint({ ...mid, rows: 4 }, RULES, [], NOW), f, 'a late record');
  assert.notEqual(settledFingerprint(mid, rulesForTenant([policy('{k8s_namespace_name="payments"}', 100)], 90), [], NOW), f, 'a policy change');
  assert.notEqual(settledFingerprint(mid, RULES, [{ holdId: 'h', matchers: [] }], NOW), f, 'a hold');
  // The payments cutoff (400 days) crosses a partition about 400 days old as time moves: never settled.
  const straddling: PartitionInfo = { ...part(400, 3), minNs: NOW - 400n * DAY_NS - 1n, maxNs: NOW - 400n * DAY_NS + 1n };
  assert.equal(settledFingerprint(straddling, RULES, [], NOW), undefined);
});
