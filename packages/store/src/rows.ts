/**
 * Internal model -> `JSONCompactEachRow` rows for the logs and spans tables
 * (positional arrays: no key names to send or parse). Keys of attribute maps
 * are sorted so equal maps encode equally (compression, and the integrity
 * work recomputes hashes from stored rows). MATERIALIZED columns (ts,
 * stream_id) are left to ClickHouse.
 *
 * This is the ingest hot path: everything derived from a resource (stream
 * labels, service name, resource arrays) is encoded once per resource object,
 * not once per record; sources hand out one shared resource object per OTLP
 * ResourceLogs.
 */
import { serviceNameOf, streamLabelsOf, type Attributes, type LogBatch, type SpanBatch } from '@meshlog/core';

/** Column order of `encodeLogRows` rows. */
export const LOG_COLUMNS = [
  'tenant',
  'timestamp_ns',
  'observed_ns',
  'service_name',
  'labels_keys',
  'labels_values',
  'severity_number',
  'severity_text',
  'body',
  'trace_id',
  'span_id',
  'flags',
  'attr_keys',
  'attr_values',
  'res_keys',
  'res_values',
  'scope_name',
  'source',
  'ingest_seq',
] as const;

export const SPAN_COLUMNS = [
  'tenant',
  'trace_id',
  'span_id',
  'parent_span_id',
  'start_ns',
  'end_ns',
  'name',
  'kind',
  'service_name',
  'status_code',
  'status_message',
  'attr_keys',
  'attr_values',
  'res_keys',
  'res_values',
  'events',
  'source',
  'ingest_seq',
] as const;

const q = JSON.stringify;

/** `[keys],[values]` of an attribute map, keys sorted, values as strings. */
function attributePair(a: Attributes): string {
  const keys = Object.keys(a);
  if (keys.length === 0) return '[],[]';
  keys.sort();
  let k = '';
  let v = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0) {
      k += ',';
      v += ',';
    }
    k += q(key);
    v += q(String(a[key]));
  }
  return `[${k}],[${v}]`;
}

/** `ingestSeq`: the WAL group carrying the rows (0 when they bypass the WAL). */
export function encodeLogRows(batches: LogBatch[], ingestSeq: bigint = 0n): Buffer {
  const out: string[] = [];
  const perResource = new Map<Attributes, string>();
  for (const b of batches) {
    const tenant = q(b.tenant);
    const source = q(b.source);
    for (const r of b.records) {
      // service_name, labels_keys, labels_values: once per resource object.
      let stream = perResource.get(r.resource);
      if (stream === undefined) {
        const labels = streamLabelsOf(r.resource, r.attributes);
        stream = `${q(serviceNameOf(r))},[${labels.map((l) => q(l[0])).join(',')}],[${labels.map((l) => q(l[1])).join(',')}]`;
        // A record without service.name may name its service in its own
        // attributes; only cache what cannot depend on the record.
        if (r.resource['service.name'] !== undefined && r.resource['service.name'] !== '') perResource.set(r.resource, stream);
      }
      out.push(
        `[${tenant},"${r.timeUnixNano}","${r.observedTimeUnixNano}",${stream},${r.severityNumber},${q(r.severityText)},${q(r.body)},"${r.traceId}","${r.spanId}",${r.flags},${attributePair(r.attributes)},${resourcePair(r.resource)},${q(r.scopeName)},${source},${ingestSeq}]`,
      );
    }
  }
  return Buffer.from(out.join('\n'));
}

const resourcePairs = new WeakMap<Attributes, string>();
function resourcePair(a: Attributes): string {
  let s = resourcePairs.get(a);
  if (s === undefined) {
    s = attributePair(a);
    resourcePairs.set(a, s);
  }
  return s;
}

export function encodeSpanRows(batches: SpanBatch[], ingestSeq: bigint = 0n): Buffer {
  const out: string[] = [];
  for (const b of batches) {
    const tenant = q(b.tenant);
    const source = q(b.source);
    for (const s of b.spans) {
      const service = s.resource['service.name'];
      const events = s.events.length === 0 ? '' : q(s.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano.toString() })));
      out.push(
        `[${tenant},"${s.traceId}","${s.spanId}","${s.parentSpanId}","${s.startTimeUnixNano}","${s.endTimeUnixNano}",${q(s.name)},${s.kind},${q(
          service === undefined || service === '' ? 'unknown_service' : String(service),
        )},${s.statusCode},${q(s.statusMessage)},${attributePair(s.attributes)},${resourcePair(s.resource)},${q(events)},${source},${ingestSeq}]`,
      );
    }
  }
  return Buffer.from(out.join('\n'));
}
