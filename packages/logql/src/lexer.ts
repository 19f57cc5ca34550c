/**
 * The LogQL lexer: turns query text into tokens, one at a time, each with its
 * position. It is context-free; the parser decides what an identifier means
 * (LogQL keywords are contextual and case-insensitive, so `{by="x"}` is a
 * label named `by` while `sum by (x)` groups).
 *
 * Invariants:
 * - Every error is a ParseError at the offending character, and the lexer
 *   never throws anything else.
 * - Strings are decoded here (Go escapes in "...", none in `...`), so the
 *   parser only sees values; `raw` remembers which quote was used.
 * - A number glued to letters is classified as a whole (`5m` is a duration,
 *   `10KB` bytes, `0x1f` a number); one that is none of these is an error
 *   rather than two tokens, which keeps `5mb` from silently meaning `5m b`.
 * - `[...]` is one token (a range) whose content must be a Prometheus
 *   duration, as in Loki.
 */
import type { Pos } from './ast.js';
import { isBytesLiteral, parseBytes } from './bytes.js';
import { isDuration, parseDuration, parsePrometheusDuration } from './durations.js';
import { ParseError } from './errors.js';

export type TokenType = 'ident' | 'string' | 'number' | 'duration' | 'bytes' | 'range' | 'flag' | 'punct' | 'eof';

export interface Token {
  type: TokenType;
  /** The source text of the token (for `eof`, the empty string). */
  text: string;
  pos: Pos;
  /** Offset just past the token. */
  end: number;
  /** Decoded value of a `string` token. */
  str: string;
  /** Value of `number`, `bytes` tokens; milliseconds for `duration` and `range` tokens. */
  num: number;
  /** A `string` token written with backticks. */
  raw: boolean;
}

// Longest first, so `|=` wins over `|` and `>=` over `>`.
const PUNCTUATION = ['|=', '|~', '|>', '!=', '!~', '!>', '=~', '==', '>=', '<=', '{', '}', '(', ')', ',', '|', '=', '>', '<', '+', '-', '*', '/', '%', '^', ']', '.'];

/** Maps offsets to 1-based line and column. Columns count UTF-16 code units, like browser editors. */
export class PositionMap {
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  at(offset: number): Pos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, column: offset - (this.lineStarts[lo] ?? 0) + 1 };
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHexDigit = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isLetter = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const isIdentStart = (c: number): boolean => isLetter(c) || c === 95;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c);
// µ (U+00B5) and μ (U+03BC) appear in Go durations (`5µs`).
const isUnitPart = (c: number): boolean => isLetter(c) || isDigit(c) || c === 46 || c === 0xb5 || c === 0x3bc;

const PLAIN_NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export class Lexer {
  private offset = 0;
  private readonly positions: PositionMap;

  constructor(private readonly text: string) {
    this.positions = new PositionMap(text);
  }

  posAt(offset: number): Pos {
    return this.positions.at(offset);
  }

  next(): Token {
    this.skipSpaceAndComments();
    const start = this.offset;
    const text = this.text;
    if (start >= text.length) return this.token('eof', start, start);
    const c = text.charCodeAt(start);

    if (c === 34) return this.doubleQuoted(start);
    if (c === 96) return this.backtickQuoted(start);
    if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(start + 1)))) return this.numeric(start);
    if (isIdentStart(c)) {
      let i = start + 1;
      while (i < text.length && isIdentPart(text.charCodeAt(i))) i++;
      return this.token('ident', start, i);
    }
    if (c === 91) return this.range(start);
    if (c === 45 && text.charCodeAt(start + 1) === 45 && isLetter(text.charCodeAt(start + 2))) {
      // `--strict`, `--keep-empty`: logfmt flags. `1 --1` still lexes as minus, minus, number.
      let i = start + 2;
      while (i < text.length && (isLetter(text.charCodeAt(i)) || text.charCodeAt(i) === 45)) i++;
      return this.token('flag', start, i);
    }
    for (const p of PUNCTUATION) {
      if (text.startsWith(p, start)) return this.token('punct', start, start + p.length);
    }
    const ch = String.fromCodePoint(text.codePointAt(start) ?? c);
    throw new ParseError(`unexpected character ${JSON.stringify(ch)}`, this.posAt(start));
  }

  private token(type: TokenType, start: number, end: number, str = '', num = 0, raw = false): Token {
    this.offset = end;
    return { type, text: this.text.slice(start, end), pos: this.posAt(start), end, str, num, raw };
  }

  private skipSpaceAndComments(): void {
    const text = this.text;
    while (this.offset < text.length) {
      const c = text.charCodeAt(this.offset);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        this.offset++;
      } else if (c === 35) {
        // `#` comments run to the end of the line, as in Loki.
        while (this.offset < text.length && text.charCodeAt(this.offset) !== 10) this.offset++;
      } else {
        return;
      }
    }
  }

  private numeric(start: number): Token {
    const text = this.text;
    let i = start;
    if (text.charCodeAt(i) === 48 && (text[i + 1] === 'x' || text[i + 1] === 'X') && isHexDigit(text.charCodeAt(i + 2))) {
      i += 2;
      while (i < text.length && isHexDigit(text.charCodeAt(i))) i++;
      if (i < text.length && isUnitPart(text.charCodeAt(i))) {
        while (i < text.length && isUnitPart(text.charCodeAt(i))) i++;
        throw new ParseError(`invalid number ${JSON.stringify(text.slice(start, i))}`, this.posAt(start));
      }
      return this.finite(start, i, parseInt(text.slice(start + 2, i), 16));
    }
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 46) {
      i++;
      while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    }
    const e = text[i];
    if (e === 'e' || e === 'E') {
      const sign = text[i + 1] === '+' || text[i + 1] === '-' ? 1 : 0;
      if (isDigit(text.charCodeAt(i + 1 + sign))) {
        i += 1 + sign;
        while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      }
    }
    // Units are glued to the number: take the whole run and classify it.
    while (i < text.length && isUnitPart(text.charCodeAt(i))) i++;
    const literal = text.slice(start, i);
    if (PLAIN_NUMBER.test(literal)) return this.finite(start, i, Number(literal));
    if (isDuration(literal)) return this.token('duration', start, i, '', parseDuration(literal));
    if (isBytesLiteral(literal)) {
      try {
        return this.token('bytes', start, i, '', parseBytes(literal));
      } catch {
        // Falls through to the error below: a bytes value beyond 2^53.
      }
    }
    throw new ParseError(`invalid number, duration or bytes literal ${JSON.stringify(literal)}`, this.posAt(start));
  }

  private finite(start: number, end: number, value: number): Token {
    if (!Number.isFinite(value)) throw new ParseError(`number ${this.text.slice(start, end)} is out of range`, this.posAt(start));
    return this.token('number', start, end, '', value);
  }

  private range(start: number): Token {
    const close = this.text.indexOf(']', start + 1);
    if (close < 0) throw new ParseError('missing closing "]" in range', this.posAt(start));
    const inner = this.text.slice(start + 1, close).trim();
    let ms: number;
    try {
      ms = parsePrometheusDuration(inner);
    } catch {
      throw new ParseError(`invalid range ${JSON.stringify(inner)}, expected a duration like [5m]`, this.posAt(start));
    }
    return this.token('range', start, close + 1, '', ms);
  }

  private backtickQuoted(start: number): Token {
    const text = this.text;
    let out = '';
    for (let i = start + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 96) return this.token('string', start, i + 1, out, 0, true);
      this.checkSurrogate(i);
      // Go drops carriage returns from raw strings; so does Loki.
      if (c !== 13) out += text[i];
    }
    throw new ParseError('unterminated raw string literal', this.posAt(start));
  }

  private doubleQuoted(start: number): Token {
    const text = this.text;
    let out = '';
    // Octal and \x escapes are bytes, as in Go; consecutive ones are decoded together as UTF-8.
    let bytes: number[] = [];
    let bytesAt = start;
    const flush = (): void => {
      if (bytes.length === 0) return;
      const decoded = decodeUtf8(bytes);
      if (decoded === undefined) throw new ParseError('invalid UTF-8 in string escapes', this.posAt(bytesAt));
      out += decoded;
      bytes = [];
    };
    let i = start + 1;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        flush();
        return this.token('string', start, i + 1, out);
      }
      if (c === 10) break;
      if (c !== 92) {
        flush();
        this.checkSurrogate(i);
        out += text[i];
        i++;
        continue;
      }
      const escAt = i;
      const e = text[i + 1];
      if (e === undefined) break;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        flush();
        out += simple;
        i += 2;
      } else if (e >= '0' && e <= '7') {
        const digits = text.slice(i + 1, i + 4);
        if (!/^[0-7]{3}$/.test(digits) || parseInt(digits, 8) > 255) throw new ParseError(`invalid octal escape "\\${digits}"`, this.posAt(escAt));
        if (bytes.length === 0) bytesAt = escAt;
        bytes.push(parseInt(digits, 8));
        i += 4;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const digits = text.slice(i + 2, i + 2 + n);
        if (digits.length !== n || ![...digits].every((d) => isHexDigit(d.charCodeAt(0)))) {
          throw new ParseError(`invalid escape "\\${e}${digits}", expected ${n} hex digits`, this.posAt(escAt));
        }
        const value = parseInt(digits, 16);
        if (e === 'x') {
          if (bytes.length === 0) bytesAt = escAt;
          bytes.push(value);
        } else {
          if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
            throw new ParseError(`escape "\\${e}${digits}" is not a valid Unicode code point`, this.posAt(escAt));
          }
          flush();
          out += String.fromCodePoint(value);
        }
        i += 2 + n;
      } else {
        throw new ParseError(`invalid escape sequence "\\${e}" in string`, this.posAt(escAt));
      }
    }
    throw new ParseError('unterminated string literal', this.posAt(start));
  }

  /** Lone UTF-16 surrogates are the JavaScript form of invalid UTF-8, which Loki rejects. */
  private checkSurrogate(i: number): void {
    const c = this.text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) return;
    const valid =
      c <= 0xdbff ? isLowSurrogate(this.text.charCodeAt(i + 1)) : i > 0 && this.text.charCodeAt(i - 1) >= 0xd800 && this.text.charCodeAt(i - 1) <= 0xdbff;
    if (!valid) throw new ParseError('invalid Unicode (lone surrogate) in string', this.posAt(i));
  }
}

const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** Strict UTF-8 decoding (no overlongs, surrogates or values past U+10FFFF); undefined when invalid. */
function decodeUtf8(bytes: readonly number[]): string | undefined {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] ?? 0;
    let need: number;
    let cp: number;
    let min: number;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i++;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      return undefined;
    }
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** All tokens of `text` up to and excluding end of input; throws ParseError on the first lexical error. Handy for syntax highlighting. */
export function tokenize(text: string): Token[] {
  const lexer = new Lexer(text);
  const out: Token[] = [];
  for (let t = lexer.next(); t.type !== 'eof'; t = lexer.next()) out.push(t);
  return out;
}
