/**
 * The metric fast path: `count_over_time`, `rate`, `bytes_over_time` and
 * `bytes_rate` of a selector with line filters (and `| trace_id="..."`),
 * bare or under `sum`, `sum by (...)` or `sum without (...)`, compiled to
 * one GROUP BY over fine time buckets in ClickHouse; the buckets are added
 * up per step here. Everything else goes to the LogQL evaluator.
 *
 * Step semantics are Loki's (and Prometheus'): a range query is evaluated
 * at t = start, start + step, ... <= end; the point at t covers the log
 * range (t - offset - range, t - offset], open on the left, closed on the
 * right; a window without entries yields no point. An instant query is one
 * such point at `time`.
 *
 * Buckets: with g = gcd(step, range), bucket j covers (base + (j-1)g,
 * base + jg] where base = start - offset - range; every window is then the
 * exact union of range/g consecutive buckets (window k = buckets
 * k*step/g + 1 .. (k*step + range)/g), so no entry is counted in a window
 * it does not belong to, whatever the alignment of start.
 *
 * Series are what the evaluator would make: stream labels plus structured
 * metadata (store/src/query/index-select.ts `metadataOf`), grouped and
 * summed per `by`/`without`. The series limit applies to the result.
 */
import type { Expr, Grouping, LabelFilter, LineFilter, RangeAggregation, StreamSelector } from '@meshlog/logql';
import { metadataOf, type MetricBucketRow, type TenantReader } from '@meshlog/store';
import { ApiError } from '../http/errors.js';
import { lineFilterSpecs } from './entry-source.js';
import { formatSampleValue, labelsKey, seriesLimitError, sortSeries, type MatrixSeries, type VectorSample } from './results.js';

export type FastOp = 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate';
const FAST_OPS: ReadonlySet<string> = new Set<FastOp>(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);

export interface FastPlan {
  op: FastOp;
  selector: StreamSelector;
  lineFilters: LineFilter[];
  traceId?: string;
  rangeNs: bigint;
  offsetNs: bigint;
  /** `sum` with its grouping; absent for a bare range aggregation. */
  sum?: Grouping;
}

/** Most fine buckets one query may use; beyond it the evaluator runs instead. */
const MAX_BUCKETS = 50_000;
/** Most rows (groups x buckets) one fast query may return. */
const MAX_ROWS = 2_000_000;

/** `| trace_id="<value>"`: the one label filter the store can run (the trace_id column has a bloom filter index). */
export function traceIdFilterOf(stage: LabelFilter): string | undefined {
  const f = stage.filter;
  return f.kind === 'LabelMatchFilter' && f.name === 'trace_id' && f.op === '=' ? f.value : undefined;
}

/** The fast plan of `expr`, or undefined when the evaluator must run it. */
export function planFastPath(expr: Expr): FastPlan | undefined {
  let sum: Grouping | undefined;
  let agg: Expr = expr;
  if (agg.kind === 'VectorAggregation') {
    if (agg.op !== 'sum' || agg.param !== undefined) return undefined;
    sum = agg.grouping ?? { without: false, labels: [] };
    agg = agg.expr;
  }
  if (agg.kind !== 'RangeAggregation' || !FAST_OPS.has(agg.op) || agg.grouping || agg.param !== undefined) return undefined;
  const pushed = pushdownOf(agg);
  if (!pushed) return undefined;
  return {
    op: agg.op as FastOp,
    selector: agg.logRange.query.selector,
    lineFilters: pushed.lineFilters,
    ...(pushed.traceId !== undefined ? { traceId: pushed.traceId } : {}),
    rangeNs: BigInt(Math.round(agg.logRange.rangeMs * 1e6)),
    offsetNs: BigInt(Math.round((agg.logRange.offsetMs ?? 0) * 1e6)),
    ...(sum ? { sum } : {}),
  };
}

function pushdownOf(agg: RangeAggregation): { lineFilters: LineFilter[]; traceId?: string } | undefined {
  const lineFilters: LineFilter[] = [];
  let traceId: string | undefined;
  for (const stage of agg.logRange.query.pipeline) {
    if (stage.kind === 'LineFilter' && !stage.ip && !stage.or.some((t) => t.ip)) {
      lineFilters.push(stage);
      continue;
    }
    if (stage.kind === 'LabelFilter') {
      const id = traceIdFilterOf(stage);
      // Two different trace ids select nothing; leave that (odd) query to the evaluator.
      if (id !== undefined && (traceId === undefined || traceId === id)) {
        traceId = id;
        continue;
      }
    }
    return undefined;
  }
  return { lineFilters, ...(traceId !== undefined ? { traceId } : {}) };
}

export interface EvalPoints {
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
  instant: boolean;
}

export interface FastResult {
  resultType: 'matrix' | 'vector';
  result: MatrixSeries[] | VectorSample[];
  rowsRead: number;
  bytesRead: number;
  /** Entries counted (what the query processed). */
  entries: number;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Runs a fast plan; undefined when its shape needs too many buckets (the caller falls back to the evaluator). */
export async function runFastPath(reader: TenantReader, plan: FastPlan, points: EvalPoints, maxSeries: number, signal?: AbortSignal): Promise<FastResult | undefined> {
  // An instant query is the one point at its end (`time`).
  const at = points.instant ? { ...points, startNs: points.endNs } : points;
  const r = plan.rangeNs;
  const step = at.instant ? r : at.stepNs;
  const K = at.instant ? 0n : (at.endNs - at.startNs) / step;
  const g = gcd(step, r);
  const nBuckets = (K * step + r) / g;
  if (nBuckets > BigInt(MAX_BUCKETS)) return undefined;
  const base = at.startNs - plan.offsetNs - r;
  const n = Number(nBuckets);
  const rowLimit = Math.min((maxSeries + 1) * n, MAX_ROWS);
  const grouping = plan.sum && !plan.sum.without ? { kind: 'labels' as const, labels: plan.sum.labels } : { kind: 'series' as const };
  const res = await reader.metricBuckets(
    {
      matchers: plan.selector.matchers,
      lineFilters: lineFilterSpecs(plan.lineFilters),
      ...(plan.traceId !== undefined ? { traceId: plan.traceId } : {}),
      // (base, last window's end]: the WHERE clause is [start, end).
      startNs: base + 1n,
      endNs: base + K * step + r + 1n,
      baseNs: base,
      bucketNs: g,
      grouping,
      limit: rowLimit,
    },
    signal,
  );

  // Per result series: entries and bytes per bucket (index j - 1).
  const series = new Map<string, { labels: Record<string, string>; c: Float64Array; s: Float64Array }>();
  let entries = 0;
  for (const row of res.rows) {
    const labels = seriesLabels(row, plan);
    const key = labelsKey(labels);
    let acc = series.get(key);
    if (!acc) {
      if (series.size >= maxSeries) throw seriesLimitError(maxSeries);
      acc = { labels, c: new Float64Array(n), s: new Float64Array(n) };
      series.set(key, acc);
    }
    const j = Number(row.b) - 1;
    if (j < 0 || j >= n) continue;
    const c = Number(row.c);
    acc.c[j]! += c;
    acc.s[j]! += Number(row.s);
    entries += c;
  }
  if (res.rows.length >= rowLimit) {
    throw new ApiError('limit_exceeded', `the query returns more than ${rowLimit} points before aggregation; increase the step, shorten the time range or add label matchers`);
  }

  const perWindow = Number(r / g);
  // Seconds as the evaluator computes them (whole seconds plus the fraction), so a
  // rate is bit for bit the evaluator's (the differential test compares exactly).
  const seconds = Number(r / 1_000_000_000n) + Number(r % 1_000_000_000n) / 1e9;
  const value = (c: number, s: number): number => {
    switch (plan.op) {
      case 'count_over_time':
        return c;
      case 'rate':
        return c / seconds;
      case 'bytes_over_time':
        return s;
      case 'bytes_rate':
        return s / seconds;
    }
  };
  const stepBuckets = Number(step / g);
  const out: MatrixSeries[] = [];
  for (const acc of series.values()) {
    // Prefix sums make every window one subtraction.
    const pc = new Float64Array(n + 1);
    const ps = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      pc[j + 1] = pc[j]! + acc.c[j]!;
      ps[j + 1] = ps[j]! + acc.s[j]!;
    }
    const values: [number, string][] = [];
    for (let k = 0; k <= Number(K); k++) {
      const first = k * stepBuckets; // buckets first+1 .. first+perWindow, i.e. indexes first .. first+perWindow-1
      const c = pc[first + perWindow]! - pc[first]!;
      if (c === 0) continue;
      const s = ps[first + perWindow]! - ps[first]!;
      const tNs = at.startNs + BigInt(k) * step;
      values.push([Number(tNs / 1_000_000n) / 1000, formatSampleValue(value(c, s))]);
    }
    if (values.length > 0) out.push({ metric: acc.labels, values });
  }
  sortSeries(out);
  const stats = { rowsRead: res.rowsRead, bytesRead: res.bytesRead, entries };
  if (at.instant) return { resultType: 'vector', result: out.map((s) => ({ metric: s.metric, value: s.values[0]! })), ...stats };
  return { resultType: 'matrix', result: out, ...stats };
}

/** The result series of one bucket row: its group, or its stream labels + metadata minus `without` labels. */
function seriesLabels(row: MetricBucketRow, plan: FastPlan): Record<string, string> {
  const labels: Record<string, string> = {};
  if (row.k) {
    const names = plan.sum!.labels;
    row.k.forEach((v, i) => {
      if (v !== '') labels[names[i]!] = v;
    });
    return labels;
  }
  // Stream labels, then structured metadata over them (metadata wins a shared name, as in Loki's label builder).
  const keys = row.stream_keys ?? [];
  keys.forEach((k, i) => {
    const v = row.stream_values?.[i] ?? '';
    if (v !== '') labels[k] = v;
  });
  Object.assign(labels, metadataOf({ attr_keys: row.attr_keys ?? [], attr_values: row.attr_values ?? [], trace_id: row.trace_id ?? '', span_id: row.span_id ?? '' }));
  if (plan.sum?.without) for (const l of plan.sum.labels) delete labels[l];
  return labels;
}
