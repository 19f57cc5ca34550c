/**
 * The retention model: policies (how long a tenant keeps a set of streams),
 * legal holds (what must not be deleted, whatever a policy says), deletion
 * records (what an enforcement removed, under which policy) and changes (who
 * changed a policy or hold, before and after).
 *
 * Invariants:
 * - A policy is identified by its tenant and its selector's canonical text
 *   (matchers sorted), so one tenant has at most one policy per selector and
 *   `{a="1", b="2"}` and `{b="2", a="1"}` are the same policy. The id is a
 *   hash of both: stable across servers and restarts, never reused for a
 *   different selector.
 * - A policy without a selector is the tenant's default. A tenant without
 *   one falls back to `retention.default_keep_days`, which deletion records
 *   name as policy `default`.
 * - `keep_days` 0 means keep forever.
 * - Every time is UTC; ranges are half-open `[from, to)`.
 */
import { createHash } from 'node:crypto';
import { ParseError, parseSelector, printNode, validate, type LabelMatcher, type StreamSelector } from '@meshlog/logql';
import type { Matcher } from '../query/log-select.js';

/** A hundred years: an upper bound that keeps day arithmetic far from overflow. */
export const MAX_KEEP_DAYS = 36_500;

/** Policy id recorded when `retention.default_keep_days` applied (the tenant had no default policy). */
export const CONFIG_DEFAULT_POLICY_ID = 'default';

export const DAY_NS = 86_400_000_000_000n;

export interface RetentionPolicy {
  id: string;
  tenant: string;
  /** Canonical LogQL stream selector; absent = every stream of the tenant (its default policy). */
  selector?: string;
  /** Days a record is kept after its timestamp; 0 = forever. */
  keep_days: number;
  updated_by: string;
  updated_at: string;
}

export interface LegalHold {
  id: string;
  tenant: string;
  /** Canonical LogQL stream selector; absent = every stream of the tenant. */
  selector?: string;
  /** RFC 3339; absent = open-ended. */
  from?: string;
  to?: string;
  reason: string;
  created_by: string;
  created_at: string;
}

/** `purge`: an approved one-off deletion of a selector's rows in a time range (not a policy). */
export type DeletionMethod = 'drop_partition' | 'delete' | 'purge';
export type RetentionTableName = 'logs' | 'spans';

export interface DeletionRecord {
  id: string;
  /** Every record of one enforcement run shares it. */
  run_id: string;
  tenant: string;
  table: RetentionTableName;
  /** The day partition, YYYYMMDD (UTC). */
  partition: string;
  policy_id: string;
  /** The policy's selector ('' for a default policy). */
  selector: string;
  /** `[from, to)` holds every deleted row's timestamp (RFC 3339 with nanoseconds, and as ns). */
  from: string;
  to: string;
  from_ns: string;
  to_ns: string;
  /** Rows counted immediately before the statement that deleted them. */
  rows: number;
  method: DeletionMethod;
  started_at: string;
  finished_at: string;
  /** Who approved the deletion: the second admin of a purge ('' for policy enforcement, whose policy change was approved). */
  approved_by: string;
}

export type ChangeAction = 'create' | 'update' | 'delete' | 'release';

export interface RetentionChange {
  id: string;
  tenant: string;
  at: string;
  actor: string;
  object_kind: 'policy' | 'hold';
  object_id: string;
  action: ChangeAction;
  /** The object before and after the change (null when it did not exist / no longer exists). */
  before: unknown;
  after: unknown;
}

/** A selector that does not parse or does not select (`{}`, `{a=~".*"}`): the message says why. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

export interface CanonicalSelector {
  text: string;
  matchers: Matcher[];
}

/**
 * Parses and validates a stream selector and returns its canonical form:
 * matchers sorted by name, operator and value, printed back. The same rules
 * as a query's selector apply (at least one matcher that does not match the
 * empty string), so a policy cannot silently cover every stream.
 */
export function canonicalSelector(text: string): CanonicalSelector {
  let parsed: StreamSelector;
  try {
    parsed = parseSelector(text);
  } catch (err) {
    if (err instanceof ParseError) throw new SelectorError(err.message);
    throw err;
  }
  const [problem] = validate({ kind: 'LogQuery', selector: parsed, pipeline: [] });
  if (problem) throw new SelectorError(problem.message);
  const matchers = parsed.matchers
    .map((m: LabelMatcher) => ({ name: m.name, op: m.op, value: m.value }))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.op, b.op) || cmp(a.value, b.value));
  return { text: printNode({ kind: 'StreamSelector', matchers }), matchers };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stable id of a tenant's policy for a canonical selector ('' = the default policy). */
export function policyIdFor(tenant: string, canonical: string): string {
  return 'pol_' + createHash('sha256').update(tenant).update('\0').update(canonical).digest('hex').slice(0, 16);
}

/** RFC 3339 with all nine fractional digits, so a nanosecond bound reads back exactly. */
export function nsToRfc3339(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

export function msToRfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** YYYYMMDD (UTC) of a time in ns: the day partition it lands in. */
export function dayOf(ns: bigint): number {
  const d = new Date(Number(ns / 1_000_000n));
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}
