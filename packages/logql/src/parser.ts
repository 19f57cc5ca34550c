/**
 * The LogQL parser: recursive descent over the lexer's tokens, producing the
 * AST of ast.ts. It checks syntax only; rules Loki applies after parsing
 * (regexes compile, `unwrap` where required, parameter ranges, ...) live in
 * validate.ts so the web UI can show both kinds of problem separately.
 *
 * Invariants:
 * - It throws only ParseError, always with the position of the token that
 *   did not fit and a message naming what was expected.
 * - Input is capped (64 KiB of UTF-8 by default), nesting is capped at
 *   MAX_NESTING and binary operators at MAX_OPERATORS, so every input is
 *   parsed in linear time and no tree is too deep for the recursive printer,
 *   walker or validator.
 * - Keywords are case-insensitive and contextual, as Loki's are; a keyword
 *   that cannot start what the context allows is read as a label name.
 * - Binary operators follow Prometheus: `or` < `and` `unless` < comparisons <
 *   `+ -` < `* / %` < `^`, all left-associative except `^`. Unary minus
 *   applies to number literals only (as in Loki), so `-2 ^ 2` is 4.
 * - Label filters: `and` (also `,` or juxtaposition) binds tighter than `or`.
 */
import {
  BINARY_PRECEDENCE,
  RANGE_OPS,
  VECTOR_OPS,
  type BinaryOp,
  type BinaryOperator,
  type CompareOp,
  type Expr,
  type Grouping,
  type LabelExtraction,
  type LabelFilterBinary,
  type LabelFormatOp,
  type LabelMatcher,
  type LabelPredicate,
  type LineFilter,
  type LineFilterOp,
  type LineFilterTerm,
  type LogQuery,
  type LogRange,
  type MatchOp,
  type MetricExpr,
  type NamedLabel,
  type PipelineStage,
  type Pos,
  type RangeAggregation,
  type RangeOp,
  type StreamSelector,
  type UnwrapConversion,
  type VectorAggregation,
  type VectorMatching,
  type VectorOp,
} from './ast.js';
import { ParseError } from './errors.js';
import { Lexer, type Token } from './lexer.js';

export interface ParseOptions {
  /** Largest accepted query, in bytes of UTF-8. Default: DEFAULT_MAX_QUERY_BYTES. */
  maxLength?: number;
}

export const DEFAULT_MAX_QUERY_BYTES = 64 * 1024;
/** Deepest nesting of parentheses, aggregations and label-filter groups. */
export const MAX_NESTING = 256;
/** Most binary operators (metric and label-filter `and`/`or`) in one query. */
export const MAX_OPERATORS = 1000;


const MATCH_OPS: readonly string[] = ['=', '!=', '=~', '!~'];
const LINE_FILTER_OPS: readonly string[] = ['|=', '!=', '|~', '!~'];
const FILTER_OPS: readonly string[] = ['=', '!=', '=~', '!~', '==', '>', '>=', '<', '<='];
const UNWRAP_CONVERSIONS: readonly string[] = ['bytes', 'duration', 'duration_seconds'];
const STAGE_KEYWORDS: readonly string[] = ['json', 'logfmt', 'regexp', 'pattern', 'unpack', 'decolorize', 'line_format', 'label_format', 'drop', 'keep', 'unwrap'];
const LOGFMT_FLAGS: readonly string[] = ['--strict', '--keep-empty'];

/** Parses a LogQL query (log or metric). Throws ParseError. */
export function parse(text: string, opts: ParseOptions = {}): Expr {
  const parser = new Parser(text, opts);
  return parser.finish(parser.expr(), true);
}

/** Parses a query that must be a log query (selector and pipeline). Throws ParseError. */
export function parseLogQuery(text: string, opts: ParseOptions = {}): LogQuery {
  const expr = parse(text, opts);
  if (expr.kind !== 'LogQuery') throw new ParseError('expected a log query, found a metric query', expr.pos ?? START);
  return expr;
}

/** Parses a query that must be a metric query. Throws ParseError. */
export function parseMetricQuery(text: string, opts: ParseOptions = {}): MetricExpr {
  const expr = parse(text, opts);
  if (expr.kind === 'LogQuery') throw new ParseError('expected a metric query, found a log query', expr.pos ?? START);
  return expr;
}

/** Parses a bare stream selector such as the `match[]` of /series: `{app="api", env!="dev"}`. Throws ParseError. */
export function parseSelector(text: string, opts: ParseOptions = {}): StreamSelector {
  const parser = new Parser(text, opts);
  return parser.finish(parser.selector(), false);
}

const START: Pos = { offset: 0, line: 1, column: 1 };

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is 4 bytes in UTF-8: 2 for each half.
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return bytes;
}

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'end of input';
    case 'string':
      return `string ${JSON.stringify(t.str.length > 40 ? t.str.slice(0, 40) + '…' : t.str)}`;
    default:
      return JSON.stringify(t.text.length > 40 ? t.text.slice(0, 40) + '…' : t.text);
  }
}

class Parser {
  private readonly lexer: Lexer;
  private readonly lookahead: Token[] = [];
  private nesting = 0;
  private operators = 0;

  constructor(text: string, opts: ParseOptions) {
    const max = opts.maxLength ?? DEFAULT_MAX_QUERY_BYTES;
    // text.length is a lower bound of the UTF-8 length: no need to count when it already exceeds the cap.
    if (text.length > max) throw new ParseError(`query is too long: at least ${text.length} bytes, the limit is ${max} bytes`, START);
    const bytes = utf8Length(text);
    if (bytes > max) throw new ParseError(`query is too long: ${bytes} bytes, the limit is ${max} bytes`, START);
    this.lexer = new Lexer(text);
  }

  // ------------------------------------------------------------ token helpers

  private peek(k = 0): Token {
    while (this.lookahead.length <= k) this.lookahead.push(this.lexer.next());
    return this.lookahead[k] as Token;
  }

  private advance(): Token {
    const t = this.peek();
    this.lookahead.shift();
    return t;
  }

  private isPunct(t: Token, ...texts: string[]): boolean {
    return t.type === 'punct' && texts.includes(t.text);
  }

  private isKeyword(t: Token, ...words: string[]): boolean {
    return t.type === 'ident' && words.includes(t.text.toLowerCase());
  }

  private fail(t: Token, expected: string): never {
    throw new ParseError(`unexpected ${describe(t)}, expected ${expected}`, t.pos);
  }

  private expectPunct(text: string, expected = JSON.stringify(text)): Token {
    const t = this.peek();
    if (!this.isPunct(t, text)) this.fail(t, expected);
    return this.advance();
  }

  private expectIdent(expected: string): Token {
    const t = this.peek();
    if (t.type !== 'ident') this.fail(t, expected);
    return this.advance();
  }

  private expectString(expected = 'string'): Token {
    const t = this.peek();
    if (t.type !== 'string') this.fail(t, expected);
    return this.advance();
  }

  private enter(t: Token): void {
    if (++this.nesting > MAX_NESTING) throw new ParseError(`query is nested too deeply (more than ${MAX_NESTING} levels)`, t.pos);
  }

  private leave(): void {
    this.nesting--;
  }

  private countOperator(t: Token): void {
    if (++this.operators > MAX_OPERATORS) throw new ParseError(`too many operators (more than ${MAX_OPERATORS})`, t.pos);
  }

  finish<T extends { kind: string }>(node: T, allowContinuation: boolean): T {
    const t = this.peek();
    if (t.type === 'eof') return node;
    if (!allowContinuation) this.fail(t, 'end of input');
    this.fail(t, node.kind === 'LogQuery' ? 'pipeline stage or end of input' : 'binary operator or end of input');
  }

  // ------------------------------------------------------------- expressions

  expr(): Expr {
    return this.binary(1);
  }

  private binaryOperator(t: Token): BinaryOperator | undefined {
    if (t.type === 'punct') return t.text in BINARY_PRECEDENCE ? (t.text as BinaryOperator) : undefined;
    if (t.type === 'ident') {
      const word = t.text.toLowerCase();
      if (word === 'and' || word === 'or' || word === 'unless') return word;
    }
    return undefined;
  }

  private binary(minPrecedence: number): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const op = this.binaryOperator(t);
      if (op === undefined || BINARY_PRECEDENCE[op] < minPrecedence) return left;
      if (left.kind === 'LogQuery') {
        throw new ParseError(`unexpected ${describe(t)} after a log query, expected a metric expression on both sides of a binary operator`, t.pos);
      }
      this.advance();
      this.countOperator(t);
      const modifiers = this.binaryModifiers();
      const precedence = BINARY_PRECEDENCE[op];
      const right = this.binary(op === '^' ? precedence : precedence + 1);
      const node: BinaryOp = { kind: 'BinaryOp', op, left, right: this.metric(right), ...modifiers, pos: t.pos };
      left = node;
    }
  }

  private binaryModifiers(): Pick<BinaryOp, 'returnBool' | 'matching'> {
    const out: Pick<BinaryOp, 'returnBool' | 'matching'> = {};
    if (this.isKeyword(this.peek(), 'bool')) {
      this.advance();
      out.returnBool = true;
    }
    if (this.isKeyword(this.peek(), 'on', 'ignoring')) {
      const on = this.advance().text.toLowerCase() === 'on';
      const matching: VectorMatching = { on, labels: this.labelList() };
      if (this.isKeyword(this.peek(), 'group_left', 'group_right')) {
        const side = this.advance().text.toLowerCase() === 'group_left' ? 'left' : 'right';
        // As in Loki and Prometheus, a "(" right after group_x is its label list, not the right operand.
        matching.group = { side, labels: this.isPunct(this.peek(), '(') ? this.labelList() : [] };
      }
      out.matching = matching;
    }
    return out;
  }

  private metric(e: Expr): MetricExpr {
    if (e.kind === 'LogQuery') throw new ParseError('unexpected log query, expected a metric expression', e.pos ?? START);
    return e;
  }

  private unary(): Expr {
    const t = this.peek();
    if (this.isPunct(t, '-', '+')) {
      const n = this.peek(1);
      if (n.type !== 'number') this.fail(n, `number after unary ${JSON.stringify(t.text)} (only number literals can be negated)`);
      this.advance();
      this.advance();
      return { kind: 'NumberLiteral', value: t.text === '-' ? -n.num : n.num, pos: t.pos };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.type === 'number') {
      this.advance();
      return { kind: 'NumberLiteral', value: t.num, pos: t.pos };
    }
    if (this.isPunct(t, '(')) {
      this.advance();
      this.enter(t);
      const inner = this.expr();
      this.expectPunct(')', inner.kind === 'LogQuery' ? 'pipeline stage or ")"' : 'binary operator or ")"');
      this.leave();
      return inner;
    }
    if (this.isPunct(t, '{')) return this.logQuery();
    if (t.type === 'ident') {
      const word = t.text.toLowerCase();
      const next = this.peek(1);
      const call = this.isPunct(next, '(');
      if ((RANGE_OPS as readonly string[]).includes(word)) {
        if (call) return this.rangeAggregation();
        this.fail(next, `"(" after ${word}`);
      }
      if ((VECTOR_OPS as readonly string[]).includes(word)) {
        if (call || this.isKeyword(next, 'by', 'without')) return this.vectorAggregation();
        this.fail(next, `"(", "by" or "without" after ${word}`);
      }
      if (word === 'label_replace') {
        if (call) return this.labelReplace();
        this.fail(next, '"(" after label_replace');
      }
      if (word === 'vector') {
        if (call) return this.vectorLiteral();
        this.fail(next, '"(" after vector');
      }
    }
    this.fail(t, 'stream selector or metric expression');
  }

  private signedNumber(expected: string): { value: number; pos: Pos } {
    const t = this.peek();
    let sign = 1;
    if (this.isPunct(t, '-', '+')) {
      sign = t.text === '-' ? -1 : 1;
      this.advance();
    }
    const n = this.peek();
    if (n.type !== 'number') this.fail(n, expected);
    this.advance();
    return { value: sign * n.num, pos: t.pos };
  }

  /** True when the next tokens are `[+-]NUMBER ,`: the parameter of topk, quantile_over_time, ... */
  private parameterAhead(): boolean {
    const signed = this.isPunct(this.peek(), '-', '+') ? 1 : 0;
    return this.peek(signed).type === 'number' && this.isPunct(this.peek(signed + 1), ',');
  }

  private rangeAggregation(): RangeAggregation {
    const name = this.advance();
    const open = this.expectPunct('(');
    this.enter(open);
    let param: number | undefined;
    if (this.parameterAhead()) {
      param = this.signedNumber('number').value;
      this.advance();
    }
    const logRange = this.logRange();
    this.expectPunct(')');
    this.leave();
    const grouping = this.isKeyword(this.peek(), 'by', 'without') ? this.grouping() : undefined;
    return {
      kind: 'RangeAggregation',
      op: name.text.toLowerCase() as RangeOp,
      ...(param !== undefined && { param }),
      logRange,
      ...(grouping && { grouping }),
      pos: name.pos,
    };
  }

  private vectorAggregation(): VectorAggregation {
    const name = this.advance();
    let grouping: Grouping | undefined;
    if (this.isKeyword(this.peek(), 'by', 'without')) grouping = this.grouping();
    const open = this.expectPunct('(');
    this.enter(open);
    let param: number | undefined;
    if (this.parameterAhead()) {
      param = this.signedNumber('number').value;
      this.advance();
    }
    const body = this.metric(this.expr());
    this.expectPunct(')', 'binary operator or ")"');
    this.leave();
    const after = this.peek();
    if (this.isKeyword(after, 'by', 'without')) {
      if (grouping) throw new ParseError(`unexpected ${describe(after)}: ${name.text} already has a grouping`, after.pos);
      grouping = this.grouping();
    }
    return {
      kind: 'VectorAggregation',
      op: name.text.toLowerCase() as VectorOp,
      ...(param !== undefined && { param }),
      ...(grouping && { grouping }),
      expr: body,
      pos: name.pos,
    };
  }

  private grouping(): Grouping {
    const without = this.advance().text.toLowerCase() === 'without';
    return { without, labels: this.labelList() };
  }

  private labelList(): string[] {
    this.expectPunct('(');
    const labels: string[] = [];
    if (this.isPunct(this.peek(), ')')) {
      this.advance();
      return labels;
    }
    for (;;) {
      labels.push(this.expectIdent('label name').text);
      const t = this.peek();
      if (this.isPunct(t, ')')) {
        this.advance();
        return labels;
      }
      if (!this.isPunct(t, ',')) this.fail(t, '"," or ")"');
      this.advance();
    }
  }

  private labelReplace(): MetricExpr {
    const name = this.advance();
    const open = this.expectPunct('(');
    this.enter(open);
    const expr = this.metric(this.expr());
    const strings: string[] = [];
    for (const what of ['destination label', 'replacement', 'source label', 'regex']) {
      this.expectPunct(',', strings.length === 0 ? 'binary operator or ","' : '","');
      strings.push(this.expectString(`${what} string`).str);
    }
    this.expectPunct(')');
    this.leave();
    const [dst = '', replacement = '', src = '', regex = ''] = strings;
    return { kind: 'LabelReplace', expr, dst, replacement, src, regex, pos: name.pos };
  }

  private vectorLiteral(): MetricExpr {
    const name = this.advance();
    this.expectPunct('(');
    const { value } = this.signedNumber('number');
    this.expectPunct(')');
    return { kind: 'VectorLiteral', value, pos: name.pos };
  }

  // --------------------------------------------------------------- log range

  private logRange(): LogRange {
    const start = this.peek();
    const parts = this.logRangeParts();
    if (parts.rangeMs === undefined) this.fail(this.peek(), parts.query.pipeline.length > 0 ? 'pipeline stage or range such as [5m]' : '"|" or range such as [5m]');
    return { kind: 'LogRange', query: parts.query, rangeMs: parts.rangeMs, ...(parts.offsetMs !== undefined && { offsetMs: parts.offsetMs }), pos: start.pos };
  }

  /** The forms Loki accepts: `{..} [r] offset? stages`, `{..} stages [r] offset?`, and either in parentheses, optionally followed by `[r] offset?`. */
  private logRangeParts(): { query: LogQuery; rangeMs?: number; offsetMs?: number } {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      this.advance();
      this.enter(t);
      const parts = this.logRangeParts();
      this.expectPunct(')', parts.rangeMs === undefined ? 'pipeline stage, range such as [5m] or ")"' : '")"');
      this.leave();
      if (parts.rangeMs === undefined && this.peek().type === 'range') this.rangeAndOffset(parts);
      return parts;
    }
    const selector = this.selector();
    const parts: { query: LogQuery; rangeMs?: number; offsetMs?: number } = { query: { kind: 'LogQuery', selector, pipeline: [], pos: selector.pos ?? START } };
    if (this.peek().type === 'range') this.rangeAndOffset(parts);
    parts.query.pipeline = this.pipeline(true);
    if (parts.rangeMs === undefined && this.peek().type === 'range') this.rangeAndOffset(parts);
    return parts;
  }

  private rangeAndOffset(parts: { rangeMs?: number; offsetMs?: number }): void {
    parts.rangeMs = this.advance().num;
    if (!this.isKeyword(this.peek(), 'offset')) return;
    this.advance();
    const negative = this.isPunct(this.peek(), '-');
    if (negative) this.advance();
    const d = this.peek();
    if (d.type !== 'duration') this.fail(d, 'duration after offset');
    this.advance();
    // -0 would print as 0s and compare unequal to 0 after a round trip.
    parts.offsetMs = negative && d.num !== 0 ? -d.num : d.num;
  }

  // --------------------------------------------------------------- log query

  private logQuery(): LogQuery {
    const selector = this.selector();
    return { kind: 'LogQuery', selector, pipeline: this.pipeline(false), pos: selector.pos ?? START };
  }

  selector(): StreamSelector {
    const open = this.expectPunct('{', 'stream selector');
    const matchers: LabelMatcher[] = [];
    if (this.isPunct(this.peek(), '}')) {
      this.advance();
      return { kind: 'StreamSelector', matchers, pos: open.pos };
    }
    for (;;) {
      matchers.push(this.matcher());
      const t = this.peek();
      if (this.isPunct(t, '}')) {
        this.advance();
        return { kind: 'StreamSelector', matchers, pos: open.pos };
      }
      if (!this.isPunct(t, ',')) this.fail(t, '"," or "}"');
      this.advance();
    }
  }

  private matcher(): LabelMatcher {
    const name = this.expectIdent('label matcher');
    const op = this.peek();
    if (!this.isPunct(op, ...MATCH_OPS)) this.fail(op, 'label matching operator (=, !=, =~, !~)');
    this.advance();
    const value = this.expectString('string');
    return { name: name.text, op: op.text as MatchOp, value: value.str, pos: name.pos };
  }

  private pipeline(inRange: boolean): PipelineStage[] {
    const stages: PipelineStage[] = [];
    let unwrapped = false;
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, ...LINE_FILTER_OPS)) {
        if (unwrapped) this.fail(t, 'label filter (only label filters may follow unwrap)');
        stages.push(this.lineFilter());
      } else if (this.isPunct(t, '|>', '!>')) {
        throw new ParseError(`pattern line filters (${t.text}) are not supported`, t.pos);
      } else if (this.isPunct(t, '|')) {
        this.advance();
        const stage = this.pipeStage(inRange, unwrapped);
        // A stage starts at its pipe; a label filter's predicates keep their own positions.
        stage.pos = t.pos;
        if (stage.kind === 'Unwrap') unwrapped = true;
        stages.push(stage);
      } else {
        return stages;
      }
    }
  }

  private lineFilter(): LineFilter {
    const op = this.advance();
    const first = this.lineFilterTerm();
    const or: LineFilterTerm[] = [];
    while (this.isKeyword(this.peek(), 'or')) {
      this.advance();
      or.push(this.lineFilterTerm());
    }
    return { kind: 'LineFilter', op: op.text as LineFilterOp, value: first.value, or, ...(first.ip && { ip: true }), pos: op.pos };
  }

  private lineFilterTerm(): LineFilterTerm {
    const t = this.peek();
    if (t.type === 'string') {
      this.advance();
      return { value: t.str, pos: t.pos };
    }
    if (this.isKeyword(t, 'ip') && this.isPunct(this.peek(1), '(')) {
      return { value: this.ipCall(), ip: true, pos: t.pos };
    }
    this.fail(t, 'string or ip("...")');
  }

  private ipCall(): string {
    this.advance();
    this.expectPunct('(');
    const value = this.expectString('IP address, range or CIDR string').str;
    this.expectPunct(')');
    return value;
  }

  private pipeStage(inRange: boolean, unwrapped: boolean): PipelineStage {
    const t = this.peek();
    if (t.type === 'ident') {
      const word = t.text.toLowerCase();
      // `| json = "x"` can only be a label filter on a label named json.
      const isStage = STAGE_KEYWORDS.includes(word) && !this.isPunct(this.peek(1), ...FILTER_OPS);
      if (isStage && unwrapped) this.fail(t, 'label filter (only label filters may follow unwrap)');
      if (isStage) return this.keywordStage(word, inRange);
    } else if (!this.isPunct(t, '(')) {
      this.fail(t, unwrapped ? 'label filter' : 'parser, formatter or label filter after "|"');
    }
    return { kind: 'LabelFilter', filter: this.labelOr(), pos: t.pos };
  }

  private keywordStage(word: string, inRange: boolean): PipelineStage {
    const t = this.advance();
    const pos = t.pos;
    switch (word) {
      case 'json':
        return { kind: 'JsonParser', params: this.peek().type === 'ident' ? this.extractions() : [], pos };
      case 'logfmt': {
        let strict = false;
        let keepEmpty = false;
        while (this.peek().type === 'flag') {
          const flag = this.advance();
          if (!LOGFMT_FLAGS.includes(flag.text)) throw new ParseError(`unknown logfmt flag ${describe(flag)}, expected --strict or --keep-empty`, flag.pos);
          if (flag.text === '--strict') strict = true;
          else keepEmpty = true;
        }
        return { kind: 'LogfmtParser', strict, keepEmpty, params: this.peek().type === 'ident' ? this.extractions() : [], pos };
      }
      case 'regexp':
        return { kind: 'RegexpParser', regex: this.expectString('regular expression string').str, pos };
      case 'pattern':
        return { kind: 'PatternParser', pattern: this.expectString('pattern string').str, pos };
      case 'unpack':
        return { kind: 'Unpack', pos };
      case 'decolorize':
        return { kind: 'Decolorize', pos };
      case 'line_format':
        return { kind: 'LineFormat', template: this.expectString('template string').str, pos };
      case 'label_format':
        return { kind: 'LabelFormat', ops: this.commaList(() => this.labelFormatOp()), pos };
      case 'drop':
        return { kind: 'Drop', labels: this.commaList(() => this.namedLabel()), pos };
      case 'keep':
        return { kind: 'Keep', labels: this.commaList(() => this.namedLabel()), pos };
      default:
        return this.unwrap(t, inRange);
    }
  }

  private unwrap(t: Token, inRange: boolean): PipelineStage {
    if (!inRange) throw new ParseError('unwrap is only allowed inside a range aggregation, e.g. sum_over_time({...} | unwrap x [5m])', t.pos);
    const name = this.expectIdent('label name or conversion function after unwrap');
    const conversion = name.text.toLowerCase();
    if (UNWRAP_CONVERSIONS.includes(conversion) && this.isPunct(this.peek(), '(')) {
      this.advance();
      const label = this.expectIdent('label name').text;
      this.expectPunct(')');
      return { kind: 'Unwrap', label, conversion: conversion as UnwrapConversion, pos: t.pos };
    }
    return { kind: 'Unwrap', label: name.text, pos: t.pos };
  }

  private commaList<T>(item: () => T): T[] {
    const items = [item()];
    while (this.isPunct(this.peek(), ',')) {
      this.advance();
      items.push(item());
    }
    return items;
  }

  private extractions(): LabelExtraction[] {
    return this.commaList(() => {
      const label = this.expectIdent('label name');
      if (!this.isPunct(this.peek(), '=')) return { label: label.text, expression: label.text, pos: label.pos };
      this.advance();
      return { label: label.text, expression: this.expectString('quoted expression').str, pos: label.pos };
    });
  }

  private labelFormatOp(): LabelFormatOp {
    const dst = this.expectIdent('label name');
    this.expectPunct('=');
    const v = this.peek();
    if (v.type === 'ident') {
      this.advance();
      return { dst: dst.text, mode: 'rename', value: v.text, pos: dst.pos };
    }
    if (v.type !== 'string') this.fail(v, 'label name or template string');
    this.advance();
    return { dst: dst.text, mode: 'template', value: v.str, pos: dst.pos };
  }

  private namedLabel(): NamedLabel {
    const name = this.expectIdent('label name');
    const op = this.peek();
    if (!this.isPunct(op, ...MATCH_OPS)) return { name: name.text, pos: name.pos };
    this.advance();
    return { name: name.text, op: op.text as MatchOp, value: this.expectString('string').str, pos: name.pos };
  }

  // ------------------------------------------------------------ label filters

  private labelOr(): LabelPredicate {
    let left = this.labelAnd();
    while (this.isKeyword(this.peek(), 'or')) {
      const t = this.advance();
      this.countOperator(t);
      const node: LabelFilterBinary = { kind: 'LabelFilterBinary', op: 'or', left, right: this.labelAnd(), pos: t.pos };
      left = node;
    }
    return left;
  }

  private labelAnd(): LabelPredicate {
    let left = this.labelPrimary();
    for (;;) {
      const t = this.peek();
      const explicit = this.isKeyword(t, 'and') || this.isPunct(t, ',');
      // Loki also reads two filters side by side as `and`.
      const juxtaposed = (t.type === 'ident' && !this.isKeyword(t, 'or')) || this.isPunct(t, '(');
      if (!explicit && !juxtaposed) return left;
      if (explicit) this.advance();
      this.countOperator(t);
      const node: LabelFilterBinary = { kind: 'LabelFilterBinary', op: 'and', left, right: this.labelPrimary(), pos: t.pos };
      left = node;
    }
  }

  private labelPrimary(): LabelPredicate {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      this.advance();
      this.enter(t);
      const inner = this.labelOr();
      this.expectPunct(')', '"and", "or" or ")"');
      this.leave();
      return inner;
    }
    const name = this.expectIdent('label filter').text;
    const opTok = this.peek();
    if (!this.isPunct(opTok, ...FILTER_OPS)) this.fail(opTok, 'comparison operator (=, !=, =~, !~, ==, >, >=, <, <=)');
    this.advance();
    const op = opTok.text;
    const v = this.peek();
    const pos = t.pos;
    if (this.isKeyword(v, 'ip') && this.isPunct(this.peek(1), '(')) {
      if (op !== '=' && op !== '!=') throw new ParseError(`ip() label filters support only = and !=, found ${JSON.stringify(op)}`, opTok.pos);
      return { kind: 'IpFilter', name, op, pattern: this.ipCall(), pos };
    }
    if (v.type === 'string') {
      if (!MATCH_OPS.includes(op)) this.fail(v, `number, duration or bytes value after ${op}`);
      this.advance();
      return { kind: 'LabelMatchFilter', name, op: op as MatchOp, value: v.str, pos };
    }
    if (op === '=~' || op === '!~') this.fail(v, 'string');
    const cmp: CompareOp = op === '=' ? '==' : (op as CompareOp);
    const signed = this.isPunct(v, '-', '+');
    const n = signed ? this.peek(1) : v;
    const negative = signed && v.text === '-';
    if (n.type === 'number' || n.type === 'duration' || (n.type === 'bytes' && !signed)) {
      if (signed) this.advance();
      this.advance();
      if (n.type === 'number') return { kind: 'NumberFilter', name, op: cmp, value: negative ? -n.num : n.num, pos };
      if (n.type === 'bytes') return { kind: 'BytesFilter', name, op: cmp, bytes: n.num, pos };
      return { kind: 'DurationFilter', name, op: cmp, durationMs: negative && n.num !== 0 ? -n.num : n.num, pos };
    }
    this.fail(n, op === '=' || op === '!=' ? 'string, number, duration, bytes or ip("...")' : 'number, duration or bytes value');
  }
}
