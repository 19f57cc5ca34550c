/**
 * Embedded ClickHouse (chDB) in this process, data under `<data-dir>/clickhouse`.
 *
 * chDB runs one statement at a time per session, and a long query on the
 * writer's session would stall ingest acknowledgements. So writes get
 * sessions of their own (several, so inserts can run in parallel when the
 * store sink's queue has `concurrency` > 1) and reads a small pool; all
 * sessions open the same path, which chDB supports. Maintenance statements
 * (retention mutations, which take seconds on big partitions) get a session
 * of their own. Every call runs off the event loop.
 *
 * Sessions on one path share one engine connection, configured by the
 * `connectionArgs` of the first (a `--config-file` is read then, and only
 * then; `open-embedded-store.ts` relies on that to remove the file holding
 * the storage keys right after this constructor returns). So every session,
 * the maintenance one included, is opened here, at once, and none later.
 *
 * Cancellation: aborting a chDB call only settles its promise early; the
 * engine would run the statement to the end. So a query with an abort
 * signal carries a unique marker comment, and on abort a `KILL QUERY` for
 * that marker runs on a control session of its own (never busy with a
 * long statement), which stops the engine's work too.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'chdb';
import { StoreError, scanLimitError, type QueryOptions, type QueryResult, type SqlBackend } from '../backend.js';

export interface ChdbBackendOptions {
  dataDir: string;
  readers?: number;
  writers?: number;
  connectionArgs?: string[];
}

export class ChdbBackend implements SqlBackend {
  readonly kind = 'embedded' as const;
  private readonly writers: Session[];
  private readonly readers: Session[];
  private readonly maintenanceSession: Session;
  private readonly controlSession: Session;
  private nextReader = 0;
  private nextWriter = 0;
  private closed = false;

  constructor(opts: ChdbBackendOptions) {
    const path = ChdbBackend.clickhouseDir(opts.dataDir);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const connectionArgs = ['--output_format_json_quote_64bit_integers=1', ...(opts.connectionArgs ?? [])];
    this.writers = Array.from({ length: Math.max(1, opts.writers ?? 1) }, () => new Session(path, { connectionArgs }));
    this.readers = Array.from({ length: Math.max(1, opts.readers ?? 2) }, () => new Session(path, { connectionArgs }));
    this.maintenanceSession = new Session(path, { connectionArgs });
    this.controlSession = new Session(path, { connectionArgs });
  }

  /** Where chDB keeps a data dir's store. */
  static clickhouseDir(dataDir: string): string {
    return join(dataDir, 'clickhouse');
  }

  /** DDL always runs on the first writer, so schema changes are ordered. */
  private get writer(): Session {
    return this.writers[0]!;
  }

  private maintenance(): Session {
    return this.maintenanceSession;
  }

  private reader(): Session {
    const s = this.readers[this.nextReader % this.readers.length]!;
    this.nextReader++;
    return s;
  }

  async exec(sql: string, opts: QueryOptions = {}): Promise<void> {
    this.assertOpen();
    const session = opts.maintenance ? this.maintenance() : this.writer;
    try {
      if (opts.params) await session.queryBindAsync(sql, opts.params, { format: 'CSV' });
      else await session.queryAsync(sql, { format: 'CSV' });
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async query<T>(sql: string, opts: QueryOptions = {}): Promise<QueryResult<T>> {
    this.assertOpen();
    const session = opts.maintenance ? this.maintenance() : this.reader();
    const qopts = {
      format: 'JSONEachRow',
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    };
    let statement = sql;
    let stopKill: (() => void) | undefined;
    if (opts.signal) {
      if (opts.signal.aborted) throw new StoreError('query cancelled', 'cancelled');
      const marker = `meshlog-query-${randomUUID()}`;
      statement = `/* ${marker} */ ${sql}`;
      const kill = (): void => void this.kill(marker);
      opts.signal.addEventListener('abort', kill, { once: true });
      const signal = opts.signal;
      stopKill = () => signal.removeEventListener('abort', kill);
    }
    try {
      const r = opts.params ? await session.queryBindAsync(statement, opts.params, qopts) : await session.queryAsync(statement, qopts);
      const text = r.text();
      const rows = text.length === 0 ? [] : (text.trimEnd().split('\n').map((l) => JSON.parse(l)) as T[]);
      return { rows, rowsRead: r.rowsRead, bytesRead: r.bytesRead, elapsedMs: r.elapsed * 1000 };
    } catch (err) {
      throw toStoreError(err);
    } finally {
      stopKill?.();
    }
  }

  /** Stops the engine's work on an abandoned query (its caller has gone). Best effort: the query may have just finished. */
  private async kill(marker: string): Promise<void> {
    if (this.closed) return;
    try {
      await this.controlSession.queryAsync(`KILL QUERY WHERE query LIKE '%${marker}%' AND query NOT LIKE '%KILL QUERY%' ASYNC`, { format: 'CSV' });
    } catch {
      // Nothing to stop, or the store is closing: max_execution_time still bounds the query.
    }
  }

  async insertRows(table: string, columns: readonly string[], rows: Buffer, settings?: Record<string, string | number>): Promise<void> {
    this.assertOpen();
    try {
      const session = this.writers[this.nextWriter++ % this.writers.length]!;
      await session.insert({ table, columns, values: rows, format: 'JSONCompactEachRow', ...(settings ? { settings } : {}) });
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.writers, ...this.readers, this.maintenanceSession, this.controlSession]) s.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('the store is closed', 'unavailable');
  }
}

function toStoreError(err: unknown): StoreError {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'ChdbTimeoutError') return new StoreError('query timed out; narrow the time range or add filters', 'timeout', { cause: err });
  if (e.code === 'CHDB_ABORT' || e.name === 'ChdbAbortError') return new StoreError('query cancelled', 'cancelled', { cause: err });
  const message = String(e.message ?? err);
  if (/TOO_MANY_ROWS|TOO_MANY_BYTES|Limit for (rows|bytes|\(uncompressed\) bytes)/i.test(message)) return scanLimitError(message, err);
  if (/TIMEOUT_EXCEEDED|Timeout exceeded/i.test(message)) {
    return new StoreError('the query ran longer than limits.query_timeout_ms; narrow the time range or add filters', 'timeout', { cause: err });
  }
  return new StoreError(message.split('\n')[0] ?? 'store error', 'query', { cause: err });
}
