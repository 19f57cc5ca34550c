/**
 * The evaluator's public contract with its host: what a log entry looks
 * like, what the host is asked for (EntrySource), the query parameters and
 * limits, and the result, which is exactly the `data` of Loki's
 * /loki/api/v1/query_range and /query responses.
 */
import type { LineFilter, PipelineStage, StreamSelector } from '../ast.js';

/** One log line as the store returns it. */
export interface LogEntry {
  /** Nanoseconds since the Unix epoch. */
  ts: bigint;
  line: string;
  /** Stream labels. Empty values count as absent, as in Loki. */
  labels: Readonly<Record<string, string>>;
  /** Structured metadata (Loki 3): usable in filters and templates, reported as part of the result's labels. */
  metadata?: Readonly<Record<string, string>>;
}

/** What the evaluator asks its host for. */
export interface EntryRequest {
  /** The stream selector; the host applies it. */
  selector: StreamSelector;
  /**
   * Line filters from the head of the pipeline that the host said it
   * applies (see EntrySource.appliesLineFilter); the evaluator does not
   * apply them again. Each one is a predicate on the original line.
   */
  lineFilters: LineFilter[];
  /** Inclusive. */
  startNs: bigint;
  /** Exclusive. */
  endNs: bigint;
  /** Order of the entries: ascending (`forward`) or descending (`backward`) timestamps, across all streams. */
  direction: 'forward' | 'backward';
  /** Set only when nothing after the host can drop entries: the host may stop after this many. */
  limit?: number;
  /** The caller reads every entry in range (metric queries): the host may favour throughput over a quick first batch. */
  exhaustive?: boolean;
  /**
   * The stages the evaluator runs on these entries (everything after the
   * pushed line filters), as a hint: a host may leave out an entry these
   * stages would certainly drop without recording an error (for instance
   * `| json | status >= 500` on a JSON line whose status is 200). It must
   * never leave out any other entry; the evaluator runs every stage anyway.
   */
  pipeline?: readonly PipelineStage[];
  signal?: AbortSignal;
}

export interface EntrySource {
  /**
   * The entries of `req.selector` with `req.startNs <= ts < req.endNs`,
   * passing every filter of `req.lineFilters`, in `req.direction` order,
   * as batches of any size. The evaluator stops iterating (which calls the
   * iterator's `return`) as soon as it has what it needs.
   */
  entries(req: EntryRequest): AsyncIterable<LogEntry[]>;
  /**
   * Whether the host will apply this line filter itself (for instance as
   * SQL). Filters it declines, and every filter when this is absent, are
   * applied by the evaluator.
   */
  appliesLineFilter?(filter: LineFilter): boolean;
}

export interface EvaluateParams {
  /** Inclusive start (range queries), nanoseconds. */
  startNs: bigint;
  /** End, nanoseconds: exclusive for log queries, the last step for metric queries, the evaluation time for instant queries. */
  endNs: bigint;
  /** Step of range metric queries; default Loki's: max(floor((end - start) / 250s), 1s). */
  stepMs?: number;
  /** Log queries: keep only entries at least this far apart (Loki's `interval`). */
  intervalMs?: number;
  /** Log queries: most entries to return. */
  limit: number;
  /** Log queries: newest first (`backward`, Loki's default) or oldest first. */
  direction: 'forward' | 'backward';
  /** An instant query: metric queries evaluate one step at `endNs`; log queries are refused, as in Loki. */
  instant?: boolean;
}

export interface EvaluateOptions {
  /** Most series a metric query may return (Loki's max_query_series); default 500. */
  maxSeries?: number;
  /** Largest `limit` a log query may ask for (Loki's max_entries_limit_per_query); default 5000. */
  maxEntries?: number;
  /** Most steps of a range query (Loki's 11,000 points per series); default 11000. */
  maxSteps?: number;
  signal?: AbortSignal;
  /** The clock for the `now` template function, nanoseconds (default: the system clock). */
  nowNs?: () => bigint;
}

export interface StreamsResult {
  resultType: 'streams';
  result: Array<{ stream: Record<string, string>; values: Array<[string, string]> }>;
}

export interface MatrixResult {
  resultType: 'matrix';
  result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
}

export interface VectorResult {
  resultType: 'vector';
  result: Array<{ metric: Record<string, string>; value: [number, string] }>;
}

export interface ScalarResult {
  resultType: 'scalar';
  result: [number, string];
}

/** Timestamps of matrix, vector and scalar results are seconds (Loki writes them as JSON numbers); sample values are strings. */
export type QueryResult = StreamsResult | MatrixResult | VectorResult | ScalarResult;
