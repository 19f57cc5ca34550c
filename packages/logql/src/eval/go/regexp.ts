/**
 * Go `regexp` behaviour on top of the JavaScript engine: RE2 syntax is
 * translated by ../../regex.ts, and the iteration rules that differ between
 * the two are reimplemented here: `ReplaceAllString` and `FindAllIndex`
 * skip an empty match that abuts the previous match (JavaScript does not),
 * and replacement templates use Go's `Expand` (`$1`, `${name}`, `$name` is
 * as long as possible, `$$`), not JavaScript's `$<name>` rules.
 *
 * Invariant: group numbers are RE2's (every capturing group, left to right),
 * which are also JavaScript's for the translated pattern.
 */
import { compileRe2 } from '../../regex.js';

/** Names of the capture groups of a translated JS pattern by group number (index 0 unused). */
function groupNamesOf(source: string): Array<string | undefined> {
  const names: Array<string | undefined> = [undefined];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') {
      if (source[i + 1] !== '?') names.push(undefined);
      else if (source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') {
        const end = source.indexOf('>', i);
        // The translator prefixes names with g_ (RE2 allows names JavaScript does not).
        names.push(source.slice(i + 3, end).replace(/^g_/, ''));
      }
    }
  }
  return names;
}

export type Submatch = Array<string | undefined>;

export class GoRegexp {
  readonly source: string;
  private readonly re: RegExp;
  private readonly global: RegExp;
  /** Group names by group number; index 0 is the whole match. */
  readonly groupNames: ReadonlyArray<string | undefined>;

  /** Compiles RE2 `pattern`; `anchored` wraps it in `^(?:...)$` as Prometheus label matchers are. Throws an Error naming the problem. */
  constructor(pattern: string, anchored = false) {
    this.source = pattern;
    this.re = compileRe2(pattern, anchored);
    this.global = new RegExp(this.re.source, this.re.flags + 'g');
    this.groupNames = groupNamesOf(this.re.source);
  }

  get numSubexp(): number {
    return this.groupNames.length - 1;
  }

  test(s: string): boolean {
    return this.re.test(s);
  }

  /** FindStringSubmatch: undefined entries for groups that did not participate. */
  findSubmatch(s: string): Submatch | null {
    const m = this.re.exec(s);
    return m ? Array.from(m) : null;
  }

  /** Visits successive non-overlapping matches the way Go's allMatches/replaceAll do. */
  private each(s: string, visit: (m: RegExpExecArray, accept: boolean) => void, skipAbutting: 'all' | 'replace'): void {
    const re = this.global;
    let searchPos = 0;
    let prevEnd = -1;
    while (searchPos <= s.length) {
      re.lastIndex = searchPos;
      const m = re.exec(s);
      if (!m) break;
      const start = m.index;
      const end = start + m[0].length;
      const accept = skipAbutting === 'all' ? !(end === searchPos && start === prevEnd) : end > prevEnd || start === 0;
      visit(m, accept);
      const cp = s.codePointAt(searchPos);
      const width = cp === undefined ? 1 : cp > 0xffff ? 2 : 1;
      if (skipAbutting === 'all') {
        searchPos = end === searchPos ? searchPos + width : end;
      } else if (searchPos + width > end) searchPos += width;
      else searchPos = end;
      prevEnd = end;
    }
  }

  /** len(FindAllStringIndex(s, -1)). */
  countAll(s: string): number {
    let n = 0;
    this.each(s, (_m, accept) => {
      if (accept) n++;
    }, 'all');
    return n;
  }

  /** ReplaceAllString (Expand templates) or ReplaceAllLiteralString. */
  replaceAll(s: string, repl: string, literal: boolean): string {
    let out = '';
    let last = 0;
    this.each(s, (m, accept) => {
      out += s.slice(last, m.index);
      if (accept) out += literal ? repl : this.expand(repl, m);
      last = m.index + m[0].length;
    }, 'replace');
    return out + s.slice(last);
  }

  /** Go's Regexp.ExpandString for one match. */
  expand(template: string, m: ArrayLike<string | undefined>): string {
    let out = '';
    let t = template;
    for (;;) {
      const dollar = t.indexOf('$');
      if (dollar < 0) break;
      out += t.slice(0, dollar);
      t = t.slice(dollar + 1);
      if (t.startsWith('$')) {
        out += '$';
        t = t.slice(1);
        continue;
      }
      const ref = extractRef(t);
      if (!ref) {
        out += '$';
        continue;
      }
      t = ref.rest;
      const idx = ref.num >= 0 ? ref.num : this.groupNames.findIndex((n, i) => i > 0 && n === ref.name);
      if (idx >= 0 && idx < m.length) out += m[idx] ?? '';
    }
    return out + t;
  }
}

/** Go's regexp `extract`: `name` or `{name}` after a `$`. */
function extractRef(t: string): { name: string; num: number; rest: string } | undefined {
  if (t === '') return undefined;
  let brace = false;
  let s = t;
  if (s[0] === '{') {
    brace = true;
    s = s.slice(1);
  }
  const m = /^[\p{L}\p{Nd}_]+/u.exec(s);
  if (!m) return undefined;
  const name = m[0];
  let rest = s.slice(name.length);
  if (brace) {
    if (!rest.startsWith('}')) return undefined;
    rest = rest.slice(1);
  }
  let num = -1;
  if (/^[0-9]+$/.test(name) && name.length < 10) num = Number(name);
  return { name, num, rest };
}
