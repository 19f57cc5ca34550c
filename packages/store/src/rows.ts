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
import { crc32 } from 'node:zlib';
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
  'ingest_row',
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
  'ingest_row',
] as const;

/** Rows written before the integrity ledger (no `ingest_row`): how WAL groups of that age are replayed. */
export const LEGACY_LOG_COLUMNS = LOG_COLUMNS.slice(0, -1);
export const LEGACY_SPAN_COLUMNS = SPAN_COLUMNS.slice(0, -1);

/**
 * What the ledger needs from one batch's encoding, gathered while encoding
 * (the records are at hand then): the time range and a crc32 of each row.
 */
export interface RowStats {
  minNs: bigint;
  maxNs: bigint;
  crcs: number[];
}

export function newRowStats(): RowStats {
  return { minNs: -1n, maxNs: -1n, crcs: [] };
}

function observe(stats: RowStats | undefined, ns: bigint, row: string): void {
  if (!stats) return;
  if (stats.minNs < 0n || ns < stats.minNs) stats.minNs = ns;
  if (ns > stats.maxNs) stats.maxNs = ns;
  stats.crcs.push(crc32(row));
}

const q = JSON.stringify;

/**
 * A lone UTF-16 surrogate (valid in a JavaScript string, e.g. from a JSON
 * body's `"\ud800"`) is written by JSON.stringify as a `\udXXX` escape,
 * which ClickHouse refuses ("missing second part of surrogate pair"): one
 * such value would fail its insert forever and stall every batch behind it
 * in the WAL. It becomes U+FFFD before the row is written (and hashed), so
 * what is stored, read back and re-encoded is the same bytes. Paired
 * surrogates are written raw, so an escape in the output is always a lone
 * one; an escaped backslash before `ud` is text, not an escape (parity).
 */
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;
export function wellFormedRow(line: string): string {
  return line.includes('\\ud') ? line.replace(LONE_SURROGATE_ESCAPE, '$1\ufffd') : line;
}

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

/**
 * `ingestSeq`: the WAL group carrying the rows (0 when they bypass the WAL);
 * `firstRow`: the first row's ordinal in that group (`ingest_row`), each row
 * after it one more, so a batch's rows can be found and ordered again.
 * Without a WAL group (`firstRow` null) the rows have no `ingest_row`
 * column (LEGACY_*_COLUMNS): an ordinal means nothing there, and a
 * cluster's Distributed tables from before migration 5 lack the column.
 */
export function encodeLogRows(batches: LogBatch[], ingestSeq: bigint = 0n, firstRow: number | null = null, stats?: RowStats): Buffer {
  let row = firstRow ?? 0;
  const ordinal = firstRow === null ? (): string => '' : (): string => `,${row++}`;
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
      const line = wellFormedRow(`[${tenant},"${r.timeUnixNano}","${r.observedTimeUnixNano}",${stream},${r.severityNumber},${q(r.severityText)},${q(r.body)},${q(r.traceId)},${q(r.spanId)},${r.flags},${attributePair(r.attributes)},${resourcePair(r.resource)},${q(r.scopeName)},${source},${ingestSeq}${ordinal()}]`);
      observe(stats, r.timeUnixNano, line);
      out.push(line);
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

export function encodeSpanRows(batches: SpanBatch[], ingestSeq: bigint = 0n, firstRow: number | null = null, stats?: RowStats): Buffer {
  let row = firstRow ?? 0;
  const ordinal = firstRow === null ? (): string => '' : (): string => `,${row++}`;
  const out: string[] = [];
  for (const b of batches) {
    const tenant = q(b.tenant);
    const source = q(b.source);
    for (const s of b.spans) {
      const service = s.resource['service.name'];
      const events = s.events.length === 0 ? '' : q(s.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano.toString() })));
      const line = wellFormedRow(`[${tenant},${q(s.traceId)},${q(s.spanId)},${q(s.parentSpanId)},"${s.startTimeUnixNano}","${s.endTimeUnixNano}",${q(s.name)},${s.kind},${q(
        service === undefined || service === '' ? 'unknown_service' : String(service),
      )},${s.statusCode},${q(s.statusMessage)},${attributePair(s.attributes)},${resourcePair(s.resource)},${q(events)},${source},${ingestSeq}${ordinal()}]`);
      observe(stats, s.startTimeUnixNano, line);
      out.push(line);
    }
  }
  return Buffer.from(out.join('\n'));
}

/**
 * How each column reads back from the store (JSONCompactEachRow, 64-bit
 * integers quoted) and prints in the canonical row: s = JSON string,
 * q = 64-bit integer as a quoted decimal, n = number, u = 64-bit integer
 * unquoted, a = array of JSON strings.
 */
const LOG_KINDS = 'sqqsaanssssnaaaassun';
const SPAN_KINDS = 'ssssqqsnsnsaaaassun';

/**
 * The canonical row of stored values (the columns of LOG_COLUMNS /
 * SPAN_COLUMNS, as the store returns them): byte for byte the row
 * `encodeLogRows` / `encodeSpanRows` wrote, so the integrity ledger's batch
 * hashes can be recomputed from what the store holds.
 */
export function canonicalRow(table: 'logs' | 'spans' | 'audit_log', values: readonly unknown[]): string {
  const kinds = table === 'spans' ? SPAN_KINDS : LOG_KINDS;
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    switch (kinds[i]) {
      case 'q':
        out += `"${String(v)}"`;
        break;
      case 'n':
      case 'u':
        out += String(v);
        break;
      case 'a':
        out += `[${(v as unknown[]).map((x) => q(String(x))).join(',')}]`;
        break;
      default:
        out += q(String(v));
    }
  }
  return out + ']';
}
