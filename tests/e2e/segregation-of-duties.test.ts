/**
 * Segregation of duties through the real server process: a retention cut
 * or a purge asked for by one admin does not take effect until a second
 * admin approves it; nobody approves their own request; a security admin
 * (no retention rights) cannot approve a retention change; a decided
 * request cannot be decided again; and every step is in the audit trail,
 * queried with LogQL like any other stream.
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
const marker = randomUUID().slice(0, 8);
const APP = `{app="sod-${marker}"}`;

let server: ServerProcess;
let adminA: string;
let adminB: string;
let securityAdmin: string;
let adminAId: string;
let adminBId: string;

interface Approval {
  id: string;
  kind: string;
  status: string;
  requested_by: string;
  decided_by?: string;
  summary: string;
  result?: Record<string, unknown>;
}

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: { status: string; data?: unknown; error?: string; errorType?: string } }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json()) as never };
}

async function lines(): Promise<string[]> {
  const now = Date.now();
  const res = await lokiQueryRange(server, `${APP} |= "${marker}"`, { start: String((now - 40 * DAY_MS) * 1e6), end: String((now + 60_000) * 1e6) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return linesOf(res.body).sort();
}

before(async () => {
  const dataDir = tempDir('meshlog-sod-e2e-');
  const tokens = new TokenStore(dataDir);
  adminA = tokens.create('default', ['admin']);
  adminB = tokens.create('default', ['admin']);
  securityAdmin = tokens.create('default', ['security_admin']);
  const config = join(dataDir, 'meshlog.yaml');
  writeFileSync(config, ['limits:', '  max_query_range_hours: 2000', 'retention:', '  default_keep_days: 90', '  start_delay_seconds: 86400', ''].join('\n'));
  server = await startServerProcess({ dataDir, args: ['--config', config] });
  const now = Date.now();
  const records = [30, 20, 1].map((age) => ({ body: `${age}d ${marker}`, timeUnixNano: BigInt(now - age * DAY_MS) * 1_000_000n }));
  const r = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminA}` },
    body: otlpJsonLogsAt(records, { 'service.name': 'sod', 'loki.label.app': `sod-${marker}` }),
  });
  assert.equal(r.status, 200, await r.text());
  const who = async (token: string): Promise<string> => {
    // The actor id of a token is what its own audit records name; read it from a request it makes.
    const res = await fetch(`${server.url}/api/v1/retention/policies`, { headers: { authorization: `Bearer ${token}` } });
    const requestId = res.headers.get('x-request-id')!;
    const audit = await lokiQueryRange(server, `{meshlog_stream="audit"} |= "${requestId}"`);
    return (JSON.parse(linesOf(audit.body)[0]!) as { actor: { id: string } }).actor.id;
  };
  adminAId = await who(adminA);
  adminBId = await who(adminB);
});

after(async () => {
  await server?.stop();
});

test('a retention cut waits for a second admin; self-approval and approval without retention rights are refused', async () => {
  assert.deepEqual(await lines(), [`1d ${marker}`, `20d ${marker}`, `30d ${marker}`]);

  // Admin A shortens retention for the app from the default 90 days to 7: only a request.
  const cut = await api('PUT', '/api/v1/retention/policies', adminA, { selector: APP, keep_days: 7 });
  assert.equal(cut.status, 202, JSON.stringify(cut.json));
  assert.equal(cut.json.status, 'pending_approval');
  const request = cut.json.data as Approval;
  assert.equal(request.status, 'pending');
  assert.equal(request.kind, 'retention.policy.put');
  assert.equal(request.requested_by, adminAId);
  assert.match(request.summary, /shorten retention of .* from 90 to 7 days/);

  // Not in effect: no policy, and enforcement keeps everything.
  assert.deepEqual(((await api('GET', '/api/v1/retention/policies', adminA)).json.data as { policies: unknown[] }).policies, []);
  assert.equal((await api('POST', '/api/v1/retention/enforce', adminA)).status, 200);
  assert.equal((await lines()).length, 3);

  // A cannot approve their own request; a security admin lacks retention:write.
  const self = await api('POST', `/api/v1/approvals/${request.id}/approve`, adminA);
  assert.equal(self.status, 403);
  assert.match(self.json.error!, /nobody approves their own request/);
  const sec = await api('POST', `/api/v1/approvals/${request.id}/approve`, securityAdmin);
  assert.equal(sec.status, 403);
  assert.match(sec.json.error!, /retention:write/);
  const pending = (await api('GET', '/api/v1/approvals?status=pending', adminB)).json.data as Approval[];
  assert.deepEqual(
    pending.map((a) => a.id),
    [request.id],
  );

  // B approves: the policy is in effect, and the next run deletes what is past 7 days.
  const approved = await api('POST', `/api/v1/approvals/${request.id}/approve`, adminB, { note: 'agreed in change CHG-1' });
  assert.equal(approved.status, 200, JSON.stringify(approved.json));
  const done = approved.json.data as Approval;
  assert.equal(done.status, 'executed');
  assert.equal(done.decided_by, adminBId);
  const policies = ((await api('GET', '/api/v1/retention/policies', adminA)).json.data as { policies: { keep_days: number; updated_by: string }[] }).policies;
  assert.deepEqual(
    policies.map((p) => [p.keep_days, p.updated_by]),
    [[7, `${adminAId} (approved by ${adminBId})`]],
  );
  assert.equal((await api('POST', '/api/v1/retention/enforce', adminA)).status, 200);
  assert.deepEqual(await lines(), [`1d ${marker}`]);

  // Decided is decided.
  const again = await api('POST', `/api/v1/approvals/${request.id}/approve`, adminB);
  assert.equal(again.status, 409);
  assert.match(again.json.error!, /already executed/);

  // Lengthening needs no approval.
  assert.equal((await api('PUT', '/api/v1/retention/policies', adminA, { selector: APP, keep_days: 30 })).status, 200);
});

test('a purge waits for a second admin, and its deletion record names the approver', async () => {
  const now = Date.now();
  const r = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminA}` },
    body: otlpJsonLogsAt([{ body: `purge-me ${marker}`, timeUnixNano: BigInt(now - 60_000) * 1_000_000n }], { 'service.name': 'sod', 'loki.label.app': `sod-${marker}` }),
  });
  assert.equal(r.status, 200);
  const from = new Date(now - 120_000).toISOString();
  const to = new Date(now).toISOString();
  const asked = await api('POST', '/api/v1/retention/purge', adminB, { selector: `${APP} `, from, to, reason: 'personal data sent by mistake (DSR-9)' });
  assert.equal(asked.status, 202, JSON.stringify(asked.json));
  const id = (asked.json.data as Approval).id;
  assert.ok((await lines()).includes(`purge-me ${marker}`), 'nothing is deleted before approval');

  const selfApproval = await api('POST', `/api/v1/approvals/${id}/approve`, adminB);
  assert.equal(selfApproval.status, 403);
  const approved = await api('POST', `/api/v1/approvals/${id}/approve`, adminA);
  assert.equal(approved.status, 200, JSON.stringify(approved.json));
  const result = (approved.json.data as Approval).result as { rows: number; method: string; approved_by: string };
  assert.deepEqual([result.rows, result.method, result.approved_by], [1, 'purge', adminAId]);
  assert.ok(!(await lines()).includes(`purge-me ${marker}`));
  const deletions = (await api('GET', `/api/v1/retention/deletions?from=${encodeURIComponent(from)}`, adminA)).json.data as { method: string; approved_by: string }[];
  assert.ok(deletions.some((d) => d.method === 'purge' && d.approved_by === adminAId));
});

test('every step of an approval is in the audit trail, with the request before and after', async () => {
  const asked = await api('PUT', '/api/v1/retention/policies', adminA, { keep_days: 3 });
  assert.equal(asked.status, 202);
  const id = (asked.json.data as Approval).id;
  assert.equal((await api('POST', `/api/v1/approvals/${id}/approve`, adminA)).status, 403);
  assert.equal((await api('POST', `/api/v1/approvals/${id}/reject`, adminB, { note: 'too short for SOC 2 evidence' })).status, 200);

  const audit = await lokiQueryRange(server, `{meshlog_stream="audit"} |= "${id}"`, { direction: 'forward' });
  assert.equal(audit.status, 200);
  const records = linesOf(audit.body)
    .map((l) => JSON.parse(l) as { action: string; outcome: string; actor: { id: string }; change?: { before: Approval | null; after: Approval | null }; reason?: string; time: string })
    .sort((a, b) => a.time.localeCompare(b.time));
  assert.deepEqual(
    records.map((r) => [r.action, r.outcome, r.actor.id]),
    [
      ['retention.policy.put', 'success', adminAId],
      ['approvals.approve', 'denied', adminAId],
      ['approvals.reject', 'success', adminBId],
    ],
  );
  assert.equal(records[0]!.change!.after!.status, 'pending');
  assert.match(records[1]!.reason!, /nobody approves their own request/);
  assert.equal(records[2]!.change!.before!.status, 'pending');
  assert.equal(records[2]!.change!.after!.status, 'rejected');
});

test('a storage key rotation waits for a second admin; the key list never shows key material', async () => {
  const before = (await api('GET', '/api/v1/keys', adminA)).json.data as { encrypted: boolean; key_file_ids: number[]; current_id: number; fingerprints: Record<string, string> };
  assert.equal(before.encrypted, true);
  assert.equal(before.key_file_ids.length, 1);
  const k = before.key_file_ids[0]!;
  const asked = await api('POST', '/api/v1/keys/storage/rotate', adminA);
  assert.equal(asked.status, 202, JSON.stringify(asked.json));
  const id = (asked.json.data as Approval).id;
  assert.deepEqual(((await api('GET', '/api/v1/keys', adminA)).json.data as { key_file_ids: number[] }).key_file_ids, [k], 'no new key before approval');
  assert.equal((await api('POST', `/api/v1/approvals/${id}/approve`, adminA)).status, 403);
  const approved = await api('POST', `/api/v1/approvals/${id}/approve`, securityAdmin);
  assert.equal(approved.status, 200, JSON.stringify(approved.json));
  const result = (approved.json.data as Approval).result as { new_key_id: number; key_ids_after: number[] };
  assert.deepEqual([result.new_key_id, result.key_ids_after], [k + 1, [k, k + 1]]);
  const after = (await api('GET', '/api/v1/keys', adminA)).json.data as { key_file_ids: number[]; current_id: number; fingerprints: Record<string, string> };
  assert.deepEqual(after.key_file_ids, [k, k + 1]);
  assert.equal(after.current_id, k, 'the running server keeps encrypting with its key until restarted');
  for (const f of Object.values(after.fingerprints)) assert.match(f, /^[0-9a-f]{16}$/, 'a fingerprint, not a key');
});

test('granting a role: a token with read access is refused until a second admin approves it; ingest-only tokens need no approval', async () => {
  const asked = await api('POST', '/api/v1/tokens', adminA, { description: 'dashboards', roles: ['analyst'] });
  assert.equal(asked.status, 202, JSON.stringify(asked.json));
  const body = asked.json as unknown as { data: { id: string; secret: string; pending_approval?: boolean }; approval: Approval };
  assert.equal(body.data.pending_approval, true);
  assert.equal(body.approval.kind, 'identities.token.activate');
  const use = (): Promise<Response> => fetch(`${server.url}/loki/api/v1/labels`, { headers: { authorization: `Bearer ${body.data.secret}` } });
  assert.equal((await use()).status, 401, 'not usable before approval');
  assert.equal((await api('POST', `/api/v1/approvals/${body.approval.id}/approve`, adminA)).status, 403, 'not by the requester');
  assert.equal((await api('POST', `/api/v1/approvals/${body.approval.id}/approve`, adminB)).status, 200);
  assert.equal((await use()).status, 200, 'usable once approved');

  const ingester = await api('POST', '/api/v1/tokens', adminA, { description: 'agent', roles: ['ingester'] });
  assert.equal(ingester.status, 201, 'write-only ingestion tokens are not a grant that needs approval');
});
