/**
 * The internal model -> OTLP protobuf (`ExportLogsServiceRequest`,
 * `ExportTraceServiceRequest`), the inverse of `sources/otlp/otlp-decode`.
 * Logs are the hot path of the agent, so they are written field by field
 * with protobufjs's `Writer` (field numbers from
 * proto/opentelemetry/proto/logs/v1/logs.proto) instead of building message
 * objects first; spans go through the generated type.
 *
 * Records are grouped by resource and scope as OTLP wants them. Attribute
 * values are the model's scalars: integers become `int_value`, other numbers
 * `double_value`. The event name travels in `event_name` again.
 */
import protobuf from 'protobufjs';
import type { Attributes, AttributeValue, LogRecord, Span } from '@meshlog/core';
import { otlpType } from '../../sources/otlp/otlp-proto.js';

const { Writer } = protobuf;
type W = protobuf.Writer;

const LEN = 2;
const I64 = 1;
const I32 = 5;
const VARINT = 0;
const tag = (field: number, wire: number): number => (field << 3) | wire;

function writeAnyValue(w: W, v: AttributeValue): void {
  if (typeof v === 'string') w.uint32(tag(1, LEN)).string(v);
  else if (typeof v === 'boolean') w.uint32(tag(2, VARINT)).bool(v);
  else if (Number.isSafeInteger(v)) w.uint32(tag(3, VARINT)).int64(v);
  else w.uint32(tag(4, I64)).double(v);
}

function writeAttributes(w: W, field: number, attrs: Attributes, skip?: string): void {
  for (const key in attrs) {
    if (key === skip) continue;
    const v = attrs[key]!;
    w.uint32(tag(field, LEN)).fork();
    w.uint32(tag(1, LEN)).string(key);
    w.uint32(tag(2, LEN)).fork();
    writeAnyValue(w, v);
    w.ldelim();
    w.ldelim();
  }
}

function writeFixed64(w: W, field: number, v: bigint): void {
  if (v === 0n) return;
  w.uint32(tag(field, I64)).fixed32(Number(v & 0xffffffffn)).fixed32(Number((v >> 32n) & 0xffffffffn));
}

function writeLogRecord(w: W, r: LogRecord): void {
  writeFixed64(w, 1, r.timeUnixNano);
  if (r.severityNumber) w.uint32(tag(2, VARINT)).int32(r.severityNumber);
  if (r.severityText) w.uint32(tag(3, LEN)).string(r.severityText);
  w.uint32(tag(5, LEN)).fork().uint32(tag(1, LEN)).string(r.body).ldelim();
  const eventName = r.attributes['event.name'];
  writeAttributes(w, 6, r.attributes, typeof eventName === 'string' ? 'event.name' : undefined);
  if (r.flags) w.uint32(tag(8, I32)).fixed32(r.flags);
  if (r.traceId) w.uint32(tag(9, LEN)).bytes(Buffer.from(r.traceId, 'hex'));
  if (r.spanId) w.uint32(tag(10, LEN)).bytes(Buffer.from(r.spanId, 'hex'));
  writeFixed64(w, 11, r.observedTimeUnixNano);
  if (typeof eventName === 'string') w.uint32(tag(12, LEN)).string(eventName);
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

/** `ExportLogsServiceRequest` bytes for the records, grouped by resource and scope. */
export function encodeOtlpLogs(records: readonly LogRecord[]): Buffer {
  const groups = new Map<string, { resource: Attributes; scopes: Map<string, { name: string; version: string; records: LogRecord[] }> }>();
  for (const r of records) {
    const rk = resourceKey(r.resource);
    let g = groups.get(rk);
    if (!g) groups.set(rk, (g = { resource: r.resource, scopes: new Map() }));
    const sk = `${r.scopeName}\0${r.scopeVersion}`;
    let s = g.scopes.get(sk);
    if (!s) g.scopes.set(sk, (s = { name: r.scopeName, version: r.scopeVersion, records: [] }));
    s.records.push(r);
  }
  const w = Writer.create();
  for (const g of groups.values()) {
    w.uint32(tag(1, LEN)).fork();
    w.uint32(tag(1, LEN)).fork();
    writeAttributes(w, 1, g.resource);
    w.ldelim();
    for (const s of g.scopes.values()) {
      w.uint32(tag(2, LEN)).fork();
      if (s.name || s.version) {
        w.uint32(tag(1, LEN)).fork();
        if (s.name) w.uint32(tag(1, LEN)).string(s.name);
        if (s.version) w.uint32(tag(2, LEN)).string(s.version);
        w.ldelim();
      }
      for (const r of s.records) {
        w.uint32(tag(2, LEN)).fork();
        writeLogRecord(w, r);
        w.ldelim();
      }
      w.ldelim();
    }
    w.ldelim();
  }
  const out = w.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
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
