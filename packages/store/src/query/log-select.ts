/**
 * Compiles the store-side part of a log query (stream matchers, line
 * filters, time range, tenant) to one SELECT over the logs table with bound
 * parameters. What SQL cannot do is left to the query engine above.
 *
 * Semantics follow Loki: label regexes are fully anchored, line-filter
 * regexes are not; a missing label equals the empty string; both use RE2
 * (ClickHouse's `match` is RE2, as is Go's regexp in Loki).
 */
import { isBodyToken, tokenMaskOf } from './body-tokens.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export type LineFilterOp = '|=' | '!=' | '|~' | '!~';
export interface LineFilterSpec {
  op: LineFilterOp;
  /** Alternatives joined by `or` (at least one). */
  values: string[];
}

/** The tables of log records a query can read (the audit trail has the logs table's shape). */
export type LogTable = 'logs' | 'audit_log';

export interface LogSelect {
  tenant: string;
  /** Default `logs`. */
  table?: LogTable;
  matchers: Matcher[];
  lineFilters: LineFilterSpec[];
  startNs: bigint;
  endNs: bigint;
  limit: number;
  direction: 'backward' | 'forward';
  /**
   * Only records of this trace (`| trace_id="..."` pushed down): exact
   * equality on the trace_id column, which has a bloom filter index.
   */
  traceId?: string;
  /** Rows a `| json | name op number` stage would certainly drop, left out (see jsonNumberKeepSql). */
  jsonNumber?: JsonNumberPrefilter;
}

/**
 * `| json | name op value` at the head of the evaluator's pipeline (after
 * the line filters), for the store to leave out the rows that certainly fail
 * it. Only on targets with `jsonFunctions`.
 */
export interface JsonNumberPrefilter {
  /** A label name that starts with a letter. */
  name: string;
  op: '==' | '!=' | '>' | '>=' | '<' | '<=';
  value: number;
}

/** Where compiled SQL runs: the database and what its log tables offer. */
export interface SqlTarget {
  database: string;
  /**
   * The log tables have migration 6's derived columns: `body_tokens` (line
   * filters on its words read 8 bytes a row instead of the body) and
   * `body_bytes` (byte counts without reading the body).
   */
  derivedColumns?: boolean;
  /** ClickHouse's JSON functions, `JSONExtractKeys` included (21.11 on; chDB). */
  jsonFunctions?: boolean;
}

/** A record's line length in bytes, as SQL: the stored length where the table has it. */
export function bodyBytesSql(target: SqlTarget): string {
  return target.derivedColumns === true ? 'body_bytes' : 'length(body)';
}

export interface CompiledSql {
  sql: string;
  params: Record<string, unknown>;
}

/** Columns that hold a stream label directly. */
const LABEL_COLUMNS: Record<string, string> = { service_name: 'service_name' };

export class SqlParams {
  readonly values: Record<string, unknown> = {};
  private n = 0;
  add(type: string, value: unknown): string {
    const name = `p${this.n++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

export function labelExpr(name: string, p: SqlParams): string {
  return LABEL_COLUMNS[name] ?? `labels_values[indexOf(labels_keys, ${p.add('String', name)})]`;
}

export function matcherSql(m: Matcher, p: SqlParams): string {
  const col = labelExpr(m.name, p);
  switch (m.op) {
    case '=':
      return `${col} = ${p.add('String', m.value)}`;
    case '!=':
      return `${col} != ${p.add('String', m.value)}`;
    case '=~':
      return `match(${col}, ${p.add('String', `^(?:${m.value})$`)})`;
    case '!~':
      return `NOT match(${col}, ${p.add('String', `^(?:${m.value})$`)})`;
  }
}

export function lineFilterSql(f: LineFilterSpec, p: SqlParams, bodyTokens = false): string {
  const one = (v: string): string => {
    switch (f.op) {
      case '|=':
      case '!=': {
        if (v === '') return '1';
        // LIKE '%needle%' is a plain substring match (as Loki's |=), and unlike
        // position() it can use the body's n-gram bloom filter index.
        const like = `like(body, ${p.add('String', `%${escapeLike(v)}%`)})`;
        const mask = bodyTokens ? tokenMaskOf(v) : 0n;
        if (mask === 0n) return like;
        // The token bits are necessary for a match; for a vocabulary word they are the match.
        const bits = `bitAnd(body_tokens, ${p.add('UInt64', mask.toString())}) = ${p.add('UInt64', mask.toString())}`;
        return isBodyToken(v) ? bits : `(${bits} AND ${like})`;
      }
      case '|~':
      case '!~':
        return `match(body, ${p.add('String', v)})`;
    }
  };
  const any = f.values.length === 1 ? one(f.values[0]!) : `(${f.values.map(one).join(' OR ')})`;
  return f.op === '!=' || f.op === '!~' ? `NOT ${any}` : any;
}

/** Escapes LIKE's metacharacters so the needle matches literally. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function whereClause(q: Pick<LogSelect, 'tenant' | 'matchers' | 'lineFilters' | 'startNs' | 'endNs' | 'traceId' | 'jsonNumber'>, p: SqlParams, target: SqlTarget): string {
  const where = [
    `tenant = ${p.add('String', q.tenant)}`,
    // The DateTime bounds let ClickHouse prune partitions and granules by `ts`.
    `ts >= toDateTime(${p.add('UInt32', Number(q.startNs / 1_000_000_000n))})`,
    `ts <= toDateTime(${p.add('UInt32', Number(q.endNs / 1_000_000_000n))})`,
    `timestamp_ns >= ${p.add('UInt64', q.startNs.toString())}`,
    `timestamp_ns < ${p.add('UInt64', q.endNs.toString())}`,
  ];
  for (const m of q.matchers) where.push(matcherSql(m, p));
  for (const f of q.lineFilters) where.push(lineFilterSql(f, p, target.derivedColumns === true));
  if (q.traceId !== undefined) where.push(`trace_id = ${p.add('String', q.traceId)}`);
  if (q.jsonNumber && target.jsonFunctions === true) where.push(jsonNumberKeepSql(q.jsonNumber, p));
  return where.join('\n  AND ');
}

export function compileLogSelect(q: LogSelect, target: SqlTarget): CompiledSql {
  const p = new SqlParams();
  const where = whereClause(q, p, target);
  const order = q.direction === 'forward' ? 'ASC' : 'DESC';
  const sql = `SELECT timestamp_ns, body, labels_keys, labels_values, severity_number, trace_id, span_id, attr_keys, attr_values
FROM ${target.database}.${q.table ?? 'logs'}
WHERE ${where}
ORDER BY timestamp_ns ${order}
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}

/**
 * Keeps every row except those `| json | name op value` certainly drops
 * without an error, so the evaluator (which still runs the whole pipeline)
 * sees the same result from fewer rows. A row is left out only when all of
 * these hold, each a reason the LogQL json parser and ClickHouse agree:
 *
 * - the body starts with `{`, has no backslash (no escapes: both readers see
 *   the same keys and values) and is valid JSON (else: JSONParserErr, kept);
 * - every top-level key is a plain identifier, so sanitising changes none,
 *   and exactly one key is a prefix of `name`: that key is `name` itself.
 *   No other key can produce the label, as a scalar or by flattening a
 *   nested object (`response` + `code` -> `response_code`);
 *   its value is a JSON number (the label is its literal text, which
 *   converts to the same float64) and fails the comparison;
 * - no stream label and no attribute could be called `name` (else the
 *   parser names its label `name_extracted` and the filter reads the other).
 *
 * Anything else is kept, and decided by the evaluator.
 */
const COLUMN_LABELS = new Set(['service_name', 'trace_id', 'span_id']);

export function jsonNumberKeepSql(f: JsonNumberPrefilter, p: SqlParams): string {
  const head = /^[A-Za-z][A-Za-z0-9]*/.exec(f.name)?.[0];
  // Names the store sets from its own columns whatever the line says: never prefiltered.
  if (head === undefined || COLUMN_LABELS.has(f.name)) return '1';
  const n = p.add('String', f.name);
  const keys = 'JSONExtractKeys(body)';
  const op = f.op === '==' ? '=' : f.op;
  const dropped = [
    "startsWith(body, '{')",
    "position(body, '\\\\') = 0",
    'isValidJSON(body)',
    `arrayAll(k -> match(k, '^[A-Za-z_][A-Za-z0-9_]*$'), ${keys})`,
    `arrayCount(k -> startsWith(${n}, k), ${keys}) = 1`,
    `has(${keys}, ${n})`,
    `JSONType(body, ${n}) IN ('Int64', 'UInt64', 'Double')`,
    `NOT (JSONExtractFloat(body, ${n}) ${op} ${p.add('Float64', f.value)})`,
    `NOT has(labels_keys, ${n})`,
    `NOT arrayExists(k -> position(k, ${p.add('String', head)}) > 0, attr_keys)`,
  ];
  return `NOT (${dropped.join('\n    AND ')})`;
}
