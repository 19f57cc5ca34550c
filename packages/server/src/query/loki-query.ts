/**
 * Runs a LogQL query for `/query` and `/query_range` with Loki's semantics
 * and guardrails, through the request's tenant-bound reader:
 *
 * - log queries: the selector, line filters and `| trace_id="..."` run in
 *   ClickHouse. With nothing else in the pipeline the limit is pushed down
 *   too (one SELECT); with `interval`, or line filters for a masked reader,
 *   entries are read page by page (keyset on the timestamp) until the limit;
 *   anything else goes to the LogQL evaluator.
 * - metric queries: the fast path (metric-fast-path.ts) when the query has
 *   its shape, else the evaluator.
 *
 * Guardrails, each naming its limit and how to narrow the query: the time
 * range (`limits.max_query_range_hours`), entries (`max_entries_limit`),
 * series (`max_query_series`), rows and bytes scanned (the store's
 * `max_rows_to_read`/`max_bytes_to_read`), time (`query_timeout_ms`), and
 * the client going away (the abort signal reaches the store, which stops
 * the query in ClickHouse).
 */
import { ParseError, parse, validate, walk, type Expr, type LineFilter, type LogQuery } from '@meshlog/logql';
import type { TenantReader } from '@meshlog/store';
import { ApiError } from '../http/errors.js';
import { ReaderEntrySource, entryOf, lineFilterSpecs } from './entry-source.js';
import { planFastPath, runFastPath, traceIdFilterOf } from './metric-fast-path.js';
import { StreamCollector, statsObject, type QueryData, type QueryStats } from './results.js';

export interface QueryLimits {
  maxEntriesLimit: number;
  maxQueryRangeHours: number;
  maxQuerySeries: number;
}

export interface QuerySpec {
  text: string;
  expr: Expr;
  startNs: bigint;
  endNs: bigint;
  /** Step of range metric queries (ignored for instant ones). */
  stepNs: bigint;
  /** `interval` of log queries: at most one entry per interval (0 = all). */
  intervalNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
  instant: boolean;
}

export interface QueryAnswer {
  data: QueryData & { stats: object };
  stats: QueryStats;
}

/** Parses and validates LogQL; errors are Loki's `parse error at line L, col C: ...` (400). */
export function parseLogQL(text: string): Expr {
  let expr: Expr;
  try {
    expr = parse(text);
  } catch (err) {
    if (err instanceof ParseError) throw new ApiError('bad_query', err.message);
    throw err;
  }
  const problems = validate(expr);
  if (problems.length > 0) throw new ApiError('bad_query', problems[0]!.message);
  return expr;
}

/** Go's time.Duration.String() for whole seconds and up (`72h0m0s`), as Loki prints limits. */
export function goDuration(ns: bigint): string {
  let s = ns / 1_000_000_000n;
  const h = s / 3600n;
  s -= h * 3600n;
  const m = s / 60n;
  s -= m * 60n;
  return h > 0n ? `${h}h${m}m${s}s` : m > 0n ? `${m}m${s}s` : `${s}s`;
}

export function checkRange(startNs: bigint, endNs: bigint, maxHours: number): void {
  const limitNs = BigInt(Math.round(maxHours * 3.6e12));
  if (endNs - startNs > limitNs) {
    throw new ApiError(
      'limit_exceeded',
      `the query time range exceeds the limit (query length: ${goDuration(endNs - startNs)}, limit: ${goDuration(limitNs)}); narrow start and end (limits.max_query_range_hours)`,
    );
  }
}

export function checkEntriesLimit(limit: number, max: number): void {
  if (limit > max) {
    throw new ApiError('limit_exceeded', `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${max}); lower the limit (limits.max_entries_limit)`);
  }
}

export async function runQuery(reader: TenantReader, spec: QuerySpec, limits: QueryLimits, signal?: AbortSignal): Promise<QueryAnswer> {
  const started = performance.now();
  checkRange(spec.startNs, spec.endNs, limits.maxQueryRangeHours);
  let data: QueryData;
  let stats: Omit<QueryStats, 'execMs'>;
  if (spec.expr.kind === 'LogQuery') {
    if (spec.instant) throw new ApiError('bad_query', 'log queries are not supported as an instant query type, please change your query to a range query type');
    checkEntriesLimit(spec.limit, limits.maxEntriesLimit);
    ({ data, stats } = await runLogQuery(reader, spec.expr, spec, signal));
  } else {
    checkRanges(spec.expr, limits.maxQueryRangeHours);
    ({ data, stats } = await runMetricQuery(reader, spec, limits, signal));
  }
  const all: QueryStats = { ...stats, execMs: performance.now() - started };
  return { data: { ...data, stats: statsObject(all) } as QueryData & { stats: object }, stats: all };
}

/** The [range] of every range aggregation (plus its offset) is held to the same limit as the query's range. */
function checkRanges(expr: Expr, maxHours: number): void {
  walk(expr, (node) => {
    if (node.kind === 'LogRange') {
      const span = BigInt(Math.round((node.rangeMs + Math.abs(node.offsetMs ?? 0)) * 1e6));
      const limitNs = BigInt(Math.round(maxHours * 3.6e12));
      if (span > limitNs) throw new ApiError('limit_exceeded', `[interval] value exceeds limit (range ${goDuration(span)} > ${goDuration(limitNs)}); use a shorter range (limits.max_query_range_hours)`);
    }
    return true;
  });
}

/** What the store can run of a log query's pipeline: line filters and one trace id; undefined when more stages follow. */
function pushdownOfLogQuery(q: LogQuery): { lineFilters: LineFilter[]; traceId?: string } | undefined {
  const lineFilters: LineFilter[] = [];
  let traceId: string | undefined;
  for (const stage of q.pipeline) {
    if (stage.kind === 'LineFilter' && !stage.ip && !stage.or.some((t) => t.ip)) {
      lineFilters.push(stage);
      continue;
    }
    if (stage.kind === 'LabelFilter') {
      const id = traceIdFilterOf(stage);
      if (id !== undefined && (traceId === undefined || id === traceId)) {
        traceId = id;
        continue;
      }
    }
    return undefined;
  }
  return { lineFilters, ...(traceId !== undefined ? { traceId } : {}) };
}

async function runLogQuery(reader: TenantReader, q: LogQuery, spec: QuerySpec, signal?: AbortSignal): Promise<{ data: QueryData; stats: Omit<QueryStats, 'execMs'> }> {
  const pushed = pushdownOfLogQuery(q);
  if (!pushed) throw notYet('this log query pipeline (parsers, formatting and label filters other than trace_id) is not supported by this server yet; use line filters');
  const collector = new StreamCollector();
  const masked = reader.scope.mask !== undefined && pushed.lineFilters.length > 0;
  if (spec.intervalNs === 0n && !masked) {
    // One SELECT: selector, filters, range and limit all in ClickHouse.
    const r = await reader.selectLogs(
      {
        matchers: q.selector.matchers,
        lineFilters: lineFilterSpecs(pushed.lineFilters),
        startNs: spec.startNs,
        endNs: spec.endNs,
        limit: spec.limit,
        direction: spec.direction,
        ...(pushed.traceId !== undefined ? { traceId: pushed.traceId } : {}),
      },
      signal,
    );
    for (const row of r.rows) {
      const e = entryOf(row);
      collector.add(e.ts, e.line, { ...e.labels, ...e.metadata });
    }
    return { data: { resultType: 'streams', result: collector.streams() }, stats: { rowsRead: r.rowsRead, bytesRead: r.bytesRead, returned: collector.entries, postFilterLines: collector.entries } };
  }
  // Page by page: `interval` keeps one entry per interval, and masked lines are filtered again.
  const source = new ReaderEntrySource(reader, pushed.traceId !== undefined ? { traceId: pushed.traceId } : {});
  let last: bigint | undefined;
  outer: for await (const page of source.entries({ selector: q.selector, lineFilters: pushed.lineFilters, startNs: spec.startNs, endNs: spec.endNs, direction: spec.direction, limit: spec.limit, ...(signal ? { signal } : {}) })) {
    for (const e of page) {
      if (collector.entries >= spec.limit) break outer;
      if (spec.intervalNs > 0n && last !== undefined) {
        const due = spec.direction === 'forward' ? e.ts >= last + spec.intervalNs : e.ts <= last - spec.intervalNs;
        if (!due) continue;
      }
      collector.add(e.ts, e.line, { ...e.labels, ...e.metadata });
      last = e.ts;
    }
    if (collector.entries >= spec.limit) break;
  }
  return {
    data: { resultType: 'streams', result: collector.streams() },
    stats: { rowsRead: source.stats.rowsRead, bytesRead: source.stats.bytesRead, returned: collector.entries, postFilterLines: source.stats.entries },
  };
}

async function runMetricQuery(reader: TenantReader, spec: QuerySpec, limits: QueryLimits, signal?: AbortSignal): Promise<{ data: QueryData; stats: Omit<QueryStats, 'execMs'> }> {
  // The fast path counts raw rows in ClickHouse; a masked reader's lines and metadata must pass its mask first.
  const plan = reader.scope.mask ? undefined : planFastPath(spec.expr);
  if (plan) {
    const r = await runFastPath(reader, plan, { startNs: spec.startNs, endNs: spec.endNs, stepNs: spec.stepNs, instant: spec.instant }, limits.maxQuerySeries, signal);
    if (r) {
      const returned = r.resultType === 'vector' ? r.result.length : (r.result as { values: unknown[] }[]).reduce((n, s) => n + s.values.length, 0);
      const data = r.resultType === 'vector' ? { resultType: 'vector' as const, result: r.result as never } : { resultType: 'matrix' as const, result: r.result as never };
      return { data, stats: { rowsRead: r.rowsRead, bytesRead: r.bytesRead, returned, postFilterLines: r.entries } };
    }
  }
  throw notYet(
    reader.scope.mask
      ? 'metric queries for readers without logs:read_personal need the LogQL evaluator, which this server does not have yet'
      : 'this metric query is not supported by this server yet; supported: count_over_time, rate, bytes_over_time, bytes_rate of a selector with line filters, bare or under sum [by|without (...)]',
  );
}

function notYet(message: string): ApiError {
  return new ApiError('unsupported', message);
}
