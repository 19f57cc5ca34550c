/**
 * Severity normalization to OpenTelemetry severity numbers (1-24, in six
 * ranges of four). Every source maps its own notion (syslog severities,
 * level words, pino numbers, HTTP status classes) through here so queries on
 * `detected_level` mean one thing.
 *
 * The mapping follows the OpenTelemetry logs data model, Appendix B
 * ("SeverityNumber example mappings": syslog, Log4j, zap, java.util.logging,
 * .NET). Where one word means different things to different loggers, the
 * choice is written next to it; docs/schema.md has the whole table.
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
  finest: Severity.TRACE, // java.util.logging
  verbose: Severity.DEBUG, // .NET Serilog, Windows event log
  debug: Severity.DEBUG,
  dbg: Severity.DEBUG,
  finer: Severity.DEBUG, // java.util.logging FINER = DEBUG, FINE = DEBUG2, CONFIG = DEBUG3
  fine: Severity.DEBUG + 1,
  config: Severity.DEBUG + 2,
  info: Severity.INFO,
  inf: Severity.INFO,
  information: Severity.INFO,
  informational: Severity.INFO,
  notice: Severity.INFO + 1, // syslog Notice = INFO2
  warn: Severity.WARN,
  warning: Severity.WARN,
  wrn: Severity.WARN,
  error: Severity.ERROR,
  err: Severity.ERROR,
  eror: Severity.ERROR,
  severe: Severity.ERROR, // java.util.logging
  dpanic: Severity.ERROR + 1, // zap DPanic = ERROR2
  crit: Severity.ERROR + 1, // syslog's keyword for Critical (2) = ERROR2
  alert: Severity.ERROR + 2, // syslog Alert (1) = ERROR3
  panic: Severity.ERROR + 2, // zap Panic = ERROR3 (logrus' panic, its top level, lands here too)
  // Python, .NET and ETW spell their top level "critical": FATAL, as .NET's
  // LogLevel.Critical maps in the appendix (syslog's numeric 2 goes through
  // severityFromSyslog instead).
  critical: Severity.FATAL,
  fatal: Severity.FATAL,
  emerg: Severity.FATAL, // syslog Emergency (0) = FATAL
  emergency: Severity.FATAL,
  // One-letter levels (klog/glog prefixes, some JSON loggers).
  t: Severity.TRACE,
  d: Severity.DEBUG,
  i: Severity.INFO,
  w: Severity.WARN,
  e: Severity.ERROR,
  f: Severity.FATAL,
};

/** Severity number for a level word (case-insensitive), or 0 when unknown. */
export function severityFromText(text: string): number {
  const direct = LEVEL_WORDS[text];
  if (direct !== undefined) return direct;
  return LEVEL_WORDS[text.trim().toLowerCase()] ?? 0;
}

/** RFC 5424 numeric severity (0 Emergency .. 7 Debug), per the OpenTelemetry appendix. */
const SYSLOG_SEVERITY = [Severity.FATAL, Severity.ERROR + 2, Severity.ERROR + 1, Severity.ERROR, Severity.WARN, Severity.INFO + 1, Severity.INFO, Severity.DEBUG];

export function severityFromSyslog(severity: number): number {
  return SYSLOG_SEVERITY[severity] ?? 0;
}

/** pino and bunyan numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
export function severityFromPinoLevel(level: number): number {
  if (!Number.isInteger(level) || level < 10 || level > 60) return 0;
  if (level >= 60) return Severity.FATAL;
  if (level >= 50) return Severity.ERROR;
  if (level >= 40) return Severity.WARN;
  if (level >= 30) return Severity.INFO;
  if (level >= 20) return Severity.DEBUG;
  return Severity.TRACE;
}

/**
 * A level field's value, whatever the logger wrote: a word (`warn`,
 * `WARNING`, `E`), a pino/bunyan number (10..60) or such a number as text.
 * 0 when it names no level.
 */
export function severityFromLevelValue(value: unknown): number {
  if (typeof value === 'string') {
    const n = severityFromText(value);
    if (n !== 0) return n;
    const c = value.charCodeAt(0);
    if (c >= 48 && c <= 57 && value.length <= 2) return severityFromPinoLevel(Number(value));
    return 0;
  }
  if (typeof value === 'number') return severityFromPinoLevel(value);
  return 0;
}

const RANGE_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** OpenTelemetry's short name of a severity number: INFO, INFO2, ..., FATAL4; '' for 0. */
export function severityName(severityNumber: number): string {
  if (!Number.isInteger(severityNumber) || severityNumber < 1 || severityNumber > 24) return '';
  const range = RANGE_NAMES[Math.floor((severityNumber - 1) / 4)]!;
  const step = (severityNumber - 1) % 4;
  return step === 0 ? range : `${range}${step + 1}`;
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
