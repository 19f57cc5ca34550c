/**
 * Retention through the real server process and its HTTP API: records past
 * their policy disappear on enforcement, a legal hold stops it (and its
 * release lets the next run delete), and each enforcement leaves deletion
 * records with the right row counts. Times are computed from now, so the
 * test does not depend on the date.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '@meshlog/server';
import { linesOf, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogsAt } from '../helpers/otlp-payloads.js';

const DAY_MS = 86_400_000;
const AGES = [500, 200, 100, 10];
const NAMESPACES = ['payments', 'shop'];
const PER_STREAM = 2;
const PAYMENTS = '{k8s_namespace_name="payments"}';

let server: ServerProcess;
let viewerToken: string;
let otherTenantToken: string;
let secondAdminToken: string;
const marker = randomUUID().slice(0, 8);
let t0Ms: number;

interface DeletionRecord {
  id: string;
  run_id: string;
  tenant: string;
  table: string;
  partition: string;
  policy_id: string;
  selector: string;
  from: string;
  to: string;
  from_ns: string;
  to_ns: string;
  rows: number;
  method: string;
  started_at: string;
  finished_at: string;
  approved_by: string;
}

async function api(method: string, path: string, body?: unknown, token = server.token): Promise<{ status: number; json: Record<string, unknown> & { data?: never; error?: string; errorType?: string } }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json()) as never };
}

/** Every line of the test's records still stored, as "namespace age#i". */
async function remaining(): Promise<string[]> {
  const now = Date.now();
  const res = await lokiQueryRange(server, `{k8s_namespace_name=~"payments|shop"} |= "${marker}"`, {
    start: String((now - 600 * DAY_MS) * 1e6),
    end: String((now + 3_600_000) * 1e6),
    limit: '5000',
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return linesOf(res.body)
    .map((l) => l.replace(` ${marker}`, ''))
    .sort();
}

const expected = (keep: (ns: string, age: number) => boolean): string[] =>
  AGES.flatMap((age) => NAMESPACES.flatMap((ns) => Array.from({ length: PER_STREAM }, (_, i) => `${ns} ${age}d#${i}`)))
    .filter((l) => {
      const [ns, rest] = l.split(' ');
      return keep(ns!, Number.parseInt(rest!, 10));
    })
    .sort();

before(async () => {
  const dataDir = tempDir('meshlog-retention-e2e-');
  // Tokens the test needs besides the bootstrap admin: a non-admin of the same tenant, an admin of another.
  const tokens = new TokenStore(dataDir);
  viewerToken = tokens.create('default', ['viewer']);
  otherTenantToken = tokens.create('other', ['admin']);
  secondAdminToken = tokens.create('default', ['admin']);
  const config = join(dataDir, 'meshlog.yaml');
  writeFileSync(
    config,
    [
      'limits:',
      '  max_query_range_hours: 17520', // two years: the test reads 600 days back
      'retention:',
      '  default_keep_days: 90',
      '  interval_minutes: 60',
      '  start_delay_seconds: 86400', // the test drives every run through the API
      '  policies:',
      '    - { tenant: other, selector: \'{app="audit"}\', keep_days: 0 }',
      '',
    ].join('\n'),
  );
  server = await startServerProcess({ dataDir, args: ['--config', config] });
  t0Ms = Date.now();
  for (const age of AGES) {
    for (const ns of NAMESPACES) {
      const records = Array.from({ length: PER_STREAM }, (_, i) => ({ body: `${ns} ${age}d#${i} ${marker}`, timeUnixNano: BigInt(t0Ms - age * DAY_MS + i) * 1_000_000n }));
      const r = await fetch(`${server.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: otlpJsonLogsAt(records, { 'service.name': `${ns}-api`, 'k8s.namespace.name': ns }),
      });
      assert.equal(r.status, 200, await r.text());
    }
  }
});

after(async () => {
  await server?.stop();
});

test('retention API: admin (and auditor, read-only) only, strict bodies that name the field, tenant-scoped', async () => {
  const forbidden = await api('GET', '/api/v1/retention/policies', undefined, viewerToken);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.errorType, 'forbidden');
  assert.equal((await api('POST', '/api/v1/retention/enforce', undefined, viewerToken)).status, 403);
  assert.equal((await fetch(`${server.url}/api/v1/retention/policies`)).status, 401);

  const cases: [unknown, RegExp][] = [
    [{ keep_days: -1 }, /keep_days/],
    [{ keep_days: 1.5 }, /keep_days/],
    [{ selector: '{}', keep_days: 10 }, /selector: invalid stream selector/],
    [{ selector: '{a=~"("}', keep_days: 10 }, /selector: invalid stream selector.*invalid regular expression/],
    [{ keep_days: 10, keepdays: 10 }, /unknown key "keepdays"/],
    [{}, /keep_days/],
    ['{"keep_days": ', /not valid JSON/],
  ];
  for (const [body, message] of cases) {
    const r = await api('PUT', '/api/v1/retention/policies', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.errorType, 'bad_request');
    assert.match(r.json.error!, message);
  }
  const badHold = await api('POST', '/api/v1/retention/holds', { reason: 'x', from: 'yesterday' });
  assert.equal(badHold.status, 400);
  assert.match(badHold.json.error!, /from: invalid time/);
  assert.match((await api('POST', '/api/v1/retention/holds', { selector: PAYMENTS })).json.error!, /reason/);
  assert.equal((await api('DELETE', '/api/v1/retention/policies/pol_nope')).status, 404);
  assert.equal((await api('DELETE', '/api/v1/retention/holds/hold_nope')).status, 404);

  // The config file's policy belongs to its tenant only, recorded as made by "config".
  const other = await api('GET', '/api/v1/retention/policies', undefined, otherTenantToken);
  const otherPolicies = (other.json.data as unknown as { policies: { selector: string; keep_days: number; updated_by: string }[] }).policies;
  assert.deepEqual(
    otherPolicies.map((p) => [p.selector, p.keep_days, p.updated_by]),
    [['{app="audit"}', 0, 'config']],
  );
  const mine = (await api('GET', '/api/v1/retention/policies')).json.data as unknown as { policies: unknown[]; default_keep_days: number };
  assert.deepEqual(mine, { policies: [], default_keep_days: 90 });
});

test('enforcement deletes what is past its policy, a hold stops it, and each run leaves deletion records', async () => {
  const all = expected(() => true);
  assert.deepEqual(await remaining(), all, 'every record is there before retention');

  const put = await api('PUT', '/api/v1/retention/policies', { selector: '{ k8s_namespace_name = "payments" }', keep_days: 400 });
  assert.equal(put.status, 201);
  const payments = put.json.data as unknown as { id: string; selector: string; keep_days: number };
  assert.equal(payments.selector, PAYMENTS);
  assert.equal((await api('PUT', '/api/v1/retention/policies', { selector: PAYMENTS, keep_days: 400 })).status, 200, 'the same policy again: an update');

  // A legal hold on the shop namespace around 100 days ago.
  const holdRes = await api('POST', '/api/v1/retention/holds', {
    selector: '{k8s_namespace_name="shop"}',
    from: new Date(t0Ms - 120 * DAY_MS).toISOString(),
    to: new Date(t0Ms - 80 * DAY_MS).toISOString(),
    reason: 'litigation 2024-17',
  });
  assert.equal(holdRes.status, 201);
  const hold = holdRes.json.data as unknown as { id: string; reason: string };
  assert.equal(hold.reason, 'litigation 2024-17');
  assert.deepEqual(((await api('GET', '/api/v1/retention/holds')).json.data as unknown as { id: string }[]).map((h) => h.id), [hold.id]);

  // Run 1: 500 days is past both policies; shop at 200 days is past 90; shop at 100 days is held; payments stays 400 days.
  const run1 = await api('POST', '/api/v1/retention/enforce');
  assert.equal(run1.status, 200, JSON.stringify(run1.json));
  const r1 = run1.json.data as unknown as { records: DeletionRecord[]; held: { partition: string; rows: number; policy_id: string }[]; errors: unknown[] };
  assert.deepEqual(r1.errors, []);
  assert.deepEqual(await remaining(), expected((ns, age) => age === 10 || (ns === 'payments' && age < 400) || (ns === 'shop' && age === 100)));
  const summary = (records: DeletionRecord[]): [string, string, number][] =>
    records.map((r): [string, string, number] => [r.method, r.policy_id === payments.id ? 'payments' : r.policy_id, r.rows]).sort();
  assert.deepEqual(summary(r1.records), [
    ['delete', 'default', PER_STREAM], // shop, 200 days (payments rows stay in that partition)
    ['drop_partition', 'default', PER_STREAM], // 500 days: the whole day goes
    ['drop_partition', 'payments', PER_STREAM],
  ]);
  assert.deepEqual(
    r1.held.map((h) => [h.policy_id, h.rows]),
    [['default', PER_STREAM]],
  );
  for (const r of r1.records) {
    assert.equal(r.tenant, 'default');
    assert.equal(r.table, 'logs');
    assert.equal(r.approved_by, '');
    assert.ok(BigInt(r.from_ns) < BigInt(r.to_ns));
    assert.ok(Date.parse(r.started_at) <= Date.parse(r.finished_at));
    assert.equal(r.selector, r.policy_id === payments.id ? PAYMENTS : '');
  }

  // Release the hold: a second admin approves it (recorded); the next run deletes what it kept.
  const requested = await api('DELETE', `/api/v1/retention/holds/${hold.id}`);
  assert.equal(requested.status, 202, JSON.stringify(requested.json));
  assert.equal(((await api('GET', '/api/v1/retention/holds')).json.data as unknown as unknown[]).length, 1, 'still held until approved');
  const approvalId = (requested.json.data as unknown as { id: string }).id;
  const released = await api('POST', `/api/v1/approvals/${approvalId}/approve`, undefined, secondAdminToken);
  assert.equal(released.status, 200, JSON.stringify(released.json));
  assert.equal((released.json.data as unknown as { status: string }).status, 'executed');
  assert.deepEqual((await api('GET', '/api/v1/retention/holds')).json.data, []);
  const run2 = await api('POST', '/api/v1/retention/enforce');
  const r2 = run2.json.data as unknown as { records: DeletionRecord[]; held: unknown[] };
  assert.deepEqual(summary(r2.records), [['delete', 'default', PER_STREAM]]);
  assert.deepEqual(r2.held, []);
  assert.deepEqual(await remaining(), expected((ns, age) => age === 10 || (ns === 'payments' && age < 400)));
  const shop100 = r2.records[0]!;
  assert.ok(BigInt(shop100.from_ns) >= BigInt(t0Ms - 101 * DAY_MS) * 1_000_000n && BigInt(shop100.to_ns) <= BigInt(t0Ms - 99 * DAY_MS) * 1_000_000n, 'the record names the range it deleted');

  // Nothing left to do: a third run records nothing.
  assert.deepEqual((await api('POST', '/api/v1/retention/enforce')).json.data!['records'], []);

  // The deletion records are stored and listed by when they were made.
  const listed = (await api('GET', `/api/v1/retention/deletions?from=${encodeURIComponent(new Date(t0Ms - 60_000).toISOString())}`)).json.data as unknown as DeletionRecord[];
  assert.deepEqual(listed.map((r) => r.id).sort(), [...r1.records, ...r2.records].map((r) => r.id).sort());
  assert.equal(
    listed.reduce((n, r) => n + r.rows, 0),
    4 * PER_STREAM,
  );
  assert.deepEqual((await api('GET', `/api/v1/retention/deletions?to=${encodeURIComponent(new Date(t0Ms - 60_000).toISOString())}`)).json.data, []);

  // Who changed what: the policy, the hold and its release, by the admin token.
  const changes = (await api('GET', '/api/v1/retention/changes')).json.data as unknown as { object_kind: string; action: string; actor: string }[];
  assert.deepEqual(
    changes.map((c) => [c.object_kind, c.action]),
    [
      ['policy', 'create'],
      ['hold', 'create'],
      ['hold', 'release'],
    ],
  );
  assert.ok(changes.every((c) => c.actor.startsWith('tok_')));

  // Another tenant sees none of it, and its enforcement touches nothing here.
  assert.deepEqual((await api('GET', '/api/v1/retention/deletions', undefined, otherTenantToken)).json.data, []);
  assert.deepEqual((await api('POST', '/api/v1/retention/enforce', undefined, otherTenantToken)).json.data!['records'], []);
  assert.deepEqual(await remaining(), expected((ns, age) => age === 10 || (ns === 'payments' && age < 400)));

  const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
  assert.match(metrics, /meshlog_retention_runs_total\{trigger="api",outcome="ok"\} 4/);
  assert.match(metrics, new RegExp(`meshlog_retention_deleted_rows_total\\{tenant="default",table="logs",method="delete"\\} ${2 * PER_STREAM}`));
});
