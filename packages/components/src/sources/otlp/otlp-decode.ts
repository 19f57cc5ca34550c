/**
 * OTLP (protobuf or JSON) -> the internal model. One converter serves both
 * encodings: protobufjs yields the same camelCase shape as OTLP/JSON, except
 * that ids are bytes instead of hex strings and 64-bit integers are `Long`
 * instead of decimal strings, and the readers here accept either.
 *
 * Bad input never throws past `decodeOtlpLogs`/`decodeOtlpTraces` as anything
 * but an `OtlpDecodeError` whose message names what is wrong and where
 * (`resourceLogs[0].scopeLogs[2].logRecords[7].traceId: ...`). Records that
 * are individually invalid are counted as rejected (OTLP partial success),
 * the rest are kept.
 */
import { emptyLogRecord, type Attributes, type AttributeValue, type LogRecord, type Span } from '@meshlog/core';
import { otlpType } from './otlp-proto.js';

export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

export interface DecodedLogs {
  records: LogRecord[];
  rejected: number;
  /** The first per-record problem, for the partial-success error_message. */
  firstError: string | undefined;
}

export interface DecodedSpans {
  spans: Span[];
  rejected: number;
  firstError: string | undefined;
}

export type OtlpEncoding = 'protobuf' | 'json';

export function encodingOf(contentType: string): OtlpEncoding | undefined {
  const ct = contentType.split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'protobuf';
  if (ct === 'application/json') return 'json';
  return undefined;
}

function parseBody(body: Buffer, encoding: OtlpEncoding, message: string): Record<string, unknown> {
  if (encoding === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new OtlpDecodeError(`invalid OTLP/JSON: expected an object at the top level`);
    }
    return value as Record<string, unknown>;
  }
  try {
    return otlpType(message).decode(body) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new OtlpDecodeError(`invalid OTLP protobuf ${message}: ${(err as Error).message}`);
  }
}

type Obj = Record<string, unknown>;

function list(o: Obj, camel: string, snake: string, path: string): Obj[] {
  const v = o[camel] ?? o[snake];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${path}.${camel}: expected an array`);
  return v as Obj[];
}

function field(o: Obj, camel: string, snake: string): unknown {
  return o[camel] ?? o[snake];
}

export function decodeOtlpLogs(body: Buffer, encoding: OtlpEncoding, now: bigint): DecodedLogs {
  const req = parseBody(body, encoding, 'ExportLogsServiceRequest');
  const out: DecodedLogs = { records: [], rejected: 0, firstError: undefined };
  const resourceLogs = list(req, 'resourceLogs', 'resource_logs', '');
  resourceLogs.forEach((rl, i) => {
    const rlPath = `resourceLogs[${i}]`;
    const resource = attributesOf((rl['resource'] as Obj | undefined) ?? {}, `${rlPath}.resource`);
    list(rl, 'scopeLogs', 'scope_logs', rlPath).forEach((sl, j) => {
      const slPath = `${rlPath}.scopeLogs[${j}]`;
      const scope = (sl['scope'] as Obj | undefined) ?? {};
      const scopeName = str(scope['name']);
      const scopeVersion = str(scope['version']);
      list(sl, 'logRecords', 'log_records', slPath).forEach((lr, k) => {
        const path = `${slPath}.logRecords[${k}]`;
        try {
          const r = emptyLogRecord();
          r.resource = resource;
          r.scopeName = scopeName;
          r.scopeVersion = scopeVersion;
          r.timeUnixNano = u64(field(lr, 'timeUnixNano', 'time_unix_nano'), `${path}.timeUnixNano`);
          r.observedTimeUnixNano = u64(field(lr, 'observedTimeUnixNano', 'observed_time_unix_nano'), `${path}.observedTimeUnixNano`);
          if (r.observedTimeUnixNano === 0n) r.observedTimeUnixNano = now;
          // OTLP: a record without time takes its observed time.
          if (r.timeUnixNano === 0n) r.timeUnixNano = r.observedTimeUnixNano;
          r.severityNumber = severity(field(lr, 'severityNumber', 'severity_number'), `${path}.severityNumber`);
          r.severityText = str(field(lr, 'severityText', 'severity_text'));
          const bodyValue = lr['body'] as Obj | undefined;
          r.body = bodyValue ? anyToString(bodyValue, `${path}.body`) : '';
          r.attributes = attributesOf(lr, path);
          const eventName = str(field(lr, 'eventName', 'event_name'));
          if (eventName) r.attributes['event.name'] = eventName;
          r.traceId = id(field(lr, 'traceId', 'trace_id'), 16, `${path}.traceId`);
          r.spanId = id(field(lr, 'spanId', 'span_id'), 8, `${path}.spanId`);
          r.flags = Number(field(lr, 'flags', 'flags') ?? 0) >>> 0;
          out.records.push(r);
        } catch (err) {
          if (!(err instanceof OtlpDecodeError)) throw err;
          out.rejected++;
          out.firstError ??= err.message;
        }
      });
    });
  });
  return out;
}

export function decodeOtlpTraces(body: Buffer, encoding: OtlpEncoding): DecodedSpans {
  const req = parseBody(body, encoding, 'ExportTraceServiceRequest');
  const out: DecodedSpans = { spans: [], rejected: 0, firstError: undefined };
  list(req, 'resourceSpans', 'resource_spans', '').forEach((rs, i) => {
    const rsPath = `resourceSpans[${i}]`;
    const resource = attributesOf((rs['resource'] as Obj | undefined) ?? {}, `${rsPath}.resource`);
    list(rs, 'scopeSpans', 'scope_spans', rsPath).forEach((ss, j) => {
      const ssPath = `${rsPath}.scopeSpans[${j}]`;
      list(ss, 'spans', 'spans', ssPath).forEach((sp, k) => {
        const path = `${ssPath}.spans[${k}]`;
        try {
          const traceId = id(field(sp, 'traceId', 'trace_id'), 16, `${path}.traceId`);
          const spanId = id(field(sp, 'spanId', 'span_id'), 8, `${path}.spanId`);
          if (!traceId || !spanId) throw new OtlpDecodeError(`${path}: a span needs a non-empty traceId and spanId`);
          const status = (sp['status'] as Obj | undefined) ?? {};
          out.spans.push({
            traceId,
            spanId,
            parentSpanId: id(field(sp, 'parentSpanId', 'parent_span_id'), 8, `${path}.parentSpanId`),
            name: str(sp['name']),
            kind: Number(sp['kind'] ?? 0) | 0,
            startTimeUnixNano: u64(field(sp, 'startTimeUnixNano', 'start_time_unix_nano'), `${path}.startTimeUnixNano`),
            endTimeUnixNano: u64(field(sp, 'endTimeUnixNano', 'end_time_unix_nano'), `${path}.endTimeUnixNano`),
            attributes: attributesOf(sp, path),
            resource,
            statusCode: Number(status['code'] ?? 0) | 0,
            statusMessage: str(status['message']),
            events: list(sp, 'events', 'events', path).map((ev, e) => ({
              timeUnixNano: u64(field(ev, 'timeUnixNano', 'time_unix_nano'), `${path}.events[${e}].timeUnixNano`),
              name: str(ev['name']),
              attributes: attributesOf(ev, `${path}.events[${e}]`),
            })),
          });
        } catch (err) {
          if (!(err instanceof OtlpDecodeError)) throw err;
          out.rejected++;
          out.firstError ??= err.message;
        }
      });
    });
  });
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

const U64_MAX = (1n << 64n) - 1n;

/** fixed64 from protobuf (Long or number) or JSON (decimal string or number). */
function u64(v: unknown, path: string): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new OtlpDecodeError(`${path}: expected a non-negative integer, got ${v}`);
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'string') {
    if (!/^\d{1,20}$/.test(v)) throw new OtlpDecodeError(`${path}: expected a decimal integer string, got ${JSON.stringify(v.slice(0, 40))}`);
    const n = BigInt(v);
    if (n > U64_MAX) throw new OtlpDecodeError(`${path}: value out of range for uint64`);
    return n;
  }
  if (typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number };
    return (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  }
  throw new OtlpDecodeError(`${path}: expected an integer`);
}

function severity(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^SEVERITY_NUMBER_/.test(v) ? severityByName(v) : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 24) throw new OtlpDecodeError(`${path}: severity number must be 0..24, got ${JSON.stringify(v)}`);
  return n;
}

const SEVERITY_NAMES = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];
function severityByName(name: string): number {
  return SEVERITY_NAMES.indexOf(name.slice('SEVERITY_NUMBER_'.length));
}

const HEX = /^[0-9a-fA-F]*$/;

/** Trace and span ids: bytes in protobuf, hex strings in OTLP/JSON. All-zero ids mean "none". */
function id(v: unknown, bytes: number, path: string): string {
  if (v === undefined || v === null) return '';
  // protobufjs leaves an empty array as the default of an absent bytes field.
  if (Array.isArray(v) && v.length === 0) return '';
  let hex: string;
  if (typeof v === 'string') {
    if (v === '') return '';
    if (v.length !== bytes * 2 || !HEX.test(v)) throw new OtlpDecodeError(`${path}: expected ${bytes * 2} hex digits, got ${JSON.stringify(v.slice(0, 40))}`);
    hex = v.toLowerCase();
  } else if (v instanceof Uint8Array) {
    if (v.length === 0) return '';
    if (v.length !== bytes) throw new OtlpDecodeError(`${path}: expected ${bytes} bytes, got ${v.length}`);
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  } else {
    throw new OtlpDecodeError(`${path}: expected a hex string`);
  }
  return /^0+$/.test(hex) ? '' : hex;
}

function attributesOf(holder: Obj, path: string): Attributes {
  const out: Attributes = {};
  const kvs = holder['attributes'];
  if (kvs === undefined || kvs === null) return out;
  if (!Array.isArray(kvs)) throw new OtlpDecodeError(`${path}.attributes: expected an array of {key, value}`);
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i] as Obj;
    const key = kv?.['key'];
    if (typeof key !== 'string' || key === '') throw new OtlpDecodeError(`${path}.attributes[${i}].key: expected a non-empty string`);
    out[key] = anyToScalar((kv['value'] as Obj | undefined) ?? {}, `${path}.attributes[${i}].value`);
  }
  return out;
}

/**
 * The member of an AnyValue oneof that is set. Decoded protobuf messages
 * carry every member's default on their prototype, so only own properties
 * count; JSON objects may spell members in camelCase or snake_case.
 */
function oneof(v: Obj, camel: string, snake: string): unknown {
  if (Object.hasOwn(v, camel) && v[camel] !== null && v[camel] !== undefined) return v[camel];
  if (Object.hasOwn(v, snake) && v[snake] !== null && v[snake] !== undefined) return v[snake];
  return undefined;
}

/** Flattens an AnyValue to a scalar; arrays and maps become JSON text. */
function anyToScalar(v: Obj, path: string): AttributeValue {
  const sv = oneof(v, 'stringValue', 'string_value');
  if (sv !== undefined) return str(sv);
  const b = oneof(v, 'boolValue', 'bool_value');
  if (b !== undefined) return Boolean(b);
  const iv = oneof(v, 'intValue', 'int_value');
  if (iv !== undefined) {
    const n = typeof iv === 'object' && 'low' in (iv as object) ? Number(u64s(iv as { low: number; high: number })) : Number(iv);
    if (!Number.isFinite(n)) throw new OtlpDecodeError(`${path}.intValue: not an integer`);
    return n;
  }
  const dv = oneof(v, 'doubleValue', 'double_value');
  if (dv !== undefined) return Number(dv);
  const bv = oneof(v, 'bytesValue', 'bytes_value');
  if (bv !== undefined) return bv instanceof Uint8Array ? Buffer.from(bv).toString('base64') : str(bv);
  if (oneof(v, 'arrayValue', 'array_value') !== undefined || oneof(v, 'kvlistValue', 'kvlist_value') !== undefined) return JSON.stringify(anyToJson(v, path));
  return '';
}

function u64s(l: { low: number; high: number }): bigint {
  // int64 is signed: interpret the high word as signed.
  return (BigInt(l.high | 0) << 32n) | BigInt(l.low >>> 0);
}

function anyToJson(v: Obj, path: string): unknown {
  const av = oneof(v, 'arrayValue', 'array_value') as Obj | undefined;
  if (av) return ((av['values'] as Obj[] | undefined) ?? []).map((x, i) => anyToJson(x ?? {}, `${path}[${i}]`));
  const kv = oneof(v, 'kvlistValue', 'kvlist_value') as Obj | undefined;
  if (kv) {
    const o: Record<string, unknown> = {};
    for (const e of (kv['values'] as Obj[] | undefined) ?? []) o[str(e['key'])] = anyToJson((e['value'] as Obj | undefined) ?? {}, `${path}.${str(e['key'])}`);
    return o;
  }
  return anyToScalar(v, path);
}

/** A log body: strings stay as they are, structured bodies become JSON text. */
function anyToString(v: Obj, path: string): string {
  const s = anyToJson(v, path);
  return typeof s === 'string' ? s : JSON.stringify(s);
}
