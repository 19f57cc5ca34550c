/**
 * The store-side queries of Loki's index endpoints and of the metric fast
 * path, each compiled to one SELECT with bound parameters over the same
 * WHERE clause as a log query (tenant first, time bounds, stream matchers,
 * line filters, trace id):
 *
 * - series (`/series`): the distinct label sets of matching streams;
 * - label names and values restricted by a selector (`/labels?query=`);
 * - index stats (`/index/stats`): streams, "chunks", entries, bytes;
 * - volume (`/index/volume`, `/index/volume_range`): bytes by label set or
 *   label name, optionally per time bucket;
 * - metric buckets: entries and bytes per group and per fine time bucket,
 *   from which the server assembles `count_over_time`, `rate`,
 *   `bytes_over_time` and `bytes_rate` at every step (see
 *   server/src/query/metric-fast-path.ts for the step arithmetic).
 *
 * Everything here runs on ClickHouse 18.16 as well (no window functions, no
 * `range(a, b)`, no `toStartOfInterval`): buckets are integer divisions of
 * nanosecond timestamps.
 *
 * Structured metadata, as LogQL sees it (`metadataOf`): a record's
 * attributes under label-safe names (`http.request.method` ->
 * `http_request_method`), plus `trace_id` and `span_id` when the record has
 * them. The same rule is written in SQL (`labelOrMetadataSql`) for grouping
 * in the database, so both paths agree. Where a metadata name equals a
 * stream label's, the metadata value wins (Loki's label builder).
 */
import { SqlParams, labelExpr, whereClause, type CompiledSql, type LineFilterSpec, type LogTable, type Matcher } from './log-select.js';

/** What every index query scans: a tenant's records of one table in a time range, narrowed by matchers and filters. */
export interface StreamScan {
  tenant: string;
  /** Default `logs`. */
  table?: LogTable;
  matchers: Matcher[];
  lineFilters?: LineFilterSpec[];
  traceId?: string;
  startNs: bigint;
  endNs: bigint;
}

function from(q: StreamScan, database: string, p: SqlParams): string {
  return `FROM ${database}.${q.table ?? 'logs'}
WHERE ${whereClause({ ...q, lineFilters: q.lineFilters ?? [] }, p)}`;
}

/** The label-safe name of an attribute, as Loki names structured metadata (and stream labels). */
export function metadataName(attribute: string): string {
  return attribute.replace(/[^A-Za-z0-9_]/g, '_');
}

/** A row's structured metadata as LogQL labels: attributes (label-safe names), trace_id and span_id. */
export function metadataOf(row: { attr_keys: readonly string[]; attr_values: readonly string[]; trace_id: string; span_id: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < row.attr_keys.length; i++) {
    const v = row.attr_values[i] ?? '';
    if (v !== '') out[metadataName(row.attr_keys[i]!)] = v;
  }
  // The columns are the normalised ids (lower-case hex); they win over an attribute of the same name.
  if (row.trace_id !== '') out['trace_id'] = row.trace_id;
  if (row.span_id !== '') out['span_id'] = row.span_id;
  return out;
}

/**
 * The SQL value of a label as a LogQL pipeline sees it before any parser
 * runs: the structured metadata of that name when the record has it (in
 * Loki's label builder metadata beats a stream label of the same name),
 * else the stream label, else ''. Mirrors `metadataOf`.
 */
export function labelOrMetadataSql(name: string, p: SqlParams): string {
  const n = p.add('String', name);
  const attr = attrByLabelName(n);
  const meta = name === 'trace_id' ? `if(trace_id != '', trace_id, ${attr})` : name === 'span_id' ? `if(span_id != '', span_id, ${attr})` : attr;
  const stream = name === 'service_name' ? 'toString(service_name)' : `toString(labels_values[indexOf(labels_keys, ${n})])`;
  return `if(${meta} != '', ${meta}, ${stream})`;
}

function attrByLabelName(n: string): string {
  return `toString(attr_values[indexOf(arrayMap(k -> replaceRegexpAll(toString(k), '[^A-Za-z0-9_]', '_'), attr_keys), ${n})])`;
}

export interface SeriesRow {
  stream_keys: string[];
  stream_values: string[];
}

/** The distinct label sets of the matching streams (`/series`). */
export function compileSeries(q: StreamScan & { limit: number }, database: string): CompiledSql {
  const p = new SqlParams();
  const sql = `SELECT any(labels_keys) AS stream_keys, any(labels_values) AS stream_values
${from(q, database, p)}
GROUP BY stream_id
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}

export function compileLabelNames(q: StreamScan & { limit: number }, database: string): CompiledSql {
  const p = new SqlParams();
  const sql = `SELECT DISTINCT arrayJoin(labels_keys) AS name
${from(q, database, p)}
ORDER BY name
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}

export function compileLabelValues(q: StreamScan & { name: string; limit: number }, database: string): CompiledSql {
  const p = new SqlParams();
  const where = from(q, database, p);
  const n = p.add('String', q.name);
  const sql = `SELECT DISTINCT toString(labels_values[indexOf(labels_keys, ${n})]) AS value
${where}
  AND has(labels_keys, ${n})
ORDER BY value
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}

export interface IndexStatsRow {
  streams: string;
  chunks: string;
  entries: string;
  bytes: string;
}

/**
 * `/index/stats`. Meshlog has no chunks; a "chunk" here is one stream's
 * hour (what a Loki chunk typically holds), so the figure scales the same way.
 */
export function compileIndexStats(q: StreamScan, database: string): CompiledSql {
  const p = new SqlParams();
  const sql = `SELECT uniqExact(stream_id) AS streams, uniqExact(stream_id, toStartOfHour(ts)) AS chunks, count() AS entries, sum(length(body)) AS bytes
${from(q, database, p)}`;
  return { sql, params: p.values };
}

/** Bytes per time bucket: bucket i covers [start + i*step, start + (i+1)*step). */
export interface TimeBuckets {
  startNs: bigint;
  stepNs: bigint;
}

export type VolumeGrouping = { kind: 'series'; labels: string[] } | { kind: 'all-labels' } | { kind: 'label-names' };

export interface VolumeRow {
  /** Group values, in the order of the grouping's labels (series) or the label name (label-names). */
  k: string[] | string;
  stream_keys?: string[];
  stream_values?: string[];
  b: string;
  bytes: string;
}

/** `/index/volume` and `/index/volume_range`: bytes of the matching records by label set or label name. */
export function compileVolume(q: StreamScan & { grouping: VolumeGrouping; buckets?: TimeBuckets; limit: number }, database: string): CompiledSql {
  const p = new SqlParams();
  const bucket = q.buckets ? `intDiv(timestamp_ns - ${p.add('UInt64', q.buckets.startNs.toString())}, ${p.add('UInt64', q.buckets.stepNs.toString())})` : '0';
  let select: string;
  let group: string;
  switch (q.grouping.kind) {
    case 'series':
      select = `[${q.grouping.labels.map((l) => `toString(${labelExpr(l, p)})`).join(', ')}] AS k`;
      group = 'k';
      break;
    case 'all-labels':
      select = 'toString(stream_id) AS k, any(labels_keys) AS stream_keys, any(labels_values) AS stream_values';
      group = 'stream_id';
      break;
    case 'label-names':
      select = 'toString(arrayJoin(labels_keys)) AS k';
      group = 'k';
      break;
  }
  const where = from(q, database, p);
  const sql = `SELECT ${select}, ${bucket} AS b, sum(length(body)) AS bytes
${where}
GROUP BY ${group}, b
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}

/** How the metric fast path groups records: by some labels (as a pipeline sees them), or by whole series (stream labels + metadata). */
export type MetricGrouping = { kind: 'labels'; labels: string[] } | { kind: 'series' };

export interface MetricBucketScan extends StreamScan {
  /** Bucket j covers (base + (j-1)*g, base + j*g]: right-closed, as LogQL range windows are. */
  baseNs: bigint;
  bucketNs: bigint;
  grouping: MetricGrouping;
  /** Most rows returned (groups x buckets); the caller detects a cut answer by reaching it. */
  limit: number;
}

export interface MetricBucketRow {
  /** Group values (labels grouping). */
  k?: string[];
  stream_keys?: string[];
  stream_values?: string[];
  attr_keys?: string[];
  attr_values?: string[];
  trace_id?: string;
  span_id?: string;
  b: string;
  c: string;
  s: string;
}

/**
 * Entries (`c`) and line bytes (`s`) per group and fine time bucket. The
 * caller chooses `g` so that every LogQL step window is a whole number of
 * buckets, and adds buckets up per step.
 */
export function compileMetricBuckets(q: MetricBucketScan, database: string): CompiledSql {
  const p = new SqlParams();
  const base = p.add('UInt64', q.baseNs.toString());
  const g = p.add('UInt64', q.bucketNs.toString());
  // ceil((ts - base) / g); the WHERE clause keeps ts > base, so this never underflows.
  const bucket = `intDiv(timestamp_ns - ${base} + ${g} - 1, ${g})`;
  let select: string;
  let group: string;
  if (q.grouping.kind === 'labels') {
    select = `[${q.grouping.labels.map((l) => labelOrMetadataSql(l, p)).join(', ')}] AS k`;
    group = 'k';
  } else {
    select = 'any(labels_keys) AS stream_keys, any(labels_values) AS stream_values, attr_keys, attr_values, trace_id, span_id';
    group = 'stream_id, attr_keys, attr_values, trace_id, span_id';
  }
  const where = from(q, database, p);
  const sql = `SELECT ${select}, ${bucket} AS b, count() AS c, sum(length(body)) AS s
${where}
GROUP BY ${group}, b
LIMIT ${p.add('UInt32', q.limit)}`;
  return { sql, params: p.values };
}
