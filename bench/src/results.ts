/**
 * Benchmark results: a printed table and `bench/results/latest.json`, where
 * each suite merges its figures (flat dotted keys such as
 * `storage.ingest_records_per_s`) with those of other suites' last runs.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = fileURLToPath(new URL('../results/latest.json', import.meta.url));

export type Figures = Record<string, number | string>;

export function saveResults(suite: string, figures: Figures): void {
  mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
  const previous = existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
  const merged = {
    ...previous,
    ...figures,
    [`meta.${suite}.finished_at`]: new Date().toISOString(),
    'meta.machine': `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  };
  writeFileSync(RESULTS_FILE, JSON.stringify(sortKeys(merged), null, 2) + '\n');
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

export function printTable(title: string, rows: [string, string | number, string?][]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`\n${title}\n${'-'.repeat(title.length)}\n`);
  for (const [k, v, note] of rows) {
    const value = typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : v;
    process.stdout.write(`${k.padEnd(w)}  ${String(value).padStart(14)}${note ? `  ${note}` : ''}\n`);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
