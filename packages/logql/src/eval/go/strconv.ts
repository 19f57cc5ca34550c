/**
 * Go's strconv, as far as LogQL needs it: `ParseFloat` (numeric label
 * filters, `unwrap`, template casts), `ParseInt` with base 0 (template
 * casts), `FormatFloat` in the `e`/`f`/`g` formats (sample values are
 * written with `'f', -1`, templates print floats with `%v` = `'g', -1`) and
 * `Quote` (label sets are sorted by their quoted text).
 *
 * Invariants: shortest formatting uses the engine's shortest round-trip
 * digits (the same digits Go's Ryu picks); fixed precision rounds the exact
 * binary value half-to-even as Go does, computed with BigInt, so
 * `%.2f` of 0.125 is "0.12" as in Go, not "0.13" as `toFixed` gives.
 */

export type ParseResult = { ok: true; value: number } | { ok: false; error: string };

function syntaxError(fn: string, s: string): ParseResult {
  return { ok: false, error: `strconv.${fn}: parsing ${goQuote(s)}: invalid syntax` };
}

/** Go's underscoreOK: `_` only between digits, or between a base prefix and a digit. */
function underscoreOK(text: string): boolean {
  let s = text;
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[bBoOxX]/.test(s[1] as string)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

const DECIMAL_FLOAT = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)\.?([0-9a-fA-F_]*)[pP]([+-]?[0-9_]+)$/;

/** strconv.ParseFloat(s, 64): decimal, hex (`0x1p-2`), `inf`/`infinity`/`nan`, underscores per Go syntax. */
export function parseGoFloat(s: string): ParseResult {
  const lower = s.toLowerCase();
  if (/^[+-]?(?:inf|infinity)$/.test(lower)) return { ok: true, value: lower.startsWith('-') ? -Infinity : Infinity };
  if (lower === 'nan') return { ok: true, value: NaN };
  if (s.includes('_') && !underscoreOK(s)) return syntaxError('ParseFloat', s);
  const clean = s.replaceAll('_', '');
  let value: number;
  if (DECIMAL_FLOAT.test(s) && /[0-9]/.test(clean)) {
    value = Number(clean);
  } else {
    const m = HEX_FLOAT.exec(clean);
    if (!m || (m[2] === '' && m[3] === '')) return syntaxError('ParseFloat', s);
    const intPart = m[2] ?? '';
    const frac = m[3] ?? '';
    const mant = BigInt('0x' + (intPart + frac || '0'));
    const exp = Number(m[4]) - 4 * frac.length;
    value = Number(mant) * 2 ** exp;
    if (m[1] === '-') value = -value;
  }
  if (!Number.isFinite(value)) return { ok: false, error: `strconv.ParseFloat: parsing ${goQuote(s)}: value out of range` };
  return { ok: true, value };
}

/** strconv.ParseInt(s, base, 64) for base 0 (prefixes, underscores) or 10. Returns a bigint or an error. */
export function parseGoInt(s: string, base: 0 | 10 = 0): { ok: true; value: bigint } | { ok: false; error: string } {
  const fail = (why: string) => ({ ok: false as const, error: `strconv.ParseInt: parsing ${goQuote(s)}: ${why}` });
  let body = s;
  let negative = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    negative = body[0] === '-';
    body = body.slice(1);
  }
  if (body === '') return fail('invalid syntax');
  let radix = 10;
  if (base === 0) {
    if (s.includes('_') && !underscoreOK(s)) return fail('invalid syntax');
    body = body.replaceAll('_', '');
    if (/^0[xX]/.test(body)) {
      radix = 16;
      body = body.slice(2);
    } else if (/^0[bB]/.test(body)) {
      radix = 2;
      body = body.slice(2);
    } else if (/^0[oO]/.test(body)) {
      radix = 8;
      body = body.slice(2);
    } else if (/^0[0-7]/.test(body)) {
      radix = 8;
      body = body.slice(1);
    }
  }
  const digits = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : radix === 2 ? /^[01]+$/ : /^[0-9]+$/;
  if (!digits.test(body)) return fail('invalid syntax');
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  let value = BigInt(prefix + body);
  if (negative) value = -value;
  if (value > 2n ** 63n - 1n || value < -(2n ** 63n)) return fail('value out of range');
  return { ok: true, value };
}

// ------------------------------------------------------------- formatting

/** Decimal digits of |v| with the decimal point after `dp` digits (Go's decimal type). */
interface Digits {
  d: string;
  dp: number;
}

/** Shortest digits that round-trip, from the engine (same as Go's shortest). */
function shortestDigits(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 };
  const [mant = '0', exp = '0'] = Math.abs(v).toExponential().split('e');
  const d = mant.replace('.', '');
  return { d: d.replace(/0+$/, ''), dp: Number(exp) + 1 };
}

/** The exact decimal expansion of |v| (every double has a finite one). */
function exactDigits(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(v));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp2: number;
  if (biased === 0) exp2 = -1074;
  else {
    mant |= 1n << 52n;
    exp2 = biased - 1075;
  }
  let digits: string;
  let dp: number;
  if (exp2 >= 0) {
    digits = (mant << BigInt(exp2)).toString();
    dp = digits.length;
  } else {
    // mant * 2^exp2 = mant * 5^-exp2 / 10^-exp2
    digits = (mant * 5n ** BigInt(-exp2)).toString();
    dp = digits.length + exp2;
  }
  const trimmed = digits.replace(/0+$/, '');
  const lead = trimmed.length - trimmed.replace(/^0+/, '').length;
  return { d: trimmed.slice(lead), dp: dp - lead };
}

/** Rounds to `nd` significant digits, half to even on exact halves (Go's decimal.Round). */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0 || nd >= x.d.length) return x;
  const next = x.d.charCodeAt(nd) - 48;
  let up = next > 5;
  if (next === 5) {
    const exactHalf = nd + 1 === x.d.length;
    up = !exactHalf || (nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1);
  }
  if (!up) {
    const d = x.d.slice(0, nd).replace(/0+$/, '');
    return { d, dp: d === '' ? 0 : x.dp };
  }
  const arr = x.d.slice(0, nd).split('');
  let i = nd - 1;
  while (i >= 0 && arr[i] === '9') i--;
  if (i < 0) return { d: '1', dp: x.dp + 1 };
  arr[i] = String.fromCharCode((arr[i] as string).charCodeAt(0) + 1);
  return { d: arr.slice(0, i + 1).join(''), dp: x.dp };
}

function digitAt(x: Digits, i: number): string {
  return i >= 0 && i < x.d.length ? (x.d[i] as string) : '0';
}

function fmtE(x: Digits, prec: number, upper: boolean): string {
  let out = x.d === '' ? '0' : digitAt(x, 0);
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(x, i);
  }
  const exp = x.d === '' ? 0 : x.dp - 1;
  const abs = Math.abs(exp);
  return out + (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + abs;
}

function fmtF(x: Digits, prec: number): string {
  let out = '';
  if (x.dp > 0) for (let i = 0; i < x.dp; i++) out += digitAt(x, i);
  else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(x, x.dp + i);
  }
  return out;
}

/** strconv.FormatFloat(v, fmt, prec, 64); prec -1 means shortest. */
export function formatGoFloat(v: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const shortest = prec < 0;
  let x: Digits;
  let body: string;
  if (shortest) {
    x = shortestDigits(v);
  } else {
    const exact = exactDigits(v);
    if (fmt === 'e' || fmt === 'E') x = roundDigits(exact, prec + 1);
    else if (fmt === 'f') x = roundDigits(exact, exact.dp + prec);
    else x = roundDigits(exact, prec === 0 ? 1 : prec);
  }
  switch (fmt) {
    case 'e':
    case 'E':
      body = fmtE(x, shortest ? Math.max(x.d.length - 1, 0) : prec, fmt === 'E');
      break;
    case 'f':
      body = fmtF(x, shortest ? Math.max(x.d.length - x.dp, 0) : prec);
      break;
    default: {
      const nd = x.d.length;
      let p = shortest ? nd : prec === 0 ? 1 : prec;
      let eprec = p;
      if (eprec > nd && nd >= x.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = x.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (p > nd) p = nd;
        body = fmtE(x, p - 1, fmt === 'G');
      } else {
        if (p > x.dp) p = nd;
        body = fmtF(x, Math.max(p - x.dp, 0));
      }
    }
  }
  return neg ? '-' + body : body;
}

/** How Prometheus and Loki write sample values: `'f', -1`, and `NaN`, `+Inf`, `-Inf`. */
export function formatSampleValue(v: number): string {
  return formatGoFloat(v, 'f', -1);
}

// ----------------------------------------------------------------- quoting

function isPrintable(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp >= 0x80 && cp < 0xa0) return false;
  if (cp === 0xad || cp === 0xfeff || cp === 0xfffe || cp === 0xffff) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  if (cp === 0x2028 || cp === 0x2029) return false;
  return true;
}

/** strconv.Quote: double-quoted Go string literal with Go escapes; printable Unicode is kept. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (isPrintable(cp)) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (cp < 0x80) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}
