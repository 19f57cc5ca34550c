/**
 * The internal model -> OTLP protobuf (`ExportLogsServiceRequest`,
 * `ExportTraceServiceRequest`), the inverse of `sources/otlp/otlp-decode`.
 * Logs are the hot path of the agent, so they are written byte by byte into
 * one buffer (field numbers from proto/opentelemetry/proto/logs/v1/logs.proto)
 * instead of building message objects first; spans go through the generated
 * type.
 *
 * Records are grouped by resource and scope as OTLP wants them. Attribute
 * values are the model's scalars: integers become `int_value`, other numbers
 * `double_value`. The event name travels in `event_name` again.
 */
import type { Attributes, AttributeValue, LogRecord, Span } from '@meshlog/core';
import { otlpType } from '../../sources/otlp/otlp-proto.js';

const LEN = 2;
const tag = (field: number, wire: number): number => (field << 3) | wire;
// One-byte tags (every field number here is below 16).
const T_RESOURCE_LOGS = tag(1, LEN);
const T_RESOURCE = tag(1, LEN);
const T_SCOPE_LOGS = tag(2, LEN);
const T_SCOPE = tag(1, LEN);
const T_LOG_RECORD = tag(2, LEN);
const T_ATTR = tag(1, LEN); // Resource.attributes
const T_KV_KEY = tag(1, LEN);
const T_KV_VALUE = tag(2, LEN);
const T_STRING = tag(1, LEN);
const T_BOOL = tag(2, 0);
const T_INT = tag(3, 0);
const T_DOUBLE = tag(4, 1);

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 128) {
    buf[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** A negative int64 is ten bytes of two's complement varint. */
function writeNegativeVarint(buf: Buffer, pos: number, v: number): number {
  let x = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < 9; i++) {
    buf[pos++] = Number(x & 0x7fn) | 128;
    x >>= 7n;
  }
  buf[pos++] = Number(x);
  return pos;
}

const lenField = (len: number): number => 1 + varintSize(len) + len;

/**
 * Encoded `KeyValue` messages (without their field tag) of string
 * attributes, reused: a file source's records carry the same path and name
 * thousands of times, a receiver's the same service and host. Bounded; a
 * full cache starts over.
 */
const kvCache = new Map<string, Map<string, Buffer>>();
let kvCached = 0;
const KV_CACHE_MAX = 4096;
const KV_CACHE_VALUE_MAX = 512;

function anyValueSize(v: AttributeValue): number {
  if (typeof v === 'string') return lenField(Buffer.byteLength(v));
  if (typeof v === 'boolean') return 2;
  if (Number.isSafeInteger(v)) return 1 + (v < 0 ? 10 : varintSize(v));
  return 9;
}

function writeAnyValue(buf: Buffer, pos: number, v: AttributeValue): number {
  if (typeof v === 'string') return writeString(buf, pos, T_STRING, v, Buffer.byteLength(v));
  if (typeof v === 'boolean') {
    buf[pos++] = T_BOOL;
    buf[pos++] = v ? 1 : 0;
    return pos;
  }
  if (Number.isSafeInteger(v)) {
    buf[pos++] = T_INT;
    return v < 0 ? writeNegativeVarint(buf, pos, v) : writeVarint(buf, pos, v);
  }
  buf[pos++] = T_DOUBLE;
  buf.writeDoubleLE(v, pos);
  return pos + 8;
}

function writeString(buf: Buffer, pos: number, t: number, s: string, bytes: number): number {
  buf[pos++] = t;
  pos = writeVarint(buf, pos, bytes);
  return pos + buf.write(s, pos, bytes, 'utf8');
}

/** The body of a KeyValue (key, value) and its size. */
function keyValueSize(key: string, v: AttributeValue): number {
  const inner = anyValueSize(v);
  return lenField(Buffer.byteLength(key)) + lenField(inner);
}

function encodeKeyValue(key: string, v: AttributeValue): Buffer {
  const size = keyValueSize(key, v);
  const buf = Buffer.allocUnsafe(size);
  const end = writeKeyValue(buf, 0, key, v);
  return end === size ? buf : buf.subarray(0, end);
}

function writeKeyValue(buf: Buffer, pos: number, key: string, v: AttributeValue): number {
  pos = writeString(buf, pos, T_KV_KEY, key, Buffer.byteLength(key));
  buf[pos++] = T_KV_VALUE;
  pos = writeVarint(buf, pos, anyValueSize(v));
  return writeAnyValue(buf, pos, v);
}

function cachedKeyValue(key: string, v: string): Buffer | undefined {
  if (v.length > KV_CACHE_VALUE_MAX) return undefined;
  let byValue = kvCache.get(key);
  let kv = byValue?.get(v);
  if (kv) return kv;
  if (kvCached >= KV_CACHE_MAX) {
    kvCache.clear();
    kvCached = 0;
    byValue = undefined;
  }
  if (!byValue) kvCache.set(key, (byValue = new Map()));
  kv = encodeKeyValue(key, v);
  byValue.set(v, kv);
  kvCached++;
  return kv;
}

function attributesSize(attrs: Attributes, skip?: string): number {
  let n = 0;
  for (const key in attrs) {
    if (key === skip) continue;
    const v = attrs[key]!;
    const cached = typeof v === 'string' ? cachedKeyValue(key, v) : undefined;
    n += lenField(cached ? cached.length : keyValueSize(key, v));
  }
  return n;
}

function writeAttributes(buf: Buffer, pos: number, t: number, attrs: Attributes, skip?: string): number {
  for (const key in attrs) {
    if (key === skip) continue;
    const v = attrs[key]!;
    buf[pos++] = t;
    const cached = typeof v === 'string' ? cachedKeyValue(key, v) : undefined;
    if (cached) {
      pos = writeVarint(buf, pos, cached.length);
      pos += cached.copy(buf, pos);
    } else {
      pos = writeVarint(buf, pos, keyValueSize(key, v));
      pos = writeKeyValue(buf, pos, key, v);
    }
  }
  return pos;
}

function writeFixed64(buf: Buffer, pos: number, field: number, v: bigint): number {
  buf[pos++] = tag(field, 1);
  buf.writeBigUInt64LE(BigInt.asUintN(64, v), pos);
  return pos + 8;
}

/** Sizes of a LogRecord's fields (the message body, without its own tag and length). */
function logRecordSize(r: LogRecord, bodyBytes: number, eventName: string | undefined): number {
  let n = 0;
  if (r.timeUnixNano !== 0n) n += 9;
  if (r.severityNumber) n += 1 + (r.severityNumber < 0 ? 10 : varintSize(r.severityNumber));
  if (r.severityText) n += lenField(Buffer.byteLength(r.severityText));
  n += lenField(lenField(bodyBytes));
  n += attributesSize(r.attributes, eventName !== undefined ? 'event.name' : undefined);
  if (r.flags) n += 5;
  if (r.traceId) n += lenField(Buffer.from(r.traceId, 'hex').length);
  if (r.spanId) n += lenField(Buffer.from(r.spanId, 'hex').length);
  if (r.observedTimeUnixNano !== 0n) n += 9;
  if (eventName !== undefined) n += lenField(Buffer.byteLength(eventName));
  return n;
}

function writeLogRecord(buf: Buffer, pos: number, r: LogRecord, bodyBytes: number, eventName: string | undefined): number {
  if (r.timeUnixNano !== 0n) pos = writeFixed64(buf, pos, 1, r.timeUnixNano);
  if (r.severityNumber) {
    buf[pos++] = tag(2, 0);
    pos = r.severityNumber < 0 ? writeNegativeVarint(buf, pos, r.severityNumber) : writeVarint(buf, pos, r.severityNumber);
  }
  if (r.severityText) pos = writeString(buf, pos, tag(3, LEN), r.severityText, Buffer.byteLength(r.severityText));
  buf[pos++] = tag(5, LEN);
  pos = writeVarint(buf, pos, lenField(bodyBytes));
  pos = writeString(buf, pos, T_STRING, r.body, bodyBytes);
  pos = writeAttributes(buf, pos, tag(6, LEN), r.attributes, eventName !== undefined ? 'event.name' : undefined);
  if (r.flags) {
    buf[pos++] = tag(8, 5);
    buf.writeUInt32LE(r.flags >>> 0, pos);
    pos += 4;
  }
  for (const [field, hex] of [
    [9, r.traceId],
    [10, r.spanId],
  ] as const) {
    if (!hex) continue;
    const bytes = Buffer.from(hex, 'hex');
    buf[pos++] = tag(field, LEN);
    pos = writeVarint(buf, pos, bytes.length);
    pos += bytes.copy(buf, pos);
  }
  if (r.observedTimeUnixNano !== 0n) pos = writeFixed64(buf, pos, 11, r.observedTimeUnixNano);
  if (eventName !== undefined) pos = writeString(buf, pos, tag(12, LEN), eventName, Buffer.byteLength(eventName));
  return pos;
}

/** A stable key for a resource; the same object (one per file, per connection) is keyed once. */
const resourceKeys = new WeakMap<Attributes, string>();
function resourceKey(resource: Attributes): string {
  let k = resourceKeys.get(resource);
  if (k === undefined) {
    k = JSON.stringify(resource);
    resourceKeys.set(resource, k);
  }
  return k;
}

interface ScopeGroup {
  name: string;
  version: string;
  records: LogRecord[];
  size: number;
}

/**
 * `ExportLogsServiceRequest` bytes for the records, grouped by resource and
 * scope. Written straight into one buffer in two passes (sizes, then bytes)
 * rather than through protobufjs's Writer, which allocates an object per
 * field: on the agent's hot path that garbage was most of the GC time.
 */
export function encodeOtlpLogs(records: readonly LogRecord[]): Buffer {
  const groups = new Map<string, { resource: Attributes; resourceSize: number; scopes: Map<string, ScopeGroup> }>();
  const sizes = new Array<number>(records.length);
  const bodies = new Array<number>(records.length);
  const order: LogRecord[] = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const rk = resourceKey(r.resource);
    let g = groups.get(rk);
    if (!g) groups.set(rk, (g = { resource: r.resource, resourceSize: attributesSize(r.resource), scopes: new Map() }));
    const sk = r.scopeName === '' && r.scopeVersion === '' ? '' : `${r.scopeName}\0${r.scopeVersion}`;
    let s = g.scopes.get(sk);
    if (!s) g.scopes.set(sk, (s = { name: r.scopeName, version: r.scopeVersion, records: [], size: 0 }));
    s.records.push(r);
  }
  // Pass 1: sizes. Records are visited in their output order so the per-record sizes line up.
  let total = 0;
  const groupSizes: number[] = [];
  const scopeSizes: number[] = [];
  let ri = 0;
  for (const g of groups.values()) {
    let gSize = lenField(g.resourceSize);
    for (const s of g.scopes.values()) {
      let sSize = s.name || s.version ? lenField((s.name ? lenField(Buffer.byteLength(s.name)) : 0) + (s.version ? lenField(Buffer.byteLength(s.version)) : 0)) : 0;
      for (const r of s.records) {
        const ev = r.attributes['event.name'];
        const bodyBytes = Buffer.byteLength(r.body);
        const size = logRecordSize(r, bodyBytes, typeof ev === 'string' ? ev : undefined);
        bodies[ri] = bodyBytes;
        sizes[ri++] = size;
        order.push(r);
        sSize += lenField(size);
      }
      scopeSizes.push(sSize);
      gSize += lenField(sSize);
    }
    groupSizes.push(gSize);
    total += lenField(gSize);
  }
  // Pass 2: bytes.
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  let gi = 0;
  let si = 0;
  ri = 0;
  for (const g of groups.values()) {
    buf[pos++] = T_RESOURCE_LOGS;
    pos = writeVarint(buf, pos, groupSizes[gi++]!);
    buf[pos++] = T_RESOURCE;
    pos = writeVarint(buf, pos, g.resourceSize);
    pos = writeAttributes(buf, pos, T_ATTR, g.resource);
    for (const s of g.scopes.values()) {
      buf[pos++] = T_SCOPE_LOGS;
      pos = writeVarint(buf, pos, scopeSizes[si++]!);
      if (s.name || s.version) {
        buf[pos++] = T_SCOPE;
        pos = writeVarint(buf, pos, (s.name ? lenField(Buffer.byteLength(s.name)) : 0) + (s.version ? lenField(Buffer.byteLength(s.version)) : 0));
        if (s.name) pos = writeString(buf, pos, tag(1, LEN), s.name, Buffer.byteLength(s.name));
        if (s.version) pos = writeString(buf, pos, tag(2, LEN), s.version, Buffer.byteLength(s.version));
      }
      for (let k = 0; k < s.records.length; k++) {
        const r = order[ri]!;
        buf[pos++] = T_LOG_RECORD;
        pos = writeVarint(buf, pos, sizes[ri]!);
        const ev = r.attributes['event.name'];
        pos = writeLogRecord(buf, pos, r, bodies[ri]!, typeof ev === 'string' ? ev : undefined);
        ri++;
      }
    }
  }
  if (pos !== total) throw new Error(`OTLP log encoding: wrote ${pos} bytes, sized ${total} (a bug)`);
  return buf;
}

function kvList(attrs: Attributes): { key: string; value: Record<string, unknown> }[] {
  return Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isSafeInteger(v) ? { intValue: v } : { doubleValue: v },
  }));
}

/** `ExportTraceServiceRequest` bytes for the spans, grouped by resource. */
export function encodeOtlpSpans(spans: readonly Span[]): Buffer {
  const groups = new Map<string, { resource: Attributes; spans: Span[] }>();
  for (const s of spans) {
    const k = resourceKey(s.resource);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { resource: s.resource, spans: [] }));
    g.spans.push(s);
  }
  const type = otlpType('ExportTraceServiceRequest');
  const msg = type.fromObject({
    resourceSpans: [...groups.values()].map((g) => ({
      resource: { attributes: kvList(g.resource) },
      scopeSpans: [
        {
          spans: g.spans.map((s) => ({
            traceId: Buffer.from(s.traceId, 'hex'),
            spanId: Buffer.from(s.spanId, 'hex'),
            parentSpanId: Buffer.from(s.parentSpanId, 'hex'),
            name: s.name,
            kind: s.kind,
            startTimeUnixNano: s.startTimeUnixNano.toString(),
            endTimeUnixNano: s.endTimeUnixNano.toString(),
            attributes: kvList(s.attributes),
            status: { code: s.statusCode, message: s.statusMessage },
            events: s.events.map((e) => ({ timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: kvList(e.attributes) })),
          })),
        },
      ],
    })),
  });
  return Buffer.from(type.encode(msg).finish());
}
