/**
 * The LogQL printer: turns an AST back into canonical query text.
 *
 * Invariants:
 * - `parse(print(ast))` equals `ast` apart from `pos`, and therefore
 *   `print(parse(print(parse(q)))) === print(parse(q))`: printing is a fixed
 *   point. It never reads `pos`.
 * - Output is one line, keywords are lower case, parentheses appear only
 *   where precedence needs them, the range is written at the end of the log
 *   range, and `by`/`without` of vector aggregations comes before the body.
 * - Strings are written in backticks when that avoids escapes (the value
 *   has `\` or `"`, no backtick and no control characters), so regexes stay
 *   readable; otherwise in double quotes with Go escapes.
 */
import type {
  BinaryOp,
  Expr,
  Grouping,
  LabelExtraction,
  LabelPredicate,
  LineFilterTerm,
  LogQuery,
  LogRange,
  MetricExpr,
  NamedLabel,
  Node,
  PipelineStage,
  StreamSelector,
} from './ast.js';
import { BINARY_PRECEDENCE } from './ast.js';
import { formatBytes } from './bytes.js';
import { formatDuration } from './durations.js';

/** Canonical text of a query. */
export function print(expr: Expr): string {
  return printNode(expr);
}

/** Canonical text of any node (a selector, a stage, a label predicate, ...), e.g. for editors and error messages. */
export function printNode(node: Node): string {
  switch (node.kind) {
    case 'StreamSelector':
      return printSelector(node);
    case 'LogQuery':
      return printLogQuery(node);
    case 'LogRange':
      return printLogRange(node);
    case 'LabelMatchFilter':
    case 'NumberFilter':
    case 'DurationFilter':
    case 'BytesFilter':
    case 'IpFilter':
    case 'LabelFilterBinary':
      return printPredicate(node);
    case 'RangeAggregation':
    case 'VectorAggregation':
    case 'BinaryOp':
    case 'LabelReplace':
    case 'NumberLiteral':
    case 'VectorLiteral':
      return printMetric(node);
    default:
      return printStage(node);
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Quotes a string as a LogQL literal (see the module header for the choice of quotes). */
export function quoteString(value: string): string {
  if ((value.includes('\\') || value.includes('"')) && !value.includes('`') && !CONTROL.test(value)) return '`' + value + '`';
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** Number literal text that lexes back to the same double (including -0). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot print non-finite number ${value}`);
  return Object.is(value, -0) ? '-0' : String(value);
}

function printSelector(s: StreamSelector): string {
  return '{' + s.matchers.map((m) => `${m.name}${m.op}${quoteString(m.value)}`).join(', ') + '}';
}

function printLogQuery(q: LogQuery): string {
  return [printSelector(q.selector), ...q.pipeline.map(printStage)].join(' ');
}

function printLogRange(r: LogRange): string {
  const query = printLogQuery(r.query);
  const sep = r.query.pipeline.length > 0 ? ' ' : '';
  const offset = r.offsetMs !== undefined ? ` offset ${formatDuration(r.offsetMs)}` : '';
  return `${query}${sep}[${formatDuration(r.rangeMs)}]${offset}`;
}

function printTerm(t: LineFilterTerm): string {
  return t.ip ? `ip(${quoteString(t.value)})` : quoteString(t.value);
}

function printExtractions(params: LabelExtraction[]): string {
  if (params.length === 0) return '';
  return ' ' + params.map((p) => (p.label === p.expression && IDENTIFIER.test(p.label) ? p.label : `${p.label}=${quoteString(p.expression)}`)).join(', ');
}

function printNamedLabels(labels: NamedLabel[]): string {
  return labels.map((l) => (l.op !== undefined ? `${l.name}${l.op}${quoteString(l.value ?? '')}` : l.name)).join(', ');
}

function printStage(stage: PipelineStage): string {
  switch (stage.kind) {
    case 'LineFilter':
      return `${stage.op} ${printTerm(stage)}` + stage.or.map((t) => ` or ${printTerm(t)}`).join('');
    case 'JsonParser':
      return '| json' + printExtractions(stage.params);
    case 'LogfmtParser':
      return '| logfmt' + (stage.strict ? ' --strict' : '') + (stage.keepEmpty ? ' --keep-empty' : '') + printExtractions(stage.params);
    case 'RegexpParser':
      return `| regexp ${quoteString(stage.regex)}`;
    case 'PatternParser':
      return `| pattern ${quoteString(stage.pattern)}`;
    case 'Unpack':
      return '| unpack';
    case 'Decolorize':
      return '| decolorize';
    case 'LineFormat':
      return `| line_format ${quoteString(stage.template)}`;
    case 'LabelFormat':
      return '| label_format ' + stage.ops.map((o) => `${o.dst}=${o.mode === 'rename' ? o.value : quoteString(o.value)}`).join(', ');
    case 'Drop':
      return '| drop ' + printNamedLabels(stage.labels);
    case 'Keep':
      return '| keep ' + printNamedLabels(stage.labels);
    case 'Unwrap':
      return `| unwrap ${stage.conversion ? `${stage.conversion}(${stage.label})` : stage.label}`;
    case 'LabelFilter':
      return `| ${printPredicate(stage.filter)}`;
  }
}

const PREDICATE_PRECEDENCE = { or: 1, and: 2 } as const;

function printPredicate(p: LabelPredicate): string {
  switch (p.kind) {
    case 'LabelMatchFilter':
      return `${p.name}${p.op}${quoteString(p.value)}`;
    case 'NumberFilter':
      return `${p.name} ${p.op} ${formatNumber(p.value)}`;
    case 'DurationFilter':
      return `${p.name} ${p.op} ${formatDuration(p.durationMs)}`;
    case 'BytesFilter':
      return `${p.name} ${p.op} ${formatBytes(p.bytes)}`;
    case 'IpFilter':
      return `${p.name}${p.op}ip(${quoteString(p.pattern)})`;
    case 'LabelFilterBinary': {
      const prec = PREDICATE_PRECEDENCE[p.op];
      // Left-associative: a right operand of equal precedence needs parentheses to keep its shape.
      const left = p.left.kind === 'LabelFilterBinary' && PREDICATE_PRECEDENCE[p.left.op] < prec ? `(${printPredicate(p.left)})` : printPredicate(p.left);
      const right = p.right.kind === 'LabelFilterBinary' && PREDICATE_PRECEDENCE[p.right.op] <= prec ? `(${printPredicate(p.right)})` : printPredicate(p.right);
      return `${left} ${p.op} ${right}`;
    }
  }
}

function printGrouping(g: Grouping): string {
  return `${g.without ? 'without' : 'by'} (${g.labels.join(', ')})`;
}


function printOperand(child: MetricExpr, parent: BinaryOp, side: 'left' | 'right'): string {
  const text = printMetric(child);
  if (child.kind !== 'BinaryOp') return text;
  const childPrec = BINARY_PRECEDENCE[child.op];
  const parentPrec = BINARY_PRECEDENCE[parent.op];
  const rightAssoc = parent.op === '^';
  const needs = childPrec < parentPrec || (childPrec === parentPrec && (side === 'left' ? rightAssoc : !rightAssoc));
  return needs ? `(${text})` : text;
}

function printMetric(e: MetricExpr): string {
  switch (e.kind) {
    case 'NumberLiteral':
      return formatNumber(e.value);
    case 'VectorLiteral':
      return `vector(${formatNumber(e.value)})`;
    case 'RangeAggregation': {
      const param = e.param !== undefined ? `${formatNumber(e.param)}, ` : '';
      const grouping = e.grouping ? ' ' + printGrouping(e.grouping) : '';
      return `${e.op}(${param}${printLogRange(e.logRange)})${grouping}`;
    }
    case 'VectorAggregation': {
      const grouping = e.grouping ? ` ${printGrouping(e.grouping)} ` : '';
      const param = e.param !== undefined ? `${formatNumber(e.param)}, ` : '';
      return `${e.op}${grouping}(${param}${printMetric(e.expr)})`;
    }
    case 'LabelReplace':
      return `label_replace(${printMetric(e.expr)}, ${[e.dst, e.replacement, e.src, e.regex].map(quoteString).join(', ')})`;
    case 'BinaryOp': {
      let modifiers = e.returnBool ? ' bool' : '';
      if (e.matching) {
        modifiers += ` ${e.matching.on ? 'on' : 'ignoring'}(${e.matching.labels.join(', ')})`;
        // Always with parentheses: a bare group_left followed by "(" would read the right operand as its label list.
        if (e.matching.group) modifiers += ` group_${e.matching.group.side}(${e.matching.group.labels.join(', ')})`;
      }
      return `${printOperand(e.left, e, 'left')} ${e.op}${modifiers} ${printOperand(e.right, e, 'right')}`;
    }
  }
}
