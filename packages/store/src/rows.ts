/**
 * Internal model -> JSONEachRow rows for the logs and spans tables. Keys of
 * attribute maps are sorted so equal maps encode equally (compression, and
 * the integrity work recomputes hashes from stored rows).
 * MATERIALIZED columns (ts, stream_id) are left to ClickHouse.
 */
import { serviceNameOf, streamLabelsOf, type Attributes, type LogBatch, type SpanBatch } from '@meshlog/core';

function splitAttributes(a: Attributes): [string[], string[]] {
  const keys = Object.keys(a).sort();
  return [keys, keys.map((k) => String(a[k]))];
}

export function encodeLogRows(batches: LogBatch[]): Buffer {
  const parts: string[] = [];
  for (const b of batches) {
    for (const r of b.records) {
      const labels = streamLabelsOf(r.resource, r.attributes);
      const [attrKeys, attrValues] = splitAttributes(r.attributes);
      const [resKeys, resValues] = splitAttributes(r.resource);
      parts.push(
        JSON.stringify({
          tenant: b.tenant,
          timestamp_ns: r.timeUnixNano.toString(),
          observed_ns: r.observedTimeUnixNano.toString(),
          service_name: serviceNameOf(r),
          labels_keys: labels.map((l) => l[0]),
          labels_values: labels.map((l) => l[1]),
          severity_number: r.severityNumber,
          severity_text: r.severityText,
          body: r.body,
          trace_id: r.traceId,
          span_id: r.spanId,
          flags: r.flags,
          attr_keys: attrKeys,
          attr_values: attrValues,
          res_keys: resKeys,
          res_values: resValues,
          scope_name: r.scopeName,
          source: b.source,
        }),
      );
    }
  }
  return Buffer.from(parts.join('\n'));
}

export function encodeSpanRows(batches: SpanBatch[]): Buffer {
  const parts: string[] = [];
  for (const b of batches) {
    for (const s of b.spans) {
      const [attrKeys, attrValues] = splitAttributes(s.attributes);
      const [resKeys, resValues] = splitAttributes(s.resource);
      const service = s.resource['service.name'];
      parts.push(
        JSON.stringify({
          tenant: b.tenant,
          trace_id: s.traceId,
          span_id: s.spanId,
          parent_span_id: s.parentSpanId,
          start_ns: s.startTimeUnixNano.toString(),
          end_ns: s.endTimeUnixNano.toString(),
          name: s.name,
          kind: s.kind,
          service_name: service === undefined || service === '' ? 'unknown_service' : String(service),
          status_code: s.statusCode,
          status_message: s.statusMessage,
          attr_keys: attrKeys,
          attr_values: attrValues,
          res_keys: resKeys,
          res_values: resValues,
          events: s.events.length === 0 ? '' : JSON.stringify(s.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano.toString() }))),
          source: b.source,
        }),
      );
    }
  }
  return Buffer.from(parts.join('\n'));
}
