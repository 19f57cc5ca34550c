/**
 * Loki's query-string conventions for time: `start`/`end`/`time` as
 * RFC 3339, Unix seconds (possibly fractional) or Unix nanoseconds; `since`
 * and `step` as durations or seconds.
 */
import { ApiError } from '../http/errors.js';

const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A duration like `1h30m` or `250ms` or plain seconds (`90`), in milliseconds. */
export function parseDurationMs(text: string, name: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  let rest = text;
  let ms = 0;
  while (rest.length > 0) {
    const m = DURATION.exec(rest);
    if (!m) throw new ApiError('bad_request', `invalid duration for ${name}: ${JSON.stringify(text)} (examples: 5m, 1h30m, 250ms)`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return ms;
}

/** A point in time as nanoseconds since the epoch. */
export function parseTimeNs(text: string, name: string): bigint {
  if (/^\d+$/.test(text)) {
    // Loki: up to 10 digits are seconds, more are nanoseconds.
    return text.length <= 10 ? BigInt(text) * 1_000_000_000n : BigInt(text);
  }
  if (/^\d+\.\d+$/.test(text)) {
    const [s, frac = ''] = text.split('.');
    return BigInt(s!) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new ApiError('bad_request', `invalid time for ${name}: ${JSON.stringify(text)} (use RFC 3339, Unix seconds or Unix nanoseconds)`);
  // Keep sub-millisecond digits of RFC 3339 input.
  const frac = /\.(\d+)/.exec(text)?.[1] ?? '';
  const extraNs = frac.length > 3 ? BigInt(frac.slice(3, 9).padEnd(6, '0')) : 0n;
  return BigInt(ms) * 1_000_000n + extraNs;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

/** `start`/`end`/`since` as Loki reads them: end defaults to now, start to end - since (default 1h). */
export function rangeFromQuery(q: Record<string, string | undefined>, defaultSinceMs = 3_600_000): TimeRange {
  const endNs = q['end'] ? parseTimeNs(q['end'], 'end') : nowNs();
  const sinceMs = q['since'] ? parseDurationMs(q['since'], 'since') : defaultSinceMs;
  const startNs = q['start'] ? parseTimeNs(q['start'], 'start') : endNs - BigInt(Math.round(sinceMs * 1e6));
  if (startNs > endNs) throw new ApiError('bad_request', 'invalid time range: start is after end');
  return { startNs, endNs };
}
