/**
 * Validation: the rules Loki applies to a syntactically correct query before
 * running it (selectors need a non-empty matcher, regexes are RE2, unwrap
 * where the aggregation needs one, parameter ranges, ...). A separate step
 * from parsing so an editor can show "does not parse" and "will be refused"
 * differently, and a server can apply its own limits on top.
 *
 * Invariants: `validate` is pure, never throws for any tree the parser can
 * produce, and returns every problem found (in source order), each as a
 * ValidationError with a stable `code` and the position of the offending
 * node. `assertValid` throws the first one.
 */
import type { Expr, LabelMatcher, MetricExpr, Node, NumberLiteral, Pos, RangeOp } from './ast.js';
import { SET_OPS, COMPARISON_OPS } from './ast.js';
import { ValidationCode, ValidationError } from './errors.js';
import { ipPatternError } from './ip.js';
import { matchesEmpty, re2Error, translateRe2 } from './regex.js';
import { walk } from './walk.js';

const GROUPING_ALLOWED: ReadonlySet<RangeOp> = new Set<RangeOp>([
  'avg_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'max_over_time',
  'min_over_time',
  'first_over_time',
  'last_over_time',
]);
const UNWRAP_ALLOWED: ReadonlySet<RangeOp> = new Set<RangeOp>([
  'avg_over_time',
  'sum_over_time',
  'max_over_time',
  'min_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'rate',
  'rate_counter',
  'absent_over_time',
  'first_over_time',
  'last_over_time',
]);
const WITHOUT_UNWRAP_ALLOWED: ReadonlySet<RangeOp> = new Set<RangeOp>(['bytes_over_time', 'bytes_rate', 'count_over_time', 'rate', 'absent_over_time']);

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every validation problem of `expr`, in source order; empty when Loki would run it. */
export function validate(expr: Expr): ValidationError[] {
  const errors: ValidationError[] = [];
  const report = (code: ValidationCode, reason: string, pos: Pos | undefined): void => {
    errors.push(new ValidationError(code, reason, pos));
  };
  const checkRegex = (pattern: string, pos: Pos | undefined): boolean => {
    const problem = re2Error(pattern);
    if (problem !== undefined) report(ValidationCode.InvalidRegex, problem, pos);
    return problem === undefined;
  };
  const checkMatcher = (m: Pick<LabelMatcher, 'op' | 'value'>, pos: Pos | undefined): boolean =>
    m.op === '=~' || m.op === '!~' ? checkRegex(m.value, pos) : true;
  // Anchoring adds a group, which can push a pattern at the engine's size limit over it.
  const rejectsEmpty = (pattern: string, pos: Pos | undefined): boolean => {
    try {
      return !matchesEmpty(pattern);
    } catch (err) {
      report(ValidationCode.InvalidRegex, err instanceof Error ? err.message : String(err), pos);
      return false;
    }
  };

  walk(expr, (node: Node) => {
    switch (node.kind) {
      case 'StreamSelector': {
        let selective = false;
        for (const m of node.matchers) {
          const valid = checkMatcher(m, m.pos ?? node.pos);
          if ((m.op === '=' && m.value !== '') || (m.op === '=~' && valid && rejectsEmpty(m.value, m.pos ?? node.pos))) selective = true;
        }
        if (!selective) {
          report(
            ValidationCode.SelectorNeedsMatcher,
            'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
            node.pos,
          );
        }
        return;
      }
      case 'LineFilter': {
        const terms = [{ value: node.value, ip: node.ip, pos: node.pos }, ...node.or];
        for (const t of terms) {
          const pos = t.pos ?? node.pos;
          if (t.ip) {
            if (node.op === '|~' || node.op === '!~') report(ValidationCode.IpFilterOperator, `ip() line filters support only |= and !=, found ${node.op}`, pos);
            const problem = ipPatternError(t.value);
            if (problem) report(ValidationCode.InvalidIp, problem, pos);
          } else if (node.op === '|~' || node.op === '!~') {
            checkRegex(t.value, pos);
          }
        }
        return;
      }
      case 'RegexpParser':
        if (checkRegex(node.regex, node.pos) && translateRe2(node.regex).groupNames.length === 0) {
          report(ValidationCode.RegexpNeedsNamedGroup, `regexp ${JSON.stringify(node.regex)} needs at least one named capture group such as (?P<name>...)`, node.pos);
        }
        return;
      case 'PatternParser': {
        const problem = patternError(node.pattern);
        if (problem) report(ValidationCode.InvalidPattern, problem, node.pos);
        return;
      }
      case 'LabelFormat': {
        const seen = new Set<string>();
        for (const op of node.ops) {
          if (seen.has(op.dst)) report(ValidationCode.DuplicateLabelFormat, `label ${JSON.stringify(op.dst)} appears more than once in label_format; use two label_format stages`, op.pos ?? node.pos);
          seen.add(op.dst);
        }
        return;
      }
      case 'Drop':
      case 'Keep':
        for (const l of node.labels) if (l.op !== undefined) checkMatcher({ op: l.op, value: l.value ?? '' }, l.pos ?? node.pos);
        return;
      case 'LabelMatchFilter':
        checkMatcher(node, node.pos);
        return;
      case 'IpFilter': {
        const problem = ipPatternError(node.pattern);
        if (problem) report(ValidationCode.InvalidIp, problem, node.pos);
        return;
      }
      case 'LogRange':
        if (!(node.rangeMs > 0)) report(ValidationCode.InvalidRange, 'the range of a range aggregation must be greater than 0', node.pos);
        return;
      case 'RangeAggregation': {
        const op = node.op;
        const unwrap = node.logRange.query.pipeline.find((s) => s.kind === 'Unwrap');
        if (node.grouping && !GROUPING_ALLOWED.has(op)) report(ValidationCode.GroupingNotAllowed, `grouping not allowed for ${op} aggregation`, node.pos);
        if (unwrap && !UNWRAP_ALLOWED.has(op)) report(ValidationCode.UnwrapNotAllowed, `invalid aggregation ${op} with unwrap`, unwrap.pos ?? node.pos);
        if (!unwrap && !WITHOUT_UNWRAP_ALLOWED.has(op)) report(ValidationCode.UnwrapRequired, `invalid aggregation ${op} without unwrap`, node.pos);
        if (op === 'quantile_over_time') {
          if (node.param === undefined) report(ValidationCode.ParameterRequired, 'parameter required for operation quantile_over_time', node.pos);
          else if (!(node.param >= 0 && node.param <= 1)) report(ValidationCode.QuantileOutOfRange, `quantile must be between 0 and 1, found ${node.param}`, node.pos);
        } else if (node.param !== undefined) {
          report(ValidationCode.ParameterNotAllowed, `parameter ${node.param} not supported for operation ${op}`, node.pos);
        }
        return;
      }
      case 'VectorAggregation':
        if (node.op === 'topk' || node.op === 'bottomk') {
          if (node.param === undefined) report(ValidationCode.ParameterRequired, `parameter required for operation ${node.op}`, node.pos);
          else if (!Number.isInteger(node.param) || node.param <= 0) report(ValidationCode.InvalidTopK, `${node.op} parameter must be a positive integer, found ${node.param}`, node.pos);
        } else if (node.param !== undefined) {
          report(ValidationCode.ParameterNotAllowed, `parameter ${node.param} not supported for operation ${node.op}`, node.pos);
        }
        return;
      case 'BinaryOp': {
        const isSet = (SET_OPS as readonly string[]).includes(node.op);
        if (node.returnBool && !(COMPARISON_OPS as readonly string[]).includes(node.op)) {
          report(ValidationCode.BoolNotComparison, `bool modifier can only be used on comparison operators, found ${node.op}`, node.pos);
        }
        const scalarSide = isScalar(node.left) ? 'left' : isScalar(node.right) ? 'right' : undefined;
        if (isSet && scalarSide) report(ValidationCode.SetOperatorOnScalar, `unexpected literal for ${scalarSide} leg of logical/set binary operation (${node.op})`, node.pos);
        else if (node.matching && scalarSide) report(ValidationCode.MatchingOnScalar, 'vector matching (on, ignoring, group_left, group_right) is only allowed between vectors', node.pos);
        if (isSet && node.matching?.group) report(ValidationCode.GroupingOnSetOperator, `no grouping allowed for ${node.op} operation`, node.pos);
        return;
      }
      case 'LabelReplace':
        if (!LABEL_NAME.test(node.dst)) report(ValidationCode.InvalidLabelName, `invalid destination label name in label_replace(): ${JSON.stringify(node.dst)}`, node.pos);
        checkRegex(node.regex, node.pos);
        return;
      default:
        return;
    }
  });
  return errors;
}

/** Throws the first ValidationError of `expr`, if any. */
export function assertValid(expr: Expr): void {
  const [first] = validate(expr);
  if (first) throw first;
}

/** Literals, and arithmetic on literals only, which Loki folds into one literal. */
function isScalar(e: MetricExpr): e is NumberLiteral {
  if (e.kind === 'NumberLiteral') return true;
  return e.kind === 'BinaryOp' && isScalar(e.left) && isScalar(e.right);
}

/**
 * Loki's pattern syntax: `<name>` captures, `<_>` skips, everything else is
 * literal. Valid when it has a named capture and no two captures touch.
 */
export function patternError(pattern: string): string | undefined {
  const capture = /<([A-Za-z_][A-Za-z0-9_]*)>/g;
  let named = 0;
  let lastEnd = -1;
  const names = new Set<string>();
  for (let m = capture.exec(pattern); m; m = capture.exec(pattern)) {
    const name = m[1] as string;
    if (m.index === lastEnd) return `pattern ${JSON.stringify(pattern)} has consecutive captures; separate them with literal text`;
    lastEnd = m.index + m[0].length;
    if (name === '_') continue;
    if (names.has(name)) return `pattern ${JSON.stringify(pattern)} captures ${JSON.stringify(name)} twice`;
    names.add(name);
    named++;
  }
  if (named === 0) return `pattern ${JSON.stringify(pattern)} needs at least one named capture such as <name>`;
  return undefined;
}
