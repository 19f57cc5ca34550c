/**
 * The evaluator's entry point: checks the query and its parameters, runs a
 * log query or a metric query against an EntrySource, and shapes the
 * result exactly as Loki's query API does (streams, matrix, vector or
 * scalar).
 *
 * Invariants: the query is validated first (EvaluationError
 * 'invalid-query' with the validator's message); range queries evaluate at
 * start, start + step, ... up to end; instant queries at end only; matrix
 * series and vector samples are sorted by labels (vectors keep their order
 * when the query uses sort/sort_desc, as Loki does); limits are checked
 * while evaluating, so an over-limit query stops early. Host iterators are
 * always closed, whether the evaluation succeeds or fails.
 */
import type { Expr, MetricExpr } from '../ast.js';
import { validate } from '../validate.js';
import { walk } from '../walk.js';
import { EvaluationError } from './errors.js';
import { formatSampleValue } from './go/strconv.js';
import { compareLabels, type Labels } from './labels.js';
import { evaluateLogQuery } from './log-query.js';
import { buildEvaluator, constantValue } from './metric-query.js';
import type { StageOptions } from './stage.js';
import { NS_PER_MS, StepClock, checkAborted } from './steps.js';
import type { EntrySource, EvaluateOptions, EvaluateParams, QueryResult } from './types.js';

export const DEFAULT_MAX_SERIES = 500;
export const DEFAULT_MAX_STEPS = 11_000;

/** Loki's default step for range queries: (end - start) / 250, at least 1s. */
export function defaultStepMs(startNs: bigint, endNs: bigint): number {
  return Math.max(Math.floor(Number(endNs - startNs) / 1e9 / 250), 1) * 1000;
}

function seriesLimitError(max: number): EvaluationError {
  return new EvaluationError(
    'series-limit',
    `maximum number of series (${max}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()`,
  );
}

function usesSort(expr: Expr): boolean {
  let found = false;
  walk(expr, (n) => {
    if (n.kind === 'VectorAggregation' && (n.op === 'sort' || n.op === 'sort_desc')) found = true;
  });
  return found;
}

const seconds = (ms: number) => ms / 1000;

/**
 * Evaluates a parsed query. Throws EvaluationError for problems with the
 * query, its parameters or limits, and passes through errors from `source`.
 */
export async function evaluate(expr: Expr, params: EvaluateParams, source: EntrySource, opts: EvaluateOptions = {}): Promise<QueryResult> {
  const problems = validate(expr);
  if (problems.length > 0) throw new EvaluationError('invalid-query', (problems[0] as Error).message, { cause: problems[0] });
  if (expr.kind === 'LogQuery') {
    if (params.instant) {
      throw new EvaluationError('instant-log-query', 'log queries are not supported as an instant query type, please change your query to a range query type');
    }
    return evaluateLogQuery(expr, params, source, opts);
  }
  return evaluateMetric(expr, params, source, opts);
}

async function evaluateMetric(expr: MetricExpr, params: EvaluateParams, source: EntrySource, opts: EvaluateOptions): Promise<QueryResult> {
  const instant = params.instant === true;
  let clock: StepClock;
  if (instant) clock = new StepClock(params.endNs, params.endNs, 0n);
  else {
    if (params.startNs > params.endNs) throw new EvaluationError('invalid-params', 'the start of the query range must not be after its end');
    const stepMs = params.stepMs ?? defaultStepMs(params.startNs, params.endNs);
    if (!(stepMs > 0) || !Number.isFinite(stepMs)) {
      throw new EvaluationError('invalid-params', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    }
    const stepNs = BigInt(Math.round(stepMs * 1e6));
    clock = new StepClock(params.startNs, params.endNs, stepNs);
    const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
    if (clock.count - 1 > maxSteps) {
      throw new EvaluationError('too-many-steps', `exceeded maximum resolution of ${maxSteps.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`);
    }
  }
  const constant = constantValue(expr);
  if (constant !== undefined) {
    if (instant) return { resultType: 'scalar', result: [seconds(Number(params.endNs / NS_PER_MS)), formatSampleValue(constant)] };
    const values: Array<[number, string]> = [];
    for (let i = 0; i < clock.count; i++) values.push([seconds(Number(clock.at(i) / NS_PER_MS)), formatSampleValue(constant)]);
    return { resultType: 'matrix', result: [{ metric: {}, values }] };
  }
  const maxSeries = opts.maxSeries ?? DEFAULT_MAX_SERIES;
  const stageOpts: StageOptions = opts.nowNs ? { nowNs: opts.nowNs } : {};
  checkAborted(opts.signal);
  const ev = buildEvaluator(expr, { clock, source, stageOpts, signal: opts.signal });
  try {
    if (instant) {
      const v = await ev.next();
      const samples = v?.samples ?? [];
      if (samples.length > maxSeries) throw seriesLimitError(maxSeries);
      if (!usesSort(expr)) samples.sort((a, b) => compareLabels(a.labels, b.labels));
      const t = seconds(v?.tsMs ?? Number(params.endNs / NS_PER_MS));
      return { resultType: 'vector', result: samples.map((s) => ({ metric: s.labels.toRecord(), value: [t, formatSampleValue(s.value)] })) };
    }
    const series = new Map<string, { labels: Labels; values: Array<[number, string]> }>();
    for (let v = await ev.next(); v !== undefined; v = await ev.next()) {
      checkAborted(opts.signal);
      const t = seconds(v.tsMs);
      for (const s of v.samples) {
        let entry = series.get(s.labels.key);
        if (!entry) {
          if (series.size >= maxSeries) throw seriesLimitError(maxSeries);
          entry = { labels: s.labels, values: [] };
          series.set(s.labels.key, entry);
        }
        entry.values.push([t, formatSampleValue(s.value)]);
      }
    }
    const result = [...series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    return { resultType: 'matrix', result: result.map((s) => ({ metric: s.labels.toRecord(), values: s.values })) };
  } finally {
    await ev.close();
  }
}
