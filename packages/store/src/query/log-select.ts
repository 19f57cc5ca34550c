/**
 * Compiles the store-side part of a log query (stream matchers, line
 * filters, time range, tenant) to one SELECT over the logs table with bound
 * parameters. What SQL cannot do is left to the query engine above.
 *
 * Semantics follow Loki: label regexes are fully anchored, line-filter
 * regexes are not; a missing label equals the empty string; both use RE2
 * (ClickHouse's `match` is RE2, as is Go's regexp in Loki).
 */

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

export function lineFilterSql(f: LineFilterSpec, p: SqlParams): string {
  const one = (v: string): string => {
    switch (f.op) {
      case '|=':
      case '!=':
        // LIKE '%needle%' is a plain substring match (as Loki's |=), and unlike
        // position() it can use the body's n-gram bloom filter index.
        return v === '' ? '1' : `like(body, ${p.add('String', `%${escapeLike(v)}%`)})`;
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

export function whereClause(q: Pick<LogSelect, 'tenant' | 'matchers' | 'lineFilters' | 'startNs' | 'endNs' | 'traceId'>, p: SqlParams): string {
  const where = [
    `tenant = ${p.add('String', q.tenant)}`,
    // The DateTime bounds let ClickHouse prune partitions and granules by `ts`.
    `ts >= toDateTime(${p.add('UInt32', Number(q.startNs / 1_000_000_000n))})`,
    `ts <= toDateTime(${p.add('UInt32', Number(q.endNs / 1_000_000_000n))})`,
    `timestamp_ns >= ${p.add('UInt64', q.startNs.toString())}`,
    `timestamp_ns < ${p.add('UInt64', q.endNs.toString())}`,
  ];
  for (const m of q.matchers) where.push(matcherSql(m, p));
  for (const f of q.lineFilters) where.push(lineFilterSql(f, p));
  if (q.traceId !== undefined) where.push(`trace_id = ${p.add('String', q.traceId)}`);
  return where.join('\n  AND ');
}

export function compileLogSelect(q: LogSelect, database: string): CompiledSql {
  const p = new SqlParams();
  const where = whereClause(q, p);
  const order = q.direction === 'forward' ? 'ASC' : 'DESC';
  const sql = `SELECT timestamp_ns, body, labels_keys, labels_values, severity_number, trace_id, span_id, attr_keys, attr_values
FROM ${database}.${q.table ?? 'logs'}
WHERE ${where}
ORDER BY timestamp_ns ${order}
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}
