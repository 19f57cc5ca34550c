/**
 * The one internal data model, shaped after the OpenTelemetry log and trace data
 * models. Protocols are converted to it at the edges (sources) and from it at
 * the edges (sinks); nothing in between knows about wire formats.
 *
 * Invariants:
 * - timestamps are nanoseconds since the Unix epoch as bigint (nanoseconds do
 *   not fit a double);
 * - `traceId` is 32 lowercase hex digits or '' and `spanId` 16 or '';
 * - attribute values are flattened scalars: nested OTLP values arrive
 *   JSON-encoded, so every store and query path deals with one shape.
 */

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  /** OpenTelemetry severity number, 0 (unspecified) .. 24 (FATAL4). */
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: Attributes;
  resource: Attributes;
  scopeName: string;
  scopeVersion: string;
  traceId: string;
  spanId: string;
  flags: number;
}

export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

export const SpanStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Attributes;
}

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  resource: Attributes;
  statusCode: number;
  statusMessage: string;
  events: SpanEvent[];
}

/**
 * What flows through the pipeline. A batch belongs to exactly one tenant; the
 * tenant is set by the source from the authenticated identity, never from
 * record content.
 */
export interface LogBatch {
  readonly kind: 'logs';
  tenant: string;
  /** Component id of the source that accepted it (for metrics and the ledger). */
  source: string;
  /**
   * Idempotency key: a batch arriving again with the same key (a client
   * retrying a request whose answer it lost) is acknowledged without being
   * stored twice. Sources derive it from the request content; absent = none.
   */
  id?: string;
  records: LogRecord[];
}

export interface SpanBatch {
  readonly kind: 'spans';
  tenant: string;
  source: string;
  id?: string;
  spans: Span[];
}

export type Batch = LogBatch | SpanBatch;

export function batchSize(batch: Batch): number {
  return batch.kind === 'logs' ? batch.records.length : batch.spans.length;
}

/** Approximate in-memory weight, used by bounded queues to cap bytes. */
export function batchBytes(batch: Batch): number {
  let n = 0;
  if (batch.kind === 'logs') {
    for (const r of batch.records) n += 96 + r.body.length + attributesBytes(r.attributes);
  } else {
    for (const s of batch.spans) n += 160 + s.name.length + attributesBytes(s.attributes);
  }
  return n;
}

function attributesBytes(a: Attributes): number {
  let n = 0;
  for (const k in a) {
    const v = a[k];
    n += k.length + (typeof v === 'string' ? v.length : 8);
  }
  return n;
}

export function nowUnixNano(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** A record with every field at its zero value; sources fill what they have. */
export function emptyLogRecord(): LogRecord {
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: '',
    body: '',
    attributes: {},
    resource: {},
    scopeName: '',
    scopeVersion: '',
    traceId: '',
    spanId: '',
    flags: 0,
  };
}
