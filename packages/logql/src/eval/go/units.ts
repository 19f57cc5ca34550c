/**
 * The unit conversions Loki applies to label values at query time: Go's
 * `time.ParseDuration` (duration label filters, `unwrap duration()`, the
 * `duration` template function) and go-humanize's `ParseBytes` (bytes label
 * filters, `unwrap bytes()`, the `bytes` template function).
 *
 * These differ from the query-literal parsers in ../../durations.ts and
 * ../../bytes.ts on purpose: a label value `1d` is not a Go duration, and
 * `1,024 KB` is a humanize size. Error strings are Go's, because they end up
 * in `__error_details__`.
 */
import { parseGoFloat } from './strconv.js';
import { utf8Encode } from './utf8.js';

const NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_INT64 = 2n ** 63n - 1n;

/** time's quote: ASCII printable kept, other bytes as \x escapes. */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0x80 || cp < 0x20) {
      for (const b of utf8Encode(ch)) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

export type DurationResult = { ok: true; ns: bigint } | { ok: false; error: string };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(orig: string): DurationResult {
  const invalid = (): DurationResult => ({ ok: false, error: `time: invalid duration ${timeQuote(orig)}` });
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ns: 0n };
  if (s === '') return invalid();
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] as string) >= '0' && (s[0] as string) <= '9')) return invalid();
    const intm = /^[0-9]*/.exec(s) as RegExpExecArray;
    const pre = intm[0].length > 0;
    let v = intm[0] === '' ? 0n : BigInt(intm[0]);
    if (v > MAX_INT64) return invalid();
    s = s.slice(intm[0].length);
    let frac = '';
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const fm = /^[0-9]*/.exec(s) as RegExpExecArray;
      frac = fm[0];
      post = frac.length > 0;
      s = s.slice(frac.length);
    }
    if (!pre && !post) return invalid();
    const um = /^[^0-9.]*/.exec(s) as RegExpExecArray;
    if (um[0] === '') return { ok: false, error: `time: missing unit in duration ${timeQuote(orig)}` };
    const unit = NS[um[0]];
    if (unit === undefined) return { ok: false, error: `time: unknown unit ${timeQuote(um[0])} in duration ${timeQuote(orig)}` };
    s = s.slice(um[0].length);
    if (v > 2n ** 63n / unit) return invalid();
    v *= unit;
    if (frac !== '') {
      // Go accumulates at most 19 fraction digits (uint64) and uses float64 for the product.
      let f = 0n;
      let scale = 1;
      let overflow = false;
      for (const c of frac) {
        if (overflow) continue;
        const next = f * 10n + BigInt(c.charCodeAt(0) - 48);
        if (next > 2n ** 63n) {
          overflow = true;
          continue;
        }
        f = next;
        scale *= 10;
      }
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > 2n ** 63n) return invalid();
    }
    d += v;
    if (d > 2n ** 63n) return invalid();
  }
  if (neg) return { ok: true, ns: -d };
  if (d > MAX_INT64) return invalid();
  return { ok: true, ns: d };
}

/** time.Duration.Seconds(). */
export function durationSeconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  const nsec = ns % 1_000_000_000n;
  return Number(sec) + Number(nsec) / 1e9;
}

const SIZES: Readonly<Record<string, number>> = {
  b: 1,
  '': 1,
  kib: 2 ** 10,
  ki: 2 ** 10,
  kb: 1e3,
  k: 1e3,
  mib: 2 ** 20,
  mi: 2 ** 20,
  mb: 1e6,
  m: 1e6,
  gib: 2 ** 30,
  gi: 2 ** 30,
  gb: 1e9,
  g: 1e9,
  tib: 2 ** 40,
  ti: 2 ** 40,
  tb: 1e12,
  t: 1e12,
  pib: 2 ** 50,
  pi: 2 ** 50,
  pb: 1e15,
  p: 1e15,
  eib: 2 ** 60,
  ei: 2 ** 60,
  eb: 1e18,
  e: 1e18,
};

export type BytesResult = { ok: true; bytes: number } | { ok: false; error: string };

/** go-humanize ParseBytes: `42MB`, `1.5 KiB`, `1,024 k`; whole bytes (truncated). */
export function parseHumanBytes(s: string): BytesResult {
  const m = /^[0-9.,]*/.exec(s) as RegExpExecArray;
  const num = m[0].replaceAll(',', '');
  const f = parseGoFloat(num);
  if (!f.ok) return { ok: false, error: f.error };
  const extra = s.slice(m[0].length).trim().toLowerCase();
  const mult = SIZES[extra];
  if (mult === undefined) return { ok: false, error: `unhandled size name: ${extra}` };
  const bytes = f.value * mult;
  if (bytes >= 2 ** 64) return { ok: false, error: `too large: ${s}` };
  return { ok: true, bytes: Math.trunc(bytes) };
}
