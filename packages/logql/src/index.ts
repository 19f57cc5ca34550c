/**
 * @meshlog/logql: LogQL (Grafana Loki v3) as a pure module shared by the
 * server, the CLI and the web UI: lexer, parser, AST, printer, validator,
 * walker and evaluator. No Node built-ins and no dependencies, so it runs in
 * a browser.
 *
 * Typical use: `const expr = parse(text); const problems = validate(expr);`
 * then compile `expr`, or `evaluate(expr, params, source)` over entries the
 * host streams; `print(expr)` gives canonical text back.
 */
export * from './ast.js';
export { ParseError, ValidationError, ValidationCode } from './errors.js';
export { parse, parseLogQuery, parseMetricQuery, parseSelector, DEFAULT_MAX_QUERY_BYTES, MAX_NESTING, MAX_OPERATORS } from './parser.js';
export type { ParseOptions } from './parser.js';
export { print, printNode, quoteString, formatNumber } from './printer.js';
export { validate, assertValid, patternError } from './validate.js';
export { walk, children, isLogQuery, isMetricQuery, selectorsOf, logQueriesOf, withoutPositions } from './walk.js';
export type { Visitor } from './walk.js';
export { parseDuration, parsePrometheusDuration, formatDuration, isDuration } from './durations.js';
export { parseBytes, formatBytes } from './bytes.js';
export { tokenize, PositionMap } from './lexer.js';
export type { Token, TokenType } from './lexer.js';
export { compileRe2, translateRe2, matchesEmpty } from './regex.js';
export { ipPatternError } from './ip.js';
export * from './eval/index.js';
