/**
 * Binary operators between metric expressions: arithmetic (`+ - * / % ^`),
 * comparisons (`== != > >= < <=`, filtering or with `bool`) and set
 * operators (`and`, `or`, `unless`), with vector matching (`on`,
 * `ignoring`, `group_left`, `group_right`); plus `label_replace`.
 *
 * Invariants (Loki's MergeBinOp and vectorBinop, which follow Prometheus
 * except where noted):
 * - Division and modulo by zero give NaN (Loki's choice; Prometheus gives
 *   ±Inf for division).
 * - A comparison without `bool` keeps the vector side's sample (its value
 *   and labels) when true and drops it when false; with `bool` it yields
 *   0/1. Between two literals it is always 0/1.
 * - One-to-one matching keeps the left labels reduced by `on`/`ignoring`;
 *   group_left/right keep the "many" side's labels plus the listed labels
 *   from the "one" side; duplicates are errors, as in Prometheus.
 */
import type { BinaryOp, BinaryOperator, LabelReplace } from '../ast.js';
import { EvaluationError } from './errors.js';
import { GoRegexp } from './go/regexp.js';
import type { Labels } from './labels.js';
import type { StepEvaluator, StepSample, StepVector } from './steps.js';

const COMPARISONS = new Set<BinaryOperator>(['==', '!=', '>', '>=', '<', '<=']);

export function isComparison(op: BinaryOperator): boolean {
  return COMPARISONS.has(op);
}

/** Go's math.Pow where it differs from JavaScript's. */
function pow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** The arithmetic or comparison result of `l op r`; for comparisons 1 or 0. */
export function applyOp(op: BinaryOperator, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return r === 0 ? NaN : l / r;
    case '%':
      return r === 0 ? NaN : l % r;
    case '^':
      return pow(l, r);
    case '==':
      return l === r ? 1 : 0;
    case '!=':
      return l !== r ? 1 : 0;
    case '>':
      return l > r ? 1 : 0;
    case '>=':
      return l >= r ? 1 : 0;
    case '<':
      return l < r ? 1 : 0;
    case '<=':
      return l <= r ? 1 : 0;
    default:
      throw new EvaluationError('invalid-query', `${op} is not an arithmetic or comparison operator`);
  }
}

/**
 * Merges two values as Loki's MergeBinOp: undefined drops the sample.
 * `vectorValue` is what a true filtering comparison keeps.
 */
function merge(op: BinaryOperator, l: number, r: number, filter: boolean, vectorValue: number): number | undefined {
  const v = applyOp(op, l, r);
  if (!isComparison(op)) return v;
  if (!filter) return v;
  return v === 1 ? vectorValue : undefined;
}

/** `vector op literal` or `literal op vector`. */
export class LiteralOpEvaluator implements StepEvaluator {
  constructor(
    private readonly node: BinaryOp,
    private readonly literal: number,
    private readonly literalOnLeft: boolean,
    private readonly inner: StepEvaluator,
  ) {}

  async next(): Promise<StepVector | undefined> {
    const v = await this.inner.next();
    if (!v) return undefined;
    const filter = this.node.returnBool !== true;
    const samples: StepSample[] = [];
    for (const s of v.samples) {
      const [l, r] = this.literalOnLeft ? [this.literal, s.value] : [s.value, this.literal];
      const value = merge(this.node.op, l, r, filter, s.value);
      if (value !== undefined) samples.push({ labels: s.labels, value });
    }
    return { tsMs: v.tsMs, samples };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function signature(labels: Labels, node: BinaryOp): string {
  const m = node.matching;
  if (!m) return labels.key;
  return (m.on ? labels.keep(new Set(m.labels)) : labels.drop(new Set(m.labels))).key;
}

/** The labels of a matched pair (Prometheus' resultMetric). */
function resultLabels(lhs: Labels, rhs: Labels, node: BinaryOp, oneToOne: boolean): Labels {
  const m = node.matching;
  let out = lhs;
  if (!m) return out;
  if (oneToOne) out = m.on ? lhs.keep(new Set(m.labels)) : lhs.drop(new Set(m.labels));
  for (const name of m.group?.labels ?? []) {
    const v = rhs.get(name);
    out = v !== undefined && v !== '' ? out.with(name, v) : out.drop(new Set([name]));
  }
  return out;
}

/** One step of `lhs op rhs` between two vectors. */
export function vectorBinop(node: BinaryOp, lhs: StepSample[], rhs: StepSample[]): StepSample[] {
  const op = node.op;
  const lsigs = lhs.map((s) => signature(s.labels, node));
  const rsigs = rhs.map((s) => signature(s.labels, node));
  if (op === 'and' || op === 'unless') {
    if (lhs.length === 0 || rhs.length === 0) return op === 'and' ? [] : lhs;
    const right = new Set(rsigs);
    return lhs.filter((_, i) => right.has(lsigs[i] as string) === (op === 'and'));
  }
  if (op === 'or') {
    if (lhs.length === 0) return rhs;
    if (rhs.length === 0) return lhs;
    const left = new Set(lsigs);
    return [...lhs, ...rhs.filter((_, i) => !left.has(rsigs[i] as string))];
  }
  const side = node.matching?.group?.side;
  const oneToMany = side === 'right';
  const oneToOne = side === undefined;
  // For group_right the "many" side is the right one: swap, and swap back to apply the operator.
  const [many, one, manySigs, oneSigs] = oneToMany ? [rhs, lhs, rsigs, lsigs] : [lhs, rhs, lsigs, rsigs];
  const bySig = new Map<string, StepSample>();
  one.forEach((s, i) => {
    const sig = oneSigs[i] as string;
    if (bySig.has(sig)) {
      throw new EvaluationError(
        'vector-matching',
        `found duplicate series on the ${oneToMany ? 'left' : 'right'} hand-side;many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    bySig.set(sig, s);
  });
  const matched = new Map<string, Set<string>>();
  const filter = node.returnBool !== true;
  const out: StepSample[] = [];
  many.forEach((ms, i) => {
    const sig = manySigs[i] as string;
    const os = bySig.get(sig);
    if (!os) return;
    const labels = resultLabels(ms.labels, os.labels, node, oneToOne);
    const seen = matched.get(sig);
    if (oneToOne) {
      if (seen) throw new EvaluationError('vector-matching', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matched.set(sig, new Set());
    } else {
      const set = seen ?? new Set<string>();
      if (set.has(labels.key)) throw new EvaluationError('vector-matching', 'multiple matches for labels: grouping labels must ensure unique matches');
      set.add(labels.key);
      matched.set(sig, set);
    }
    const [l, r] = oneToMany ? [os, ms] : [ms, os];
    const value = merge(op, l.value, r.value, filter, l.value);
    if (value !== undefined) out.push({ labels, value });
  });
  return out;
}

export class VectorOpEvaluator implements StepEvaluator {
  constructor(
    private readonly node: BinaryOp,
    private readonly left: StepEvaluator,
    private readonly right: StepEvaluator,
  ) {}

  async next(): Promise<StepVector | undefined> {
    const r = await this.right.next();
    const l = await this.left.next();
    if (!r || !l) return undefined;
    return { tsMs: l.tsMs, samples: vectorBinop(this.node, l.samples, r.samples) };
  }

  async close(): Promise<void> {
    await Promise.all([this.left.close(), this.right.close()]);
  }
}

/** `label_replace(v, dst, replacement, src, regex)` (regex fully anchored; an empty result removes dst). */
export class LabelReplaceEvaluator implements StepEvaluator {
  private readonly re: GoRegexp;
  private readonly cache = new Map<string, Labels>();

  constructor(
    private readonly node: LabelReplace,
    private readonly inner: StepEvaluator,
  ) {
    try {
      this.re = new GoRegexp(node.regex, true);
    } catch (err) {
      throw new EvaluationError('invalid-query', `invalid regex in label_replace: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private replace(labels: Labels): Labels {
    const cached = this.cache.get(labels.key);
    if (cached) return cached;
    let out = labels;
    const m = this.re.findSubmatch(labels.get(this.node.src) ?? '');
    if (m) {
      const res = this.re.expand(this.node.replacement, m);
      out = labels.drop(new Set([this.node.dst]));
      if (res !== '') out = out.with(this.node.dst, res);
    }
    this.cache.set(labels.key, out);
    return out;
  }

  async next(): Promise<StepVector | undefined> {
    const v = await this.inner.next();
    if (!v) return undefined;
    return { tsMs: v.tsMs, samples: v.samples.map((s) => ({ labels: this.replace(s.labels), value: s.value })) };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
