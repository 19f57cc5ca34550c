/**
 * The functions a LogQL template can call, with Go's signatures: Loki's
 * own (`ToLower`, `regexReplaceAll`, `count`, `bytes`, `duration`,
 * `unixToTime`, `alignLeft`, `b64dec`, `__line__`, `__timestamp__`, ...),
 * the sprig functions Loki registers (`lower`, `trunc`, `substr`, `add`,
 * `addf`, `round`, `date`, `toDate`, `default`, `fromJson`, ...) and
 * text/template's builtins (`and`, `or`, `not`, `len`, `index`, `slice`,
 * `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `html`,
 * `js`, `urlquery`).
 *
 * Invariants: parameter types are Go's, so the executor rejects what Go
 * rejects (`trunc .x "s"` where `.x` is a string); a function that returns
 * an error in Go throws GoFuncError, a function that panics in Go (`div` by
 * zero, `substr` out of range) throws GoFuncError with Go's runtime message.
 * sprig's byte-based `trunc`/`substr` are kept byte-based, as Loki uses
 * sprig's and not its own rune-based versions.
 */
import { durationSeconds, parseGoDuration, parseHumanBytes } from '../go/units.js';
import { formatValue, sprint, sprintf, sprintln } from '../go/fmt.js';
import { GoRegexp } from '../go/regexp.js';
import { parseGoFloat, parseGoInt } from '../go/strconv.js';
import { GoTime, UTC, ZERO_TIME, formatGoTime, loadLocation, parseGoTime } from '../go/time.js';
import { utf8ByteLength, utf8Decode, utf8Encode } from '../go/utf8.js';
import { GoInt, GoMap, fromJsonValue, goTypeName, isTrue, type GoValue } from '../go/values.js';

/** Meshlog's cap on what one function call may produce (Go would allocate gigabytes for `repeat 1000000000 "x"`). */
const MAX_FUNC_OUTPUT = 1 << 20;

/** A Go error returned (or a panic raised) by a template function; the executor reports `error calling <name>: <message>`. */
export class GoFuncError extends Error {}

/** Parameter types: Go types, `any` for interface{}, `value` for reflect.Value (text/template builtins). */
export type ParamType = 'string' | 'int' | 'int64' | 'float64' | 'bool' | 'time' | 'any' | 'value';

export interface FuncContext {
  /** The log line being processed (`__line__`). */
  line: string;
  /** Its timestamp in nanoseconds (`__timestamp__`). */
  tsNs: bigint;
  /** The evaluation's clock in nanoseconds (`now`). */
  nowNs: bigint;
}

export interface TemplateFunc {
  params: ParamType[];
  variadic?: ParamType;
  fn: (args: Array<GoValue | undefined>, ctx: FuncContext) => GoValue | undefined;
}

const str = (v: GoValue | undefined) => v as string;
const int = (v: GoValue | undefined) => Number((v as GoInt).v);
const time = (v: GoValue | undefined) => v as GoTime;
const i64 = (v: bigint | number) => new GoInt(v, 'int64');
const goint = (v: bigint | number) => new GoInt(v, 'int');

// ------------------------------------------------------ cast (spf13/cast)

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** cast.ToInt64: numbers truncate, strings parse with base 0, bools are 1/0, anything else 0. */
export function toInt64(v: GoValue | undefined): bigint {
  if (v instanceof GoInt) return v.v;
  if (typeof v === 'number') {
    // Go's conversion of NaN and out-of-range floats on amd64 yields the minimum int64.
    if (!Number.isFinite(v) || Math.abs(v) >= 2 ** 63) return -(2n ** 63n);
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'string') {
    const r = parseGoInt(trimZeroDecimal(v), 0);
    return r.ok ? r.value : 0n;
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

/** cast.ToFloat64. */
export function toFloat64(v: GoValue | undefined): number {
  if (typeof v === 'number') return v;
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'string') {
    const r = parseGoFloat(v);
    return r.ok ? r.value : 0;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

// ------------------------------------------- shopspring/decimal (addf ...)

interface Decimal {
  m: bigint;
  e: number;
}

function decimalFromFloat(f: number): Decimal {
  if (!Number.isFinite(f)) throw new GoFuncError(`Cannot create a Decimal from ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
  if (f === 0) return { m: 0n, e: 0 };
  const [mant = '0', exp = '0'] = Math.abs(f).toExponential().split('e');
  const digits = mant.replace('.', '');
  const m = BigInt(digits) * (f < 0 ? -1n : 1n);
  return { m, e: Number(exp) - (digits.length - 1) };
}

function alignDecimals(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.m * 10n ** BigInt(a.e - e), b.m * 10n ** BigInt(b.e - e), e];
}

/** Integer division rounding half away from zero. */
function divRound(num: bigint, den: bigint): bigint {
  const neg = num < 0n !== den < 0n;
  const n = num < 0n ? -num : num;
  const d = den < 0n ? -den : den;
  let q = n / d;
  if ((n % d) * 2n >= d) q += 1n;
  return neg ? -q : q;
}

const DECIMAL_OPS: Record<'add' | 'sub' | 'mul' | 'div', (a: Decimal, b: Decimal) => Decimal> = {
  add: (a, b) => {
    const [x, y, e] = alignDecimals(a, b);
    return { m: x + y, e };
  },
  sub: (a, b) => {
    const [x, y, e] = alignDecimals(a, b);
    return { m: x - y, e };
  },
  mul: (a, b) => ({ m: a.m * b.m, e: a.e + b.e }),
  div: (a, b) => {
    // shopspring's Div rounds to DivisionPrecision (16) decimal places.
    if (b.m === 0n) throw new GoFuncError('decimal division by 0');
    const s = a.e - b.e + 16;
    const num = a.m * 10n ** BigInt(Math.max(0, s));
    const den = b.m * 10n ** BigInt(Math.max(0, -s));
    return { m: divRound(num, den), e: -16 };
  },
};

function decimalOp(op: keyof typeof DECIMAL_OPS, first: GoValue | undefined, rest: Array<GoValue | undefined>): number {
  let acc = decimalFromFloat(toFloat64(first));
  for (const x of rest) acc = DECIMAL_OPS[op](acc, decimalFromFloat(toFloat64(x)));
  return Number(`${acc.m}e${acc.e}`);
}

// ---------------------------------------------------------- strings pkg

const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;
const isGoSpace = (ch: string) => GO_SPACE.test(ch);

function trimFunc(s: string, cut: (ch: string) => boolean, left: boolean, right: boolean): string {
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  if (left) while (a < b && cut(chars[a] as string)) a++;
  if (right) while (b > a && cut(chars[b - 1] as string)) b--;
  return chars.slice(a, b).join('');
}

function goReplace(s: string, old: string, repl: string, n: number): string {
  if (old === repl || n === 0) return s;
  if (old === '') {
    // Inserts at the start and after each rune, up to n times.
    const chars = [...s];
    let out = '';
    let count = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || count < n) {
        out += repl;
        count++;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  if (n < 0) return s.split(old).join(repl);
  let out = '';
  let rest = s;
  for (let i = 0; i < n; i++) {
    const at = rest.indexOf(old);
    if (at < 0) break;
    out += rest.slice(0, at) + repl;
    rest = rest.slice(at + old.length);
  }
  return out + rest;
}

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = /[\p{L}\p{Nd}_]/u.test(prev) ? false : prev.charCodeAt(0) < 0x80 ? true : isGoSpace(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** Byte slice s[from:to] of a Go string, panicking like Go on bad bounds. */
function byteSlice(s: string, from: number, to?: number): string {
  const bytes = utf8Encode(s);
  const end = to ?? bytes.length;
  // Go checks the high bound against the length first, then low <= high.
  if (end > bytes.length) throw new GoFuncError(`runtime error: slice bounds out of range [:${end}] with length ${bytes.length}`);
  if (from < 0 || from > end) throw new GoFuncError(`runtime error: slice bounds out of range [${from}:${end}]`);
  return utf8Decode(bytes, from, end);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Encode(s: string): string {
  const b = utf8Encode(s);
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = ((b[i] as number) << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + (B64[(n >> 12) & 63] as string);
    out += i + 1 < b.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < b.length ? B64[n & 63] : '=';
  }
  return out;
}

/** base64.StdEncoding.DecodeString; the error text is Go's. */
function base64Decode(s: string): { ok: true; value: string } | { ok: false; error: string } {
  const clean = s.replace(/[\r\n]/g, '');
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  let i = 0;
  for (; i < clean.length; i++) {
    const c = clean[i] as string;
    if (c === '=') break;
    const v = B64.indexOf(c);
    if (v < 0) return { ok: false, error: `illegal base64 data at input byte ${i}` };
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  const dataLen = i;
  const padding = clean.length - dataLen;
  if (clean.slice(dataLen).replace(/=/g, '') !== '') return { ok: false, error: `illegal base64 data at input byte ${dataLen + clean.slice(dataLen).search(/[^=]/)}` };
  if ((dataLen + padding) % 4 !== 0 || dataLen % 4 === 1 || (padding > 0 && (dataLen % 4) + padding !== 4)) {
    return { ok: false, error: `illegal base64 data at input byte ${Math.min(clean.length, dataLen - (dataLen % 4 === 1 ? 1 : 0) + (padding > 0 ? padding - 1 : 0))}` };
  }
  return { ok: true, value: utf8Decode(Uint8Array.from(bytes)) };
}

const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

function queryEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    if (UNRESERVED.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else for (const b of utf8Encode(ch)) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function queryUnescape(s: string): GoValue {
  const bytes: number[] = [];
  const src = utf8Encode(s);
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b === 0x25) {
      const hex = String.fromCharCode(src[i + 1] ?? 0, src[i + 2] ?? 0);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        const bad = utf8Decode(src, i, Math.min(i + 3, src.length));
        throw new GoFuncError(`invalid URL escape ${JSON.stringify(bad)}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(b === 0x2b ? 0x20 : b);
  }
  return utf8Decode(Uint8Array.from(bytes));
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case '<':
        out += '\\u003C';
        break;
      case '>':
        out += '\\u003E';
        break;
      case '&':
        out += '\\u0026';
        break;
      case '=':
        out += '\\u003D';
        break;
      default:
        out += cp < 0x20 ? '\\u' + cp.toString(16).toUpperCase().padStart(4, '0') : ch;
    }
  }
  return out;
}

/** text/template's evalArgs for print-like builtins: a single string argument is used as is. */
const evalArgs = (args: Array<GoValue | undefined>) => (args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args));

// ----------------------------------------------------------- comparisons

type Kind = 'bool' | 'int' | 'float' | 'string' | 'other' | 'invalid';

function basicKind(v: GoValue | undefined): Kind {
  if (v === undefined || v === null) return v === undefined ? 'invalid' : 'other';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (v instanceof GoInt) return 'int';
  return 'other';
}

function eq(a: GoValue | undefined, rest: Array<GoValue | undefined>): boolean {
  if (rest.length === 0) throw new GoFuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let truth = false;
    if (k1 !== k2) {
      if (a !== undefined && b !== undefined) throw new GoFuncError('incompatible types for comparison');
    } else {
      switch (k1) {
        case 'int':
          truth = (a as GoInt).v === (b as GoInt).v;
          break;
        case 'other':
          if (a === null || b === null) truth = a === b;
          else if (a instanceof GoTime && b instanceof GoTime) truth = a.unixNs === b.unixNs && a.loc.name === b.loc.name;
          else throw new GoFuncError(`non-comparable type ${formatValue(b)}: ${goTypeName(b)}`);
          break;
        default:
          truth = a === b;
      }
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue | undefined, b: GoValue | undefined): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 !== k2) throw new GoFuncError('incompatible types for comparison');
  switch (k1) {
    case 'int':
      return (a as GoInt).v < (b as GoInt).v;
    case 'float':
      return (a as number) < (b as number);
    case 'string':
      return (a as string) < (b as string);
    default:
      throw new GoFuncError('invalid type for comparison');
  }
}

// ------------------------------------------------------------- catalogue

function fn(params: ParamType[], f: TemplateFunc['fn'], variadic?: ParamType): TemplateFunc {
  return variadic ? { params, variadic, fn: f } : { params, fn: f };
}

function mustRegexp(pattern: string): GoRegexp {
  try {
    return new GoRegexp(pattern);
  } catch (err) {
    throw new GoFuncError(`error parsing regexp: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function unixToTime(epoch: string): GoValue {
  const i = parseGoInt(epoch, 10);
  if (!i.ok) throw new GoFuncError(`unable to parse time '${epoch}': ${i.error}`);
  const n = i.value;
  switch (epoch.length) {
    case 5:
      return new GoTime(n * 86400n * 1_000_000_000n);
    case 10:
      return new GoTime(n * 1_000_000_000n);
    case 13:
      return new GoTime(n * 1_000_000n);
    case 16:
      return new GoTime(n * 1_000n);
    case 19:
      return new GoTime(n);
    default:
      throw new GoFuncError(`unable to parse time '${epoch}': %!w(<nil>)`);
  }
}

function align(count: number, src: string, left: boolean): string {
  if (count > MAX_FUNC_OUTPUT) throw new GoFuncError(`result exceeds ${MAX_FUNC_OUTPUT} characters`);
  const runes = [...src];
  if (count < 0 || count === runes.length) return src;
  const padding = count - runes.length;
  if (padding > 0) return left ? src + ' '.repeat(padding) : ' '.repeat(padding) + src;
  return (left ? runes.slice(0, count) : runes.slice(runes.length - count)).join('');
}

function indent(n: number, s: string): string {
  if (n > MAX_FUNC_OUTPUT) throw new GoFuncError(`result exceeds ${MAX_FUNC_OUTPUT} characters`);
  const pad = ' '.repeat(Math.max(0, n));
  return pad + s.replaceAll('\n', '\n' + pad);
}

function sprigRound(a: GoValue | undefined, places: number, roundOn: number): number {
  const val = toFloat64(a);
  const pow = 10 ** places;
  const digit = pow * val;
  const frac = digit - Math.trunc(digit);
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

export const FUNCTIONS: ReadonlyMap<string, TemplateFunc> = new Map<string, TemplateFunc>([
  // Loki's own (pkg/logql/log/fmt.go), including the deprecated capitalised ones.
  ['ToLower', fn(['string'], ([s]) => str(s).toLowerCase())],
  ['ToUpper', fn(['string'], ([s]) => str(s).toUpperCase())],
  ['Replace', fn(['string', 'string', 'string', 'int'], ([s, o, n, c]) => goReplace(str(s), str(o), str(n), int(c)))],
  ['Trim', fn(['string', 'string'], ([s, c]) => trimFunc(str(s), (ch) => str(c).includes(ch), true, true))],
  ['TrimLeft', fn(['string', 'string'], ([s, c]) => trimFunc(str(s), (ch) => str(c).includes(ch), true, false))],
  ['TrimRight', fn(['string', 'string'], ([s, c]) => trimFunc(str(s), (ch) => str(c).includes(ch), false, true))],
  ['TrimPrefix', fn(['string', 'string'], ([s, p]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)))],
  ['TrimSuffix', fn(['string', 'string'], ([s, p]) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)))],
  ['TrimSpace', fn(['string'], ([s]) => trimFunc(str(s), isGoSpace, true, true))],
  ['regexReplaceAll', fn(['string', 'string', 'string'], ([re, s, r]) => mustRegexp(str(re)).replaceAll(str(s), str(r), false))],
  ['regexReplaceAllLiteral', fn(['string', 'string', 'string'], ([re, s, r]) => mustRegexp(str(re)).replaceAll(str(s), str(r), true))],
  ['count', fn(['string', 'string'], ([re, s]) => goint(mustRegexp(str(re)).countAll(str(s))))],
  ['urldecode', fn(['string'], ([s]) => queryUnescape(str(s)))],
  ['urlencode', fn(['string'], ([s]) => queryEscape(str(s)))],
  [
    'bytes',
    fn(['string'], ([s]) => {
      const r = parseHumanBytes(str(s));
      if (!r.ok) throw new GoFuncError(r.error);
      return r.bytes;
    }),
  ],
  ...(['duration', 'duration_seconds'] as const).map(
    (name) =>
      [
        name,
        fn(['string'], ([s]) => {
          const r = parseGoDuration(str(s));
          if (!r.ok) throw new GoFuncError(r.error);
          return durationSeconds(r.ns);
        }),
      ] as [string, TemplateFunc],
  ),
  ['unixEpochMillis', fn(['time'], ([t]) => time(t).unixMilli().toString())],
  ['unixEpochNanos', fn(['time'], ([t]) => time(t).unixNs.toString())],
  [
    'toDateInZone',
    fn(['string', 'string', 'string'], ([f, z, s]) => {
      const loc = loadLocation(str(z)) ?? UTC;
      return parseGoTime(str(f), str(s), loc) ?? ZERO_TIME;
    }),
  ],
  ['unixToTime', fn(['string'], ([s]) => unixToTime(str(s)))],
  ['alignLeft', fn(['int', 'string'], ([n, s]) => align(int(n), str(s), true))],
  ['alignRight', fn(['int', 'string'], ([n, s]) => align(int(n), str(s), false))],
  [
    'b64dec',
    fn(['string'], ([s]) => {
      let v = str(s);
      // Loki pads input that omits its trailing "=".
      const rem = v.length % 4;
      if (rem !== 0 && rem !== 1) v += '='.repeat(4 - rem);
      const r = base64Decode(v);
      return r.ok ? r.value : r.error;
    }),
  ],
  ['__line__', fn([], (_a, ctx) => ctx.line)],
  ['__timestamp__', fn([], (_a, ctx) => new GoTime(ctx.tsNs))],

  // sprig, as registered by Loki.
  ['b64enc', fn(['string'], ([s]) => base64Encode(str(s)))],
  ['lower', fn(['string'], ([s]) => str(s).toLowerCase())],
  ['upper', fn(['string'], ([s]) => str(s).toUpperCase())],
  ['title', fn(['string'], ([s]) => title(str(s)))],
  [
    'trunc',
    fn(['int', 'string'], ([c, s]) => {
      const n = int(c);
      const len = utf8ByteLength(str(s));
      if (n < 0 && len + n > 0) return byteSlice(str(s), len + n);
      if (n >= 0 && len > n) return byteSlice(str(s), 0, n);
      return str(s);
    }),
  ],
  [
    'substr',
    fn(['int', 'int', 'string'], ([a, b, s]) => {
      const start = int(a);
      const end = int(b);
      const len = utf8ByteLength(str(s));
      if (start < 0) return byteSlice(str(s), 0, end);
      if (end < 0 || end > len) return byteSlice(str(s), start);
      return byteSlice(str(s), start, end);
    }),
  ],
  ['contains', fn(['string', 'string'], ([sub, s]) => str(s).includes(str(sub)))],
  ['hasPrefix', fn(['string', 'string'], ([p, s]) => str(s).startsWith(str(p)))],
  ['hasSuffix', fn(['string', 'string'], ([p, s]) => str(s).endsWith(str(p)))],
  ['indent', fn(['int', 'string'], ([n, s]) => indent(int(n), str(s)))],
  ['nindent', fn(['int', 'string'], ([n, s]) => '\n' + indent(int(n), str(s)))],
  ['replace', fn(['string', 'string', 'string'], ([o, n, s]) => goReplace(str(s), str(o), str(n), -1))],
  [
    'repeat',
    fn(['int', 'string'], ([c, s]) => {
      if (int(c) < 0) throw new GoFuncError('strings: negative Repeat count');
      if (int(c) * str(s).length > MAX_FUNC_OUTPUT) throw new GoFuncError(`result exceeds ${MAX_FUNC_OUTPUT} characters`);
      return str(s).repeat(int(c));
    }),
  ],
  ['trim', fn(['string'], ([s]) => trimFunc(str(s), isGoSpace, true, true))],
  ['trimAll', fn(['string', 'string'], ([c, s]) => trimFunc(str(s), (ch) => str(c).includes(ch), true, true))],
  ['trimSuffix', fn(['string', 'string'], ([p, s]) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)))],
  ['trimPrefix', fn(['string', 'string'], ([p, s]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)))],
  ['int', fn(['any'], ([v]) => goint(toInt64(v)))],
  ['float64', fn(['any'], ([v]) => toFloat64(v))],
  ['add', fn([], (args) => i64(args.reduce((a: bigint, b) => a + toInt64(b), 0n)), 'any')],
  ['sub', fn(['any', 'any'], ([a, b]) => i64(toInt64(a) - toInt64(b)))],
  [
    'div',
    fn(['any', 'any'], ([a, b]) => {
      const d = toInt64(b);
      if (d === 0n) throw new GoFuncError('runtime error: integer divide by zero');
      return i64(toInt64(a) / d);
    }),
  ],
  [
    'mod',
    fn(['any', 'any'], ([a, b]) => {
      const d = toInt64(b);
      if (d === 0n) throw new GoFuncError('runtime error: integer divide by zero');
      return i64(toInt64(a) % d);
    }),
  ],
  ['mul', fn(['any'], ([a, ...rest]) => i64(rest.reduce((x: bigint, y) => x * toInt64(y), toInt64(a))), 'any')],
  ['addf', fn([], (args) => decimalOp('add', 0, args), 'any')],
  ['subf', fn(['any'], ([a, ...rest]) => decimalOp('sub', a, rest), 'any')],
  ['mulf', fn(['any'], ([a, ...rest]) => decimalOp('mul', a, rest), 'any')],
  ['divf', fn(['any'], ([a, ...rest]) => decimalOp('div', a, rest), 'any')],
  ['max', fn(['any'], ([a, ...rest]) => i64(rest.reduce((x: bigint, y) => (toInt64(y) > x ? toInt64(y) : x), toInt64(a))), 'any')],
  ['min', fn(['any'], ([a, ...rest]) => i64(rest.reduce((x: bigint, y) => (toInt64(y) < x ? toInt64(y) : x), toInt64(a))), 'any')],
  ['maxf', fn(['any'], ([a, ...rest]) => rest.reduce((x: number, y) => goMax(x, toFloat64(y)), toFloat64(a)), 'any')],
  ['minf', fn(['any'], ([a, ...rest]) => rest.reduce((x: number, y) => goMin(x, toFloat64(y)), toFloat64(a)), 'any')],
  ['ceil', fn(['any'], ([a]) => Math.ceil(toFloat64(a)))],
  ['floor', fn(['any'], ([a]) => Math.floor(toFloat64(a)))],
  ['round', fn(['any', 'int'], ([a, p, ...opt]) => sprigRound(a, int(p), opt.length > 0 ? (opt[0] as number) : 0.5), 'float64')],
  [
    'fromJson',
    fn(['string'], ([s]) => {
      try {
        return fromJsonValue(JSON.parse(str(s)));
      } catch {
        return null;
      }
    }),
  ],
  [
    'date',
    fn(['string', 'any'], ([f, d]) => {
      let t: GoTime;
      if (d instanceof GoTime) t = d;
      else if (d instanceof GoInt) t = new GoTime(d.v * 1_000_000_000n);
      // sprig formats "now" for anything else.
      else t = new GoTime(BigInt(Date.now()) * 1_000_000n);
      return formatGoTime(new GoTime(t.unixNs, UTC), str(f));
    }),
  ],
  ['toDate', fn(['string', 'string'], ([f, s]) => parseGoTime(str(f), str(s), UTC) ?? ZERO_TIME)],
  ['now', fn([], (_a, ctx) => new GoTime(ctx.nowNs))],
  ['unixEpoch', fn(['time'], ([t]) => time(t).unix().toString())],
  ['default', fn(['any'], ([d, ...given]) => (given.length === 0 || !isTrue(given[0]) ? d : given[0]), 'any')],

  // text/template builtins (and/or are evaluated lazily by the executor).
  ['and', fn(['value'], () => undefined, 'value')],
  ['or', fn(['value'], () => undefined, 'value')],
  ['not', fn(['value'], ([v]) => !isTrue(v))],
  [
    'len',
    fn(['value'], ([v]) => {
      if (typeof v === 'string') return goint(utf8ByteLength(v));
      if (Array.isArray(v)) return goint(v.length);
      if (v instanceof GoMap) return goint(v.entries.size);
      throw new GoFuncError(`len of type ${goTypeName(v)}`);
    }),
  ],
  ['index', fn(['value'], ([item, ...idx]) => index(item, idx), 'value')],
  ['slice', fn(['value'], ([item, ...idx]) => slice(item, idx), 'value')],
  ['print', fn([], (args) => sprint(args), 'any')],
  ['printf', fn(['string'], ([f, ...args]) => sprintf(str(f), args), 'any')],
  ['println', fn([], (args) => sprintln(args), 'any')],
  ['eq', fn(['value'], ([a, ...rest]) => eq(a, rest), 'value')],
  ['ne', fn(['value', 'value'], ([a, b]) => !eq(a, [b]))],
  ['lt', fn(['value', 'value'], ([a, b]) => lt(a, b))],
  ['le', fn(['value', 'value'], ([a, b]) => lt(a, b) || eq(a, [b]))],
  ['gt', fn(['value', 'value'], ([a, b]) => !lt(a, b) && !eq(a, [b]))],
  ['ge', fn(['value', 'value'], ([a, b]) => !lt(a, b))],
  ['html', fn([], (args) => htmlEscape(evalArgs(args)), 'any')],
  ['js', fn([], (args) => jsEscape(evalArgs(args)), 'any')],
  ['urlquery', fn([], (args) => queryEscape(evalArgs(args)), 'any')],
]);

/** math.Max / math.Min: NaN wins, and +0 beats -0. */
function goMax(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  return Math.max(x, y);
}
function goMin(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  return Math.min(x, y);
}

function indexOf(v: GoValue | undefined, len: number, cap = len): number {
  if (!(v instanceof GoInt)) throw new GoFuncError(`cannot index slice/array with type ${goTypeName(v)}`);
  const i = Number(v.v);
  if (i < 0 || i > cap) throw new GoFuncError(`index out of range: ${i}`);
  return i;
}

function index(item: GoValue | undefined, idx: Array<GoValue | undefined>): GoValue | undefined {
  let cur = item;
  for (const i of idx) {
    if (cur === undefined || cur === null) throw new GoFuncError('index of untyped nil');
    if (Array.isArray(cur)) {
      const n = indexOf(i, cur.length);
      if (n >= cur.length) throw new GoFuncError(`index out of range: ${n}`);
      cur = cur[n];
    } else if (typeof cur === 'string') {
      const bytes = utf8Encode(cur);
      const n = indexOf(i, bytes.length);
      if (n >= bytes.length) throw new GoFuncError(`index out of range: ${n}`);
      cur = new GoInt(bytes[n] as number, 'int');
    } else if (cur instanceof GoMap) {
      if (typeof i !== 'string') throw new GoFuncError(`value has type ${goTypeName(i)}; should be string`);
      const v = cur.entries.get(i);
      cur = v !== undefined ? v : cur.elem === 'string' ? '' : null;
    } else throw new GoFuncError(`can't index item of type ${goTypeName(cur)}`);
  }
  return cur;
}

function slice(item: GoValue | undefined, idx: Array<GoValue | undefined>): GoValue | undefined {
  if (idx.length > 3) throw new GoFuncError(`too many slice indexes: ${idx.length}`);
  if (typeof item === 'string') {
    if (idx.length === 3) throw new GoFuncError('cannot 3-index slice a string');
    const len = utf8ByteLength(item);
    const from = idx.length > 0 ? indexOf(idx[0], len) : 0;
    const to = idx.length > 1 ? indexOf(idx[1], len) : len;
    if (from > to) throw new GoFuncError(`invalid slice index: ${from} > ${to}`);
    return byteSlice(item, from, to);
  }
  if (Array.isArray(item)) {
    const from = idx.length > 0 ? indexOf(idx[0], item.length) : 0;
    const to = idx.length > 1 ? indexOf(idx[1], item.length) : item.length;
    if (from > to) throw new GoFuncError(`invalid slice index: ${from} > ${to}`);
    return item.slice(from, to);
  }
  throw new GoFuncError(`can't slice item of type ${goTypeName(item)}`);
}

