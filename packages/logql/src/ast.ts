/**
 * The LogQL abstract syntax tree: every node is a plain, JSON-serialisable
 * object with a `kind` discriminant, so the server, the CLI and the web UI can
 * switch over it without classes or runtime helpers.
 *
 * Invariants:
 * - `pos` is optional everywhere and informational only: the printer never
 *   reads it, and two trees that differ only in `pos` mean the same query.
 * - Optional flags (`ip`, `returnBool`) are absent rather than `false`, and
 *   optional parts (`grouping`, `offsetMs`, `param`, `matching`) are absent
 *   rather than `undefined`-valued, so trees compare with deep equality.
 * - Durations are milliseconds (possibly fractional for Go-style `us`/`ns`
 *   values); byte sizes are whole bytes.
 * - Redundant syntax is normalised away: parentheses, `,` versus `and` in
 *   label filters, `=` versus `==` in numeric comparisons, where the range
 *   `[5m]` was written, and `by` placement in vector aggregations.
 */

/** Where a node starts in the query text. `offset` is 0-based in UTF-16 code units; `line` and `column` are 1-based. */
export interface Pos {
  offset: number;
  line: number;
  column: number;
}

// ---------------------------------------------------------------- log queries

/** Label matching operators of stream selectors and string label filters. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
  pos?: Pos;
}

export interface StreamSelector {
  kind: 'StreamSelector';
  matchers: LabelMatcher[];
  pos?: Pos;
}

/** Line filter operators. `|>`/`!>` (pattern line filters) are not part of this AST. */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~';

/** One alternative of a line filter: a string, or an `ip("...")` pattern when `ip` is set. */
export interface LineFilterTerm {
  value: string;
  ip?: boolean;
  pos?: Pos;
}

/**
 * `|= "a" or "b"`: `value`/`ip` is the first alternative, `or` holds the rest.
 * For `|=`/`|~` a line passes when it matches any alternative; for `!=`/`!~`
 * it passes when it matches none of them.
 */
export interface LineFilter {
  kind: 'LineFilter';
  op: LineFilterOp;
  value: string;
  or: LineFilterTerm[];
  ip?: boolean;
  pos?: Pos;
}

/** `label="expression"` of `| json` and `| logfmt`; a bare `label` has `expression === label`. */
export interface LabelExtraction {
  label: string;
  expression: string;
  pos?: Pos;
}

export interface JsonParser {
  kind: 'JsonParser';
  params: LabelExtraction[];
  pos?: Pos;
}

export interface LogfmtParser {
  kind: 'LogfmtParser';
  /** `--strict` */
  strict: boolean;
  /** `--keep-empty` */
  keepEmpty: boolean;
  params: LabelExtraction[];
  pos?: Pos;
}

export interface RegexpParser {
  kind: 'RegexpParser';
  regex: string;
  pos?: Pos;
}

export interface PatternParser {
  kind: 'PatternParser';
  pattern: string;
  pos?: Pos;
}

export interface Unpack {
  kind: 'Unpack';
  pos?: Pos;
}

export interface Decolorize {
  kind: 'Decolorize';
  pos?: Pos;
}

export interface LineFormat {
  kind: 'LineFormat';
  template: string;
  pos?: Pos;
}

/** `dst=src` renames (`mode: 'rename'`, `value` is the source label); `dst="{{...}}"` templates. */
export interface LabelFormatOp {
  dst: string;
  mode: 'rename' | 'template';
  value: string;
  pos?: Pos;
}

export interface LabelFormat {
  kind: 'LabelFormat';
  ops: LabelFormatOp[];
  pos?: Pos;
}

/** An item of `| drop` / `| keep`: a bare label name, or a name with a matcher (`op` and `value` both set). */
export interface NamedLabel {
  name: string;
  op?: MatchOp;
  value?: string;
  pos?: Pos;
}

export interface Drop {
  kind: 'Drop';
  labels: NamedLabel[];
  pos?: Pos;
}

export interface Keep {
  kind: 'Keep';
  labels: NamedLabel[];
  pos?: Pos;
}

export type UnwrapConversion = 'bytes' | 'duration' | 'duration_seconds';

/**
 * `| unwrap label`, `| unwrap bytes(label)`, ... Only inside a range
 * aggregation, and only `LabelFilter` stages may follow it (they filter the
 * extracted samples, typically `__error__=""`).
 */
export interface Unwrap {
  kind: 'Unwrap';
  label: string;
  conversion?: UnwrapConversion;
  pos?: Pos;
}

/** Comparison operators of numeric, duration and bytes label filters (`=` is normalised to `==`). */
export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

/** `name op "value"`: a Prometheus-style string matcher on a label. */
export interface LabelMatchFilter {
  kind: 'LabelMatchFilter';
  name: string;
  op: MatchOp;
  value: string;
  pos?: Pos;
}

export interface NumberFilter {
  kind: 'NumberFilter';
  name: string;
  op: CompareOp;
  value: number;
  pos?: Pos;
}

export interface DurationFilter {
  kind: 'DurationFilter';
  name: string;
  op: CompareOp;
  durationMs: number;
  pos?: Pos;
}

export interface BytesFilter {
  kind: 'BytesFilter';
  name: string;
  op: CompareOp;
  bytes: number;
  pos?: Pos;
}

/** `name = ip("pattern")` or `name != ip("pattern")`. */
export interface IpFilter {
  kind: 'IpFilter';
  name: string;
  op: '=' | '!=';
  pattern: string;
  pos?: Pos;
}

/** `and` (also written `,` or by juxtaposition) binds tighter than `or`; both are left-associative. */
export interface LabelFilterBinary {
  kind: 'LabelFilterBinary';
  op: 'and' | 'or';
  left: LabelPredicate;
  right: LabelPredicate;
  pos?: Pos;
}

export type LabelPredicate = LabelMatchFilter | NumberFilter | DurationFilter | BytesFilter | IpFilter | LabelFilterBinary;

/** A `| predicate` pipeline stage. */
export interface LabelFilter {
  kind: 'LabelFilter';
  filter: LabelPredicate;
  pos?: Pos;
}

export type PipelineStage =
  | LineFilter
  | JsonParser
  | LogfmtParser
  | RegexpParser
  | PatternParser
  | Unpack
  | LabelFilter
  | LineFormat
  | LabelFormat
  | Drop
  | Keep
  | Decolorize
  | Unwrap;

export interface LogQuery {
  kind: 'LogQuery';
  selector: StreamSelector;
  pipeline: PipelineStage[];
  pos?: Pos;
}

// ------------------------------------------------------------- metric queries

export const RANGE_OPS = [
  'rate',
  'rate_counter',
  'count_over_time',
  'bytes_rate',
  'bytes_over_time',
  'absent_over_time',
  'sum_over_time',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'first_over_time',
  'last_over_time',
] as const;
export type RangeOp = (typeof RANGE_OPS)[number];

export const VECTOR_OPS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'sort', 'sort_desc'] as const;
export type VectorOp = (typeof VECTOR_OPS)[number];

export const ARITHMETIC_OPS = ['+', '-', '*', '/', '%', '^'] as const;
export const COMPARISON_OPS = ['==', '!=', '>', '>=', '<', '<='] as const;
export const SET_OPS = ['and', 'or', 'unless'] as const;
export type BinaryOperator = (typeof ARITHMETIC_OPS)[number] | (typeof COMPARISON_OPS)[number] | (typeof SET_OPS)[number];

/**
 * Binding strength of binary operators, as in Prometheus (higher binds
 * tighter). All are left-associative except `^`. Shared by the parser and
 * the printer so they cannot disagree.
 */
export const BINARY_PRECEDENCE: Readonly<Record<BinaryOperator, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '>=': 3,
  '<': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

/** `by (labels)` (`without: false`) or `without (labels)`; `labels` may be empty (`by ()`). */
export interface Grouping {
  without: boolean;
  labels: string[];
}

/** `{...} | stages [range] offset d`: the log range a range aggregation reads. */
export interface LogRange {
  kind: 'LogRange';
  query: LogQuery;
  rangeMs: number;
  /** `offset 5m`; may be negative. */
  offsetMs?: number;
  pos?: Pos;
}

export interface RangeAggregation {
  kind: 'RangeAggregation';
  op: RangeOp;
  /** The φ of `quantile_over_time(φ, ...)`. */
  param?: number;
  logRange: LogRange;
  grouping?: Grouping;
  pos?: Pos;
}

export interface VectorAggregation {
  kind: 'VectorAggregation';
  op: VectorOp;
  /** The k of `topk(k, ...)` / `bottomk(k, ...)`. */
  param?: number;
  grouping?: Grouping;
  expr: MetricExpr;
  pos?: Pos;
}

/** `on(labels)` (`on: true`) or `ignoring(labels)`, with an optional `group_left(...)`/`group_right(...)`. */
export interface VectorMatching {
  on: boolean;
  labels: string[];
  group?: { side: 'left' | 'right'; labels: string[] };
}

/** A binary operation. Its `pos` is the operator's position, which is what errors about it point at. */
export interface BinaryOp {
  kind: 'BinaryOp';
  op: BinaryOperator;
  left: MetricExpr;
  right: MetricExpr;
  /** The `bool` modifier of comparisons. */
  returnBool?: boolean;
  matching?: VectorMatching;
  pos?: Pos;
}

/** `label_replace(expr, "dst", "replacement", "src", "regex")`. */
export interface LabelReplace {
  kind: 'LabelReplace';
  expr: MetricExpr;
  dst: string;
  replacement: string;
  src: string;
  regex: string;
  pos?: Pos;
}

export interface NumberLiteral {
  kind: 'NumberLiteral';
  value: number;
  pos?: Pos;
}

/** `vector(1)` */
export interface VectorLiteral {
  kind: 'VectorLiteral';
  value: number;
  pos?: Pos;
}

export type MetricExpr = RangeAggregation | VectorAggregation | BinaryOp | LabelReplace | NumberLiteral | VectorLiteral;

/** A whole query: what `parse` returns and `print` accepts. */
export type Expr = LogQuery | MetricExpr;

/** Every node kind a walker can meet. */
export type Node = Expr | StreamSelector | PipelineStage | LabelPredicate | LogRange;
