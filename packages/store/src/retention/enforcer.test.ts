/**
 * Enforcement against a real embedded store (chDB): policies, precedence,
 * partition drops versus row deletes, legal holds, spans, deletion records
 * and the change log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogBatch, LogRecord, SpanBatch } from '@meshlog/core';
import { ChdbBackend } from '../embedded/chdb-backend.js';
import { LogStore } from '../log-store.js';
import { DAY_NS } from './model.js';
import { RetentionService } from './service.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const ago = (days: number, plusMs = 0): bigint => NOW_NS - BigInt(days) * DAY_NS + BigInt(plusMs) * 1_000_000n;

let dir: string;
let store: LogStore;
let retention: RetentionService;

function record(ts: bigint, body: string, namespace: string): LogRecord {
  return {
    timeUnixNano: ts,
    observedTimeUnixNano: ts,
    severityNumber: 9,
    severityText: 'INFO',
    body,
    attributes: {},
    resource: { 'service.name': `${namespace}-api`, 'k8s.namespace.name': namespace },
    scopeName: '',
    scopeVersion: '',
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

async function ingest(tenant: string, ages: number[], namespaces: string[], perStream = 3): Promise<void> {
  const records: LogRecord[] = [];
  for (const age of ages) for (const ns of namespaces) for (let i = 0; i < perStream; i++) records.push(record(ago(age, i), `${tenant} ${ns} ${age}d #${i}`, ns));
  const batch: LogBatch = { kind: 'logs', tenant, source: 'test', records };
  await store.insert([batch]);
}

async function bodies(tenant: string): Promise<string[]> {
  const r = await store.backend.query<{ body: string }>(`SELECT body FROM ${store.database}.logs WHERE tenant = {t:String} ORDER BY body`, { params: { t: tenant } });
  return r.rows.map((x) => x.body);
}

const countOf = (list: string[], needle: string): number => list.filter((b) => b.includes(needle)).length;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlog-retention-'));
  store = await LogStore.open(new ChdbBackend({ dataDir: dir }));
  retention = new RetentionService(store, { defaultKeepDays: 90, now: () => NOW_NS });
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('payments 400 days, everything else 90: drop past both, delete the rest between, keep recent', async () => {
  await ingest('acme', [500, 200, 100, 10], ['payments', 'shop']);
  const put = await retention.putPolicy('acme', { selector: '{k8s_namespace_name="payments"}', keep_days: 400 }, 'alice');
  assert.equal(put.created, true);

  const t0 = performance.now();
  const run = await retention.enforce({ tenant: 'acme' });
  const ms = performance.now() - t0;
  assert.deepEqual(run.errors, []);
  const left = await bodies('acme');
  assert.equal(countOf(left, ' 500d'), 0, 'past every policy: gone');
  assert.equal(countOf(left, 'payments 200d'), 3, 'payments kept 400 days');
  assert.equal(countOf(left, 'payments 100d'), 3);
  assert.equal(countOf(left, 'shop 200d'), 0, 'the rest kept 90 days');
  assert.equal(countOf(left, 'shop 100d'), 0);
  assert.equal(countOf(left, ' 10d'), 6, 'recent: untouched');

  const logs = run.records.filter((r) => r.table === 'logs');
  const summary = logs.map((r) => [r.method, r.policy_id === put.policy.id ? 'payments' : r.policy_id, r.rows]).sort();
  assert.deepEqual(summary, [
    ['delete', 'default', 3],
    ['delete', 'default', 3],
    ['drop_partition', 'default', 3],
    ['drop_partition', 'payments', 3],
  ]);
  for (const r of logs) {
    assert.ok(BigInt(r.from_ns) < BigInt(r.to_ns));
    assert.ok(BigInt(r.to_ns) <= ago(90), 'nothing deleted that is younger than its policy');
    assert.equal(r.approved_by, '');
    assert.equal(r.tenant, 'acme');
  }
  const stored = await retention.deletions('acme');
  assert.deepEqual(stored.map((r) => r.id).sort(), run.records.map((r) => r.id).sort(), 'every record is in meshlog.deletions');
  assert.deepEqual(stored.find((r) => r.id === logs[0]!.id), logs[0]);
  console.log(`# enforcement (4 partitions, 2 drops + 1 mutation) took ${ms.toFixed(0)} ms`);

  // Nothing more to do: a second run deletes nothing and records nothing.
  const again = await retention.enforce({ tenant: 'acme' });
  assert.deepEqual(again.records, []);
});

test('a legal hold stops deletion of what it covers; releasing it lets the next run delete', async () => {
  await ingest('hold-co', [200, 100], ['payments', 'shop']);
  // Everything 90 days.
  const hold = await retention.createHold('hold-co', { selector: '{k8s_namespace_name="shop"}', reason: 'case 42' }, 'legal');
  const held = await retention.enforce({ tenant: 'hold-co' });
  let left = await bodies('hold-co');
  assert.equal(countOf(left, 'shop'), 6, 'held: kept');
  assert.equal(countOf(left, 'payments'), 0, 'not held: deleted');
  assert.equal(held.held.reduce((n, h) => n + h.rows, 0), 6);
  assert.ok(held.records.every((r) => r.method === 'delete'), 'a partition with held rows is never dropped');

  // A time-bounded hold without selector: protects only its range.
  const ranged = await retention.createHold('hold-co', { fromNs: ago(150), reason: 'audit window' }, 'legal');
  assert.ok(await retention.releaseHold('hold-co', hold.id, 'legal'));
  assert.equal(await retention.releaseHold('hold-co', hold.id, 'legal'), undefined, 'released once');
  const partial = await retention.enforce({ tenant: 'hold-co' });
  left = await bodies('hold-co');
  assert.equal(countOf(left, 'shop 200d'), 0);
  assert.equal(countOf(left, 'shop 100d'), 3, 'inside the ranged hold');
  assert.deepEqual(
    partial.records.map((r) => [r.method, r.rows]),
    [['drop_partition', 3]],
  );

  await retention.releaseHold('hold-co', ranged.id, 'legal');
  const last = await retention.enforce({ tenant: 'hold-co' });
  assert.deepEqual(await bodies('hold-co'), []);
  assert.deepEqual(
    last.records.map((r) => [r.method, r.rows]),
    [['drop_partition', 3]],
  );

  const changes = await retention.changes('hold-co');
  assert.deepEqual(
    changes.map((c) => [c.object_kind, c.action, c.actor]),
    [
      ['hold', 'create', 'legal'],
      ['hold', 'create', 'legal'],
      ['hold', 'release', 'legal'],
      ['hold', 'release', 'legal'],
    ],
  );
  assert.equal((changes[2]!.before as { reason: string }).reason, 'case 42');
  assert.equal(changes[2]!.after, null);
});

test('tenants are isolated: enforcing one leaves the others alone; each has its own policies', async () => {
  await ingest('t-one', [200], ['shop']);
  await ingest('t-two', [200], ['shop']);
  await retention.putPolicy('t-two', { keep_days: 365 }, 'bob'); // t-two's default: a year
  await retention.enforce({ tenant: 't-one' });
  assert.equal((await bodies('t-one')).length, 0);
  assert.equal((await bodies('t-two')).length, 3);
  const all = await retention.enforce();
  assert.equal((await bodies('t-two')).length, 3, 't-two keeps 365 days');
  assert.ok(all.records.every((r) => r.tenant !== 't-two'));
});

test('spans follow the tenant default; keep_days 0 keeps forever', async () => {
  const span = (ageDays: number, id: string): SpanBatch['spans'][number] => ({
    traceId: id.padStart(32, '0'),
    spanId: id.padStart(16, '0'),
    parentSpanId: '',
    name: 'GET /',
    kind: 2,
    startTimeUnixNano: ago(ageDays),
    endTimeUnixNano: ago(ageDays) + 1_000_000n,
    attributes: {},
    resource: { 'service.name': 'svc', 'k8s.namespace.name': 'payments' },
    statusCode: 0,
    statusMessage: '',
    events: [],
  });
  await store.insert([{ kind: 'spans', tenant: 'spans-co', source: 'test', spans: [span(200, 'a1'), span(10, 'b2')] } as SpanBatch]);
  await retention.putPolicy('spans-co', { selector: '{k8s_namespace_name="payments"}', keep_days: 0 }, 'carol');
  const run = await retention.enforce({ tenant: 'spans-co' });
  const r = await store.backend.query<{ span_id: string }>(`SELECT span_id FROM ${store.database}.spans WHERE tenant = 'spans-co'`);
  assert.deepEqual(
    r.rows.map((x) => x.span_id),
    ['00000000000000b2'],
    'spans have no stream labels: the 90-day default applies',
  );
  assert.deepEqual(
    run.records.map((x) => [x.table, x.policy_id, x.rows]),
    [['spans', 'default', 1]],
  );

  await ingest('forever-co', [3000], ['shop']);
  await retention.putPolicy('forever-co', { keep_days: 0 }, 'carol');
  await retention.enforce({ tenant: 'forever-co' });
  assert.equal((await bodies('forever-co')).length, 3);
});

test('policy changes are recorded with before and after; an unchanged put writes nothing', async () => {
  const a = await retention.putPolicy('chg', { selector: '{app="x"}', keep_days: 30 }, 'alice');
  const same = await retention.putPolicy('chg', { selector: '{ app = "x" }', keep_days: 30 }, 'alice');
  assert.equal(same.changed, false);
  assert.equal(same.policy.id, a.policy.id);
  await retention.putPolicy('chg', { selector: '{app="x"}', keep_days: 60 }, 'bob');
  assert.deepEqual(await retention.deletePolicy('chg', a.policy.id, 'carol'), { ...a.policy, keep_days: 60, updated_by: 'bob', updated_at: (await retention.changes('chg'))[1]!.at });
  assert.equal(await retention.deletePolicy('chg', a.policy.id, 'carol'), undefined);
  assert.deepEqual(await retention.policies('chg'), []);
  const changes = await retention.changes('chg');
  assert.deepEqual(
    changes.map((c) => [c.action, c.actor, (c.before as { keep_days?: number } | null)?.keep_days ?? null, (c.after as { keep_days?: number } | null)?.keep_days ?? null]),
    [
      ['create', 'alice', null, 30],
      ['update', 'bob', 30, 60],
      ['delete', 'carol', 60, null],
    ],
  );
  // Re-created later: same id, history continues.
  const again = await retention.putPolicy('chg', { selector: '{app="x"}', keep_days: 7 }, 'dave');
  assert.equal(again.created, true);
  assert.equal(again.policy.id, a.policy.id);
});

test('config policies: applied at start, authoritative for what they name, recorded as "config"', async () => {
  const first = await retention.applyConfigured([{ tenant: 'cfg', selector: '{app="x"}', keep_days: 10 }, { tenant: 'cfg', keep_days: 20 }]);
  assert.equal(first.length, 2);
  assert.deepEqual(await retention.applyConfigured([{ tenant: 'cfg', selector: '{app="x"}', keep_days: 10 }]), [], 'unchanged: nothing written');
  await retention.putPolicy('cfg', { selector: '{app="x"}', keep_days: 99 }, 'alice');
  const back = await retention.applyConfigured([{ tenant: 'cfg', selector: '{app="x"}', keep_days: 10 }]);
  assert.deepEqual(
    back.map((p) => [p.keep_days, p.updated_by]),
    [[10, 'config']],
  );
});

test('enforcement and changes never interleave', async () => {
  const order: string[] = [];
  const a = retention.enforce({ tenant: 'nobody' }).then(() => order.push('enforce'));
  const b = retention.createHold('nobody', { reason: 'x' }, 'legal').then(() => order.push('hold'));
  const c = retention.enforce({ tenant: 'nobody' }).then(() => order.push('enforce2'));
  assert.equal(retention.busy, true);
  await Promise.all([a, b, c]);
  await retention.idle();
  assert.deepEqual(order, ['enforce', 'hold', 'enforce2']);
  assert.equal(retention.busy, false);
});

test('a partition found with nothing to delete is not counted again until something changes', async () => {
  await ingest('settle', [200], ['payments']);
  await retention.putPolicy('settle', { selector: '{k8s_namespace_name="payments"}', keep_days: 400 }, 'alice');
  let counts = 0;
  const backend = new Proxy(store.backend, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (sql: string, opts: unknown) => {
          if (sql.includes('GROUP BY day, rule, held')) counts++;
          return target.query(sql, opts as never);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const counting = new RetentionService({ backend, database: store.database, visible: () => store.visible() }, { defaultKeepDays: 90, now: () => NOW_NS });
  await counting.enforce({ tenant: 'settle' });
  assert.equal(counts, 1);
  await counting.enforce({ tenant: 'settle' });
  assert.equal(counts, 1, 'settled: not counted again');
  await ingest('settle', [200], ['shop'], 1);
  const r = await counting.enforce({ tenant: 'settle' });
  assert.equal(counts, 2, 'a late record changes the partition: counted again');
  assert.deepEqual(
    r.records.map((x) => [x.method, x.rows]),
    [['delete', 1]],
  );
  assert.equal(countOf(await bodies('settle'), 'payments'), 3);
});
