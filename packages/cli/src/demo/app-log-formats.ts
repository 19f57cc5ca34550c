/**
 * How each kind of container writes a log line: zap and pino JSON, logrus
 * logfmt, Spring Boot and Python `logging` text, structlog JSON, and the
 * data stores' and istio-agent's own formats.
 *
 * Invariants: one event renders to one body; a stack trace either rides
 * inside the JSON (zap's `stacktrace`, pino's `err.stack`, structlog's
 * `exception`) or, for the text formats, follows the message on extra lines,
 * as a multiline-aware collector would join them. Text formats with a stack
 * go to stderr, like the uncaught-error paths of those runtimes.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type FieldValue = string | number | boolean;
export type Fields = Readonly<Record<string, FieldValue>>;

/** OpenTelemetry severity for each level. */
export const LEVEL_SEVERITY: Readonly<Record<LogLevel, { number: number; text: string }>> = {
  debug: { number: 5, text: 'DEBUG' },
  info: { number: 9, text: 'INFO' },
  warn: { number: 13, text: 'WARN' },
  error: { number: 17, text: 'ERROR' },
  fatal: { number: 21, text: 'FATAL' },
};

export interface AppError {
  /** Exception class or Go error kind, e.g. `java.net.ConnectException`. */
  readonly type: string;
  readonly message: string;
  /** Stack in the runtime's own layout, one frame per entry, without indentation. */
  readonly frames: readonly string[];
  readonly cause?: AppError;
}

export interface AppLogEvent {
  readonly timeMs: number;
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Fields;
  /** Logger, class or source location, depending on the style. */
  readonly logger: string;
  readonly error?: AppError;
  readonly traceId?: string;
  readonly spanId?: string;
}

export interface LogContext {
  readonly service: string;
  readonly pod: string;
  /** Worker thread name for Java, pid for the data stores. */
  readonly thread: string;
  readonly pid: number;
}

export type AppLogStyleName = 'zap' | 'pino' | 'logfmt' | 'spring' | 'python' | 'structlog' | 'redis' | 'postgres' | 'istio-agent';

export interface RenderedLog {
  readonly body: string;
  readonly stream: 'stdout' | 'stderr';
}

const iso = (ms: number): string => new Date(Math.floor(ms)).toISOString();
/** `2024-05-01 12:00:00.123` (the space-separated layout of Python and PostgreSQL). */
const spaced = (ms: number): string => iso(ms).replace('T', ' ').slice(0, 23);

function logfmtValue(v: FieldValue): string {
  const s = String(v);
  return s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** Python's `json.dumps` default separators put a space after `,` and `:`. */
function pythonJson(obj: Record<string, unknown>): string {
  return `{${Object.entries(obj).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
}

function javaStack(e: AppError): string {
  let out = `${e.type}: ${e.message}\n${e.frames.map((f) => `\tat ${f}`).join('\n')}`;
  if (e.cause) out += `\nCaused by: ${javaStack(e.cause)}`;
  return out;
}

function pythonTraceback(e: AppError): string {
  let out = '';
  if (e.cause) out += `${pythonTraceback(e.cause)}\n\nThe above exception was the direct cause of the following exception:\n\n`;
  return `${out}Traceback (most recent call last):\n${e.frames.map((f) => `  ${f}`).join('\n')}\n${e.type}: ${e.message}`;
}

function nodeStack(e: AppError): string {
  return `${e.type}: ${e.message}\n${e.frames.map((f) => `    at ${f}`).join('\n')}`;
}

/** zap's stacktrace: frames alternate function and `file:line`, the file indented by a tab. */
function goStack(e: AppError): string {
  return e.frames.map((f, i) => (i % 2 === 1 ? `\t${f}` : f)).join('\n');
}

const PINO_LEVEL: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const JAVA_LEVEL: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR' };
const PY_LEVEL: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL' };

/** Renders an event in a container's style. */
export function renderAppLog(style: AppLogStyleName, e: AppLogEvent, ctx: LogContext): RenderedLog {
  switch (style) {
    case 'zap': {
      // zap's production encoder: epoch seconds, caller, and a stacktrace on error.
      const obj: Record<string, unknown> = { level: e.level, ts: Math.round(e.timeMs * 1000) / 1e6, caller: e.logger, msg: e.msg };
      if (e.traceId) obj['trace_id'] = e.traceId;
      if (e.spanId) obj['span_id'] = e.spanId;
      Object.assign(obj, e.fields);
      if (e.error) {
        obj['error'] = e.error.message;
        obj['stacktrace'] = goStack(e.error);
      }
      return { body: JSON.stringify(obj), stream: 'stderr' };
    }
    case 'pino': {
      const obj: Record<string, unknown> = { level: PINO_LEVEL[e.level], time: Math.floor(e.timeMs), pid: ctx.pid, hostname: ctx.pod };
      if (e.traceId) {
        obj['trace_id'] = e.traceId;
        obj['span_id'] = e.spanId;
        obj['trace_flags'] = '01';
      }
      Object.assign(obj, e.fields);
      if (e.error) obj['err'] = { type: e.error.type, message: e.error.message, stack: nodeStack(e.error) };
      obj['msg'] = e.msg;
      return { body: JSON.stringify(obj), stream: 'stdout' };
    }
    case 'logfmt': {
      // logrus' text formatter with full timestamps, as most Go services configure it.
      let line = `time=${JSON.stringify(iso(e.timeMs))} level=${e.level === 'warn' ? 'warning' : e.level} msg=${JSON.stringify(e.msg)}`;
      for (const [k, v] of Object.entries(e.fields)) line += ` ${k}=${logfmtValue(v)}`;
      if (e.error) line += ` error=${logfmtValue(e.error.message)}`;
      if (e.traceId) line += ` trace_id=${e.traceId} span_id=${e.spanId ?? ''}`;
      return { body: line, stream: 'stderr' };
    }
    case 'spring': {
      // Spring Boot 3 default pattern with Micrometer tracing's correlation id.
      const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join(' ');
      const correlation = e.traceId ? `[${e.traceId}-${e.spanId ?? ''}] ` : '';
      const head = `${iso(e.timeMs)} ${JAVA_LEVEL[e.level].padStart(5)} 1 --- [${ctx.service}] [${ctx.thread.padStart(15).slice(-15)}] ${correlation}${e.logger.padEnd(40).slice(0, 40)} : ${e.msg}${fields ? ` ${fields}` : ''}`;
      return e.error ? { body: `${head}\n\n${javaStack(e.error)}`, stream: 'stderr' } : { body: head, stream: 'stdout' };
    }
    case 'python': {
      // The OpenTelemetry logging instrumentation's default format.
      const ts = `${spaced(e.timeMs).slice(0, 19)},${spaced(e.timeMs).slice(20, 23)}`;
      const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${v}`).join(' ');
      const head = `${ts} ${PY_LEVEL[e.level]} [${e.logger}] [trace_id=${e.traceId ?? '0'} span_id=${e.spanId ?? '0'} resource.service.name=${ctx.service} trace_sampled=${e.traceId ? 'True' : 'False'}] - ${e.msg}${fields ? ` ${fields}` : ''}`;
      return e.error ? { body: `${head}\n${pythonTraceback(e.error)}`, stream: 'stderr' } : { body: head, stream: 'stderr' };
    }
    case 'structlog': {
      const obj: Record<string, unknown> = { ...e.fields, event: e.msg, level: e.level === 'warn' ? 'warning' : e.level, logger: e.logger, timestamp: `${iso(e.timeMs).slice(0, -1)}000Z` };
      if (e.traceId) obj['trace_id'] = e.traceId;
      if (e.spanId) obj['span_id'] = e.spanId;
      if (e.error) obj['exception'] = pythonTraceback(e.error);
      return { body: pythonJson(obj), stream: 'stdout' };
    }
    case 'redis': {
      // `pid:role day month year time.ms marker message`
      const d = new Date(Math.floor(e.timeMs));
      const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
      const stamp = `${String(d.getUTCDate()).padStart(2, '0')} ${month} ${d.getUTCFullYear()} ${iso(e.timeMs).slice(11, 23)}`;
      const marker = e.level === 'warn' || e.level === 'error' ? '#' : e.level === 'debug' ? '.' : '*';
      return { body: `${ctx.pid}:M ${stamp} ${marker} ${e.msg}`, stream: 'stdout' };
    }
    case 'postgres': {
      // log_line_prefix = '%m [%p] '; the severity word is PostgreSQL's own.
      const severity = e.level === 'fatal' ? 'FATAL' : e.level === 'error' ? 'ERROR' : e.level === 'warn' ? 'WARNING' : 'LOG';
      return { body: `${spaced(e.timeMs)} UTC [${ctx.pid}] ${severity}:  ${e.msg}`, stream: 'stderr' };
    }
    case 'istio-agent': {
      // istio-agent (pilot-agent) writes `time<TAB>level<TAB>scope<TAB>message`.
      const ts = `${iso(e.timeMs).slice(0, 23)}${String(Math.floor((e.timeMs % 1) * 1000)).padStart(3, '0')}Z`;
      // Envoy's own lines share the layout but spell the level `warning`.
      const word = e.level === 'warn' && e.logger.startsWith('envoy') ? 'warning' : e.level;
      return { body: `${ts}\t${word}\t${e.logger}\t${e.msg}`, stream: 'stderr' };
    }
  }
}
