/**
 * Builds the tree of step evaluators for a metric query: range
 * aggregations read samples from the host, vector aggregations, binary
 * operators and label_replace transform the vectors of their operands,
 * `vector(x)` is a constant one-sample vector; literal-only arithmetic is
 * folded to a number first (`(1 + 1) * rate(...)`), as Loki's parser does.
 */
import type { MetricExpr } from '../ast.js';
import { LabelReplaceEvaluator, LiteralOpEvaluator, VectorOpEvaluator, applyOp } from './binary-ops.js';
import { EvaluationError } from './errors.js';
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
    case 'VectorAggregation':
      return new VectorAggregationEvaluator(e, buildEvaluator(e.expr, ctx));
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
