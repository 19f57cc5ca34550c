/**
 * Where retention keeps its state: policies, legal holds, their change log
 * and deletion records, all in the store (tables drawn in ./README.md).
 *
 * Why tables and not a JSON file under the data dir: policies change rarely,
 * but the store is the one thing every server of a future cluster shares, and
 * deletion records and the change log must live beside the data they are
 * evidence about (the integrity work signs them from there).
 *
 * Invariants:
 * - Append-only. A policy or hold is a sequence of versions; the current
 *   state is the latest version per id (`argMax(..., version)`), a deleted
 *   policy or released hold is a version saying so. Nothing is updated in
 *   place, so the tables are their own history and need no mutations.
 * - Every create, update, delete and release also writes a change row
 *   (who, when, before, after) to `retention_changes`.
 * - Callers serialize writes (`RetentionService`); versions are read-then-
 *   incremented, which one writer at a time makes safe.
 */
import type { LedgerLeaf } from '@meshlog/core';
import { randomBytes } from 'node:crypto';
import type { SqlBackend } from '../backend.js';
import {
  canonicalSelector,
  msToRfc3339,
  nsToRfc3339,
  policyIdFor,
  type ChangeAction,
  type DeletionRecord,
  type LegalHold,
  type RetentionChange,
  type RetentionPolicy,
} from './model.js';

export interface PolicyInput {
  /** A LogQL stream selector; absent or '' = the tenant's default policy. */
  selector?: string;
  keep_days: number;
}

export interface HoldInput {
  selector?: string;
  fromNs?: bigint;
  toNs?: bigint;
  reason: string;
}

/** A hold as enforcement needs it (ns bounds; undefined = open). */
export interface StoredHold extends LegalHold {
  fromNs?: bigint;
  toNs?: bigint;
}

interface PolicyRow {
  tenant: string;
  id: string;
  c_version: string;
  c_selector: string;
  c_keep_days: number;
  c_deleted: number;
  c_changed_by: string;
  c_changed_at_ms: string;
}

interface HoldRow {
  tenant: string;
  id: string;
  c_version: string;
  c_selector: string;
  c_from_ns: string;
  c_to_ns: string;
  c_reason: string;
  c_created_by: string;
  c_created_at_ms: string;
  c_released: number;
}

interface DeletionRow {
  tenant: string;
  id: string;
  run_id: string;
  table_name: string;
  partition: string;
  policy_id: string;
  selector: string;
  from_ns: string;
  to_ns: string;
  rows: string;
  method: string;
  started_at_ms: string;
  finished_at_ms: string;
  approved_by: string;
}

const POLICY_COLUMNS = ['tenant', 'id', 'version', 'selector', 'keep_days', 'deleted', 'changed_by', 'changed_at_ms'] as const;
const HOLD_COLUMNS = ['tenant', 'id', 'version', 'selector', 'from_ns', 'to_ns', 'reason', 'created_by', 'created_at_ms', 'released', 'changed_by', 'changed_at_ms'] as const;
const CHANGE_COLUMNS = ['tenant', 'id', 'at_ms', 'actor', 'object_kind', 'object_id', 'action', 'before', 'after'] as const;
const DELETION_COLUMNS = [
  'tenant',
  'id',
  'run_id',
  'table_name',
  'partition',
  'policy_id',
  'selector',
  'from_ns',
  'to_ns',
  'rows',
  'method',
  'started_at_ms',
  'finished_at_ms',
  'approved_by',
] as const;

export function newId(prefix: string): string {
  return prefix + randomBytes(8).toString('hex');
}

/** Where deletion and change leaves go (the integrity ledger), when there is one. */
export interface RetentionLedger {
  appendLeaf(leaf: LedgerLeaf): number;
}

export class RetentionCatalog {
  /** Every deletion and policy/hold change also becomes a ledger leaf (set by the server when integrity is on). */
  ledger: RetentionLedger | undefined;

  constructor(
    private readonly backend: SqlBackend,
    private readonly database: string,
    private readonly clock: () => number = Date.now,
  ) {}

  // ------------------------------------------------------------- policies

  /** Current policies, of one tenant or of all. */
  async policies(tenant?: string): Promise<RetentionPolicy[]> {
    return (await this.policyRows(tenant)).filter((r) => Number(r.c_deleted) === 0).map(toPolicy);
  }

  /**
   * Creates or updates the tenant's policy for a selector (the id follows
   * from the selector). Writes nothing when the policy already says this.
   */
  async putPolicy(tenant: string, input: PolicyInput, actor: string): Promise<{ policy: RetentionPolicy; before: RetentionPolicy | undefined; created: boolean; changed: boolean }> {
    const selector = input.selector === undefined || input.selector.trim() === '' ? '' : canonicalSelector(input.selector).text;
    const id = policyIdFor(tenant, selector);
    const rows = await this.policyRows(tenant, id);
    const current = rows[0];
    const before = current && Number(current.c_deleted) === 0 ? toPolicy(current) : undefined;
    if (before && before.keep_days === input.keep_days) return { policy: before, before, created: false, changed: false };
    const now = this.clock();
    const version = current ? BigInt(current.c_version) + 1n : 1n;
    await this.insert('retention_policies', POLICY_COLUMNS, [[tenant, id, version.toString(), selector, input.keep_days, 0, actor, String(now)]]);
    const policy: RetentionPolicy = { id, tenant, ...(selector ? { selector } : {}), keep_days: input.keep_days, updated_by: actor, updated_at: msToRfc3339(now) };
    await this.recordChange(tenant, actor, now, 'policy', id, before ? 'update' : 'create', before ?? null, policy);
    return { policy, before, created: before === undefined, changed: true };
  }

  /** Deletes a policy; undefined when the tenant has no such policy. */
  async deletePolicy(tenant: string, id: string, actor: string): Promise<RetentionPolicy | undefined> {
    const current = (await this.policyRows(tenant, id))[0];
    if (!current || Number(current.c_deleted) !== 0) return undefined;
    const before = toPolicy(current);
    const now = this.clock();
    await this.insert('retention_policies', POLICY_COLUMNS, [
      [tenant, id, (BigInt(current.c_version) + 1n).toString(), current.c_selector, Number(current.c_keep_days), 1, actor, String(now)],
    ]);
    await this.recordChange(tenant, actor, now, 'policy', id, 'delete', before, null);
    return before;
  }

  private async policyRows(tenant?: string, id?: string): Promise<PolicyRow[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (tenant !== undefined) {
      where.push('tenant = {tenant:String}');
      params['tenant'] = tenant;
    }
    if (id !== undefined) {
      where.push('id = {id:String}');
      params['id'] = id;
    }
    const r = await this.backend.query<PolicyRow>(
      `SELECT tenant, id, max(version) AS c_version, argMax(selector, version) AS c_selector, argMax(keep_days, version) AS c_keep_days,
  argMax(deleted, version) AS c_deleted, argMax(changed_by, version) AS c_changed_by, argMax(changed_at_ms, version) AS c_changed_at_ms
FROM ${this.database}.retention_policies${where.length ? `\nWHERE ${where.join(' AND ')}` : ''}
GROUP BY tenant, id
ORDER BY tenant, id`,
      { params },
    );
    return r.rows;
  }

  // ---------------------------------------------------------------- holds

  /** Active (not released) holds, of one tenant or of all. */
  async holds(tenant?: string): Promise<StoredHold[]> {
    return (await this.holdRows(tenant)).filter((r) => Number(r.c_released) === 0).map(toHold);
  }

  async createHold(tenant: string, input: HoldInput, actor: string): Promise<StoredHold> {
    const selector = input.selector === undefined || input.selector.trim() === '' ? '' : canonicalSelector(input.selector).text;
    const id = newId('hold_');
    const now = this.clock();
    await this.insert('legal_holds', HOLD_COLUMNS, [
      [tenant, id, '1', selector, (input.fromNs ?? 0n).toString(), (input.toNs ?? 0n).toString(), input.reason, actor, String(now), 0, actor, String(now)],
    ]);
    const hold = toHold({
      tenant,
      id,
      c_version: '1',
      c_selector: selector,
      c_from_ns: (input.fromNs ?? 0n).toString(),
      c_to_ns: (input.toNs ?? 0n).toString(),
      c_reason: input.reason,
      c_created_by: actor,
      c_created_at_ms: String(now),
      c_released: 0,
    });
    await this.recordChange(tenant, actor, now, 'hold', id, 'create', null, publicHold(hold));
    return hold;
  }

  /** Releases a hold; undefined when the tenant has no such active hold. */
  async releaseHold(tenant: string, id: string, actor: string): Promise<StoredHold | undefined> {
    const current = (await this.holdRows(tenant, id))[0];
    if (!current || Number(current.c_released) !== 0) return undefined;
    const now = this.clock();
    await this.insert('legal_holds', HOLD_COLUMNS, [
      [
        tenant,
        id,
        (BigInt(current.c_version) + 1n).toString(),
        current.c_selector,
        current.c_from_ns,
        current.c_to_ns,
        current.c_reason,
        current.c_created_by,
        current.c_created_at_ms,
        1,
        actor,
        String(now),
      ],
    ]);
    const hold = toHold(current);
    await this.recordChange(tenant, actor, now, 'hold', id, 'release', publicHold(hold), null);
    return hold;
  }

  private async holdRows(tenant?: string, id?: string): Promise<HoldRow[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (tenant !== undefined) {
      where.push('tenant = {tenant:String}');
      params['tenant'] = tenant;
    }
    if (id !== undefined) {
      where.push('id = {id:String}');
      params['id'] = id;
    }
    const r = await this.backend.query<HoldRow>(
      `SELECT tenant, id, max(version) AS c_version, argMax(selector, version) AS c_selector, argMax(from_ns, version) AS c_from_ns,
  argMax(to_ns, version) AS c_to_ns, argMax(reason, version) AS c_reason, argMax(created_by, version) AS c_created_by,
  argMax(created_at_ms, version) AS c_created_at_ms, argMax(released, version) AS c_released
FROM ${this.database}.legal_holds${where.length ? `\nWHERE ${where.join(' AND ')}` : ''}
GROUP BY tenant, id
ORDER BY tenant, c_created_at_ms, id`,
      { params },
    );
    return r.rows;
  }

  // -------------------------------------------------------------- changes

  async changes(tenant: string, limit = 1000): Promise<RetentionChange[]> {
    const r = await this.backend.query<{ tenant: string; id: string; at_ms: string; actor: string; object_kind: string; object_id: string; action: string; before: string; after: string }>(
      `SELECT tenant, id, at_ms, actor, object_kind, object_id, action, before, after FROM ${this.database}.retention_changes
WHERE tenant = {tenant:String} ORDER BY at_ms, id LIMIT {limit:UInt32}`,
      { params: { tenant, limit } },
    );
    return r.rows.map((c) => ({
      id: c.id,
      tenant: c.tenant,
      at: msToRfc3339(Number(c.at_ms)),
      actor: c.actor,
      object_kind: c.object_kind as RetentionChange['object_kind'],
      object_id: c.object_id,
      action: c.action as ChangeAction,
      before: c.before === '' ? null : (JSON.parse(c.before) as unknown),
      after: c.after === '' ? null : (JSON.parse(c.after) as unknown),
    }));
  }

  private async recordChange(tenant: string, actor: string, atMs: number, kind: 'policy' | 'hold', objectId: string, action: ChangeAction, before: unknown, after: unknown): Promise<void> {
    const id = newId('chg_');
    await this.insert('retention_changes', CHANGE_COLUMNS, [
      [tenant, id, String(atMs), actor, kind, objectId, action, before === null ? '' : JSON.stringify(before), after === null ? '' : JSON.stringify(after)],
    ]);
    this.ledger?.appendLeaf({ type: 'change', id, tenant, at: new Date(atMs).toISOString(), actor, object_kind: kind, object_id: objectId, action, after: after === null ? '' : JSON.stringify(after) });
  }

  // ------------------------------------------------------------ deletions

  async recordDeletions(records: readonly DeletionRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.insert(
      'deletions',
      DELETION_COLUMNS,
      records.map((d) => [
        d.tenant,
        d.id,
        d.run_id,
        d.table,
        d.partition,
        d.policy_id,
        d.selector,
        d.from_ns,
        d.to_ns,
        String(d.rows),
        d.method,
        String(Date.parse(d.started_at)),
        String(Date.parse(d.finished_at)),
        d.approved_by,
      ]),
    );
    // After the catalog row: a leaf never names a deletion the catalog lacks.
    for (const d of records)
      this.ledger?.appendLeaf({
        type: 'deletion',
        id: d.id,
        run_id: d.run_id,
        tenant: d.tenant,
        table: d.table,
        partition: d.partition,
        policy_id: d.policy_id,
        selector: d.selector,
        from_ns: d.from_ns,
        to_ns: d.to_ns,
        rows: d.rows,
        method: d.method,
        finished_at: d.finished_at,
        approved_by: d.approved_by,
      });
  }

  /** A tenant's deletion records whose run started in `[fromMs, toMs)`, oldest first (at most 10,000). */
  async deletions(tenant: string, range: { fromMs?: number; toMs?: number } = {}): Promise<DeletionRecord[]> {
    const r = await this.backend.query<DeletionRow>(
      `SELECT tenant, id, run_id, table_name, partition, policy_id, selector, from_ns, to_ns, rows, method, started_at_ms, finished_at_ms, approved_by
FROM ${this.database}.deletions
WHERE tenant = {tenant:String} AND started_at_ms >= {from:UInt64} AND started_at_ms < {to:UInt64}
ORDER BY started_at_ms, id
LIMIT 10000`,
      { params: { tenant, from: String(range.fromMs ?? 0), to: String(range.toMs ?? Number.MAX_SAFE_INTEGER) } },
    );
    return r.rows.map((d) => ({
      id: d.id,
      run_id: d.run_id,
      tenant: d.tenant,
      table: d.table_name as DeletionRecord['table'],
      partition: d.partition,
      policy_id: d.policy_id,
      selector: d.selector,
      from: nsToRfc3339(BigInt(d.from_ns)),
      to: nsToRfc3339(BigInt(d.to_ns)),
      from_ns: d.from_ns,
      to_ns: d.to_ns,
      rows: Number(d.rows),
      method: d.method as DeletionRecord['method'],
      started_at: msToRfc3339(Number(d.started_at_ms)),
      finished_at: msToRfc3339(Number(d.finished_at_ms)),
      approved_by: d.approved_by,
    }));
  }

  private async insert(table: string, columns: readonly string[], rows: unknown[][]): Promise<void> {
    await this.backend.insertRows(`${this.database}.${table}`, columns, Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')));
  }
}

function toPolicy(r: PolicyRow): RetentionPolicy {
  return {
    id: r.id,
    tenant: r.tenant,
    ...(r.c_selector ? { selector: r.c_selector } : {}),
    keep_days: Number(r.c_keep_days),
    updated_by: r.c_changed_by,
    updated_at: msToRfc3339(Number(r.c_changed_at_ms)),
  };
}

function toHold(r: HoldRow): StoredHold {
  const from = BigInt(r.c_from_ns);
  const to = BigInt(r.c_to_ns);
  return {
    id: r.id,
    tenant: r.tenant,
    ...(r.c_selector ? { selector: r.c_selector } : {}),
    ...(from > 0n ? { from: nsToRfc3339(from), fromNs: from } : {}),
    ...(to > 0n ? { to: nsToRfc3339(to), toNs: to } : {}),
    reason: r.c_reason,
    created_by: r.c_created_by,
    created_at: msToRfc3339(Number(r.c_created_at_ms)),
  };
}

/** The API shape of a hold (without the ns bounds, which are bigints). */
export function publicHold(h: StoredHold): LegalHold {
  const { fromNs: _f, toNs: _t, ...rest } = h;
  return rest;
}
