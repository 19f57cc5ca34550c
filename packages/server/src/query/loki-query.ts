/**
 * Runs a LogQL query for `/query` and `/query_range` with Loki's semantics
 * and guardrails, through the request's tenant-bound reader:
 *
 * - log queries: the selector, head line filters and `| trace_id="..."`
 *   always run in ClickHouse. With nothing else in the pipeline the limit
 *   is pushed down too (one SELECT); otherwise the LogQL evaluator
 *   (@meshlog/logql) runs the pipeline over entries read page by page
 *   (entry-source.ts, keyset on the timestamp, so memory stays bounded).
 * - metric queries: the fast path (metric-fast-path.ts: one GROUP BY per
 *   query in ClickHouse) when the query has its shape and the reader sees
 *   unmasked data, else the evaluator over paged entries.
 *
 * Guardrails, each naming its limit and how to narrow the query: the time
 * range (`limits.max_query_range_hours`), entries (`max_entries_limit`),
 * series (`max_query_series`), rows and bytes scanned (the store's
 * `max_rows_to_read`/`max_bytes_to_read`), time (`query_timeout_ms`), and
 * the client going away (the abort signal reaches the store, which stops
 * the query in ClickHouse).
 */
import { EvaluationError, ParseError, evaluate, logQueriesOf, parse, validate, walk, type Expr, type LineFilter, type LogQuery, type QueryResult, type StreamSelector } from '@meshlog/logql';
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
    ({ data, stats } = await runLogQuery(reader, spec.expr, spec, limits, signal));
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

/**
 * The trace id a log query's pipeline filters on (`| trace_id="..."`)
 * before any stage that could change labels: the store can then read only
 * that trace's rows (the evaluator still runs the filter).
 */
export function pushedTraceId(q: LogQuery): string | undefined {
  let traceId: string | undefined;
  for (const stage of q.pipeline) {
    if (stage.kind === 'LineFilter') continue;
    if (stage.kind !== 'LabelFilter') break;
    const id = traceIdFilterOf(stage);
    if (id === undefined) continue;
    // Two different ids select nothing; leave that to the evaluator.
    if (traceId !== undefined && traceId !== id) return undefined;
    traceId = id;
  }
  return traceId;
}

/** Per selector of the query, the trace id its pipeline pushes down. */
export function traceIdsOf(expr: Expr): Map<StreamSelector, string> {
  const out = new Map<StreamSelector, string>();
  for (const q of logQueriesOf(expr)) {
    const id = pushedTraceId(q);
    if (id !== undefined) out.set(q.selector, id);
  }
  return out;
}

/** Only line filters (no `ip()`) and `| trace_id="..."`: the store runs the whole pipeline. */
function storeOnly(q: LogQuery): boolean {
  return q.pipeline.every((s) => (s.kind === 'LineFilter' && !s.ip && !s.or.some((t) => t.ip)) || (s.kind === 'LabelFilter' && traceIdFilterOf(s) !== undefined)) && (q.pipeline.every((s) => s.kind !== 'LabelFilter') || pushedTraceId(q) !== undefined);
}

/** The evaluator's errors as API errors: Loki's status and message, plus the setting behind a limit. */
export function apiErrorOf(err: unknown): unknown {
  if (!(err instanceof EvaluationError)) return err;
  switch (err.code) {
    case 'series-limit':
      return new ApiError('limit_exceeded', `${err.message} (limits.max_query_series)`);
    case 'entries-limit':
      return new ApiError('limit_exceeded', `${err.message} (limits.max_entries_limit)`);
    case 'too-many-steps':
      return new ApiError('limit_exceeded', err.message);
    case 'aborted':
      return new ApiError('cancelled', 'the request was cancelled by the client');
    case 'source-contract':
      return err;
    default:
      return new ApiError('bad_query', err.message);
  }
}

async function evaluateWith(reader: TenantReader, spec: QuerySpec, limits: QueryLimits, signal?: AbortSignal): Promise<{ result: QueryResult; source: ReaderEntrySource }> {
  const source = new ReaderEntrySource(reader, { traceIds: traceIdsOf(spec.expr) });
  try {
    const result = await evaluate(
      spec.expr,
      {
        startNs: spec.startNs,
        endNs: spec.endNs,
        ...(spec.instant ? { instant: true } : { stepMs: Number(spec.stepNs) / 1e6 }),
        ...(spec.intervalNs > 0n ? { intervalMs: Number(spec.intervalNs) / 1e6 } : {}),
        limit: spec.limit,
        direction: spec.direction,
      },
      source,
      { maxSeries: limits.maxQuerySeries, maxEntries: limits.maxEntriesLimit, ...(signal ? { signal } : {}) },
    );
    return { result, source };
  } catch (err) {
    throw apiErrorOf(err);
  }
}

function returnedOf(r: QueryResult): number {
  switch (r.resultType) {
    case 'streams':
      return r.result.reduce((n, s) => n + s.values.length, 0);
    case 'matrix':
      return r.result.reduce((n, s) => n + s.values.length, 0);
    case 'vector':
      return r.result.length;
    case 'scalar':
      return 1;
  }
}

async function runLogQuery(reader: TenantReader, q: LogQuery, spec: QuerySpec, limits: QueryLimits, signal?: AbortSignal): Promise<{ data: QueryData; stats: Omit<QueryStats, 'execMs'> }> {
  // A masked reader's line filters must also hold on the masked line, which the entry source checks page by page.
  const masked = reader.scope.mask !== undefined && q.pipeline.some((s) => s.kind === 'LineFilter');
  if (storeOnly(q) && spec.intervalNs === 0n && !masked) {
    // One SELECT: selector, filters, trace id, range and limit all in ClickHouse.
    const traceId = pushedTraceId(q);
    const r = await reader.selectLogs(
      {
        matchers: q.selector.matchers,
        lineFilters: lineFilterSpecs(q.pipeline.filter((s): s is LineFilter => s.kind === 'LineFilter')),
        startNs: spec.startNs,
        endNs: spec.endNs,
        limit: spec.limit,
        direction: spec.direction,
        ...(traceId !== undefined ? { traceId } : {}),
      },
      signal,
    );
    const collector = new StreamCollector();
    for (const row of r.rows) {
      const e = entryOf(row);
      collector.add(e.ts, e.line, { ...e.labels, ...e.metadata });
    }
    return { data: { resultType: 'streams', result: collector.streams() }, stats: { rowsRead: r.rowsRead, bytesRead: r.bytesRead, returned: collector.entries, postFilterLines: collector.entries } };
  }
  const { result, source } = await evaluateWith(reader, spec, limits, signal);
  const returned = returnedOf(result);
  return { data: result as QueryData, stats: { rowsRead: source.stats.rowsRead, bytesRead: source.stats.bytesRead, returned, postFilterLines: returned } };
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
  const { result, source } = await evaluateWith(reader, spec, limits, signal);
  return { data: result as QueryData, stats: { rowsRead: source.stats.rowsRead, bytesRead: source.stats.bytesRead, returned: returnedOf(result), postFilterLines: source.stats.entries } };
}
