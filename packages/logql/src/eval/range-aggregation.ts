/**
 * Range aggregations (`rate`, `count_over_time`, `bytes_rate`,
 * `bytes_over_time`, `absent_over_time`, `sum/avg/min/max/stddev/stdvar/
 * quantile/first/last_over_time`, `rate_counter`): a sliding window per
 * series over the sample stream, evaluated at every step.
 *
 * Invariants (Loki's range vector iterator):
 * - The step at instant t covers samples with t - offset - range < ts <= t - offset
 *   (the lower bound is exclusive) and is reported at t, in milliseconds
 *   truncated as Go truncates.
 * - A series exists at a step only if it has a sample in that window.
 * - Each aggregator is Loki's formula, including its float quirks (the
 *   incremental mean of avg_over_time, Welford for stddev/stdvar,
 *   Prometheus' extrapolation for rate_counter).
 * - A series that still carries `__error__` fails the query with
 *   EvaluationError('pipeline-error') and Loki's message.
 */
import type { RangeAggregation, StreamSelector } from '../ast.js';
import { durationMsToNs } from '../durations.js';
import { EvaluationError } from './errors.js';
import { durationSeconds } from './go/units.js';
import { ERROR_LABEL, Labels } from './labels.js';
import { NS_PER_MS, type SampleStream, type StepClock, type StepEvaluator, type StepSample, type StepVector } from './steps.js';

interface Window {
  labels: Labels;
  ts: bigint[];
  values: number[];
  head: number;
}

type Aggregate = (w: Window, rangeEnd: bigint) => number;

function sum(w: Window): number {
  let s = 0;
  for (let i = w.head; i < w.values.length; i++) s += w.values[i] as number;
  return s;
}

function count(w: Window): number {
  return w.values.length - w.head;
}

/** Prometheus' extrapolatedRate as Loki adapts it (nanosecond timestamps, window bounds from the query). */
function extrapolatedRate(w: Window, rangeNs: bigint, rangeEnd: bigint): number {
  const n = count(w);
  if (n < 2) return 0;
  const rangeStart = rangeEnd - rangeNs;
  const first = w.values[w.head] as number;
  const last = w.values[w.values.length - 1] as number;
  const firstT = w.ts[w.head] as bigint;
  const lastT = w.ts[w.ts.length - 1] as bigint;
  let result = last - first;
  let lastValue = 0;
  for (let i = w.head; i < w.values.length; i++) {
    const v = w.values[i] as number;
    if (v < lastValue) result += lastValue;
    lastValue = v;
  }
  let durationToStart = Number(firstT - rangeStart) / 1e9;
  let durationToEnd = Number(rangeEnd - lastT) / 1e9;
  const sampledInterval = Number(lastT - firstT) / 1e9;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  let durationToZero = durationToStart;
  if (result > 0 && first >= 0) durationToZero = sampledInterval * (first / result);
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  const extrapolateToInterval = sampledInterval + durationToStart + durationToEnd;
  result = result * (extrapolateToInterval / sampledInterval);
  return result / durationSeconds(rangeNs);
}

/** Sorted ascending with NaN first (Loki's HeapByMaxValue), then interpolated. */
function quantile(q: number, w: Window): number {
  const values = w.values.slice(w.head).sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
  if (values.length === 0) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (values[lower] as number) * (1 - weight) + (values[upper] as number) * weight;
}

function aggregatorOf(agg: RangeAggregation, rangeNs: bigint): Aggregate {
  const seconds = durationSeconds(rangeNs);
  const unwrapped = agg.logRange.query.pipeline.some((s) => s.kind === 'Unwrap');
  switch (agg.op) {
    case 'rate':
      return unwrapped ? (w) => sum(w) / seconds : (w) => count(w) / seconds;
    case 'rate_counter':
      return (w, end) => extrapolatedRate(w, rangeNs, end);
    case 'count_over_time':
      return count;
    case 'bytes_rate':
      return (w) => sum(w) / seconds;
    case 'bytes_over_time':
    case 'sum_over_time':
      return sum;
    case 'avg_over_time':
      return (w) => {
        let mean = 0;
        let n = 0;
        for (let i = w.head; i < w.values.length; i++) {
          const v = w.values[i] as number;
          n++;
          if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
            if (!Number.isFinite(v) && !Number.isNaN(v) && mean > 0 === v > 0) continue;
            if (Number.isFinite(v)) continue;
          }
          mean += v / n - mean / n;
        }
        return mean;
      };
    case 'max_over_time':
      return (w) => {
        let m = w.values[w.head] as number;
        for (let i = w.head; i < w.values.length; i++) {
          const v = w.values[i] as number;
          if (v > m || Number.isNaN(m)) m = v;
        }
        return m;
      };
    case 'min_over_time':
      return (w) => {
        let m = w.values[w.head] as number;
        for (let i = w.head; i < w.values.length; i++) {
          const v = w.values[i] as number;
          if (v < m || Number.isNaN(m)) m = v;
        }
        return m;
      };
    case 'stddev_over_time':
    case 'stdvar_over_time': {
      const sqrt = agg.op === 'stddev_over_time';
      return (w) => {
        let aux = 0;
        let n = 0;
        let mean = 0;
        for (let i = w.head; i < w.values.length; i++) {
          const v = w.values[i] as number;
          n++;
          const delta = v - mean;
          mean += delta / n;
          aux += delta * (v - mean);
        }
        return sqrt ? Math.sqrt(aux / n) : aux / n;
      };
    }
    case 'quantile_over_time': {
      const q = agg.param ?? NaN;
      return (w) => quantile(q, w);
    }
    case 'first_over_time':
      return (w) => w.values[w.head] as number;
    case 'last_over_time':
      return (w) => w.values[w.values.length - 1] as number;
    case 'absent_over_time':
      return () => 1;
  }
}

/** Loki's PipelineError message for a series that kept `__error__`. */
export function pipelineError(labels: Labels): EvaluationError {
  const err = labels.get(ERROR_LABEL) ?? '';
  return new EvaluationError(
    'pipeline-error',
    `pipeline error: '${err}' for series: '${labels.toString()}'.\n` +
      `Use a label filter to intentionally skip this error. (e.g | __error__!="${err}").\n` +
      `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
      `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
  );
}

/** The labels absent_over_time reports: the selector's equality matchers, minus names matched more than once or otherwise. */
export function absentLabels(selector: StreamSelector): Labels {
  const set = new Map<string, string>();
  const drop = new Set<string>();
  for (const m of selector.matchers) {
    if (m.name === '__name__') continue;
    if (m.op === '=' && !set.has(m.name)) set.set(m.name, m.value);
    else drop.add(m.name);
  }
  for (const n of drop) set.delete(n);
  return Labels.from(set);
}

/** The window bounds a range aggregation reads for a clock: [first step - offset - range, last step - offset]. */
export function rangeBounds(agg: RangeAggregation, clock: StepClock): { rangeNs: bigint; offsetNs: bigint; startNs: bigint; endNs: bigint } {
  const rangeNs = durationMsToNs(agg.logRange.rangeMs);
  const offsetNs = durationMsToNs(agg.logRange.offsetMs ?? 0);
  const first = clock.at(0) - offsetNs;
  const last = clock.at(clock.count - 1) - offsetNs;
  // The window's lower bound is exclusive; the host's range is [start, end).
  return { rangeNs, offsetNs, startNs: first - rangeNs + 1n, endNs: last + 1n };
}

/** Step evaluator of one range aggregation over its sample stream. */
export class RangeAggregationEvaluator implements StepEvaluator {
  private readonly windows = new Map<string, Window>();
  private readonly aggregate: Aggregate;
  private readonly rangeNs: bigint;
  private readonly offsetNs: bigint;
  private readonly absent: Labels | undefined;
  private i = 0;

  constructor(
    agg: RangeAggregation,
    private readonly clock: StepClock,
    private readonly samples: SampleStream,
  ) {
    const b = rangeBounds(agg, clock);
    this.rangeNs = b.rangeNs;
    this.offsetNs = b.offsetNs;
    this.aggregate = aggregatorOf(agg, this.rangeNs);
    this.absent = agg.op === 'absent_over_time' ? absentLabels(agg.logRange.query.selector) : undefined;
  }

  async next(): Promise<StepVector | undefined> {
    if (this.i >= this.clock.count) return undefined;
    const t = this.clock.at(this.i++);
    const end = t - this.offsetNs;
    const lower = end - this.rangeNs;
    for (const [key, w] of this.windows) {
      while (w.head < w.ts.length && (w.ts[w.head] as bigint) <= lower) w.head++;
      if (w.head === w.ts.length) this.windows.delete(key);
      else if (w.head > 1024 && w.head * 2 > w.ts.length) {
        w.ts = w.ts.slice(w.head);
        w.values = w.values.slice(w.head);
        w.head = 0;
      }
    }
    for (let s = await this.samples.peek(); s !== undefined && s.ts <= end; s = await this.samples.peek()) {
      this.samples.shift();
      if (s.ts <= lower) continue;
      const key = s.labels.key;
      let w = this.windows.get(key);
      if (!w) {
        w = { labels: s.labels, ts: [], values: [], head: 0 };
        this.windows.set(key, w);
      }
      w.ts.push(s.ts);
      w.values.push(s.value);
    }
    const out: StepSample[] = [];
    for (const w of this.windows.values()) {
      if (w.labels.has(ERROR_LABEL)) throw pipelineError(w.labels);
      out.push({ labels: w.labels, value: this.aggregate(w, end) });
    }
    const tsMs = Number(end / NS_PER_MS + this.offsetNs / NS_PER_MS);
    if (this.absent) return { tsMs, samples: out.length > 0 ? [] : [{ labels: this.absent, value: 1 }] };
    return { tsMs, samples: out };
  }

  close(): Promise<void> {
    return this.samples.close();
  }
}
