/**
 * Vector aggregations (`sum`, `avg`, `min`, `max`, `count`, `stddev`,
 * `stdvar`, `topk`, `bottomk`, `sort`, `sort_desc`) with `by`/`without`,
 * applied to each step's vector.
 *
 * Invariants (Loki's VectorAggEvaluator): `by` keeps only the listed labels
 * a series has, `without` removes them; `min`/`max` let a NaN be replaced by
 * any value; `avg` is an incremental mean that leaves an infinite mean
 * alone; `stddev`/`stdvar` use Welford's method; `topk`/`bottomk` keep the
 * original series (labels unchanged) ordered by value, NaN last, and
 * `sort`/`sort_desc` order each group the same way.
 */
import type { VectorAggregation } from '../ast.js';
import type { Labels } from './labels.js';
import type { StepEvaluator, StepSample, StepVector } from './steps.js';

interface Group {
  labels: Labels;
  value: number;
  mean: number;
  count: number;
  kept: StepSample[];
}

const nanLast = (cmp: (a: number, b: number) => number) => (a: StepSample, b: StepSample) => {
  const an = Number.isNaN(a.value);
  const bn = Number.isNaN(b.value);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return cmp(a.value, b.value);
};
const DESC = nanLast((a, b) => b - a);
const ASC = nanLast((a, b) => a - b);

/** The grouping labels of a series under `by`/`without` (cached per series, which keeps its Labels object across steps). */
export function groupingOf(agg: VectorAggregation): (l: Labels) => Labels {
  const names = new Set(agg.grouping?.labels ?? []);
  const without = agg.grouping?.without ?? false;
  const cache = new WeakMap<Labels, Labels>();
  return (l) => {
    let g = cache.get(l);
    if (!g) {
      g = without ? l.drop(names) : l.keep(names);
      cache.set(l, g);
    }
    return g;
  };
}

/** Aggregates one step's samples. */
export function aggregateVector(agg: VectorAggregation, samples: readonly StepSample[], groupOf: (l: Labels) => Labels = groupingOf(agg)): StepSample[] {
  const op = agg.op;
  const k = agg.param ?? 0;
  if ((op === 'topk' || op === 'bottomk') && k < 1) return [];
  const groups = new Map<string, Group>();
  for (const s of samples) {
    const labels = groupOf(s.labels);
    const key = labels.key;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { labels, value: op === 'stddev' || op === 'stdvar' ? 0 : s.value, mean: s.value, count: 1, kept: [s] });
      continue;
    }
    switch (op) {
      case 'sum':
        g.value += s.value;
        break;
      case 'avg':
        g.count++;
        if (!Number.isFinite(g.mean) && !Number.isNaN(g.mean)) {
          if (!Number.isFinite(s.value) && !Number.isNaN(s.value) && g.mean > 0 === s.value > 0) break;
          if (Number.isFinite(s.value)) break;
        }
        g.mean += (s.value - g.mean) / g.count;
        break;
      case 'max':
        if (g.value < s.value || Number.isNaN(g.value)) g.value = s.value;
        break;
      case 'min':
        if (g.value > s.value || Number.isNaN(g.value)) g.value = s.value;
        break;
      case 'count':
        g.count++;
        break;
      case 'stddev':
      case 'stdvar': {
        g.count++;
        const delta = s.value - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (s.value - g.mean);
        break;
      }
      case 'topk':
      case 'bottomk': {
        // Keep the k best; the candidate to evict is the worst kept (NaN counts as worst).
        const order = op === 'topk' ? DESC : ASC;
        if (g.kept.length < k) g.kept.push(s);
        else {
          let worst = 0;
          for (let i = 1; i < g.kept.length; i++) if (order(g.kept[i] as StepSample, g.kept[worst] as StepSample) > 0) worst = i;
          if (order(s, g.kept[worst] as StepSample) < 0) g.kept[worst] = s;
        }
        break;
      }
      case 'sort':
      case 'sort_desc':
        g.kept.push(s);
        break;
    }
  }
  const out: StepSample[] = [];
  for (const g of groups.values()) {
    switch (op) {
      case 'avg':
        out.push({ labels: g.labels, value: g.mean });
        break;
      case 'count':
        out.push({ labels: g.labels, value: g.count });
        break;
      case 'stddev':
        out.push({ labels: g.labels, value: Math.sqrt(g.value / g.count) });
        break;
      case 'stdvar':
        out.push({ labels: g.labels, value: g.value / g.count });
        break;
      case 'topk':
      case 'sort_desc':
        out.push(...[...g.kept].sort(DESC));
        break;
      case 'bottomk':
      case 'sort':
        out.push(...[...g.kept].sort(ASC));
        break;
      default:
        out.push({ labels: g.labels, value: g.value });
    }
  }
  return out;
}

export class VectorAggregationEvaluator implements StepEvaluator {
  private readonly groupOf: (l: Labels) => Labels;

  constructor(
    private readonly agg: VectorAggregation,
    private readonly inner: StepEvaluator,
  ) {
    this.groupOf = groupingOf(agg);
  }

  async next(): Promise<StepVector | undefined> {
    const v = await this.inner.next();
    if (!v) return undefined;
    return { tsMs: v.tsMs, samples: aggregateVector(this.agg, v.samples, this.groupOf) };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
