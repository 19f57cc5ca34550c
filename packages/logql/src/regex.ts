/**
 * RE2 (Go regexp) syntax checking with the JavaScript engine: a pattern is
 * translated to an equivalent-for-syntax JS `u`-mode pattern, RE2-only
 * constructs are mapped (`(?P<n>`, `(?i)` flag groups, `\z`, `\Q..\E`,
 * `[[:alpha:]]`, `\pL`, `\x{..}`), and what RE2 refuses but JS accepts
 * (look-around, back-references, repeats over 1000) is rejected explicitly.
 *
 * Invariants: `compileRe2` either returns a RegExp or throws an Error whose
 * message says what is wrong; it never hangs (translation is one linear pass
 * and compiling does not run the pattern). The evaluator matches with the
 * result, so `.` and `\s` are translated to RE2's exact sets; flag groups in
 * the middle of a pattern are still dropped rather than scoped (a known
 * difference: `a(?i:b)` matches case-sensitively).
 */

export interface Re2Translation {
  source: string;
  flags: string;
  /** Names of the named capture groups, in order. */
  groupNames: string[];
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Characters that must stay escaped in a JS `u` pattern; other escaped punctuation becomes a plain literal.
const JS_SYNTAX = '^$\\.*+?()[]{}|/';
const GENERAL_CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co Cn LC'.split(' '),
);

/** The pattern as quoted in error messages, shortened so a 64 KiB pattern does not make a 64 KiB message. */
function preview(pattern: string): string {
  return JSON.stringify(pattern.length > 60 ? pattern.slice(0, 60) + '…' : pattern);
}

function literal(ch: string, inClass: boolean): string {
  if (JS_SYNTAX.includes(ch) || (inClass && ch === '-')) return '\\' + ch;
  return ch;
}

function hexEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

class Translator {
  private i = 0;
  private out = '';
  readonly groupNames: string[] = [];
  flags = '';

  constructor(private readonly re: string) {}

  private fail(message: string): never {
    throw new Error(`${message} at position ${this.i} in ${preview(this.re)}`);
  }

  run(): Re2Translation {
    this.leadingFlags();
    while (this.i < this.re.length) this.atom();
    return { source: this.out, flags: this.flags, groupNames: this.groupNames };
  }

  /** `(?is)` at the very start applies to the whole pattern: map it to JS flags. */
  private leadingFlags(): void {
    for (;;) {
      const m = /^\(\?([imsU]*)(?:-([imsU]*))?\)/.exec(this.re.slice(this.i));
      if (!m || m[0] === '(?)' || m[0] === '(?-)') return;
      for (const f of m[1] ?? '') if (f !== 'U' && !this.flags.includes(f)) this.flags += f;
      this.i += m[0].length;
    }
  }

  private atom(): void {
    const re = this.re;
    const ch = re[this.i] as string;
    switch (ch) {
      case '\\':
        this.out += this.escape(false);
        return;
      case '[':
        this.charClass();
        return;
      case '(':
        this.group();
        return;
      case '{': {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(this.i));
        if (m) {
          const min = Number(m[1]);
          const max = m[3] !== undefined && m[3] !== '' ? Number(m[3]) : min;
          if (min > 1000 || max > 1000) this.fail('invalid repeat count (RE2 allows at most 1000)');
          this.out += m[0];
          this.i += m[0].length;
        } else {
          // RE2 reads a "{" that does not start a repeat as a literal.
          this.out += '\\{';
          this.i++;
        }
        return;
      }
      case '}':
      case ']':
        this.out += '\\' + ch;
        this.i++;
        return;
      case '.':
        // RE2's . excludes only \n; JavaScript's also excludes \r, U+2028 and U+2029.
        this.out += this.flags.includes('s') ? '.' : '[^\\n]';
        this.i++;
        return;
      default: {
        const cp = re.codePointAt(this.i) ?? 0;
        const s = String.fromCodePoint(cp);
        this.out += s;
        this.i += s.length;
      }
    }
  }

  private group(): void {
    const rest = this.re.slice(this.i);
    if (!rest.startsWith('(?')) {
      this.out += '(';
      this.i++;
      return;
    }
    const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(rest);
    if (named) {
      const name = named[1] as string;
      if (this.groupNames.includes(name)) this.fail(`duplicate capture group name ${JSON.stringify(name)}`);
      this.groupNames.push(name);
      // Prefixed: RE2 allows names starting with a digit, JS does not.
      this.out += `(?<g_${name}>`;
      this.i += named[0].length;
      return;
    }
    if (rest.startsWith('(?:')) {
      this.out += '(?:';
      this.i += 3;
      return;
    }
    const flags = /^\(\?[imsU]*(?:-[imsU]*)?([:)])/.exec(rest);
    if (flags && flags[0] !== '(?)' && flags[0] !== '(?:' && !flags[0].startsWith('(?-)') && !flags[0].startsWith('(?-:')) {
      // Scoped flags are dropped: they change what matches, not whether the pattern is valid.
      if (flags[1] === ':') this.out += '(?:';
      this.i += flags[0].length;
      return;
    }
    if (/^\(\?(?:=|!|<=|<!)/.test(rest)) this.fail('look-around assertions are not supported by RE2');
    if (rest.startsWith('(?P=')) this.fail('back-references are not supported by RE2');
    this.fail('invalid or unsupported Perl syntax');
  }

  /** Translates the escape at `this.i` (which is a backslash). */
  private escape(inClass: boolean): string {
    const re = this.re;
    const next = re[this.i + 1];
    if (next === undefined) this.fail('trailing backslash');
    this.i += 2;
    switch (next) {
      case 's':
        // RE2's \s is [\t\n\f\r ]; JavaScript's also takes \v and Unicode spaces.
        return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      case 'S':
        return inClass ? '\\S' : '[^\\t\\n\\f\\r ]';
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
        return '\\' + next;
      case 'b':
      case 'B':
        if (inClass) this.fail(`invalid escape \\${next} in character class`);
        return '\\' + next;
      case 'a':
        return '\\x07';
      case 'A':
        if (inClass) this.fail('invalid escape \\A in character class');
        return '(?<![\\s\\S])';
      case 'z':
        if (inClass) this.fail('invalid escape \\z in character class');
        return '(?![\\s\\S])';
      case 'C':
        if (inClass) this.fail('invalid escape \\C in character class');
        return '[\\s\\S]';
      case 'Q': {
        const end = re.indexOf('\\E', this.i);
        const text = end < 0 ? re.slice(this.i) : re.slice(this.i, end);
        this.i = end < 0 ? re.length : end + 2;
        return [...text].map((c) => literal(c, inClass)).join('');
      }
      case 'x': {
        const braced = /^\{([0-9A-Fa-f]+)\}/.exec(re.slice(this.i));
        if (braced) {
          const cp = parseInt(braced[1] as string, 16);
          if (cp > 0x10ffff) this.fail('invalid escape \\x{...}: beyond U+10FFFF');
          this.i += braced[0].length;
          return hexEscape(cp);
        }
        const two = /^[0-9A-Fa-f]{2}/.exec(re.slice(this.i));
        if (!two) this.fail('invalid escape \\x');
        this.i += 2;
        return '\\x' + two[0];
      }
      case 'p':
      case 'P':
        return this.unicodeClass(next === 'P');
      default:
        break;
    }
    if (next >= '0' && next <= '7') {
      // Octal: \0, or \1-\7 followed by more octal digits; a lone \1-\7 would be a back-reference.
      const m = /^[0-7]{0,2}/.exec(re.slice(this.i)) as RegExpExecArray;
      if (next !== '0' && m[0] === '') this.fail('back-references are not supported by RE2');
      this.i += m[0].length;
      return hexEscape(parseInt(next + m[0], 8));
    }
    if (/[A-Za-z0-9]/.test(next)) this.fail(`invalid escape sequence \\${next}`);
    const cp = re.codePointAt(this.i - 1) ?? 0;
    const ch = String.fromCodePoint(cp);
    this.i += ch.length - 1;
    if (cp >= 0x80) this.fail(`invalid escape sequence \\${ch}`);
    return literal(ch, inClass);
  }

  private unicodeClass(negated: boolean): string {
    const re = this.re;
    let name: string;
    if (re[this.i] === '{') {
      const end = re.indexOf('}', this.i);
      if (end < 0) this.fail('missing "}" in \\p{...}');
      name = re.slice(this.i + 1, end);
      this.i = end + 1;
    } else {
      name = re[this.i] ?? '';
      this.i++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (!/^[A-Za-z_]+$/.test(name)) this.fail(`invalid character class range \\p{${name}}`);
    const p = negated ? '\\P' : '\\p';
    if (GENERAL_CATEGORIES.has(name) || name === 'Any') return `${p}{${name}}`;
    return `${p}{Script=${name}}`;
  }

  private charClass(): void {
    const re = this.re;
    let out = '[';
    this.i++;
    if (re[this.i] === '^') {
      out += '^';
      this.i++;
    }
    let first = true;
    for (;;) {
      if (this.i >= re.length) this.fail('missing closing ] in character class');
      const ch = re[this.i] as string;
      if (ch === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (ch === '[' && re[this.i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(re.slice(this.i));
        if (m) {
          const ranges = POSIX_CLASSES[m[2] as string];
          if (ranges === undefined) this.fail(`invalid character class range [:${m[2]}:]`);
          // A negated POSIX class inside a bracket has no JS spelling; any class keeps the check honest.
          out += m[1] === '^' ? '\\W' : ranges;
          this.i += m[0].length;
          continue;
        }
      }
      if (ch === '\\') {
        out += this.escape(true);
        continue;
      }
      if (ch === '[' || ch === ']' || ch === '/' || ch === '{' || ch === '}' || ch === '(' || ch === ')' || ch === '|') {
        out += '\\' + ch;
        this.i++;
        continue;
      }
      const cp = re.codePointAt(this.i) ?? 0;
      const s = String.fromCodePoint(cp);
      out += s;
      this.i += s.length;
    }
    this.out += out + ']';
  }
}

/** Translates RE2 syntax to JavaScript (see the module header). Throws an Error for RE2 syntax errors it detects. */
export function translateRe2(pattern: string): Re2Translation {
  return new Translator(pattern).run();
}

/** Compiles an RE2 pattern with the JS engine. Throws an Error naming the problem when the pattern is not valid RE2. */
export function compileRe2(pattern: string, anchored = false): RegExp {
  const t = translateRe2(pattern);
  const source = anchored ? `^(?:${t.source})$` : t.source;
  try {
    const re = new RegExp(source, t.flags + 'u');
    // V8 compiles lazily: limits such as "regular expression too large" only surface on the first match.
    re.test('');
    return re;
  } catch (err) {
    // V8 repeats the whole pattern in its message; keep only the reason after the last colon.
    const detail = err instanceof Error ? (err.message.split(': ').at(-1) ?? err.message) : String(err);
    throw new Error(`invalid regular expression ${preview(pattern)}: ${detail}`, { cause: err });
  }
}

/** The RE2 syntax error of `pattern`, or undefined when it is valid. */
export function re2Error(pattern: string): string | undefined {
  try {
    compileRe2(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** True when a fully anchored match of `pattern` accepts the empty string (as Prometheus label matchers are anchored). Throws like compileRe2. */
export function matchesEmpty(pattern: string): boolean {
  return compileRe2(pattern, true).test('');
}
