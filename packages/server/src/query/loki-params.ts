/**
 * Loki's request parameters, read as Loki reads them (pkg/loghttp): from
 * the URL and, for POST, from a form-encoded body (body values first, as
 * Go's `r.Form`); `start`/`end`/`since` with Loki's defaults; `limit`,
 * `direction`, `step` (default from the range: max(floor(range/250 s), 1 s)),
 * `interval`, and `time` of instant queries. Messages are Loki's where Loki
 * has one, so clients that match on them keep working.
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.js';
import { nowNs, parseDurationMs, parseTimeNs, type TimeRange } from './time-params.js';

export const NS_PER_MS = 1_000_000n;
export const NS_PER_S = 1_000_000_000n;
/** Loki's cap on points per series of a range query. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** The request's parameters: URL query and form body, repeated keys kept. */
export class LokiParams {
  private constructor(private readonly values: URLSearchParams) {}

  static of(req: FastifyRequest): LokiParams {
    const merged = new URLSearchParams();
    const type = String(req.headers['content-type'] ?? '');
    if (req.method === 'POST' && Buffer.isBuffer(req.body) && req.body.length > 0) {
      if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
        throw new ApiError('bad_request', `unsupported content type ${JSON.stringify(type)}: send the parameters form-encoded (application/x-www-form-urlencoded) or in the URL`);
      }
      for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) merged.append(k, v);
    }
    const q = req.url.indexOf('?');
    if (q >= 0) for (const [k, v] of new URLSearchParams(req.url.slice(q + 1))) merged.append(k, v);
    return new LokiParams(merged);
  }

  static from(record: Record<string, string>): LokiParams {
    return new LokiParams(new URLSearchParams(record));
  }

  /** The first value, or undefined when absent or empty (Go's `Form.Get` treats both alike). */
  get(name: string): string | undefined {
    const v = this.values.get(name);
    return v === null || v === '' ? undefined : v;
  }

  all(name: string): string[] {
    return this.values.getAll(name).filter((v) => v !== '');
  }
}

/** `start`, `end`, `since` as Loki's determineBounds: end defaults to now; start to min(end, now) - since (default `defaultSinceMs`). */
export function parseBounds(p: LokiParams, defaultSinceMs = 3_600_000): TimeRange {
  const now = nowNs();
  const sinceText = p.get('since');
  const sinceMs = sinceText !== undefined ? parseDurationMs(sinceText, 'since') : defaultSinceMs;
  const endText = p.get('end');
  const endNs = endText !== undefined ? parseTimeNs(endText, 'end') : now;
  const endOrNow = endNs > now ? now : endNs;
  const startText = p.get('start');
  const startNs = startText !== undefined ? parseTimeNs(startText, 'start') : endOrNow - BigInt(Math.round(sinceMs * 1e6));
  return { startNs, endNs };
}

export function parseRangeBounds(p: LokiParams): TimeRange {
  const r = parseBounds(p);
  if (r.endNs < r.startNs) throw new ApiError('bad_request', 'end timestamp must not be before or equal to start time');
  return r;
}

export function parseLimit(p: LokiParams, def = 100): number {
  const text = p.get('limit');
  if (text === undefined) return def;
  if (!/^-?\d+$/.test(text)) throw new ApiError('bad_request', `invalid limit ${JSON.stringify(text)}: must be a positive integer`);
  const n = Number(text);
  if (n <= 0) throw new ApiError('bad_request', 'limit must be a positive value');
  return n;
}

export function parseDirection(p: LokiParams): 'forward' | 'backward' {
  const text = p.get('direction');
  if (text === undefined) return 'backward';
  const d = text.toLowerCase();
  if (d !== 'forward' && d !== 'backward') throw new ApiError('bad_request', `invalid direction '${text}'`);
  return d;
}

/** Seconds (possibly fractional) or a duration, as Loki's parseSecondsOrDuration; in nanoseconds. */
export function parseSecondsOrDurationNs(text: string, name: string): bigint {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return BigInt(Math.round(Number(text) * 1e9));
  const m = /^(-?)(.*)$/.exec(text)!;
  const ms = parseDurationMs(m[2]!, name);
  const ns = BigInt(Math.round(ms * 1e6));
  return m[1] === '-' ? -ns : ns;
}

/** Loki's default step: max(floor(range in seconds / 250), 1) seconds. */
export function defaultStepNs(range: TimeRange): bigint {
  const seconds = Number(range.endNs - range.startNs) / 1e9;
  return BigInt(Math.max(Math.floor(seconds / 250), 1)) * NS_PER_S;
}

export function parseStep(p: LokiParams, range: TimeRange): bigint {
  const text = p.get('step');
  const step = text === undefined ? defaultStepNs(range) : parseSecondsOrDurationNs(text, 'step');
  if (step <= 0n) throw new ApiError('bad_request', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((range.endNs - range.startNs) / step > BigInt(MAX_POINTS_PER_SERIES)) {
    throw new ApiError('bad_request', 'exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter');
  }
  return step;
}

export function parseInterval(p: LokiParams): bigint {
  const text = p.get('interval');
  if (text === undefined) return 0n;
  const interval = parseSecondsOrDurationNs(text, 'interval');
  if (interval < 0n) throw new ApiError('bad_request', 'interval must be >= 0');
  return interval;
}

/** `time` of an instant query; default now. */
export function parseInstantTime(p: LokiParams): bigint {
  const text = p.get('time');
  return text !== undefined ? parseTimeNs(text, 'time') : nowNs();
}

export function requireQuery(p: LokiParams, name = 'query'): string {
  const text = p.get(name);
  if (text === undefined) throw new ApiError('bad_query', `missing required parameter "${name}"`);
  return text;
}
