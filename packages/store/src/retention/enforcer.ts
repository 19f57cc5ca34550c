/**
 * Retention enforcement: one run deletes, for each tenant (or one), every
 * log row past the policy that governs its stream and every span past the
 * tenant's default policy, except what a legal hold covers, and writes a
 * deletion record for each (partition, policy) it deleted from.
 *
 * A run, per tenant and table:
 *   1. list day partitions from part metadata (no data read on chDB);
 *   2. triage (pure): skip partitions all of whose rows are within every
 *      rule, partitions a hold without selector covers whole, and partitions
 *      an earlier run found nothing to delete in, unchanged since;
 *   3. count the rows past their rule in the rest, by rule and hold
 *      (one SELECT with the same predicate the delete uses);
 *   4. plan (pure): a partition whose every row is deletable and unheld is
 *      dropped (`DROP PARTITION`, metadata only, ~constant time); rows in
 *      other partitions are deleted with one `ALTER TABLE ... DELETE` mutation
 *      (parts rewritten without them: gone from disk, not masked);
 *   5. record: each statement's deletion records are written as soon as it
 *      returns, so deleted data never lacks its record for longer than that.
 *
 * Invariants: the caller runs one enforcement at a time and never during a
 * policy or hold change (`RetentionService` serializes them), so a hold that
 * was acknowledged is always seen. A drop is re-checked right before it: if
 * the partition's row count moved since it was counted (a late record with an
 * old timestamp), the partition is handled by the row delete instead, whose
 * predicate is exact. Spans have no stream labels: they follow the tenant's
 * default policy, and any hold covering their time range protects them.
 */
import type { Logger } from '@meshlog/core';
import type { LogStore } from '../log-store.js';
import { newId, type RetentionCatalog, type StoredHold } from './catalog.js';
import { canonicalSelector, nsToRfc3339, type DeletionRecord, type RetentionPolicy } from './model.js';
import { planDeletions, settledFingerprint, triagePartitions, type HoldScope, type PartitionInfo, type PartitionPlan, type RowClass } from './planner.js';
import { LOGS_TABLE, SPANS_TABLE, classifySql, countPartitionSql, deleteRowsSql, dropPartitionSql, heldSql, listPartitionsSql, type RetentionTable } from './retention-sql.js';
import { SqlParams, matcherSql } from '../query/log-select.js';
import { rulesForTenant, type RetentionRule } from './rules.js';

export interface RetentionEnforcerOptions {
  /** `retention.default_keep_days`: for tenants without a default policy; 0 = keep forever. */
  defaultKeepDays: number;
  logger?: Logger;
  /** The clock, in ns (tests pin it). */
  now?: () => bigint;
}

export interface HeldSummary {
  tenant: string;
  table: RetentionTable['name'];
  partition: string;
  policy_id: string;
  rows: number;
}

export interface EnforcementError {
  tenant: string;
  table: RetentionTable['name'];
  message: string;
}

export interface EnforcementResult {
  run_id: string;
  started_at: string;
  finished_at: string;
  /** Deletion records written by this run. */
  records: DeletionRecord[];
  /** Rows past their policy that legal holds kept. */
  held: HeldSummary[];
  /** Failures of one tenant's table; the others still ran. */
  errors: EnforcementError[];
}

const TABLES: readonly RetentionTable[] = [LOGS_TABLE, SPANS_TABLE];

export class RetentionEnforcer {
  private readonly now: () => bigint;
  /**
   * Partitions inspected with nothing to delete, by `tenant\0table\0day`,
   * with the fingerprint they had (see `settledFingerprint`): skipped while
   * it holds, so steady-state runs only count the partitions a cutoff falls
   * in. In memory: the first run after a start counts everything once.
   */
  private readonly settled = new Map<string, string>();

  constructor(
    private readonly store: Pick<LogStore, 'backend' | 'database' | 'visible'>,
    private readonly catalog: RetentionCatalog,
    private readonly opts: RetentionEnforcerOptions,
  ) {
    this.now = opts.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  }

  /** One run, over every tenant with data or only `tenant`. Never concurrent with itself (see the service). */
  async enforce(scope: { tenant?: string } = {}): Promise<EnforcementResult> {
    const runId = newId('run_');
    const startedMs = Date.now();
    // Everything acknowledged before the run must be visible to it (the ingest WAL applies asynchronously).
    await this.store.visible();
    const nowNs = this.now();
    const [policies, holds] = await Promise.all([this.catalog.policies(scope.tenant), this.catalog.holds(scope.tenant)]);
    const result: EnforcementResult = { run_id: runId, started_at: new Date(startedMs).toISOString(), finished_at: '', records: [], held: [], errors: [] };

    const partitions = new Map<string, Map<RetentionTable, PartitionInfo[]>>();
    for (const table of TABLES) {
      const { sql, params } = listPartitionsSql(this.store.database, table, scope.tenant);
      const r = await this.store.backend.query<{ tenant: string; day: number; min_ns: string; max_ns: string; rows: string }>(sql, { params, maintenance: true });
      for (const row of r.rows) {
        const byTable = partitions.get(row.tenant) ?? new Map<RetentionTable, PartitionInfo[]>();
        const list = byTable.get(table) ?? [];
        list.push({ tenant: row.tenant, day: Number(row.day), minNs: BigInt(row.min_ns), maxNs: BigInt(row.max_ns), rows: Number(row.rows) });
        byTable.set(table, list);
        partitions.set(row.tenant, byTable);
      }
    }

    for (const tenant of [...partitions.keys()].sort()) {
      let rules: RetentionRule[];
      try {
        rules = rulesForTenant(
          policies.filter((p: RetentionPolicy) => p.tenant === tenant),
          this.opts.defaultKeepDays,
        );
      } catch (err) {
        result.errors.push({ tenant, table: 'logs', message: `invalid policy: ${(err as Error).message}` });
        continue;
      }
      const tenantHolds = holds.filter((h) => h.tenant === tenant);
      for (const table of TABLES) {
        const list = partitions.get(tenant)?.get(table);
        if (!list || list.length === 0) continue;
        try {
          await this.enforceTable(runId, table, tenant, list, table.hasStreamLabels ? rules : rules.slice(-1), holdScopes(tenantHolds, table), nowNs, result);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          result.errors.push({ tenant, table: table.name, message });
          this.opts.logger?.error('retention enforcement failed for a tenant', { tenant, table: table.name, run: runId, error: message });
        }
      }
    }
    result.finished_at = new Date().toISOString();
    const rows = result.records.reduce((n, r) => n + r.rows, 0);
    this.opts.logger?.info('retention enforcement finished', {
      run: runId,
      deletions: result.records.length,
      rows,
      heldRows: result.held.reduce((n, h) => n + h.rows, 0),
      errors: result.errors.length,
      ms: Date.now() - startedMs,
    });
    return result;
  }

  /**
   * Purge: deletes a tenant's log rows matching `selector` with timestamps in
   * [fromNs, toNs) now, except rows a legal hold covers, and writes one
   * deletion record (method `purge`, with its approver). The caller has had
   * the purge approved by a second admin. Rows are counted with the same
   * predicate right before the delete.
   */
  async purge(q: { tenant: string; selector: string; fromNs: bigint; toNs: bigint; actor: string; approvedBy: string }): Promise<DeletionRecord> {
    await this.store.visible();
    const { backend, database } = this.store;
    const holds = holdScopes(await this.catalog.holds(q.tenant), LOGS_TABLE);
    const matchers = canonicalSelector(q.selector).matchers;
    const predicate = (p: SqlParams): string =>
      [
        `tenant = ${p.add('String', q.tenant)}`,
        `timestamp_ns >= ${p.add('UInt64', q.fromNs.toString())}`,
        `timestamp_ns < ${p.add('UInt64', q.toNs.toString())}`,
        ...matchers.map((m) => matcherSql(m, p)),
        `NOT ${heldSql(holds, LOGS_TABLE, p)}`,
      ].join(' AND ');
    const started = Date.now();
    const cp = new SqlParams();
    const counted = await backend.query<{ rows: string }>(`SELECT count() AS rows FROM ${database}.logs WHERE ${predicate(cp)}`, { params: cp.values, maintenance: true });
    const rows = Number(counted.rows[0]?.rows ?? 0);
    if (rows > 0) {
      const dp = new SqlParams();
      await backend.exec(`ALTER TABLE ${database}.logs DELETE WHERE ${predicate(dp)} SETTINGS mutations_sync = 2`, { params: dp.values, maintenance: true });
    }
    const record: DeletionRecord = {
      id: newId('del_'),
      run_id: newId('purge_'),
      tenant: q.tenant,
      table: 'logs',
      partition: '',
      policy_id: '',
      selector: canonicalSelector(q.selector).text,
      from: nsToRfc3339(q.fromNs),
      to: nsToRfc3339(q.toNs),
      from_ns: q.fromNs.toString(),
      to_ns: q.toNs.toString(),
      rows,
      method: 'purge',
      started_at: new Date(started).toISOString(),
      finished_at: new Date().toISOString(),
      approved_by: q.approvedBy,
    };
    await this.catalog.recordDeletions([record]);
    this.opts.logger?.info('purge finished', { tenant: q.tenant, selector: record.selector, rows, requestedBy: q.actor, approvedBy: q.approvedBy });
    return record;
  }

  private async enforceTable(
    runId: string,
    table: RetentionTable,
    tenant: string,
    partitions: PartitionInfo[],
    rules: RetentionRule[],
    holds: HoldScope[],
    nowNs: bigint,
    result: EnforcementResult,
  ): Promise<void> {
    const { backend, database } = this.store;
    const triage = triagePartitions(partitions, rules, holds, nowNs);
    const key = (day: number): string => `${tenant}\0${table.name}\0${day}`;
    const fingerprints = new Map(triage.inspect.map((p) => [p.day, settledFingerprint(p, rules, holds, nowNs)]));
    const inspect = triage.inspect.filter((p) => {
      const f = fingerprints.get(p.day);
      return f === undefined || this.settled.get(key(p.day)) !== f;
    });
    if (inspect.length === 0) return;

    const q = { tenant, rules, holds, nowNs };
    // Counting reads every row of the inspected partitions: on the maintenance session, never a query reader.
    const classify = classifySql(database, table, { ...q, days: inspect.map((p) => p.day) });
    const counted = await backend.query<{ day: number; rule: number; held: number; rows: string; min_ns: string; max_ns: string }>(classify.sql, {
      params: classify.params,
      maintenance: true,
    });
    const classes: RowClass[] = counted.rows.map((c) => ({
      day: Number(c.day),
      rule: Number(c.rule),
      held: Number(c.held) === 1,
      rows: Number(c.rows),
      minNs: BigInt(c.min_ns),
      maxNs: BigInt(c.max_ns),
    }));
    const plan = planDeletions(inspect, rules, classes);
    for (const p of inspect) {
      const f = fingerprints.get(p.day);
      if (f !== undefined && !plan.partitions.some((x) => x.day === p.day)) this.settled.set(key(p.day), f);
      else this.settled.delete(key(p.day));
    }
    for (const h of plan.held) result.held.push({ tenant, table: table.name, partition: String(h.day), policy_id: h.policyId, rows: h.rows });

    const rowDeletes: PartitionPlan[] = plan.partitions.filter((p) => p.method === 'delete');
    for (const part of plan.partitions.filter((p) => p.method === 'drop_partition')) {
      const recount = countPartitionSql(database, table, tenant, part.day);
      const now = await backend.query<{ rows: string }>(recount.sql, { params: recount.params, maintenance: true });
      if (Number(now.rows[0]?.rows ?? 0) !== part.partitionRows) {
        // Rows arrived (or went) since the count: only the exact row predicate is safe now.
        rowDeletes.push({ ...part, method: 'delete' });
        continue;
      }
      const started = Date.now();
      const drop = dropPartitionSql(database, table, tenant, part.day);
      await backend.exec(drop.sql, { params: drop.params, maintenance: true });
      await this.record(result, runId, tenant, table, part, 'drop_partition', started, Date.now());
    }

    if (rowDeletes.length > 0) {
      const started = Date.now();
      const del = deleteRowsSql(database, table, { ...q, days: rowDeletes.map((p) => p.day) });
      await backend.exec(del.sql, { params: del.params, maintenance: true });
      const finished = Date.now();
      for (const part of rowDeletes) await this.record(result, runId, tenant, table, part, 'delete', started, finished);
    }
  }

  private async record(
    result: EnforcementResult,
    runId: string,
    tenant: string,
    table: RetentionTable,
    part: PartitionPlan,
    method: DeletionRecord['method'],
    startedMs: number,
    finishedMs: number,
  ): Promise<void> {
    const records: DeletionRecord[] = part.deletions.map((d) => ({
      id: newId('del_'),
      run_id: runId,
      tenant,
      table: table.name,
      partition: String(part.day),
      policy_id: d.policyId,
      selector: d.selector,
      from: nsToRfc3339(d.fromNs),
      to: nsToRfc3339(d.toNs),
      from_ns: d.fromNs.toString(),
      to_ns: d.toNs.toString(),
      rows: d.rows,
      method,
      started_at: new Date(startedMs).toISOString(),
      finished_at: new Date(finishedMs).toISOString(),
      approved_by: '',
    }));
    await this.catalog.recordDeletions(records);
    result.records.push(...records);
  }
}

/** Holds as enforcement applies them to a table: spans have no stream labels, so a hold's selector is not applied to them. */
function holdScopes(holds: readonly StoredHold[], table: RetentionTable): HoldScope[] {
  return holds.map((h) => ({
    holdId: h.id,
    matchers: table.hasStreamLabels && h.selector ? canonicalSelector(h.selector).matchers : [],
    ...(h.fromNs !== undefined ? { fromNs: h.fromNs } : {}),
    ...(h.toNs !== undefined ? { toNs: h.toNs } : {}),
  }));
}
