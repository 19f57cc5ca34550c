/**
 * Byte-size literals (`10KB`, `1.5MiB`, `20B`), with the units Loki accepts
 * through go-humanize: decimal `kB MB GB TB PB` (also bare `k M G T P`) and
 * binary `KiB MiB GiB TiB PiB` (also `Ki Mi ...`), case-insensitive.
 *
 * Invariants: results are whole bytes (fractions truncated, as humanize
 * does) and exact integers (at most Number.MAX_SAFE_INTEGER), so
 * `parseBytes(formatBytes(n)) === n` for every value `parseBytes` returns.
 */

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 2 ** 10,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mi: 2 ** 20,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gi: 2 ** 30,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  ti: 2 ** 40,
  tib: 2 ** 40,
  p: 1e15,
  pb: 1e15,
  pi: 2 ** 50,
  pib: 2 ** 50,
};

const BYTES = /^(\d+(?:\.\d*)?|\.\d+) ?([A-Za-z]*)$/;

/** Parses `10KB`, `1.5 MiB`, `3k` into bytes. Throws on bad input or values beyond 2^53. */
export function parseBytes(text: string): number {
  const m = BYTES.exec(text);
  const multiplier = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || multiplier === undefined) throw new Error(`invalid bytes value "${text}"`);
  const bytes = Math.floor(Number(m[1]) * multiplier);
  if (!Number.isSafeInteger(bytes)) throw new Error(`bytes value "${text}" is too large`);
  return bytes;
}

/** True when `text` is a byte size whose unit is spelled the way Loki's lexer accepts it (`[BikKMGTP]+`). */
export function isBytesLiteral(text: string): boolean {
  const m = BYTES.exec(text);
  if (!m || text.includes(' ') || !/^[BikKMGTP]+$/.test(m[2] ?? '')) return false;
  try {
    parseBytes(text);
    return true;
  } catch {
    return false;
  }
}

// Largest first, binary before decimal at the same magnitude: the first unit that divides exactly wins.
const FORMAT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['PiB', 2 ** 50],
  ['PB', 1e15],
  ['TiB', 2 ** 40],
  ['TB', 1e12],
  ['GiB', 2 ** 30],
  ['GB', 1e9],
  ['MiB', 2 ** 20],
  ['MB', 1e6],
  ['KiB', 2 ** 10],
  ['KB', 1e3],
];

/** Formats whole bytes with the largest unit that divides them exactly (`1536` -> `1536B`, `2048` -> `2KiB`). */
export function formatBytes(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`cannot format bytes value ${bytes}`);
  for (const [unit, size] of FORMAT_UNITS) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
