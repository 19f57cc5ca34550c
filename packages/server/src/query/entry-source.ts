/**
 * Log entries read from the store for the LogQL evaluator and for paged log
 * queries: `entries()` yields pages of `LogEntry` in time order, read
 * through the request's tenant-bound reader (so rows are masked for readers
 * without `logs:read_personal`) with the selector, line filters and trace
 * id pushed down to SQL.
 *
 * Paging is keyset pagination on the timestamp, so memory stays one page
 * whatever the range: a full page is cut before its last timestamp (rows at
 * that exact nanosecond may continue on the next page), and the next page
 * starts at that timestamp. A page made of one single timestamp is read
 * whole with a larger limit (`maxTies`), so ties never loop.
 *
 * Each query after a full page is also bounded in time, to about the span
 * that page covered (doubling while windows come back short): ClickHouse
 * then reads only the granules of that window, where an unbounded
 * `ORDER BY timestamp_ns LIMIT n` would scan the rest of the range for
 * every page (on the 10 M record benchmark, a 430,000-line `| json` metric
 * query spent 37 s that way).
 *
 * For masked readers, line filters run again on the masked line: a filter
 * must not find a line by text the reader is not allowed to see.
 */
import { compileRe2, type EntryRequest, type EntrySource, type LineFilter, type LogEntry, type PipelineStage, type StreamSelector } from '@meshlog/logql';
import { metadataOf, type JsonNumberPrefilter, type LineFilterSpec, type LogRow, type TenantReader } from '@meshlog/store';
import { ApiError } from '../http/errors.js';

export type { EntryRequest, EntrySource, LogEntry };

/** What a source read from the store, for the query's stats and audit record. */
export interface ReadStats {
  rowsRead: number;
  bytesRead: number;
  /** Entries handed out. */
  entries: number;
}

export interface ReaderEntrySourceOptions {
  /** Rows per query when the caller has a limit (log queries without dropping stages). */
  pageSize?: number;
  /** Most rows per query when the caller has no limit (its pages grow to this). */
  bulkPageSize?: number;
  /** Let the store leave out rows the pipeline certainly drops (default true; false gives the reference in tests). */
  prefilter?: boolean;
  /** Most rows at one single nanosecond read at once. */
  maxTies?: number;
  /** Pushed down with every page (`| trace_id="..."`). */
  traceId?: string;
  /** Per selector (the query's own AST node): the trace id its pipeline filters on, pushed down to SQL. */
  traceIds?: ReadonlyMap<StreamSelector, string>;
}

export class ReaderEntrySource implements EntrySource {
  readonly stats: ReadStats = { rowsRead: 0, bytesRead: 0, entries: 0 };
  private readonly pageSize: number;
  private readonly bulkPageSize: number;
  private readonly maxTies: number;

  constructor(
    private readonly reader: TenantReader,
    private readonly opts: ReaderEntrySourceOptions = {},
  ) {
    this.pageSize = opts.pageSize ?? 2000;
    this.bulkPageSize = opts.bulkPageSize ?? 20_000;
    this.maxTies = opts.maxTies ?? 100_000;
  }

  /** Every line filter but `ip()` runs in ClickHouse (and again on masked lines, for masked readers). */
  appliesLineFilter(filter: LineFilter): boolean {
    return !filter.ip && !filter.or.some((t) => t.ip);
  }

  async *entries(req: EntryRequest): AsyncIterable<LogEntry[]> {
    const lineFilters = lineFilterSpecs(req.lineFilters);
    const recheck = this.reader.scope.mask && lineFilters.length > 0 ? lineMatcher(req.lineFilters) : undefined;
    // A caller without a limit reads until it has what it needs: its pages start small, for a
    // quick first answer, and double up to bulkPageSize. One that reads everything gets big pages.
    let pageSize =
      req.limit !== undefined ? Math.min(Math.max(req.limit, 100), this.pageSize) : req.exhaustive === true ? this.bulkPageSize : Math.min(this.pageSize, this.bulkPageSize);
    const forward = req.direction === 'forward';
    let lo = req.startNs;
    let hi = req.endNs;
    // How much time the next query covers: everything at first; after a full page, about what that page held.
    let span: bigint | undefined;
    for (;;) {
      if (req.signal?.aborted) throw new ApiError('cancelled', 'the request was cancelled by the client');
      const qlo = forward || span === undefined || hi - span < lo ? lo : hi - span;
      const qhi = !forward || span === undefined || lo + span > hi ? hi : lo + span;
      const rows = await this.page(req, lineFilters, qlo, qhi, pageSize);
      if (rows.length < pageSize) {
        // [qlo, qhi) was read whole.
        if (rows.length > 0) yield this.toEntries(rows, recheck);
        if (forward ? qhi >= hi : qlo <= lo) return;
        if (forward) lo = qhi;
        else hi = qlo;
        if (span !== undefined) span *= 2n;
        continue;
      }
      const boundary = rows[rows.length - 1]!.timestamp_ns;
      let cut = rows.length;
      while (cut > 0 && rows[cut - 1]!.timestamp_ns === boundary) cut--;
      if (cut > 0) {
        yield this.toEntries(rows.slice(0, cut), recheck);
      } else {
        // The whole page is one nanosecond: read that nanosecond whole.
        const ts = BigInt(boundary);
        const ties = await this.page(req, lineFilters, ts, ts + 1n, this.maxTies);
        if (ties.length >= this.maxTies) throw new ApiError('limit_exceeded', `more than ${this.maxTies} entries share the timestamp ${boundary}; narrow the stream selector`);
        yield this.toEntries(ties, recheck);
      }
      // Rows at the boundary were not handed out (or were, whole, just above): continue from there.
      const b = BigInt(boundary);
      // The next window covers about the time this page did, twice that when the next page is twice as big.
      const grown = req.limit === undefined && pageSize * 2 <= this.bulkPageSize;
      if (req.limit === undefined) pageSize = Math.min(pageSize * 2, this.bulkPageSize);
      span = ((forward ? b - qlo : qhi - b) + 1n) * (grown ? 2n : 1n);
      if (forward) lo = cut > 0 ? b : b + 1n;
      else hi = cut > 0 ? b + 1n : b;
      if (lo >= hi) return;
    }
  }

  private async page(req: EntryRequest, lineFilters: LineFilterSpec[], lo: bigint, hi: bigint, limit: number): Promise<LogRow[]> {
    const traceId = this.opts.traceIds?.get(req.selector) ?? this.opts.traceId;
    // Masked readers see other bodies than the store holds: the pipeline must decide on those.
    const jsonNumber = this.reader.scope.mask || this.opts.prefilter === false ? undefined : jsonNumberPrefilter(req.pipeline);
    const r = await this.reader.selectLogs(
      {
        matchers: req.selector.matchers,
        lineFilters,
        ...(jsonNumber ? { jsonNumber } : {}),
        startNs: lo,
        endNs: hi,
        limit,
        direction: req.direction,
        ...(traceId !== undefined ? { traceId } : {}),
      },
      req.signal,
    );
    this.stats.rowsRead += r.rowsRead;
    this.stats.bytesRead += r.bytesRead;
    return r.rows;
  }

  private toEntries(rows: LogRow[], recheck: ((line: string) => boolean) | undefined): LogEntry[] {
    const out: LogEntry[] = [];
    for (const row of rows) {
      if (recheck && !recheck(row.body)) continue;
      out.push(entryOf(row));
    }
    this.stats.entries += out.length;
    return out;
  }
}

export function entryOf(row: LogRow): LogEntry {
  const labels: Record<string, string> = {};
  // Loki holds no empty-valued labels.
  for (let i = 0; i < row.labels_keys.length; i++) if ((row.labels_values[i] ?? '') !== '') labels[row.labels_keys[i]!] = row.labels_values[i]!;
  const metadata = metadataOf(row);
  return { ts: BigInt(row.timestamp_ns), line: row.body, labels, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) };
}

/**
 * `| json | name op number` at the head of the remaining pipeline, for the
 * store to leave out rows that certainly fail it (see the store's
 * jsonNumberKeepSql). Only the plain `| json` (no paths) and one numeric
 * comparison on a name that starts with a letter (so never `__error__`;
 * the store also declines the names it sets from its own columns).
 */
export function jsonNumberPrefilter(pipeline: readonly PipelineStage[] | undefined): JsonNumberPrefilter | undefined {
  const [parser, filter] = pipeline ?? [];
  if (parser?.kind !== 'JsonParser' || parser.params.length > 0) return undefined;
  if (filter?.kind !== 'LabelFilter' || filter.filter.kind !== 'NumberFilter') return undefined;
  const { name, op, value } = filter.filter;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || !Number.isFinite(value)) return undefined;
  return { name, op, value };
}

/** Line filters as the store runs them; `ip()` filters have no SQL form. */
export function lineFilterSpecs(filters: readonly LineFilter[]): LineFilterSpec[] {
  return filters.map((f) => {
    if (f.ip || f.or.some((t) => t.ip)) throw new ApiError('unsupported', 'ip() line filters are not supported by this server yet');
    return { op: f.op, values: [f.value, ...f.or.map((t) => t.value)] };
  });
}

/** The same line filters in JavaScript (RE2 syntax checked and translated by @meshlog/logql). */
export function lineMatcher(filters: readonly LineFilter[]): (line: string) => boolean {
  const tests = filters.map((f) => {
    const values = [f.value, ...f.or.map((t) => t.value)];
    const regex = f.op === '|~' || f.op === '!~';
    const matchers = values.map((v) => {
      if (!regex) return (line: string) => line.includes(v);
      const re = compileRe2(v);
      return (line: string) => re.test(line);
    });
    const any = (line: string): boolean => matchers.some((m) => m(line));
    return f.op === '|=' || f.op === '|~' ? any : (line: string) => !any(line);
  });
  return (line) => tests.every((t) => t(line));
}
