/**
 * Go's fmt for template values: `Sprint` (how a pipeline's result is
 * written, and the `print` function), `Sprintln`, and `Sprintf` (the
 * `printf` function Loki documents, e.g. `printf "%-40.40s" .uri`).
 *
 * Invariants: verbs, flags, width and precision behave as in Go for the
 * value types a template can hold; a verb that does not fit its operand
 * prints Go's diagnostic (`%!d(string=abc)`), a missing operand
 * `%!v(MISSING)`, extra operands `%!(EXTRA string=x)`. Widths and string
 * precisions count runes, as Go does.
 */
import { formatGoFloat, goQuote } from './strconv.js';
import { GoTime, goTimeString } from './time.js';
import { GoInt, GoMap, goTypeName, type GoValue } from './values.js';

const runeLength = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** The `%v` text of a value. */
export function formatValue(v: GoValue | undefined): string {
  if (v === undefined) return '<invalid reflect.Value>';
  if (v === null) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatGoFloat(v, 'g', -1);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof GoInt) return v.v.toString();
  if (v instanceof GoTime) return goTimeString(v);
  if (v instanceof GoMap) return 'map[' + [...v.entries.keys()].sort().map((k) => `${k}:${formatValue(v.entries.get(k))}`).join(' ') + ']';
  return '[' + v.map(formatValue).join(' ') + ']';
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: Array<GoValue | undefined>): string {
  let out = '';
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: always spaces, and a final newline. */
export function sprintln(args: Array<GoValue | undefined>): string {
  return args.map(formatValue).join(' ') + '\n';
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, spec: Spec, numeric = false): string {
  const w = spec.width;
  if (w === undefined) return s;
  const n = runeLength(s);
  if (n >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - n);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? (s[0] as string) : '';
    return sign + '0'.repeat(w - n) + s.slice(sign.length);
  }
  return ' '.repeat(w - n) + s;
}

function bad(verb: string, v: GoValue | undefined): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function formatInt(x: bigint, verb: string, spec: Spec): string {
  const neg = x < 0n;
  const abs = neg ? -x : x;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'd':
    case 'v':
      digits = abs.toString();
      break;
    case 'b':
      digits = abs.toString(2);
      if (spec.sharp) prefix = '0b';
      break;
    case 'o':
      digits = abs.toString(8);
      if (spec.sharp) prefix = '0';
      break;
    case 'O':
      digits = abs.toString(8);
      prefix = '0o';
      break;
    case 'x':
      digits = abs.toString(16);
      if (spec.sharp) prefix = '0x';
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      if (spec.sharp) prefix = '0X';
      break;
    default:
      digits = abs.toString();
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && abs === 0n) digits = '';
    digits = digits.padStart(spec.prec, '0');
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  const body = sign + prefix + digits;
  // A precision disables zero padding, as in Go.
  return pad(body, spec.prec === undefined ? spec : { ...spec, zero: false }, true);
}

function formatFloatVerb(x: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'e':
    case 'E':
      s = formatGoFloat(x, verb, spec.prec ?? 6);
      break;
    case 'f':
    case 'F':
      s = formatGoFloat(x, 'f', spec.prec ?? 6);
      break;
    case 'g':
    case 'G':
      s = formatGoFloat(x, verb, spec.prec ?? -1);
      break;
    default:
      s = formatGoFloat(x, 'g', spec.prec ?? -1);
  }
  if (s === '+Inf' && !spec.plus) s = spec.space ? ' Inf' : '+Inf';
  else if (spec.plus && !s.startsWith('-') && !s.startsWith('+')) s = '+' + s;
  else if (spec.space && !s.startsWith('-') && !s.startsWith('+')) s = ' ' + s;
  const special = /Inf|NaN/.test(s);
  return pad(s, special ? { ...spec, zero: false } : spec, true);
}

function formatString(s: string, verb: string, spec: Spec): string {
  let out = s;
  if (spec.prec !== undefined && (verb === 's' || verb === 'v' || verb === 'q')) out = [...out].slice(0, spec.prec).join('');
  switch (verb) {
    case 'q':
      out = spec.sharp && !out.includes('`') ? '`' + out + '`' : goQuote(out);
      break;
    case 'x':
    case 'X': {
      let hex = '';
      for (const ch of out) {
        const bytes = new TextEncoderLite().encode(ch);
        for (const b of bytes) hex += (spec.space && hex !== '' ? ' ' : '') + b.toString(16).padStart(2, '0');
      }
      out = verb === 'X' ? hex.toUpperCase() : hex;
      break;
    }
  }
  return pad(out, spec);
}

/** Minimal UTF-8 encoder so this module needs no platform TextEncoder. */
class TextEncoderLite {
  encode(ch: string): number[] {
    const cp = ch.codePointAt(0) ?? 0xfffd;
    if (cp < 0x80) return [cp];
    if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
    if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
    return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  }
}

function formatOne(v: GoValue | undefined, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(v === undefined ? '<nil>' : goTypeName(v), spec);
  if (v === null || v === undefined) {
    if (verb === 'v' || verb === 's') return pad('<nil>', spec);
    return bad(verb, v);
  }
  if (Array.isArray(v)) {
    if (verb === 'q' || verb === 'v' || verb === 's' || verb === 'd' || verb === 'x' || verb === 'f' || verb === 'g' || verb === 'e') {
      return '[' + v.map((e) => formatOne(e, verb, spec)).join(' ') + ']';
    }
    return bad(verb, v);
  }
  if (v instanceof GoMap) {
    return 'map[' + [...v.entries.keys()].sort().map((k) => `${formatOne(k, verb, spec)}:${formatOne(v.entries.get(k), verb, spec)}`).join(' ') + ']';
  }
  if (typeof v === 'string') {
    if ('vsqxX'.includes(verb)) return formatString(v, verb, spec);
    return bad(verb, v);
  }
  if (typeof v === 'boolean') {
    if (verb === 'v' || verb === 't') return pad(v ? 'true' : 'false', spec);
    return bad(verb, v);
  }
  if (typeof v === 'number') {
    if ('veEfFgGxX'.includes(verb)) return formatFloatVerb(v, verb === 'x' || verb === 'X' ? 'g' : verb, spec);
    return bad(verb, v);
  }
  if (v instanceof GoInt) {
    if ('vdboOxX'.includes(verb)) return formatInt(v.v, verb, spec);
    if (verb === 'c') return pad(String.fromCodePoint(Number(v.v) >= 0 && Number(v.v) <= 0x10ffff ? Number(v.v) : 0xfffd), spec);
    if (verb === 'q') return pad("'" + goQuote(String.fromCodePoint(Number(v.v) >= 0 && Number(v.v) <= 0x10ffff ? Number(v.v) : 0xfffd)).slice(1, -1).replace(/\\"/g, '"') + "'", spec);
    if (verb === 'U') return pad('U+' + v.v.toString(16).toUpperCase().padStart(4, '0'), spec);
    return bad(verb, v);
  }
  // time.Time is a fmt.Stringer.
  if (verb === 'v' || verb === 's') return pad(goTimeString(v), spec);
  if (verb === 'q') return pad(goQuote(goTimeString(v)), spec);
  return bad(verb, v);
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: Array<GoValue | undefined>): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    let badWidth = false;
    if (format[i] === '*') {
      i++;
      const a = args[argi++];
      if (a instanceof GoInt) {
        spec.width = Number(a.v);
        if (spec.width < 0) {
          spec.minus = true;
          spec.width = -spec.width;
        }
      } else badWidth = true;
    } else {
      const m = /^[0-9]+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    let badPrec = false;
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        if (a instanceof GoInt && a.v >= 0n) spec.prec = Number(a.v);
        else badPrec = true;
      } else {
        const m = /^[0-9]*/.exec(format.slice(i)) as RegExpExecArray;
        spec.prec = Number(m[0] || '0');
        i += m[0].length;
      }
    }
    // Go refuses widths and precisions beyond a million.
    if (spec.width !== undefined && spec.width > 1e6) {
      delete spec.width;
      badWidth = true;
    }
    if (spec.prec !== undefined && spec.prec > 1e6) {
      delete spec.prec;
      badPrec = true;
    }
    if (badWidth) out += '%!(BADWIDTH)';
    if (badPrec) out += '%!(BADPREC)';
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) as number);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(args[argi++], verb, spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${a === undefined || a === null ? '<nil>' : goTypeName(a)}=${formatValue(a)}`).join(', ') + ')';
  }
  return out;
}
