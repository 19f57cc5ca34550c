/**
 * User-defined parsers: Loki's `pattern` syntax and regular expressions with
 * named groups.
 *
 * Pattern (as Loki's `| pattern`, grafana/loki pkg/logql/log/pattern): the
 * expression is literals and captures; `<name>` captures (name:
 * `[A-Za-z_][A-Za-z0-9_]*`), `<_>` skips; two captures may not touch; names
 * are unique; at least one named capture. Matching is literal search in
 * order (`indexOf`), so it runs in linear time whatever the input: a leading
 * literal must start the line; each capture takes the text up to the next
 * literal's first occurrence; a capture whose literal never comes takes the
 * rest of the line (Loki's partial match); the last capture takes the rest.
 *
 * Regex: compiled once at build. A regular expression can backtrack
 * exponentially (or polynomially) on a hostile line, which on the ingest path
 * stalls every source. So the config check refuses patterns that
 * redos-detector finds can backtrack (score above its default), unless the
 * dangerous-sounding `allow_backtracking_regex: true` is set, and lines
 * longer than `max_line_length` are never matched.
 */
import { isSafePattern } from 'redos-detector';

export type PatternNode = { literal: string } | { capture: string };

export class PatternSyntaxError extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Parses a Loki pattern expression; throws PatternSyntaxError naming the problem. */
export function parsePattern(expr: string): PatternNode[] {
  const nodes: PatternNode[] = [];
  let lit = '';
  let i = 0;
  while (i < expr.length) {
    if (expr[i] === '<' && i + 1 < expr.length && NAME_START.test(expr[i + 1]!)) {
      let j = i + 2;
      while (j < expr.length && NAME_CHAR.test(expr[j]!)) j++;
      if (expr[j] === '>') {
        if (lit !== '') nodes.push({ literal: lit });
        lit = '';
        nodes.push({ capture: expr.slice(i + 1, j) });
        i = j + 1;
        continue;
      }
    }
    lit += expr[i];
    i++;
  }
  if (lit !== '') nodes.push({ literal: lit });
  const names = new Set<string>();
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k]!;
    if (!('capture' in n)) continue;
    const next = nodes[k + 1];
    if (next && 'capture' in next) throw new PatternSyntaxError(`consecutive captures <${n.capture}><${next.capture}> are not allowed: put a literal between them`);
    if (n.capture === '_') continue;
    if (names.has(n.capture)) throw new PatternSyntaxError(`duplicate capture name <${n.capture}>`);
    names.add(n.capture);
  }
  if (names.size === 0) throw new PatternSyntaxError('a pattern needs at least one named capture, e.g. <ip> - <_> [<ts>]');
  return nodes;
}

/** A compiled pattern: matches a line and hands each named capture to `onCapture`. */
export class PatternMatcher {
  private readonly leading: string;
  /** Alternating capture names ('' for `<_>`) and the literal that ends each ('' = rest of line). */
  private readonly captures: string[] = [];
  private readonly literals: string[] = [];

  constructor(expr: string) {
    const nodes = parsePattern(expr);
    let k = 0;
    const first = nodes[0]!;
    this.leading = 'literal' in first ? first.literal : '';
    if ('literal' in first) k = 1;
    for (; k < nodes.length; k += 2) {
      const c = nodes[k]!;
      const l = nodes[k + 1];
      this.captures.push('capture' in c && c.capture !== '_' ? c.capture : '');
      this.literals.push(l && 'literal' in l ? l.literal : '');
    }
  }

  /** Whether the line matched; captures are reported as they are found. */
  match(line: string, onCapture: (name: string, value: string) => void): boolean {
    let at = 0;
    if (this.leading !== '') {
      if (!line.startsWith(this.leading)) return false;
      at = this.leading.length;
    }
    for (let k = 0; k < this.captures.length; k++) {
      const name = this.captures[k]!;
      const lit = this.literals[k]!;
      if (lit === '') {
        if (name !== '') onCapture(name, line.slice(at));
        return true;
      }
      const i = line.indexOf(lit, at);
      if (i < 0) {
        if (name !== '') onCapture(name, line.slice(at));
        return true;
      }
      if (name !== '') onCapture(name, line.slice(at, i));
      at = i + lit.length;
    }
    return true;
  }
}

const GROUP_NAME = /\(\?<([A-Za-z_$][\w$]*)>/g;

export interface CompiledRegex {
  regex: RegExp;
  names: string[];
}

/**
 * Compiles a user regex with named groups. Throws an Error whose message says
 * what is wrong (syntax, no named group, or possible catastrophic
 * backtracking and how to avoid it).
 */
export function compileUserRegex(source: string, allowBacktracking: boolean): CompiledRegex {
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'u');
  } catch (err) {
    throw new Error(`invalid regular expression: ${(err as Error).message}`, { cause: err });
  }
  const names = [...source.matchAll(GROUP_NAME)].map((m) => m[1]!);
  if (names.length === 0) throw new Error('the regex needs at least one named group, e.g. (?<status>\\d{3})');
  if (!allowBacktracking) {
    if (source.includes('\\k<')) throw new Error('named back-references (\\k<name>) cannot be checked for catastrophic backtracking; remove them or set allow_backtracking_regex: true');
    // redos-detector's parser does not take group names: strip them (the analysis does not depend on them).
    const anonymous = source.replace(/\(\?<(?![=!])[A-Za-z_$][\w$]*>/g, '(');
    let result: ReturnType<typeof isSafePattern>;
    try {
      result = isSafePattern(anonymous, { unicode: true, timeout: 2000 });
    } catch (err) {
      throw new Error(`the regex could not be checked for catastrophic backtracking (${(err as Error).message}); simplify it or set allow_backtracking_regex: true`, { cause: err });
    }
    if (!result.safe) {
      throw new Error(
        'the regex can backtrack catastrophically on some lines (redos-detector: ' +
          (result.error === 'timedOut' ? 'analysis timed out' : 'unbounded backtracking') +
          '), which would stall ingest; make adjacent parts unable to match the same text ' +
          '(e.g. `(?<a>\\S+) (?<b>\\S+)` instead of `(?<a>.*) (?<b>.*)`), use `pattern`, or set allow_backtracking_regex: true',
      );
    }
  }
  return { regex, names };
}
