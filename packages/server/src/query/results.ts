/**
 * Loki's result shapes and their small rules, shared by every query path:
 * streams (labels + `[ns, line]` values), matrix (`[seconds, "value"]`
 * points), vector, the `stats` object, Prometheus' number formatting, the
 * order of series (by label set), and the series-limit error.
 */
import { ApiError } from '../http/errors.js';

export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}

export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export type QueryData =
  | { resultType: 'streams'; result: LokiStream[] }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar'; result: [number, string] };

/** A label set's identity (sorted `name="value"` pairs), also its sort key, as Prometheus' labels.String(). */
export function labelsKey(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

/** Labels with their names sorted (how Loki prints them in JSON). */
export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k]!;
  return out;
}

/** Prometheus' labels.Compare: pair by pair (name, then value), a prefix first. */
export function compareLabels(a: Record<string, string>, b: Record<string, string>): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const va = a[ka[i]!]!;
    const vb = b[kb[i]!]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/** Series (matrix or vector) in Prometheus' order, each with its label names sorted. */
export function sortSeries<T extends { metric: Record<string, string> }>(series: T[]): T[] {
  series.sort((x, y) => compareLabels(x.metric, y.metric));
  for (const s of series) s.metric = sortedLabels(s.metric);
  return series;
}

/** A sample value as Prometheus writes it (Go's strconv.FormatFloat(v, 'f', -1, 64)): never in exponent form. */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  const [mantissa, expText] = s.split(/e/i) as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '');
  const [int, frac = ''] = digits.split('.') as [string, string?];
  const all = int + frac;
  const point = int.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${all}`;
  else if (point >= all.length) out = all + '0'.repeat(point - all.length);
  else out = `${all.slice(0, point)}.${all.slice(point)}`;
  return (negative ? '-' : '') + out;
}

export function seriesLimitError(limit: number): ApiError {
  return new ApiError(
    'limit_exceeded',
    `maximum number of series (${limit}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk() (limits.max_query_series)`,
  );
}

/** What a query did, for Loki's `stats` object and the audit record. */
export interface QueryStats {
  rowsRead: number;
  bytesRead: number;
  /** Entries (log queries) or samples (metric queries) returned. */
  returned: number;
  /** Entries that passed the whole pipeline. */
  postFilterLines: number;
  execMs: number;
}

/** Loki's `stats` object; the summary carries what this server measures, the rest is shaped as Loki's. */
export function statsObject(r: QueryStats): object {
  const execSeconds = r.execMs / 1000;
  const perSecond = (n: number): number => (execSeconds > 0 ? Math.round(n / execSeconds) : 0);
  const store = { totalChunksRef: 0, totalChunksDownloaded: 0, chunksDownloadTime: 0, queryReferencedStructured: false, chunk: { headChunkBytes: 0, headChunkLines: 0, decompressedBytes: r.bytesRead, decompressedLines: r.rowsRead, compressedBytes: 0, totalDuplicates: 0, postFilterLines: r.postFilterLines, headChunkStructuredMetadataBytes: 0, decompressedStructuredMetadataBytes: 0 }, chunkRefsFetchTime: 0, congestionControlLatency: 0, pipelineWrapperFilteredLines: 0 };
  return {
    summary: {
      bytesProcessedPerSecond: perSecond(r.bytesRead),
      linesProcessedPerSecond: perSecond(r.rowsRead),
      totalBytesProcessed: r.bytesRead,
      totalLinesProcessed: r.rowsRead,
      execTime: execSeconds,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: r.returned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: r.postFilterLines,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: { ...store, chunk: { ...store.chunk, decompressedBytes: 0, decompressedLines: 0, postFilterLines: 0 } } },
    cache: Object.fromEntries(['chunk', 'index', 'result', 'statsResult', 'volumeResult', 'seriesResult', 'labelResult', 'instantMetricResult'].map((c) => [c, { entriesFound: 0, entriesRequested: 0, entriesStored: 0, bytesReceived: 0, bytesSent: 0, requests: 0, downloadTime: 0, queryLengthServed: 0 }])),
  };
}

/**
 * Streams from entries in the order read: one stream per label set (stream
 * labels with structured metadata, as Loki 3 answers without the
 * categorize-labels encoding), streams sorted by label set.
 */
export class StreamCollector {
  private readonly byKey = new Map<string, LokiStream>();
  entries = 0;
  bytes = 0;

  add(ts: bigint, line: string, labels: Record<string, string>): void {
    const key = labelsKey(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = { stream: sortedLabels(labels), values: [] };
      this.byKey.set(key, s);
    }
    s.values.push([ts.toString(), line]);
    this.entries++;
    this.bytes += Buffer.byteLength(line);
  }

  streams(): LokiStream[] {
    return [...this.byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, s]) => s);
  }
}
