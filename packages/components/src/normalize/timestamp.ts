/**
 * Timestamps as logs write them, to nanoseconds since the epoch (bigint, the
 * model's unit). Hand-written scanners, no regular expressions and no
 * `Date.parse` (which drops sub-millisecond digits and accepts far more
 * than logs write).
 *
 * Accepted:
 * - RFC 3339 / ISO 8601: `2024-05-01T12:00:00Z`, `...T12:00:00.123456789Z`,
 *   `...+02:00`, `...+0200`, a space or `T` between date and time, `,` or
 *   `.` before the fraction (Python's `2024-05-01 12:00:00,123`); without a
 *   zone the time is taken as UTC (containers log in UTC; a local time
 *   without zone cannot be placed anyway).
 * - Epoch numbers (as numbers or digit strings, optionally with a fraction):
 *   seconds, milliseconds, microseconds or nanoseconds, told apart by
 *   magnitude, as zap (`ts: 1714560000.123`), pino (`time: 1714560000123`)
 *   and others write them.
 *
 * Invariant: anything outside 2000-01-01 .. 2100-01-01 is refused
 * (`undefined`), so a misread number never moves a record decades away.
 */

const MIN_NS = 946_684_800_000_000_000n; // 2000-01-01T00:00:00Z
const MAX_NS = 4_102_444_800_000_000_000n; // 2100-01-01T00:00:00Z
const MIN_S = 946_684_800;
const MAX_S = 4_102_444_800;

function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** RFC 3339 (and the ISO 8601 forms logs use) to ns, or undefined. */
export function parseRfc3339(s: string): bigint | undefined {
  if (s.length < 19 || s.length > 40) return undefined;
  const year = digitsAt(s, 0, 4);
  if (year < 0 || s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45) return undefined;
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  const sep = s.charCodeAt(10);
  if (sep !== 84 /* T */ && sep !== 32 /* space */ && sep !== 116 /* t */) return undefined;
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const second = digitsAt(s, 17, 2);
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return undefined;
  let i = 19;
  let fracNs = 0;
  const dot = s.charCodeAt(i);
  if (dot === 46 /* . */ || dot === 44 /* , */) {
    i++;
    let scale = 100_000_000;
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (scale >= 1) {
        fracNs += c * scale;
        scale /= 10;
      }
      i++;
    }
    if (i === start) return undefined;
  }
  let offsetMin = 0;
  if (i < s.length) {
    const z = s.charCodeAt(i);
    if (z === 90 /* Z */ || z === 122 /* z */) {
      i++;
    } else if (z === 43 /* + */ || z === 45 /* - */) {
      const oh = digitsAt(s, i + 1, 2);
      let om: number;
      let end: number;
      if (s.charCodeAt(i + 3) === 58 /* : */) {
        om = digitsAt(s, i + 4, 2);
        end = i + 6;
      } else {
        om = digitsAt(s, i + 3, 2);
        end = i + 5;
      }
      if (oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
      offsetMin = (oh * 60 + om) * (z === 45 ? -1 : 1);
      i = end;
    } else {
      return undefined;
    }
  }
  if (i !== s.length) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000;
  if (!Number.isFinite(ms)) return undefined;
  const ns = BigInt(ms) * 1_000_000n + BigInt(fracNs);
  return ns >= MIN_NS && ns < MAX_NS ? ns : undefined;
}

/** An epoch number in s, ms, µs or ns (chosen by magnitude) to ns, or undefined. */
export function parseEpoch(v: number): bigint | undefined {
  if (!Number.isFinite(v) || v <= 0) return undefined;
  let seconds: number;
  if (v < 1e11) seconds = v;
  else if (v < 1e14) seconds = v / 1e3;
  else if (v < 1e17) seconds = v / 1e6;
  else seconds = v / 1e9;
  if (seconds < MIN_S || seconds >= MAX_S) return undefined;
  if (v >= 1e17) {
    // Nanoseconds do not fit a double exactly; the caller passes digit strings through parseEpochText.
    return BigInt(Math.round(v));
  }
  const whole = Math.floor(seconds);
  const frac = Math.round((seconds - whole) * 1e6); // µs: what a double holds exactly at this magnitude
  return BigInt(whole) * 1_000_000_000n + BigInt(frac) * 1_000n;
}

/** Digits with an optional fraction (`1714560000`, `1714560000.123456`, 19-digit ns) to ns. */
export function parseEpochText(s: string): bigint | undefined {
  const n = s.length;
  if (n === 0 || n > 24) return undefined;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0) return undefined;
      dot = i;
    } else if (c < 48 || c > 57) return undefined;
  }
  if (dot < 0 && n >= 18) {
    // Whole nanoseconds: exact through BigInt.
    const ns = BigInt(s);
    return ns >= MIN_NS && ns < MAX_NS ? ns : undefined;
  }
  return parseEpoch(Number(s));
}

/** A time field's value, whichever way it was written; undefined when it is no time. */
export function parseTimestamp(v: unknown): bigint | undefined {
  if (typeof v === 'string') {
    const c = v.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      if (v.length >= 19 && v.charCodeAt(4) === 45) return parseRfc3339(v);
      return parseEpochText(v);
    }
    return undefined;
  }
  if (typeof v === 'number') return parseEpoch(v);
  return undefined;
}
