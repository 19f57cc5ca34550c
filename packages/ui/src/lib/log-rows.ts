/**
 * Log lines as the UI shows them: Loki's streams flattened into rows sorted
 * by time, each with a detected level and its fields. Fields come from the
 * stream labels and from the line itself (JSON, logfmt, or an Istio/Envoy
 * access log), so the field sidebar and the expanded row work on any demo
 * or real line without a parser stage in the query.
 */
import type { LokiStream } from './api.js';
import { parseAccessLog } from './access-log.js';

export type Level = 'error' | 'warn' | 'info' | 'debug' | 'unknown';
export const LEVELS: Level[] = ['error', 'warn', 'info', 'debug', 'unknown'];

export interface LogRow {
  /** Unique within one result: stream index and position. */
  key: string;
  tsNs: string;
  tsMs: number;
  line: string;
  labels: Record<string, string>;
  level: Level;
  traceId: string | undefined;
}

export function rowsOfStreams(streams: LokiStream[], direction: 'backward' | 'forward' = 'backward'): LogRow[] {
  const rows: LogRow[] = [];
  streams.forEach((s, si) => {
    s.values.forEach(([ts, line], vi) => {
      rows.push({ key: `${si}:${vi}:${ts}`, tsNs: ts, tsMs: Number(BigInt(ts) / 1_000_000n), line, labels: s.stream, level: detectLevel(line, s.stream), traceId: findTraceId(line) });
    });
  });
  rows.sort((a, b) => (direction === 'backward' ? cmp(b.tsNs, a.tsNs) : cmp(a.tsNs, b.tsNs)));
  return rows;
}

function cmp(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

const LEVEL_WORDS: Record<string, Level> = {
  error: 'error', err: 'error', fatal: 'error', critical: 'error', crit: 'error', panic: 'error', emerg: 'error', alert: 'error',
  warn: 'warn', warning: 'warn',
  info: 'info', information: 'info', notice: 'info',
  debug: 'debug', trace: 'debug', dbg: 'debug',
};

/** The level of a line: a level label, a JSON/logfmt level field, a Spring-style word, or an access log's status class. */
export function detectLevel(line: string, labels: Record<string, string>): Level {
  const fromLabel = labels['level'] ?? labels['detected_level'] ?? labels['severity_text'];
  if (fromLabel) return LEVEL_WORDS[fromLabel.toLowerCase()] ?? 'unknown';
  const json = /"(?:level|severity|lvl)"\s*:\s*(?:"([A-Za-z]+)"|(\d+))/.exec(line);
  if (json) {
    if (json[1]) return LEVEL_WORDS[json[1].toLowerCase()] ?? 'unknown';
    // pino's numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
    const n = Number(json[2]);
    return n >= 50 ? 'error' : n >= 40 ? 'warn' : n >= 30 ? 'info' : 'debug';
  }
  const logfmt = /\blevel=("?)([A-Za-z]+)\1/.exec(line);
  if (logfmt) return LEVEL_WORDS[logfmt[2]!.toLowerCase()] ?? 'unknown';
  const word = /^\S+\s+(ERROR|WARN|INFO|DEBUG|TRACE|FATAL)\b/.exec(line);
  if (word) return LEVEL_WORDS[word[1]!.toLowerCase()] ?? 'unknown';
  const access = parseAccessLog(line);
  if (access && access.status !== undefined) return access.status === 0 || access.status >= 500 ? 'error' : access.status >= 400 ? 'warn' : 'info';
  return 'unknown';
}

/** A W3C trace id in the line (JSON/logfmt trace_id, traceparent, or Spring's [trace-span]). */
export function findTraceId(line: string): string | undefined {
  const m =
    /trace_?id"?\s*[:=]\s*"?([0-9a-f]{32})\b/i.exec(line) ??
    /\b00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\b/.exec(line) ??
    /\[([0-9a-f]{32})-[0-9a-f]{16}\]/.exec(line);
  return m?.[1]?.toLowerCase();
}

/** Every field of a row: labels first, then what the line itself says. */
export function fieldsOf(row: LogRow): { name: string; value: string; source: 'label' | 'line' }[] {
  const out: { name: string; value: string; source: 'label' | 'line' }[] = [];
  for (const [name, value] of Object.entries(row.labels)) out.push({ name, value, source: 'label' });
  for (const [name, value] of Object.entries(lineFields(row.line))) out.push({ name, value, source: 'line' });
  return out;
}

export function lineFields(line: string): Record<string, string> {
  const t = line.trimStart();
  if (t.startsWith('{')) {
    try {
      const obj = JSON.parse(t) as unknown;
      if (obj && typeof obj === 'object') return flatten(obj as Record<string, unknown>);
    } catch {
      // not JSON after all
    }
  }
  const access = parseAccessLog(line);
  if (access) return access.fields;
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const v = m[2]!;
    out[m[1]!] = v.startsWith('"') ? v.slice(1, -1).replace(/\\"/g, '"') : v;
  }
  return out;
}

function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}_${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, out);
    else out[name.replace(/[^\w]/g, '_')] = v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
