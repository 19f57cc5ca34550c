/**
 * Retention planning, pure: no I/O, no clock. Given a tenant's day
 * partitions (from part metadata: min/max timestamp and row count), its rules
 * in precedence order, its legal holds and "now", decide what to delete and
 * how. Two steps, because only the store can evaluate selectors on rows:
 *
 *   1. `triagePartitions`: from metadata alone, set aside partitions in which
 *      nothing can be past its rule (every row is newer than every cutoff) and
 *      partitions a hold without selector covers entirely. The rest must be
 *      inspected: the store counts, per partition, the rows past their
 *      governing rule, split by rule and by whether a hold covers them
 *      (`RowClass`, computed by `retention-sql.ts`'s classification query).
 *   2. `planDeletions`: from those counts, per partition: nothing to delete;
 *      every row deletable and none held, so drop the whole partition
 *      (`drop_partition`, a metadata operation); or delete just the deletable
 *      rows (`delete`, a mutation that rewrites the partition's parts). Each
 *      planned deletion names its policy, the rows counted and a `[from, to)`
 *      range holding every one of them: the deletion record's content.
 *
 * Invariants: a row is planned for deletion only if it is older than the
 * cutoff of the rule that governs it and no hold covers it; a partition is
 * dropped only if the rows counted as deletable are all of its rows.
 */
import type { Matcher } from '../query/log-select.js';
import type { DeletionMethod } from './model.js';
import { cutoffNs, type RetentionRule } from './rules.js';

export interface PartitionInfo {
  tenant: string;
  /** YYYYMMDD (UTC): with the tenant, the partition key. */
  day: number;
  /** Oldest and newest timestamp in the partition (ns, inclusive). */
  minNs: bigint;
  maxNs: bigint;
  rows: number;
}

/** What a legal hold covers: streams matching `matchers` (none = all) with a timestamp in `[fromNs, toNs)`. */
export interface HoldScope {
  holdId: string;
  matchers: Matcher[];
  /** Absent = open-ended. */
  fromNs?: bigint;
  toNs?: bigint;
}

export type SkipReason = 'within_policy' | 'held';

export interface Triage {
  inspect: PartitionInfo[];
  skipped: { day: number; reason: SkipReason }[];
}

export function triagePartitions(partitions: readonly PartitionInfo[], rules: readonly RetentionRule[], holds: readonly HoldScope[], nowNs: bigint): Triage {
  // The newest cutoff: a row newer than it is within every rule.
  let newestCutoff: bigint | undefined;
  for (const r of rules) {
    const c = cutoffNs(r, nowNs);
    if (c !== undefined && (newestCutoff === undefined || c > newestCutoff)) newestCutoff = c;
  }
  const out: Triage = { inspect: [], skipped: [] };
  for (const p of [...partitions].sort((a, b) => a.day - b.day)) {
    if (newestCutoff === undefined || p.minNs >= newestCutoff) out.skipped.push({ day: p.day, reason: 'within_policy' });
    else if (holds.some((h) => h.matchers.length === 0 && covers(h, p.minNs, p.maxNs))) out.skipped.push({ day: p.day, reason: 'held' });
    else out.inspect.push(p);
  }
  return out;
}

/** Whether a hold's time range covers every instant of `[minNs, maxNs]`. */
function covers(h: HoldScope, minNs: bigint, maxNs: bigint): boolean {
  return (h.fromNs === undefined || h.fromNs <= minNs) && (h.toNs === undefined || h.toNs > maxNs);
}

/** Rows of one partition past their rule's cutoff, counted by the store. */
export interface RowClass {
  day: number;
  /** Index of the governing rule in the rules array. */
  rule: number;
  /** Whether a legal hold covers these rows. */
  held: boolean;
  rows: number;
  minNs: bigint;
  maxNs: bigint;
}

export interface PlannedDeletion {
  day: number;
  policyId: string;
  selector: string;
  /** `[fromNs, toNs)` holds every counted row. */
  fromNs: bigint;
  toNs: bigint;
  rows: number;
}

export interface PartitionPlan {
  day: number;
  method: DeletionMethod;
  /** The partition's row count the decision rests on (a drop is re-checked against it). */
  partitionRows: number;
  deletions: PlannedDeletion[];
}

export interface HeldRows {
  day: number;
  policyId: string;
  rows: number;
}

export interface RetentionPlan {
  partitions: PartitionPlan[];
  /** Rows past their policy that a legal hold keeps. */
  held: HeldRows[];
}

export function planDeletions(inspected: readonly PartitionInfo[], rules: readonly RetentionRule[], classes: readonly RowClass[]): RetentionPlan {
  const plan: RetentionPlan = { partitions: [], held: [] };
  for (const p of [...inspected].sort((a, b) => a.day - b.day)) {
    const byRule = new Map<number, { held: boolean; rows: number; minNs: bigint; maxNs: bigint }[]>();
    for (const c of classes) {
      if (c.day !== p.day || c.rows <= 0) continue;
      const list = byRule.get(c.rule) ?? [];
      list.push(c);
      byRule.set(c.rule, list);
    }
    const deletions: PlannedDeletion[] = [];
    for (const [ruleIndex, list] of [...byRule].sort((a, b) => a[0] - b[0])) {
      const rule = rules[ruleIndex];
      if (!rule) throw new Error(`retention classification named rule ${ruleIndex}, but there are ${rules.length}`);
      const heldRows = list.filter((c) => c.held).reduce((n, c) => n + c.rows, 0);
      if (heldRows > 0) plan.held.push({ day: p.day, policyId: rule.policyId, rows: heldRows });
      const free = list.filter((c) => !c.held);
      if (free.length === 0) continue;
      deletions.push({
        day: p.day,
        policyId: rule.policyId,
        selector: rule.selector,
        fromNs: free.reduce((m, c) => (c.minNs < m ? c.minNs : m), free[0]!.minNs),
        toNs: free.reduce((m, c) => (c.maxNs > m ? c.maxNs : m), free[0]!.maxNs) + 1n,
        rows: free.reduce((n, c) => n + c.rows, 0),
      });
    }
    if (deletions.length === 0) continue;
    const deletable = deletions.reduce((n, d) => n + d.rows, 0);
    plan.partitions.push({ day: p.day, method: deletable === p.rows ? 'drop_partition' : 'delete', partitionRows: p.rows, deletions });
  }
  return plan;
}

/**
 * A fingerprint of everything a partition's inspection depends on, for
 * partitions that can be "settled": inspected, nothing deletable found. It
 * stays the same while the partition's rows (count, min, max), the rules and
 * the holds stay the same and no rule's cutoff falls inside the partition; a
 * later run with the same fingerprint would find nothing again and may skip
 * the count. Undefined when a cutoff falls inside the partition: as time
 * moves, more of it becomes deletable, so it is always inspected.
 */
export function settledFingerprint(p: PartitionInfo, rules: readonly RetentionRule[], holds: readonly HoldScope[], nowNs: bigint): string | undefined {
  const states: string[] = [];
  for (const r of rules) {
    const c = cutoffNs(r, nowNs);
    // 'n': no row of the partition is past this rule; 'a': every row would be.
    const state = c === undefined || c <= p.minNs ? 'n' : c > p.maxNs ? 'a' : undefined;
    if (state === undefined) return undefined;
    states.push(`${r.policyId}:${r.keepDays}:${r.selector}:${state}`);
  }
  const holdKeys = holds.map((h) => `${h.holdId}:${h.fromNs ?? ''}:${h.toNs ?? ''}:${JSON.stringify(h.matchers)}`).sort();
  return JSON.stringify([p.rows, p.minNs.toString(), p.maxNs.toString(), states, holdKeys]);
}
