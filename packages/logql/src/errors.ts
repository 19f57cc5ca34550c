/**
 * The two error types of the query language: `ParseError` (the text is not
 * LogQL) and `ValidationError` (it is LogQL, but Loki would refuse to run it).
 *
 * Invariants: `ParseError` always carries a position (1-based line and
 * column, 0-based offset) and its message starts with
 * `parse error at line L, col C: `, the format Loki uses, so clients that
 * already understand Loki's errors can point at the spot. A
 * `ValidationError` has a position when the offending node has one.
 */
import type { Pos } from './ast.js';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  /** The message without the position prefix, e.g. `unexpected "}", expected label matcher`. */
  readonly reason: string;

  constructor(reason: string, pos: Pos) {
    super(`parse error at line ${pos.line}, col ${pos.column}: ${reason}`);
    this.reason = reason;
    this.line = pos.line;
    this.column = pos.column;
    this.offset = pos.offset;
  }
}

/** Stable identifiers for each validation rule; the README lists them all. */
export const ValidationCode = {
  /** The selector has no `=`/`=~` matcher that rejects the empty string. */
  SelectorNeedsMatcher: 'selector-needs-matcher',
  /** A regular expression does not compile as RE2. */
  InvalidRegex: 'invalid-regex',
  /** `| regexp` has no named capture group. */
  RegexpNeedsNamedGroup: 'regexp-needs-named-group',
  /** `| pattern` has no named capture, or two captures touch. */
  InvalidPattern: 'invalid-pattern',
  /** An `ip("...")` pattern is not an address, range or CIDR. */
  InvalidIp: 'invalid-ip',
  /** `ip()` in a line filter with `|~` or `!~`. */
  IpFilterOperator: 'ip-filter-operator',
  /** The same destination label twice in one `| label_format`. */
  DuplicateLabelFormat: 'duplicate-label-format',
  /** `label_replace` destination is not a valid label name. */
  InvalidLabelName: 'invalid-label-name',
  /** `sum_over_time` and friends without `| unwrap`. */
  UnwrapRequired: 'unwrap-required',
  /** `count_over_time`, `bytes_rate`, `bytes_over_time` with `| unwrap`. */
  UnwrapNotAllowed: 'unwrap-not-allowed',
  /** `by`/`without` on a range aggregation that does not support it. */
  GroupingNotAllowed: 'grouping-not-allowed',
  /** A required parameter (`quantile_over_time`, `topk`, `bottomk`) is missing. */
  ParameterRequired: 'parameter-required',
  /** A parameter given to an aggregation that takes none. */
  ParameterNotAllowed: 'parameter-not-allowed',
  /** `quantile_over_time` φ outside [0, 1]. */
  QuantileOutOfRange: 'quantile-out-of-range',
  /** `topk`/`bottomk` k that is not a positive integer. */
  InvalidTopK: 'invalid-topk',
  /** A range of zero or less. */
  InvalidRange: 'invalid-range',
  /** `bool` on an operator that is not a comparison. */
  BoolNotComparison: 'bool-not-comparison',
  /** `and`/`or`/`unless` with a number literal operand. */
  SetOperatorOnScalar: 'set-operator-on-scalar',
  /** `on`/`ignoring`/`group_*` where an operand is a number literal. */
  MatchingOnScalar: 'matching-on-scalar',
  /** `group_left`/`group_right` on `and`/`or`/`unless`. */
  GroupingOnSetOperator: 'grouping-on-set-operator',
} as const;
export type ValidationCode = (typeof ValidationCode)[keyof typeof ValidationCode];

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly code: ValidationCode;
  readonly reason: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly offset: number | undefined;

  constructor(code: ValidationCode, reason: string, pos?: Pos) {
    super(pos ? `validation error at line ${pos.line}, col ${pos.column}: ${reason}` : `validation error: ${reason}`);
    this.code = code;
    this.reason = reason;
    this.line = pos?.line;
    this.column = pos?.column;
    this.offset = pos?.offset;
  }
}
