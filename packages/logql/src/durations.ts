/**
 * Duration literals, as Loki reads them: Prometheus style first (`1y2w3d4h5m6s7ms`,
 * units in that order, integers only), then Go style (`1.5h`, `250us`, `-3m`,
 * units `h m s ms us µs ns`, fractions and a sign allowed). Ranges (`[5m]`)
 * accept only the Prometheus style.
 *
 * Invariants: values are computed exactly in integer nanoseconds (BigInt)
 * and converted to milliseconds once; for every value `parseDuration` can
 * return, `parseDuration(formatDuration(ms)) === ms`, which is what lets
 * the printer round-trip durations without keeping their source text.
 */

const NS_PER_MS = 1_000_000n;
/** Go's time.Duration is an int64 of nanoseconds; Loki cannot represent more. */
const MAX_NS = 2n ** 63n - 1n;

const PROM_UNITS_MS: ReadonlyArray<readonly [string, bigint]> = [
  ['y', 365n * 24n * 3_600_000n],
  ['w', 7n * 24n * 3_600_000n],
  ['d', 24n * 3_600_000n],
  ['h', 3_600_000n],
  ['m', 60_000n],
  ['s', 1_000n],
  ['ms', 1n],
];

const GO_UNITS_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 MICRO SIGN
  'μs': 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

// The same shape Prometheus accepts: each unit at most once, largest first.
const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Prometheus-style duration in nanoseconds, or undefined when `text` is not one. */
function prometheusNs(text: string): bigint | undefined {
  if (text === '0') return 0n;
  if (text === '') return undefined;
  const m = PROM_DURATION.exec(text);
  if (!m) return undefined;
  let ms = 0n;
  PROM_UNITS_MS.forEach(([, unitMs], i) => {
    const digits = m[i + 1];
    if (digits !== undefined) ms += BigInt(digits) * unitMs;
  });
  const ns = ms * NS_PER_MS;
  return ns > MAX_NS ? undefined : ns;
}

/** Go time.ParseDuration in nanoseconds (signed), or undefined when `text` is not one. */
function goNs(text: string): bigint | undefined {
  let i = 0;
  let negative = false;
  if (text[i] === '-' || text[i] === '+') {
    negative = text[i] === '-';
    i++;
  }
  if (text.slice(i) === '0') return 0n;
  if (i === text.length) return undefined;
  let total = 0n;
  while (i < text.length) {
    const intStart = i;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    const intDigits = text.slice(intStart, i);
    let fracDigits = '';
    if (text[i] === '.') {
      i++;
      const fracStart = i;
      while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      fracDigits = text.slice(fracStart, i);
    }
    if (intDigits === '' && fracDigits === '') return undefined;
    const unitStart = i;
    while (i < text.length && text[i] !== '.' && !isDigit(text.charCodeAt(i))) i++;
    const unit = GO_UNITS_NS[text.slice(unitStart, i)];
    if (unit === undefined) return undefined;
    total += BigInt(intDigits === '' ? '0' : intDigits) * unit;
    if (fracDigits !== '') total += (BigInt(fracDigits) * unit) / 10n ** BigInt(fracDigits.length);
    if (total > MAX_NS) return undefined;
  }
  return negative ? -total : total;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function nsToMs(ns: bigint): number {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const ms = Number(abs / NS_PER_MS) + Number(abs % NS_PER_MS) / 1e6;
  return negative ? -ms : ms;
}

/** Parses a Prometheus-style duration (the syntax of `[5m]` ranges) into milliseconds. Throws on bad input. */
export function parsePrometheusDuration(text: string): number {
  const ns = prometheusNs(text);
  if (ns === undefined) throw new Error(`invalid duration "${text}"`);
  return nsToMs(ns);
}

/** Parses a duration the way Loki's lexer does (Prometheus style, else Go style) into milliseconds. Throws on bad input. */
export function parseDuration(text: string): number {
  const ns = prometheusNs(text) ?? goNs(text);
  if (ns === undefined) throw new Error(`invalid duration "${text}"`);
  return nsToMs(ns);
}

/** True when `text` is a duration `parseDuration` accepts. */
export function isDuration(text: string): boolean {
  return (prometheusNs(text) ?? goNs(text)) !== undefined;
}

/**
 * The nanosecond count whose millisecond value is exactly `ms` (ms >= 0).
 * Millisecond values are doubles, so `ms * 1e6` can be off by a few
 * nanoseconds for large values; `nsToMs` is monotonic, so a binary search
 * between the surrounding whole milliseconds finds the exact preimage.
 */
function msToNs(ms: number): bigint {
  if (Number.isInteger(ms)) return BigInt(ms) * NS_PER_MS;
  const floor = BigInt(Math.floor(ms));
  let lo = floor * NS_PER_MS;
  let hi = (floor + 1n) * NS_PER_MS;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if (nsToMs(mid) < ms) lo = mid + 1n;
    else hi = mid;
  }
  return lo;
}

/**
 * Formats milliseconds as the shortest duration literal that parses back to
 * the same value: Prometheus style for non-negative whole milliseconds
 * (`1h30m`, `1w`, `250ms`), Go style otherwise (`1ms500us`, `-24h`) because
 * only Go style has sub-millisecond units and a sign.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format duration ${ms}`);
  if (ms === 0) return '0s';
  if (Number.isInteger(ms) && ms > 0) {
    let rest = BigInt(ms);
    let out = '';
    for (const [unit, unitMs] of PROM_UNITS_MS) {
      const n = rest / unitMs;
      if (n > 0n) {
        out += `${n}${unit}`;
        rest -= n * unitMs;
      }
    }
    return out;
  }
  const negative = ms < 0;
  let rest = msToNs(Math.abs(ms));
  if (rest === 0n) return '0s';
  let out = negative ? '-' : '';
  for (const unit of ['h', 'm', 's', 'ms', 'us', 'ns'] as const) {
    const unitNs = GO_UNITS_NS[unit] ?? 1n;
    const n = rest / unitNs;
    if (n > 0n) {
      out += `${n}${unit}`;
      rest -= n * unitNs;
    }
  }
  return out;
}

/** The exact nanosecond count of a duration literal's millisecond value (as produced by `parseDuration`), sign included. */
export function durationMsToNs(ms: number): bigint {
  return ms < 0 ? -msToNs(-ms) : msToNs(ms);
}
