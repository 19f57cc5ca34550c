/**
 * Splunk HTTP Event Collector payloads -> the internal model.
 *
 * `/services/collector/event` bodies are JSON event objects one after
 * another (whitespace between them or none; a top-level array of events is
 * taken too), each `{"time", "host", "source", "sourcetype", "index",
 * "event", "fields"}`. `/services/collector/raw` bodies are text, one event
 * per line, with the metadata in the query string.
 *
 * A request is all or nothing: the first bad event fails the whole request
 * with Splunk's code and the event's zero-based position
 * (`invalid-event-number`), and nothing of it is stored. Senders resend the
 * whole batch after a 400 anyway, so keeping its first part would store
 * those events twice.
 *
 * Mapping (docs/schema.md lists every attribute):
 * - `time` (epoch seconds, decimals allowed, number or numeric string) -> time;
 * - `event` string -> body; object with a string `message` or `log` -> that
 *   string as body, its other keys flattened into attributes (`severity` or
 *   `level` -> severity); any other object -> its JSON text as body;
 * - `host` -> resource `host.name`; `source`, `sourcetype`, `index` ->
 *   attributes `splunk.source`, `splunk.sourcetype`, `splunk.index`;
 * - `fields`: resource-convention keys (`service.*`, `k8s.*`, `host.*`, ...)
 *   -> resource, `otel.log.severity.number`/`.text` -> severity, `trace_id`
 *   and `span_id` -> trace context (the OpenTelemetry Collector's HEC
 *   exporter writes these), everything else -> attributes;
 * - `service.name` from `fields["service.name"]`, else `fields.service`,
 *   else the sourcetype.
 */
import { emptyLogRecord, severityFromText, type Attributes, type LogRecord } from '@meshlog/core';
import { flattenInto } from '../shared/flatten.js';
import { ResourceInterner, isResourceAttribute } from '../shared/resource-attributes.js';

/** Splunk's HEC status codes this source answers with (Splunk's own texts). */
export const HecStatus = {
  Success: { code: 0, text: 'Success', status: 200 },
  TokenDisabled: { code: 1, text: 'Token disabled', status: 403 },
  TokenRequired: { code: 2, text: 'Token is required', status: 401 },
  InvalidAuthorization: { code: 3, text: 'Invalid authorization', status: 401 },
  InvalidToken: { code: 4, text: 'Invalid token', status: 403 },
  NoData: { code: 5, text: 'No data', status: 400 },
  InvalidDataFormat: { code: 6, text: 'Invalid data format', status: 400 },
  InternalError: { code: 8, text: 'Internal server error', status: 500 },
  ServerBusy: { code: 9, text: 'Server is busy', status: 503 },
  InvalidDataChannel: { code: 11, text: 'Invalid data channel', status: 400 },
  EventRequired: { code: 12, text: 'Event field is required', status: 400 },
  EventBlank: { code: 13, text: 'Event field cannot be blank', status: 400 },
  AckDisabled: { code: 14, text: 'ACK is disabled', status: 400 },
  IndexedFields: { code: 15, text: 'Error in handling indexed fields', status: 400 },
  Healthy: { code: 17, text: 'HEC is healthy', status: 200 },
} as const;
export type HecStatus = (typeof HecStatus)[keyof typeof HecStatus];

/** A rejected request: Splunk's status, the failing event's position, and what exactly is wrong. */
export class HecDecodeError extends Error {
  constructor(
    readonly hec: HecStatus,
    readonly eventNumber: number | undefined,
    detail: string,
  ) {
    super(detail);
    this.name = 'HecDecodeError';
  }
}

/** Metadata that applies to every event of a request (query string of `/raw`, defaults of `/event`). */
export interface HecMetadata {
  host?: string | undefined;
  source?: string | undefined;
  sourcetype?: string | undefined;
  index?: string | undefined;
  timeUnixNano?: bigint | undefined;
}

const SEVERITY_NUMBER_FIELD = 'otel.log.severity.number';
const SEVERITY_TEXT_FIELD = 'otel.log.severity.text';
const HEX32 = /^[0-9a-f]{32}$/i;
const HEX16 = /^[0-9a-f]{16}$/i;

/**
 * HEC `time`: epoch seconds with optional decimals, as a JSON number or a
 * numeric string. Returns undefined when it is not one. Decimal text is
 * converted digit by digit, so `1700000000.123456789` keeps its nanoseconds.
 */
export function parseHecTime(v: unknown): bigint | undefined {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    text = String(v);
    // 1e21 and friends: fall back to microsecond precision.
    if (/e/i.test(text)) return BigInt(Math.round(v * 1e6)) * 1000n;
  } else if (typeof v === 'string') {
    text = v.trim();
  } else {
    return undefined;
  }
  const m = /^(\d{1,12})(?:\.(\d*))?$/.exec(text);
  if (!m) return undefined;
  const frac = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
  return BigInt(m[1]!) * 1_000_000_000n + BigInt(frac);
}

/** Splits concatenated JSON values; an error names the position of the value that is broken. */
function splitJsonValues(text: string): { values: string[]; error?: string } {
  const values: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    if (i >= n) return { values };
    const first = text.charCodeAt(i);
    if (first !== 0x7b && first !== 0x5b) return { values, error: `expected a JSON object, found ${JSON.stringify(text.slice(i, i + 20))}` };
    const start = i;
    let depth = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        // Jump to the closing quote: one that follows an even number of backslashes.
        let q = i;
        for (;;) {
          q = text.indexOf('"', q + 1);
          if (q < 0) break;
          let backslashes = 0;
          while (text.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
          if (backslashes % 2 === 0) break;
        }
        if (q < 0) {
          i = n;
          break;
        }
        i = q;
      } else if (c === 0x7b || c === 0x5b) {
        depth++;
      } else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) return { values, error: 'unterminated JSON object (the body ends inside it)' };
    values.push(text.slice(start, i));
  }
}

export interface DecodedHecEvents {
  records: LogRecord[];
  /**
   * Events that carried no time of their own (they take the arrival time).
   * Two identical requests with such events are two sets of events, not a
   * retry, so the source gives them no idempotency key.
   */
  untimed: number;
}

/** Decodes a `/services/collector/event` body; throws `HecDecodeError` for the first bad event. */
export function decodeHecEvents(body: Buffer, now: bigint, defaults: HecMetadata = {}): DecodedHecEvents {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new HecDecodeError(HecStatus.NoData, undefined, 'the request has no events');
  const split = splitJsonValues(text);
  const records: LogRecord[] = [];
  const resources = new ResourceInterner();
  let untimed = 0;
  const decodeOne = (value: unknown): void => {
    const { record, timed } = eventToRecord(value, records.length, now, defaults, resources);
    records.push(record);
    if (!timed) untimed++;
  };
  for (const [i, chunk] of split.values.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(chunk);
    } catch (err) {
      throw new HecDecodeError(HecStatus.InvalidDataFormat, records.length, `event ${records.length}: invalid JSON: ${(err as Error).message}`);
    }
    // A top-level array is a batch of events; its elements count as events.
    if (Array.isArray(value)) {
      if (value.length === 0 && i === split.values.length - 1 && records.length === 0) throw new HecDecodeError(HecStatus.NoData, undefined, 'the request has no events');
      for (const v of value) decodeOne(v);
    } else {
      decodeOne(value);
    }
  }
  if (split.error !== undefined) throw new HecDecodeError(HecStatus.InvalidDataFormat, records.length, `event ${records.length}: ${split.error}`);
  if (records.length === 0) throw new HecDecodeError(HecStatus.NoData, undefined, 'the request has no events');
  return { records, untimed };
}

function optionalString(o: Record<string, unknown>, key: string, n: number): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HecDecodeError(HecStatus.InvalidDataFormat, n, `event ${n}: "${key}" must be a string`);
  return v;
}

function eventToRecord(value: unknown, n: number, now: bigint, defaults: HecMetadata, resources: ResourceInterner): { record: LogRecord; timed: boolean } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HecDecodeError(HecStatus.InvalidDataFormat, n, `event ${n}: expected a JSON object`);
  }
  const o = value as Record<string, unknown>;
  if (!('event' in o)) throw new HecDecodeError(HecStatus.EventRequired, n, `event ${n}: the "event" field is missing`);
  const r = emptyLogRecord();
  r.observedTimeUnixNano = now;
  const attributes: Attributes = {};
  const resource: Attributes = {};

  const event = o['event'];
  if (event === null || (typeof event === 'string' && event.trim() === '')) {
    throw new HecDecodeError(HecStatus.EventBlank, n, `event ${n}: "event" is blank`);
  }
  if (typeof event === 'string') {
    r.body = event;
  } else if (typeof event === 'object') {
    if (Array.isArray(event) ? event.length === 0 : Object.keys(event).length === 0) throw new HecDecodeError(HecStatus.EventBlank, n, `event ${n}: "event" is empty`);
    const ev = event as Record<string, unknown>;
    const messageKey = Array.isArray(event) ? undefined : typeof ev['message'] === 'string' ? 'message' : typeof ev['log'] === 'string' ? 'log' : undefined;
    if (messageKey === undefined) {
      r.body = JSON.stringify(event);
    } else {
      r.body = ev[messageKey] as string;
      for (const [k, v] of Object.entries(ev)) {
        if (k === messageKey) continue;
        if ((k === 'severity' || k === 'level') && typeof v === 'string' && r.severityText === '') {
          r.severityText = v;
          r.severityNumber = severityFromText(v);
          continue;
        }
        flattenInto(attributes, k, v);
      }
    }
  } else {
    r.body = String(event);
  }

  if ('time' in o && o['time'] !== null) {
    const t = parseHecTime(o['time']);
    if (t === undefined) throw new HecDecodeError(HecStatus.InvalidDataFormat, n, `event ${n}: "time" must be epoch seconds (a number or numeric string), got ${JSON.stringify(o['time']).slice(0, 40)}`);
    r.timeUnixNano = t;
  } else {
    r.timeUnixNano = defaults.timeUnixNano ?? now;
  }
  const timed = 'time' in o && o['time'] !== null ? true : defaults.timeUnixNano !== undefined;

  const host = optionalString(o, 'host', n) ?? defaults.host;
  const source = optionalString(o, 'source', n) ?? defaults.source;
  const sourcetype = optionalString(o, 'sourcetype', n) ?? defaults.sourcetype;
  const index = optionalString(o, 'index', n) ?? defaults.index;
  if (source) attributes['splunk.source'] = source;
  if (sourcetype) attributes['splunk.sourcetype'] = sourcetype;
  if (index) attributes['splunk.index'] = index;

  let fieldService: string | undefined;
  const fields = o['fields'];
  if (fields !== undefined && fields !== null) {
    if (typeof fields !== 'object' || Array.isArray(fields)) throw new HecDecodeError(HecStatus.InvalidDataFormat, n, `event ${n}: "fields" must be a JSON object`);
    for (const [k, v] of Object.entries(fields as Record<string, unknown>)) {
      if (v === null) continue;
      if (typeof v === 'object') {
        // Indexed fields are flat: a value is a scalar or an array of scalars.
        if (!Array.isArray(v) || v.some((x) => typeof x === 'object' && x !== null)) {
          throw new HecDecodeError(HecStatus.IndexedFields, n, `event ${n}: fields.${k} is nested; indexed fields take a string, a number or an array of them`);
        }
      }
      const scalar = Array.isArray(v) ? JSON.stringify(v) : typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
      if (k === SEVERITY_NUMBER_FIELD && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 24) {
        r.severityNumber = v;
      } else if (k === SEVERITY_TEXT_FIELD && typeof v === 'string') {
        r.severityText = v;
        if (r.severityNumber === 0) r.severityNumber = severityFromText(v);
      } else if (k === 'trace_id' && typeof v === 'string' && HEX32.test(v)) {
        r.traceId = /^0+$/.test(v) ? '' : v.toLowerCase();
      } else if (k === 'span_id' && typeof v === 'string' && HEX16.test(v)) {
        r.spanId = /^0+$/.test(v) ? '' : v.toLowerCase();
      } else if (k === 'service' && typeof v === 'string') {
        fieldService = v;
      } else if (isResourceAttribute(k)) {
        resource[k] = scalar;
      } else {
        attributes[k] = scalar;
      }
    }
  }
  if (host) resource['host.name'] = host;
  if (resource['service.name'] === undefined || resource['service.name'] === '') {
    const service = fieldService ?? sourcetype;
    if (service) resource['service.name'] = service;
    else delete resource['service.name'];
  }
  if (fieldService !== undefined && resource['service.name'] !== fieldService) attributes['service'] = fieldService;
  r.attributes = attributes;
  r.resource = resources.intern(resource);
  return { record: r, timed };
}

/** Decodes a `/services/collector/raw` body: one event per non-blank line, metadata from the query. */
export function decodeHecRaw(body: Buffer, now: bigint, meta: HecMetadata): LogRecord[] {
  const resource: Attributes = {};
  if (meta.host) resource['host.name'] = meta.host;
  if (meta.sourcetype) resource['service.name'] = meta.sourcetype;
  const attributes: Attributes = {};
  if (meta.source) attributes['splunk.source'] = meta.source;
  if (meta.sourcetype) attributes['splunk.sourcetype'] = meta.sourcetype;
  if (meta.index) attributes['splunk.index'] = meta.index;
  const records: LogRecord[] = [];
  for (const raw of body.toString('utf8').split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const r = emptyLogRecord();
    r.timeUnixNano = meta.timeUnixNano ?? now;
    r.observedTimeUnixNano = now;
    r.body = line;
    r.resource = resource;
    r.attributes = { ...attributes };
    records.push(r);
  }
  if (records.length === 0) throw new HecDecodeError(HecStatus.NoData, undefined, 'the request has no events');
  return records;
}
