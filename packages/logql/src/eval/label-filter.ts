/**
 * Label filter predicates (`| status >= 400`, `| level=~"warn|error"`,
 * `| took > 1s`, `| size < 1MB`, `| addr = ip("10.0.0.0/8")`, and their
 * `and`/`or` combinations), evaluated on a line's LabelsBuilder.
 *
 * Invariants (Loki):
 * - String matchers are Prometheus matchers (regexes fully anchored); a
 *   missing label is "", and only they can read `__error__`.
 * - Number, duration and bytes filters convert the label value first: a
 *   missing label fails the filter; a value that does not convert keeps the
 *   line and sets `__error__=LabelFilterErr` (unless an error is already
 *   set) with Go's conversion error in `__error_details__`.
 * - `ip()` filters keep lines that already carry an error.
 * - `and` evaluates both sides (a conversion error on the right still
 *   shows); `or` stops at the first match.
 */
import type { CompareOp, LabelPredicate } from '../ast.js';
import { durationMsToNs } from '../durations.js';
import { EvaluationError } from './errors.js';
import { GoRegexp } from './go/regexp.js';
import { parseGoFloat } from './go/strconv.js';
import { parseGoDuration, parseHumanBytes } from './go/units.js';
import { compileIpPattern, containsMatchingIp } from './ip-match.js';
import { ERROR_LABEL, type LabelsBuilder } from './labels.js';

export type LabelPredicateFn = (lb: LabelsBuilder) => boolean;

export const LABEL_FILTER_ERR = 'LabelFilterErr';

function compare<T extends number | bigint>(op: CompareOp, a: T, b: T): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

/** A string matcher with Prometheus semantics; exported for `drop`/`keep` matchers. */
export function compileMatcher(op: '=' | '!=' | '=~' | '!~', value: string): (v: string) => boolean {
  switch (op) {
    case '=':
      return (v) => v === value;
    case '!=':
      return (v) => v !== value;
    default: {
      let re: GoRegexp;
      try {
        re = new GoRegexp(value, true);
      } catch (err) {
        throw new EvaluationError('invalid-query', `invalid label matcher regex: ${err instanceof Error ? err.message : String(err)}`);
      }
      return op === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
    }
  }
}

/** A conversion filter: missing label fails, conversion error keeps the line with LabelFilterErr. */
function converting<T>(name: string, convert: (v: string) => { ok: true; value: T } | { ok: false; error: string }, test: (v: T) => boolean): LabelPredicateFn {
  return (lb) => {
    const v = lb.get(name);
    if (v === undefined) return false;
    const r = convert(v);
    if (!r.ok) {
      if (lb.err === '') lb.setError(LABEL_FILTER_ERR, r.error);
      return true;
    }
    return test(r.value);
  };
}

/** Compiles a label predicate. Throws EvaluationError for an invalid regex or ip() pattern. */
export function compileLabelPredicate(p: LabelPredicate): LabelPredicateFn {
  switch (p.kind) {
    case 'LabelMatchFilter': {
      const m = compileMatcher(p.op, p.value);
      const name = p.name;
      return name === ERROR_LABEL ? (lb) => m(lb.err) : (lb) => m(lb.get(name) ?? '');
    }
    case 'NumberFilter':
      return converting(p.name, parseGoFloat, (v) => compare(p.op, v, p.value));
    case 'DurationFilter': {
      const want = durationMsToNs(p.durationMs);
      return converting(
        p.name,
        (s) => {
          const r = parseGoDuration(s);
          return r.ok ? { ok: true as const, value: r.ns } : r;
        },
        (v) => compare(p.op, v, want),
      );
    }
    case 'BytesFilter':
      return converting(
        p.name,
        (s) => {
          const r = parseHumanBytes(s);
          return r.ok ? { ok: true as const, value: r.bytes } : r;
        },
        (v) => compare(p.op, v, p.bytes),
      );
    case 'IpFilter': {
      const m = compileIpPattern(p.pattern);
      if (typeof m === 'string') throw new EvaluationError('invalid-query', `${m}; use an address, a CIDR such as 10.0.0.0/8 or a range such as 10.0.0.1-10.0.0.9`);
      const name = p.name;
      const eq = p.op === '=';
      return (lb) => {
        if (lb.err !== '') return true;
        const v = lb.get(name);
        if (v === undefined) return false;
        return containsMatchingIp(v, m) === eq;
      };
    }
    case 'LabelFilterBinary': {
      const left = compileLabelPredicate(p.left);
      const right = compileLabelPredicate(p.right);
      if (p.op === 'or') return (lb) => left(lb) || right(lb);
      return (lb) => {
        const l = left(lb);
        const r = right(lb);
        return l && r;
      };
    }
  }
}
