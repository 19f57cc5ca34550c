/**
 * Severity normalization to OpenTelemetry severity numbers (1-24, in six
 * ranges of four). Every source maps its own notion (syslog severities,
 * level strings, HTTP status classes) through here so queries on
 * `detected_level` mean one thing.
 */

export const Severity = {
  UNSPECIFIED: 0,
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  WARN: 13,
  ERROR: 17,
  FATAL: 21,
} as const;

const LEVEL_WORDS: Record<string, number> = {
  trace: Severity.TRACE,
  trc: Severity.TRACE,
  debug: Severity.DEBUG,
  dbg: Severity.DEBUG,
  info: Severity.INFO,
  information: Severity.INFO,
  informational: Severity.INFO,
  notice: Severity.INFO + 1,
  inf: Severity.INFO,
  warn: Severity.WARN,
  warning: Severity.WARN,
  wrn: Severity.WARN,
  error: Severity.ERROR,
  err: Severity.ERROR,
  eror: Severity.ERROR,
  critical: Severity.FATAL,
  crit: Severity.FATAL,
  fatal: Severity.FATAL,
  panic: Severity.FATAL + 1,
  emerg: Severity.FATAL + 3,
  emergency: Severity.FATAL + 3,
  alert: Severity.FATAL + 2,
};

/** Severity number for a level word (case-insensitive), or 0 when unknown. */
export function severityFromText(text: string): number {
  return LEVEL_WORDS[text.trim().toLowerCase()] ?? 0;
}

/** The short range name Loki calls `detected_level`: trace, debug, info, warn, error, fatal. */
export function levelName(severityNumber: number): string {
  if (severityNumber <= 0) return 'unknown';
  if (severityNumber <= 4) return 'trace';
  if (severityNumber <= 8) return 'debug';
  if (severityNumber <= 12) return 'info';
  if (severityNumber <= 16) return 'warn';
  if (severityNumber <= 20) return 'error';
  return 'fatal';
}

/** Access logs have no level: the HTTP status class stands in for one. */
export function severityFromHttpStatus(status: number): number {
  if (status >= 500 || status === 0) return Severity.ERROR;
  if (status >= 400) return Severity.WARN;
  return Severity.INFO;
}
