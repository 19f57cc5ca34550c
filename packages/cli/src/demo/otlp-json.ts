/**
 * OTLP/HTTP JSON encoding of the demo's logs and spans.
 *
 * The shapes follow the OTLP specification's "JSON Protobuf Encoding":
 * lowerCamelCase field names, 64-bit integers (timestamps, `intValue`) as
 * decimal strings, enums (`severityNumber`, span `kind`, status `code`) as
 * integers, and `traceId`/`spanId`/`parentSpanId` as lowercase hex, not
 * base64. Records are grouped per resource (one resource per pod and
 * container), in first-seen order, so a batch reads like what a collector
 * on each node would send.
 */

export interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpResource {
  attributes: OtlpKeyValue[];
}

export interface OtlpScope {
  name: string;
  version: string;
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: OtlpKeyValue[];
  flags?: number;
  traceId?: string;
  spanId?: string;
}

export interface ExportLogsServiceRequest {
  resourceLogs: Array<{
    resource: OtlpResource;
    scopeLogs: Array<{ scope: OtlpScope; logRecords: OtlpLogRecord[] }>;
  }>;
}

/** OTLP span kinds used here (the enum's integer values). */
export const SpanKind = { SERVER: 2, CLIENT: 3 } as const;
/** OTLP status codes. Instrumentation leaves successful spans UNSET. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: number; message?: string };
}

export interface ExportTraceServiceRequest {
  resourceSpans: Array<{
    resource: OtlpResource;
    scopeSpans: Array<{ scope: OtlpScope; spans: OtlpSpan[] }>;
  }>;
}

/**
 * One pod's container as a telemetry source. Drafts point at the same object
 * for the same container, which is what batches are grouped by.
 */
export interface DemoResource {
  readonly key: string;
  readonly attributes: readonly OtlpKeyValue[];
}

/** A log record before encoding; times are epoch milliseconds (fractions allowed). */
export interface DemoLogRecord {
  readonly resource: DemoResource;
  readonly timeMs: number;
  readonly observedMs: number;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: string;
  readonly attributes: readonly OtlpKeyValue[];
  readonly traceId?: string;
  readonly spanId?: string;
}

export interface DemoSpan {
  readonly resource: DemoResource;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly flags: number;
  readonly name: string;
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: readonly OtlpKeyValue[];
  readonly statusCode: number;
  readonly statusMessage?: string;
}

/**
 * W3C span flags in the low byte; bits 8 and 9 say whether the parent was
 * remote (OTLP `SpanFlags`). Server spans continue a context that arrived
 * over the wire; client spans and roots have a local (or no) parent.
 */
export const SPAN_FLAGS_LOCAL_PARENT = 0x101;
export const SPAN_FLAGS_REMOTE_PARENT = 0x301;
/** W3C `sampled` flag, as carried on log records. */
export const TRACE_FLAGS_SAMPLED = 1;

export const DEMO_SCOPE: OtlpScope = { name: 'meshlog-demo', version: '0.1.0' };

/**
 * Epoch milliseconds to the decimal-string nanoseconds OTLP JSON wants.
 * Microsecond precision keeps the value inside a double's exact range
 * (epoch microseconds are ~1.7e15, below 2^53).
 */
export function msToUnixNano(ms: number): string {
  return `${Math.round(ms * 1000)}000`;
}

export function stringAttr(key: string, value: string): OtlpKeyValue {
  return { key, value: { stringValue: value } };
}

export function intAttr(key: string, value: number): OtlpKeyValue {
  return { key, value: { intValue: String(Math.trunc(value)) } };
}

export function boolAttr(key: string, value: boolean): OtlpKeyValue {
  return { key, value: { boolValue: value } };
}

export function doubleAttr(key: string, value: number): OtlpKeyValue {
  return { key, value: { doubleValue: value } };
}

function groupByResource<T extends { readonly resource: DemoResource }>(items: readonly T[]): Map<DemoResource, T[]> {
  const groups = new Map<DemoResource, T[]>();
  for (const item of items) {
    const group = groups.get(item.resource);
    if (group) group.push(item);
    else groups.set(item.resource, [item]);
  }
  return groups;
}

export function encodeLogRecord(record: DemoLogRecord): OtlpLogRecord {
  const out: OtlpLogRecord = {
    timeUnixNano: msToUnixNano(record.timeMs),
    observedTimeUnixNano: msToUnixNano(record.observedMs),
    severityNumber: record.severityNumber,
    severityText: record.severityText,
    body: { stringValue: record.body },
    attributes: record.attributes as OtlpKeyValue[],
  };
  // A record outside any request (a database checkpoint, an agent warning)
  // has no trace context: the fields are left out rather than sent empty.
  if (record.traceId !== undefined && record.spanId !== undefined) {
    out.flags = TRACE_FLAGS_SAMPLED;
    out.traceId = record.traceId;
    out.spanId = record.spanId;
  }
  return out;
}

export function encodeSpan(span: DemoSpan): OtlpSpan {
  const out: OtlpSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    flags: span.flags,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: msToUnixNano(span.startMs),
    endTimeUnixNano: msToUnixNano(span.endMs),
    attributes: span.attributes as OtlpKeyValue[],
    status: span.statusMessage === undefined ? { code: span.statusCode } : { code: span.statusCode, message: span.statusMessage },
  };
  if (span.parentSpanId !== undefined) out.parentSpanId = span.parentSpanId;
  return out;
}

/** Builds one ExportLogsServiceRequest, grouping records per resource. */
export function buildLogsRequest(records: readonly DemoLogRecord[]): ExportLogsServiceRequest {
  const resourceLogs: ExportLogsServiceRequest['resourceLogs'] = [];
  for (const [resource, group] of groupByResource(records)) {
    resourceLogs.push({
      resource: { attributes: resource.attributes as OtlpKeyValue[] },
      scopeLogs: [{ scope: DEMO_SCOPE, logRecords: group.map(encodeLogRecord) }],
    });
  }
  return { resourceLogs };
}

/** Builds one ExportTraceServiceRequest, grouping spans per resource. */
export function buildTracesRequest(spans: readonly DemoSpan[]): ExportTraceServiceRequest {
  const resourceSpans: ExportTraceServiceRequest['resourceSpans'] = [];
  for (const [resource, group] of groupByResource(spans)) {
    resourceSpans.push({
      resource: { attributes: resource.attributes as OtlpKeyValue[] },
      scopeSpans: [{ scope: DEMO_SCOPE, spans: group.map(encodeSpan) }],
    });
  }
  return { resourceSpans };
}

/** Counts the records in a logs request (for stats and tests). */
export function countLogRecords(request: ExportLogsServiceRequest): number {
  let n = 0;
  for (const rl of request.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  return n;
}

/** Counts the spans in a traces request. */
export function countSpans(request: ExportTraceServiceRequest): number {
  let n = 0;
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

/** A log record with its resource attributes flattened to a map (for tests and tools reading payloads back). */
export interface FlatLogRecord {
  readonly resource: Readonly<Record<string, string>>;
  readonly record: OtlpLogRecord;
}

/** A span with its resource attributes flattened to a map. */
export interface FlatSpan {
  readonly resource: Readonly<Record<string, string>>;
  readonly span: OtlpSpan;
}

function attributeMap(attributes: readonly OtlpKeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attributes) out[kv.key] = kv.value.stringValue ?? kv.value.intValue ?? String(kv.value.boolValue ?? kv.value.doubleValue ?? '');
  return out;
}

export function flattenLogs(request: ExportLogsServiceRequest): FlatLogRecord[] {
  const out: FlatLogRecord[] = [];
  for (const rl of request.resourceLogs) {
    const resource = attributeMap(rl.resource.attributes);
    for (const sl of rl.scopeLogs) for (const record of sl.logRecords) out.push({ resource, record });
  }
  return out;
}

export function flattenSpans(request: ExportTraceServiceRequest): FlatSpan[] {
  const out: FlatSpan[] = [];
  for (const rs of request.resourceSpans) {
    const resource = attributeMap(rs.resource.attributes);
    for (const ss of rs.scopeSpans) for (const span of ss.spans) out.push({ resource, span });
  }
  return out;
}

/** A record attribute's string value, or undefined. */
export function recordAttribute(record: { attributes: readonly OtlpKeyValue[] }, key: string): string | undefined {
  return record.attributes.find((kv) => kv.key === key)?.value.stringValue;
}
