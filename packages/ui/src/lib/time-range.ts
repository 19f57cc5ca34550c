/**
 * Time ranges as the URL holds them: `from`/`to` are either relative
 * (`now`, `now-15m`, `now-2d`) or absolute (ISO 8601, or epoch
 * milliseconds). Resolving turns them into nanoseconds for Loki's API at
 * the moment of the query, so a relative range moves with auto-refresh and
 * an absolute one (from a zoom) stays put.
 */

export interface TimeRangeSpec {
  from: string;
  to: string;
}

export interface ResolvedRange {
  startMs: number;
  endMs: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const RELATIVE_CHOICES: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

/** Milliseconds since the epoch of one end, or an Error naming what is wrong with it. */
export function resolveTime(text: string, nowMs: number): number | Error {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^now-(\d+)([smhdw])$/.exec(t);
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d{10,13}$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (Number.isFinite(ms)) return ms;
  return new Error(`"${t}" is not a time: write now, now-15m (s, m, h, d, w), or an ISO time like 2024-05-01T12:00:00Z`);
}

export function resolveRange(spec: TimeRangeSpec, nowMs = Date.now()): ResolvedRange | Error {
  const startMs = resolveTime(spec.from, nowMs);
  if (startMs instanceof Error) return startMs;
  const endMs = resolveTime(spec.to, nowMs);
  if (endMs instanceof Error) return endMs;
  if (startMs >= endMs) return new Error('the start of the range must be before its end');
  return { startMs, endMs };
}

export function isRelative(spec: TimeRangeSpec): boolean {
  return spec.from.startsWith('now') && spec.to.startsWith('now');
}

export function describeRange(spec: TimeRangeSpec): string {
  const choice = RELATIVE_CHOICES.find((c) => c.from === spec.from && spec.to === 'now');
  if (choice) return choice.label;
  const fmt = (s: string): string => {
    const ms = resolveTime(s, Date.now());
    return s.startsWith('now') || ms instanceof Error ? s : formatTime(ms);
  };
  return `${fmt(spec.from)} → ${fmt(spec.to)}`;
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/** Local time, milliseconds shown: log lines are close together. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A step giving about `buckets` buckets over the range, rounded to a readable size. */
export function stepFor(range: ResolvedRange, buckets = 60): number {
  const raw = (range.endMs - range.startMs) / 1000 / buckets;
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  return nice.find((n) => n >= raw) ?? 86400;
}
