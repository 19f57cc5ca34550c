/**
 * The SQL backend contract both deployments implement: embedded chDB and a
 * ClickHouse cluster reached over HTTP. Everything above it (schema,
 * inserts, query compilation) speaks one SQL dialect through this seam.
 *
 * Parameters are always bound server-side (`{name:Type}` placeholders), so
 * no user-controlled text is ever spliced into SQL.
 */

export interface QueryOptions {
  params?: Record<string, unknown>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * A long maintenance statement (a retention mutation, a partition drop):
   * the embedded backend runs it on a session of its own, so it never holds
   * back ingest acknowledgements or queries. Backends without sessions ignore it.
   */
  maintenance?: boolean;
}

export interface QueryResult<T> {
  rows: T[];
  rowsRead: number;
  bytesRead: number;
  elapsedMs: number;
}

export interface SqlBackend {
  readonly kind: 'embedded' | 'cluster';
  /** Runs DDL or a statement without a result. */
  exec(sql: string, opts?: QueryOptions): Promise<void>;
  /** Runs a SELECT and returns rows as objects (64-bit integers as strings). */
  query<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): Promise<QueryResult<T>>;
  /**
   * Inserts `JSONCompactEachRow` rows (one JSON array per line, values in
   * `columns` order). Resolves once the rows are durable.
   */
  insertRows(table: string, columns: readonly string[], rows: Buffer, settings?: Record<string, string | number>): Promise<void>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: 'timeout' | 'cancelled' | 'limit' | 'unavailable' | 'query' | 'forbidden',
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'StoreError';
  }
}

/** Names the scan limit ClickHouse hit (its message says rows or bytes) and how to stay under it. */
export function scanLimitError(message: string, cause: unknown): StoreError {
  const bytes = /bytes/i.test(message) && !/Limit for rows \(|Limit for rows to read/i.test(message);
  const which = bytes ? 'limits.max_bytes_to_read (uncompressed bytes one query may scan)' : 'limits.max_rows_to_read (rows one query may scan)';
  const detail = message.split('\n')[0]!.replace(/^Code: \d+\. DB::Exception: /, '').slice(0, 200);
  return new StoreError(`the query would read too many ${bytes ? 'bytes' : 'rows'}: it exceeds ${which} (${detail}); narrow the time range or add label matchers to the stream selector`, 'limit', { cause });
}
