/**
 * The SQL of retention: list day partitions, count rows past their rule
 * (split by rule and hold), delete them, drop partitions. Selectors compile
 * through the query compiler's `matcherSql`, so a retention selector means
 * exactly what the same selector means in a query.
 *
 * One row predicate serves both the count and the delete, so a deletion
 * record's row count is the count of the very predicate that deleted them:
 *
 *   tenant = T AND day IN (days) AND time < multiIf(sel_1, cut_1, ..., cut_default)
 *     AND NOT (hold_1 OR hold_2 ...)
 *
 * where `multiIf` walks the rules in precedence order (see `rules.ts`); a
 * keep-forever rule has cutoff 0, which no row is below. Every value is a
 * bound parameter; nothing a user typed is spliced into SQL.
 */
import { SqlParams, matcherSql, type CompiledSql, type Matcher } from '../query/log-select.js';
import type { RetentionTableName } from './model.js';
import type { HoldScope } from './planner.js';
import { cutoffNs, type RetentionRule } from './rules.js';

/** How retention reads one table. */
export interface RetentionTable {
  name: RetentionTableName;
  /** The event time in ns. */
  timeColumn: string;
  /** The day part of the partition key, written exactly as the table's PARTITION BY has it. */
  dayExpr: string;
  /** min/max of the event time (ns), in a form part metadata can answer. */
  minNsExpr: string;
  maxNsExpr: string;
  /** Whether rows carry stream labels; without them every selector is ignored (holds then cover all streams). */
  hasStreamLabels: boolean;
}

/**
 * logs: the partition key's day is computed from `timestamp_ns`, whose
 * min/max index part metadata keeps, so listing partitions reads no data.
 */
export const LOGS_TABLE: RetentionTable = {
  name: 'logs',
  timeColumn: 'timestamp_ns',
  dayExpr: 'toYYYYMMDD(toDateTime(intDiv(timestamp_ns, 1000000000)))',
  minNsExpr: 'min(timestamp_ns)',
  maxNsExpr: 'max(timestamp_ns)',
  hasStreamLabels: true,
};

/**
 * spans: partitioned by a materialized `ts` (seconds); part metadata keeps
 * its min/max, so the bounds are widened to whole seconds.
 */
export const SPANS_TABLE: RetentionTable = {
  name: 'spans',
  timeColumn: 'start_ns',
  dayExpr: 'toYYYYMMDD(ts)',
  minNsExpr: 'toUInt64(min(ts)) * 1000000000',
  maxNsExpr: 'toUInt64(max(ts)) * 1000000000 + 999999999',
  hasStreamLabels: false,
};

export function selectorSql(matchers: readonly Matcher[], p: SqlParams): string {
  if (matchers.length === 0) return '1';
  return matchers.map((m) => `(${matcherSql(m, p)})`).join(' AND ');
}

/** The index (in `rules`) of the rule that governs each row. */
export function ruleIndexSql(rules: readonly RetentionRule[], p: SqlParams): string {
  if (rules.length === 1) return 'toUInt32(0)';
  const arms = rules.slice(0, -1).map((r, i) => `${selectorSql(r.matchers, p)}, ${i}`);
  return `toUInt32(multiIf(${arms.join(', ')}, ${rules.length - 1}))`;
}

/** The cutoff (ns) of the rule that governs each row; 0 for keep-forever. */
export function cutoffSql(rules: readonly RetentionRule[], nowNs: bigint, p: SqlParams): string {
  const cut = (r: RetentionRule): string => p.add('UInt64', (cutoffNs(r, nowNs) ?? 0n).toString());
  if (rules.length === 1) return cut(rules[0]!);
  const arms = rules.slice(0, -1).map((r) => `${selectorSql(r.matchers, p)}, ${cut(r)}`);
  return `multiIf(${arms.join(', ')}, ${cut(rules[rules.length - 1]!)})`;
}

/** Whether a hold covers each row ('0' when there are none). */
export function heldSql(holds: readonly HoldScope[], table: RetentionTable, p: SqlParams): string {
  if (holds.length === 0) return '0';
  const one = (h: HoldScope): string => {
    const parts: string[] = [];
    if (table.hasStreamLabels && h.matchers.length > 0) parts.push(selectorSql(h.matchers, p));
    if (h.fromNs !== undefined) parts.push(`${table.timeColumn} >= ${p.add('UInt64', h.fromNs.toString())}`);
    if (h.toNs !== undefined) parts.push(`${table.timeColumn} < ${p.add('UInt64', h.toNs.toString())}`);
    return parts.length === 0 ? '1' : `(${parts.join(' AND ')})`;
  };
  return `(${holds.map(one).join(' OR ')})`;
}

/** Day partitions of every tenant: answered from part metadata on servers that can (chDB). */
export function listPartitionsSql(database: string, table: RetentionTable, tenant?: string): CompiledSql {
  const p = new SqlParams();
  const where = tenant === undefined ? '' : `\nWHERE tenant = ${p.add('String', tenant)}`;
  return {
    sql: `SELECT tenant, ${table.dayExpr} AS day, ${table.minNsExpr} AS min_ns, ${table.maxNsExpr} AS max_ns, count() AS rows
FROM ${database}.${table.name}${where}
GROUP BY tenant, day
ORDER BY tenant, day`,
    params: p.values,
  };
}

function scope(table: RetentionTable, tenant: string, days: readonly number[], p: SqlParams): string {
  return `tenant = ${p.add('String', tenant)} AND ${table.dayExpr} IN ${p.add('Array(UInt32)', [...days])}`;
}

/** Rows past their rule in the given partitions, by day, governing rule and hold. */
export function classifySql(
  database: string,
  table: RetentionTable,
  q: { tenant: string; days: readonly number[]; rules: readonly RetentionRule[]; holds: readonly HoldScope[]; nowNs: bigint },
): CompiledSql {
  const p = new SqlParams();
  const rules = table.hasStreamLabels ? q.rules : q.rules.slice(-1);
  const sql = `SELECT ${table.dayExpr} AS day, ${ruleIndexSql(rules, p)} AS rule, toUInt8(${heldSql(q.holds, table, p)}) AS held,
  count() AS rows, min(${table.timeColumn}) AS min_ns, max(${table.timeColumn}) AS max_ns
FROM ${database}.${table.name}
WHERE ${scope(table, q.tenant, q.days, p)}
  AND ${table.timeColumn} < ${cutoffSql(rules, q.nowNs, p)}
GROUP BY day, rule, held
ORDER BY day, rule, held`;
  return { sql, params: p.values };
}

/**
 * Deletes the rows past their rule and not held in the given partitions: a
 * mutation that rewrites the affected parts without those rows (so they are
 * gone from disk, not masked), waited for (`mutations_sync = 2`).
 */
export function deleteRowsSql(
  database: string,
  table: RetentionTable,
  q: { tenant: string; days: readonly number[]; rules: readonly RetentionRule[]; holds: readonly HoldScope[]; nowNs: bigint },
): CompiledSql {
  const p = new SqlParams();
  const rules = table.hasStreamLabels ? q.rules : q.rules.slice(-1);
  const sql = `ALTER TABLE ${database}.${table.name} DELETE
WHERE ${scope(table, q.tenant, q.days, p)}
  AND ${table.timeColumn} < ${cutoffSql(rules, q.nowNs, p)}
  AND NOT ${heldSql(q.holds, table, p)}
SETTINGS mutations_sync = 2`;
  return { sql, params: p.values };
}

/** Rows in one partition now (re-checked right before a drop). */
export function countPartitionSql(database: string, table: RetentionTable, tenant: string, day: number): CompiledSql {
  const p = new SqlParams();
  return { sql: `SELECT count() AS rows FROM ${database}.${table.name} WHERE ${scope(table, tenant, [day], p)}`, params: p.values };
}

export function dropPartitionSql(database: string, table: RetentionTable, tenant: string, day: number): CompiledSql {
  const p = new SqlParams();
  return { sql: `ALTER TABLE ${database}.${table.name} DROP PARTITION tuple(${p.add('String', tenant)}, ${p.add('UInt32', day)})`, params: p.values };
}
