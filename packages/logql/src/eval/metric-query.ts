/**
 * Builds the tree of step evaluators for a metric query: range
 * aggregations read samples from the host, vector aggregations, binary
 * operators and label_replace transform the vectors of their operands,
 * `vector(x)` is a constant one-sample vector; literal-only arithmetic is
 * folded to a number first (`(1 + 1) * rate(...)`), as Loki's parser does.
 */
import type { MetricExpr, RangeAggregation, VectorAggregation } from '../ast.js';
import { LabelReplaceEvaluator, LiteralOpEvaluator, VectorOpEvaluator, applyOp } from './binary-ops.js';
import { EvaluationError } from './errors.js';
import { durationSeconds } from './go/units.js';
import { durationMsToNs } from '../durations.js';
import { Labels } from './labels.js';
import { splitPushdown } from './log-query.js';
import { compileExtractor } from './pipeline.js';
import { RangeAggregationEvaluator, rangeBounds } from './range-aggregation.js';
import type { StageOptions } from './stage.js';
import { NS_PER_MS, SampleStream, type StepClock, type StepEvaluator, type StepVector } from './steps.js';
import type { EntrySource } from './types.js';
import { VectorAggregationEvaluator } from './vector-aggregation.js';

/** The value of a literal-only expression (`2`, `1 + 2 * 3`, `1 > 2`), or undefined. */
export function constantValue(e: MetricExpr): number | undefined {
  if (e.kind === 'NumberLiteral') return e.value;
  if (e.kind !== 'BinaryOp') return undefined;
  const l = constantValue(e.left);
  const r = constantValue(e.right);
  if (l === undefined || r === undefined) return undefined;
  return applyOp(e.op, l, r);
}

class VectorLiteralEvaluator implements StepEvaluator {
  private i = 0;
  constructor(
    private readonly clock: StepClock,
    private readonly value: number,
  ) {}

  next(): Promise<StepVector | undefined> {
    if (this.i >= this.clock.count) return Promise.resolve(undefined);
    const t = this.clock.at(this.i++);
    return Promise.resolve({ tsMs: Number(t / NS_PER_MS), samples: [{ labels: Labels.EMPTY, value: this.value }] });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * `sum(rate(...))` and `sum(bytes_rate(...))` (any grouping, no unwrap) as
 * `sum(count_over_time(...)) / range` and `sum(bytes_over_time(...)) / range`:
 * equal in exact arithmetic, and the counts add up exactly, so the answer
 * no longer depends on the order series are added in, and it is the very
 * number the server's metric fast path (one GROUP BY, counts per group
 * divided by the range) computes. Summing per-series rates instead
 * accumulates a rounding error per series (with one series per span id,
 * thousands of them).
 */
function sumOfRates(e: VectorAggregation): { counts: RangeAggregation; seconds: number } | undefined {
  const inner = e.expr;
  if (e.op !== 'sum' || inner.kind !== 'RangeAggregation' || inner.grouping || inner.param !== undefined) return undefined;
  if (inner.op !== 'rate' && inner.op !== 'bytes_rate') return undefined;
  if (inner.logRange.query.pipeline.some((s) => s.kind === 'Unwrap')) return undefined;
  return { counts: { ...inner, op: inner.op === 'rate' ? 'count_over_time' : 'bytes_over_time' }, seconds: durationSeconds(durationMsToNs(inner.logRange.rangeMs)) };
}

/** Divides every sample of its operand by `seconds`. */
class ScaledEvaluator implements StepEvaluator {
  constructor(
    private readonly inner: StepEvaluator,
    private readonly seconds: number,
  ) {}

  async next(): Promise<StepVector | undefined> {
    const v = await this.inner.next();
    return v && { tsMs: v.tsMs, samples: v.samples.map((s) => ({ labels: s.labels, value: s.value / this.seconds })) };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface BuildContext {
  clock: StepClock;
  source: EntrySource;
  stageOpts: StageOptions;
  signal: AbortSignal | undefined;
}

/** The step evaluator of a (non-constant) metric expression. */
export function buildEvaluator(e: MetricExpr, ctx: BuildContext): StepEvaluator {
  switch (e.kind) {
    case 'RangeAggregation': {
      const { pushed, rest } = splitPushdown(e.logRange.query.pipeline, ctx.source);
      const extract = compileExtractor(e, rest, ctx.stageOpts);
      const { startNs, endNs } = rangeBounds(e, ctx.clock);
      const open = () =>
        ctx.source.entries({
          selector: e.logRange.query.selector,
          lineFilters: pushed,
          startNs,
          endNs,
          direction: 'forward',
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
      return new RangeAggregationEvaluator(e, ctx.clock, new SampleStream(open, extract, startNs, endNs, ctx.signal));
    }
    case 'VectorAggregation': {
      const perSecond = sumOfRates(e);
      if (perSecond) return new ScaledEvaluator(new VectorAggregationEvaluator(e, buildEvaluator(perSecond.counts, ctx)), perSecond.seconds);
      return new VectorAggregationEvaluator(e, buildEvaluator(e.expr, ctx));
    }
    case 'LabelReplace':
      return new LabelReplaceEvaluator(e, buildEvaluator(e.expr, ctx));
    case 'VectorLiteral':
      return new VectorLiteralEvaluator(ctx.clock, e.value);
    case 'BinaryOp': {
      const l = constantValue(e.left);
      const r = constantValue(e.right);
      if (l !== undefined && r !== undefined) break;
      if (l !== undefined) return new LiteralOpEvaluator(e, l, true, buildEvaluator(e.right, ctx));
      if (r !== undefined) return new LiteralOpEvaluator(e, r, false, buildEvaluator(e.left, ctx));
      const left = buildEvaluator(e.left, ctx);
      return new VectorOpEvaluator(e, left, buildEvaluator(e.right, ctx));
    }
    case 'NumberLiteral':
      break;
  }
  throw new EvaluationError('invalid-query', 'a number cannot be used where a vector is expected; use vector(x) for a constant series');
}
