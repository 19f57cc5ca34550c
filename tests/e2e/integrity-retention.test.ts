/**
 * Deletion under policy is accounted for by the integrity ledger, through
 * the real server process and the real CLI: records ingested with old
 * timestamps, a retention policy, an enforcement run and a purge approved by
 * a second admin; then `meshlog export` + `meshlog verify` pass, and the
 * report lists every deletion (policy, selector, time range, row count, and
 * the approver of the purge) and counts the absent records as accounted for.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '@meshlog/server';
import { runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogsAt } from '../helpers/otlp-payloads.js';

const DAY_MS = 86_400_000;
const marker = randomUUID().slice(0, 8);
const PER_STREAM = 3;

let server: ServerProcess;
let dir: string;
let dataDir: string;
let secondAdmin: string;

interface DeletionRecord {
  id: string;
  tenant: string;
  table: string;
  partition: string;
  policy_id: string;
  selector: string;
  from_ns: string;
  to_ns: string;
  rows: number;
  method: string;
  approved_by: string;
}

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: { data?: unknown; error?: string } }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json()) as never };
}

async function ingest(ns: string, ageMs: number, tag: string): Promise<void> {
  const t0 = Date.now();
  const records = Array.from({ length: PER_STREAM }, (_, i) => ({ body: `${ns} ${tag}#${i} ${marker}`, timeUnixNano: BigInt(t0 - ageMs + i) * 1_000_000n }));
  const r = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: otlpJsonLogsAt(records, { 'service.name': `${ns}-api`, 'k8s.namespace.name': ns }),
  });
  assert.equal(r.status, 200, await r.text());
}

before(async () => {
  dir = tempDir('meshlog-integrity-retention-');
  dataDir = join(dir, 'data');
  secondAdmin = new TokenStore(dataDir).create('default', ['admin']);
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, ['limits:', '  max_query_range_hours: 17520', 'retention:', '  default_keep_days: 90', '  start_delay_seconds: 86400', ''].join('\n'));
  server = await startServerProcess({ dataDir, args: ['--config', config] });
});

after(async () => {
  await server?.stop();
});

test('retention and an approved purge leave meshlog verify passing, each deletion listed in its report', { timeout: 300_000 }, async () => {
  // 500 days: past every policy (the whole day is dropped); 200 days: shop past the 90-day default (rows deleted),
  // payments kept by its 400-day policy; recent records stay, except the purged ones.
  await ingest('payments', 500 * DAY_MS, '500d');
  await ingest('shop', 500 * DAY_MS, '500d');
  await ingest('payments', 200 * DAY_MS, '200d');
  await ingest('shop', 200 * DAY_MS, '200d');
  await ingest('payments', 60_000, 'recent');
  await ingest('shop', 60_000, 'purge-me');

  const policy = await api('PUT', '/api/v1/retention/policies', server.token, { selector: '{k8s_namespace_name="payments"}', keep_days: 400 });
  assert.equal(policy.status, 201, JSON.stringify(policy.json));
  const policyId = (policy.json.data as { id: string }).id;

  const run = await api('POST', '/api/v1/retention/enforce', server.token);
  assert.equal(run.status, 200, JSON.stringify(run.json));
  const enforced = (run.json.data as { records: DeletionRecord[] }).records;
  assert.equal(enforced.reduce((n, r) => n + r.rows, 0), 3 * PER_STREAM, JSON.stringify(enforced));

  // A purge: asked by one admin, carried out when another approves.
  const now = Date.now();
  const asked = await api('POST', '/api/v1/retention/purge', secondAdmin, {
    selector: '{k8s_namespace_name="shop"}',
    from: new Date(now - 5 * 60_000).toISOString(),
    to: new Date(now).toISOString(),
    reason: 'personal data sent by mistake (DSR-12)',
  });
  assert.equal(asked.status, 202, JSON.stringify(asked.json));
  const approved = await api('POST', `/api/v1/approvals/${(asked.json.data as { id: string }).id}/approve`, server.token);
  assert.equal(approved.status, 200, JSON.stringify(approved.json));
  const purge = (approved.json.data as { result: DeletionRecord }).result;
  assert.equal(purge.method, 'purge');
  assert.equal(purge.rows, PER_STREAM);
  assert.match(purge.approved_by, /^tok_/);

  const bundle = join(dir, 'after-retention.bundle.jsonl');
  const ex = await runCli(['export', '--server', server.url, '--token', server.token, '--out', bundle]);
  assert.equal(ex.code, 0, ex.stderr);
  const publicKey = `${dataDir}-integrity/signing-key.pem.pub`;
  const r = await runCli(['verify', bundle, '--public-key', publicKey]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /PASSED/);
  assert.match(r.stdout, /Findings: +none/);
  const absent = Number(/; (\d+) absent and accounted for by deletion records/.exec(r.stdout)?.[1]);
  assert.equal(absent, 4 * PER_STREAM, r.stdout);

  const deletions = [...enforced, purge];
  assert.match(r.stdout, new RegExp(`Deletion records: +${deletions.length}\\b`));
  const iso = (ns: string): string => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
  for (const d of deletions) {
    const line = r.stdout.split('\n').find((l) => l.includes(` ${d.id} `));
    assert.ok(line, `the report lists deletion ${d.id}:\n${r.stdout}`);
    assert.ok(line.includes(`${d.method} ${d.table} tenant ${d.tenant}${d.partition ? ` partition ${d.partition}` : ''},`), line);
    assert.ok(line.includes(d.policy_id ? `policy ${d.policy_id}` : 'no policy'), line);
    if (d.selector) assert.ok(line.includes(`selector ${d.selector}`), line);
    assert.ok(line.includes(`range ${iso(d.from_ns)} .. ${iso(d.to_ns)}`), line);
    assert.ok(line.includes(`: ${d.rows} rows`), line);
    if (d.approved_by) assert.ok(line.includes(`approved by ${d.approved_by}`), line);
  }
  assert.ok(
    enforced.some((d) => d.policy_id === policyId),
    'the payments policy deleted the 500-day payments rows',
  );

  // The JSON report carries the same deletion leaves, field for field.
  const json = await runCli(['verify', bundle, '--public-key', publicKey, '--json']);
  assert.equal(json.code, 0, json.stdout);
  const report = JSON.parse(json.stdout) as { ok: boolean; deletions: DeletionRecord[]; recordsDeletedUnderPolicy: number };
  assert.equal(report.ok, true);
  assert.deepEqual(
    report.deletions.map((d) => [d.id, d.method, d.policy_id, d.selector, d.from_ns, d.to_ns, d.rows, d.approved_by]).sort(),
    deletions.map((d) => [d.id, d.method, d.policy_id, d.selector, d.from_ns, d.to_ns, d.rows, d.approved_by]).sort(),
  );
});
