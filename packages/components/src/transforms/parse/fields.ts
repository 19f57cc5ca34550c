/**
 * Where decoded fields land. Shared by every format of the `parse`
 * transform: the well-known keys of application logs (level, time, trace
 * context, message) become record fields; every other key becomes an
 * attribute under the configured prefix.
 *
 * Invariants: a record's existing severity (non-zero) and trace id are kept
 * (the line only fills what the sender did not say); the line's own
 * timestamp replaces the record time (the observed time is kept); the
 * message stays in the body and is not copied into an attribute; at most
 * `maxFields` attributes per line (then `parse.truncated`).
 */
import { severityFromLevelValue, severityName, type AttributeValue, type Attributes, type LogRecord } from '@meshlog/core';
import { TraceFields } from '../../normalize/trace-context.js';
import { parseTimestamp } from '../../normalize/timestamp.js';

/** Per-transform scratch state, reused for every line (decoding allocates as little as it can). */
export class ParseEnv {
  readonly trace = new TraceFields();
  /** Attributes written for the current line. */
  fields = 0;
  /** The line's HTTP status (-1: none) and Envoy response flags (''), kept for severity even when attributes are not written. */
  status = -1;
  flags = '';
  constructor(
    /** Prepended to generic keys (`app.` for `target: attributes.app`); '' for none. */
    readonly prefix: string,
    readonly maxFields: number,
    /** false for `attributes: none`: decode for the record's own fields only. */
    readonly writeAttributes = true,
  ) {}

  begin(): void {
    this.trace.reset();
    this.fields = 0;
    this.status = -1;
    this.flags = '';
  }
}

const enum Role {
  Level,
  Time,
  Message,
  Traceparent,
  B3,
  B3TraceId,
  B3SpanId,
  B3Sampled,
  TraceId,
  SpanId,
  DdTraceId,
  DdSpanId,
  TraceFlags,
  RequestId,
  SeverityNumber,
}

/** Well-known keys of JSON and logfmt application logs (zap, pino, logrus, slog, structlog, Python, ECS, OTel). */
const ROLES = new Map<string, Role>([
  ['level', Role.Level],
  ['lvl', Role.Level],
  ['severity', Role.Level],
  ['log.level', Role.Level],
  ['loglevel', Role.Level],
  ['levelname', Role.Level],
  ['level_name', Role.Level],
  ['severity_text', Role.Level],
  ['severityText', Role.Level],
  ['severity_number', Role.SeverityNumber],
  ['severityNumber', Role.SeverityNumber],
  ['time', Role.Time],
  ['timestamp', Role.Time],
  ['ts', Role.Time],
  ['@timestamp', Role.Time],
  ['msg', Role.Message],
  ['message', Role.Message],
  ['traceparent', Role.Traceparent],
  ['b3', Role.B3],
  ['x-b3-traceid', Role.B3TraceId],
  ['x_b3_traceid', Role.B3TraceId],
  ['x-b3-spanid', Role.B3SpanId],
  ['x_b3_spanid', Role.B3SpanId],
  ['x-b3-sampled', Role.B3Sampled],
  ['x_b3_sampled', Role.B3Sampled],
  ['trace_id', Role.TraceId],
  ['traceId', Role.TraceId],
  ['traceID', Role.TraceId],
  ['trace.id', Role.TraceId],
  ['otelTraceID', Role.TraceId],
  ['span_id', Role.SpanId],
  ['spanId', Role.SpanId],
  ['spanID', Role.SpanId],
  ['span.id', Role.SpanId],
  ['otelSpanID', Role.SpanId],
  ['dd.trace_id', Role.DdTraceId],
  ['dd.span_id', Role.DdSpanId],
  ['trace_flags', Role.TraceFlags],
  ['traceFlags', Role.TraceFlags],
  ['x-request-id', Role.RequestId],
  ['x_request_id', Role.RequestId],
  ['request_id', Role.RequestId],
]);

export const REQUEST_ID_ATTRIBUTE = 'http.request.header.x-request-id';

/**
 * A copy of `attrs` that V8 keeps as a hash table ("dictionary mode").
 *
 * Why: a plain object that gets 20-30 string keys added one by one, in
 * orders and subsets that vary from line to line (optional fields, other
 * formats), grows a new hidden class per key per shape; V8's transition
 * trees then cost more than everything else the parser does (measured:
 * ~40k records/s with plain objects against ~900k/s with this, on varied
 * Istio lines). Deleting the first property of a fresh object is the
 * documented way to have V8 normalize it; the object keeps its prototype,
 * so it behaves as any other attribute map.
 */
export function attributeTable(attrs: Attributes): Attributes {
  const table: Attributes = { __table__: 0 };
  for (const k in attrs) table[k] = attrs[k]!;
  delete table['__table__'];
  return table;
}

/** Sets an attribute unless the line already produced too many. */
export function putAttribute(record: LogRecord, env: ParseEnv, key: string, value: AttributeValue): void {
  // JSON's 1e999 parses to Infinity: no attribute value (and the store could not keep it).
  if (typeof value === 'number' && !Number.isFinite(value)) return;
  if (key === 'http.response.status_code' && typeof value === 'number') env.status = value;
  else if (key === 'envoy.response_flags' && typeof value === 'string') env.flags = value;
  if (!env.writeAttributes) return;
  if (env.fields >= env.maxFields) {
    record.attributes['parse.truncated'] = true;
    return;
  }
  env.fields++;
  record.attributes[key] = value;
}

/** Names the line's format in `log.format`, unless the record already says. */
export function setFormat(record: LogRecord, env: ParseEnv, format: string): void {
  if (env.writeAttributes && record.attributes['log.format'] === undefined) record.attributes['log.format'] = format;
}

/** Applies a level value when the record has no severity yet. */
export function applyLevel(record: LogRecord, value: unknown): boolean {
  if (record.severityNumber !== 0) return false;
  const n = severityFromLevelValue(value);
  if (n === 0) return false;
  record.severityNumber = n;
  record.severityText = typeof value === 'string' ? value : severityName(n);
  return true;
}

/** Applies the line's own timestamp to the record time. */
export function applyTime(record: LogRecord, value: unknown): boolean {
  const ns = parseTimestamp(value);
  if (ns === undefined) return false;
  record.timeUnixNano = ns;
  return true;
}

function text(v: AttributeValue): string {
  return typeof v === 'string' ? v : String(v);
}

/**
 * One decoded key/value of an application log. `value` is a scalar (nested
 * JSON arrives flattened or as JSON text).
 */
export function assignField(record: LogRecord, env: ParseEnv, key: string, value: AttributeValue): void {
  const role = ROLES.get(key);
  if (role !== undefined) {
    switch (role) {
      case Role.Level:
        if (applyLevel(record, value)) return;
        break;
      case Role.SeverityNumber:
        if (record.severityNumber === 0 && typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 24) {
          record.severityNumber = value;
          record.severityText ||= severityName(value);
          return;
        }
        break;
      case Role.Time:
        if (applyTime(record, value)) return;
        break;
      case Role.Message:
        return;
      case Role.Traceparent:
        env.trace.traceparent = text(value);
        return;
      case Role.B3:
        env.trace.b3 = text(value);
        return;
      case Role.B3TraceId:
        env.trace.b3TraceId = text(value);
        return;
      case Role.B3SpanId:
        env.trace.b3SpanId = text(value);
        return;
      case Role.B3Sampled:
        env.trace.b3Sampled = text(value);
        return;
      case Role.TraceId:
        env.trace.traceId = text(value);
        return;
      case Role.SpanId:
        env.trace.spanId = text(value);
        return;
      case Role.DdTraceId:
        env.trace.ddTraceId = text(value);
        return;
      case Role.DdSpanId:
        env.trace.ddSpanId = text(value);
        return;
      case Role.TraceFlags:
        env.trace.traceFlags = text(value);
        return;
      case Role.RequestId:
        putAttribute(record, env, REQUEST_ID_ATTRIBUTE, text(value));
        return;
    }
  }
  putAttribute(record, env, env.prefix === '' ? key : env.prefix + key, value);
}

const MAX_DEPTH = 4;

/** A JSON object's fields, nested objects flattened with `.`, arrays kept as JSON text. */
export function assignObject(record: LogRecord, env: ParseEnv, obj: Record<string, unknown>, path: string, depth: number): void {
  for (const k in obj) {
    const v = obj[k];
    const key = path === '' ? k : path + '.' + k;
    if (v === null || v === undefined) continue;
    switch (typeof v) {
      case 'string':
      case 'number':
      case 'boolean':
        assignField(record, env, key, v);
        break;
      case 'object':
        if (Array.isArray(v) || depth >= MAX_DEPTH) assignField(record, env, key, JSON.stringify(v));
        else assignObject(record, env, v as Record<string, unknown>, key, depth + 1);
        break;
      default:
        break;
    }
  }
}
