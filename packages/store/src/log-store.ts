/**
 * The store: schema, durable inserts, and tenant-scoped reads over a
 * `SqlBackend`. Every read method takes the tenant as a required argument
 * and puts it first in the WHERE clause; the server reads only through
 * `reader(scope)`, which binds the tenant once, from the caller's identity.
 */
import type { Batch, LogBatch, SpanBatch } from '@meshlog/core';
import { scanLimitError, type QueryResult, type SqlBackend } from './backend.js';
import { capabilitiesFor, type Capabilities } from './schema/capabilities.js';
import { migrate } from './schema/migrate.js';
import { embeddedDeployment, type Deployment } from './schema/migrations.js';
import { LEGACY_LOG_COLUMNS, LEGACY_SPAN_COLUMNS, LOG_COLUMNS, SPAN_COLUMNS, canonicalRow, encodeLogRows, encodeSpanRows } from './rows.js';
import type { IntegrityLedger } from './integrity/ledger.js';
import type { RowStats } from './rows.js';
import { IngestWal, type IngestWalOptions, type WalAppend } from './wal/ingest-wal.js';
import { compileLogSelect, type CompiledSql, type LogSelect } from './query/log-select.js';
import {
  compileIndexStats,
  compileLabelNames,
  compileLabelValues,
  compileMetricBuckets,
  compileSeries,
  compileVolume,
  type IndexStatsRow,
  type MetricBucketRow,
  type MetricBucketScan,
  type SeriesRow,
  type StreamScan,
  type TimeBuckets,
  type VolumeGrouping,
  type VolumeRow,
} from './query/index-select.js';
import { TenantReader, type ReadScope } from './query/tenant-reader.js';

export interface LogRow {
  timestamp_ns: string;
  body: string;
  labels_keys: string[];
  labels_values: string[];
  severity_number: number;
  trace_id: string;
  span_id: string;
  attr_keys: string[];
  attr_values: string[];
}

export interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  start_ns: string;
  end_ns: string;
  name: string;
  kind: number;
  service_name: string;
  status_code: number;
  status_message: string;
  attr_keys: string[];
  attr_values: string[];
  res_keys: string[];
  res_values: string[];
  /** Span events as JSON text: `[{"timeUnixNano": "<ns>", "name", "attributes"}]`, or '' when none. */
  events: string;
}

export interface ReadLimits {
  /** Most rows a query may read (ClickHouse `max_rows_to_read`); 0 = unlimited. */
  maxRowsToRead: number;
  /** Most uncompressed bytes a query may read (`max_bytes_to_read`); 0 = unlimited. */
  maxBytesToRead: number;
  timeoutMs: number;
}

export class LogStore {
  readonly capabilities: Capabilities;
  readonly database: string;

  private wal: IngestWal | undefined;
  /** The integrity ledger (embedded store with the WAL and integrity on). */
  ledger: IntegrityLedger | undefined;

  private constructor(
    readonly backend: SqlBackend,
    capabilities: Capabilities,
    deployment: Deployment,
    private readonly limits: ReadLimits,
  ) {
    this.capabilities = capabilities;
    this.database = deployment.database;
  }

  /**
   * Opens the store and runs migrations. With `wal`, inserts go through the
   * ingest write-ahead log (acknowledged at fsync, applied in big
   * deduplicated inserts); without it, each `insert` is one store insert.
   */
  static async open(
    backend: SqlBackend,
    opts: { deployment?: Deployment; limits?: Partial<ReadLimits>; wal?: Omit<IngestWalOptions, 'maxApplyRecords'> & { maxApplyRecords?: number } } = {},
  ): Promise<LogStore> {
    const v = await backend.query<{ v: string }>('SELECT version() AS v');
    const caps = capabilitiesFor(v.rows[0]?.v ?? '0');
    const deployment = opts.deployment ?? embeddedDeployment();
    await migrate(backend, caps, deployment);
    const store = new LogStore(backend, caps, deployment, { maxRowsToRead: 0, maxBytesToRead: 0, timeoutMs: 30_000, ...opts.limits });
    if (opts.wal) {
      const db = deployment.database;
      store.ledger = opts.wal.ledger as IntegrityLedger | undefined;
      store.wal = await IngestWal.open(opts.wal, {
        insertRows: (table, rows, token, legacy) =>
          backend.insertRows(`${db}.${table}`, table === 'spans' ? (legacy ? LEGACY_SPAN_COLUMNS : SPAN_COLUMNS) : legacy ? LEGACY_LOG_COLUMNS : LOG_COLUMNS, rows, {
            insert_deduplication_token: token,
          }),
        countRange: async (table, from, to) => {
          const r = await backend.query<{ c: string }>(`SELECT count() AS c FROM ${db}.${table} WHERE ingest_seq >= {f:UInt64} AND ingest_seq <= {t:UInt64}`, {
            params: { f: from.toString(), t: to.toString() },
          });
          return Number(r.rows[0]?.c ?? 0);
        },
        deleteRange: (table, from, to) =>
          backend.exec(`ALTER TABLE ${db}.${table} DELETE WHERE ingest_seq >= {f:UInt64} AND ingest_seq <= {t:UInt64} SETTINGS mutations_sync = 2`, {
            params: { f: from.toString(), t: to.toString() },
          }),
        maxIngestSeq: async () => {
          const r = await backend.query<{ m: string }>(`SELECT greatest((SELECT max(ingest_seq) FROM ${db}.logs), (SELECT max(ingest_seq) FROM ${db}.spans), (SELECT max(ingest_seq) FROM ${db}.audit_log)) AS m`);
          return BigInt(r.rows[0]?.m ?? '0');
        },
      });
    }
    return store;
  }

  get walStats(): IngestWal['stats'] | undefined {
    return this.wal?.stats;
  }

  /** Writes batches; resolves when they are durable. */
  async insert(batches: Batch[]): Promise<void> {
    const logs = batches.filter((b): b is LogBatch => b.kind === 'logs' && b.records.length > 0);
    const spans = batches.filter((b): b is SpanBatch => b.kind === 'spans' && b.spans.length > 0);
    if (this.wal) {
      // One WAL entry per batch, so each keeps its idempotency key.
      const entries: WalAppend[] = [
        ...logs.map((b) => ({ kind: 'logs' as const, tenant: b.tenant, source: b.source, id: b.id ?? '', records: b.records.length, encode: (seq: bigint, row: number, stats?: RowStats) => encodeLogRows([b], seq, row, stats) })),
        ...spans.map((b) => ({ kind: 'spans' as const, tenant: b.tenant, source: b.source, id: b.id ?? '', records: b.spans.length, encode: (seq: bigint, row: number, stats?: RowStats) => encodeSpanRows([b], seq, row, stats) })),
      ];
      if (entries.length > 0) await this.wal.append(entries);
      return;
    }
    // No WAL group, so no row ordinals (see encodeLogRows).
    if (logs.length > 0) await this.backend.insertRows(`${this.database}.logs`, LEGACY_LOG_COLUMNS, encodeLogRows(logs));
    if (spans.length > 0) await this.backend.insertRows(`${this.database}.spans`, LEGACY_SPAN_COLUMNS, encodeSpanRows(spans));
  }

  /**
   * Appends audit records to the audit trail (the `audit_log` table), durably
   * (through the WAL when there is one). Only the server's audit writer calls
   * this: no pipeline sink can reach the table, so no sender can forge an
   * audit record.
   */
  async insertAudit(batches: LogBatch[]): Promise<void> {
    const audit = batches.filter((b) => b.records.length > 0);
    if (audit.length === 0) return;
    if (this.wal) {
      await this.wal.append(audit.map((b) => ({ kind: 'audit_log' as const, tenant: b.tenant, source: b.source, id: b.id ?? '', records: b.records.length, encode: (seq: bigint, row: number, stats?: RowStats) => encodeLogRows([b], seq, row, stats) })));
      return;
    }
    // In a cluster, the initiating server queues the block for a shard that is down (on its disk) and
    // forwards it when the shard is back: one shard down must not stop every audited call of a tenant.
    await this.backend.insertRows(`${this.database}.audit_log`, LEGACY_LOG_COLUMNS, encodeLogRows(audit), { insert_distributed_sync: 0 });
  }

  /**
   * The only way the server reads: a reader bound to one tenant (from the
   * caller's authenticated identity) and to the tables that identity may
   * read. Its methods take no tenant, so no endpoint can pass the wrong one.
   */
  reader(scope: ReadScope): TenantReader {
    return new TenantReader(this, scope);
  }

  /**
   * Read-your-writes: a query sees every record acknowledged before it
   * started. Public for retention, which must see what it may delete.
   */
  async visible(): Promise<void> {
    await this.wal?.waitVisible();
  }

  async selectLogs(q: LogSelect, signal?: AbortSignal): Promise<QueryResult<LogRow>> {
    await this.visible();
    const { sql, params } = compileLogSelect(q, this.database);
    return this.checkRead(await this.backend.query<LogRow>(this.withLimits(sql), { params, timeoutMs: this.limits.timeoutMs, ...(signal ? { signal } : {}) }));
  }

  async selectTrace(tenant: string, traceId: string, signal?: AbortSignal): Promise<SpanRow[]> {
    await this.visible();
    const r = await this.backend.query<SpanRow>(
      `SELECT trace_id, span_id, parent_span_id, start_ns, end_ns, name, kind, service_name, status_code, status_message, attr_keys, attr_values, res_keys, res_values, events
FROM ${this.database}.spans WHERE tenant = {tenant:String} AND trace_id = {trace:String} ORDER BY start_ns LIMIT 10000`,
      { params: { tenant, trace: traceId }, timeoutMs: this.limits.timeoutMs, ...(signal ? { signal } : {}) },
    );
    return r.rows;
  }

  /** Label names of the matching streams (all streams of the logs table without matchers). */
  async labelNames(q: StreamScan, signal?: AbortSignal): Promise<string[]> {
    const r = await this.run<{ name: string }>(compileLabelNames({ ...q, limit: 1000 }, this.database), signal);
    return r.rows.map((x) => x.name);
  }

  async labelValues(q: StreamScan & { name: string }, signal?: AbortSignal): Promise<string[]> {
    const r = await this.run<{ value: string }>(compileLabelValues({ ...q, limit: 10_000 }, this.database), signal);
    return r.rows.map((x) => x.value);
  }

  /**
   * The stored rows of WAL groups [fromSeq, toSeq] of `table`, in the
   * canonical row encoding, keyed by `seq:row` (integrity export and proofs;
   * every tenant: the caller checks what it may show).
   */
  async canonicalRows(table: 'logs' | 'spans' | 'audit_log', fromSeq: bigint, toSeq: bigint): Promise<Map<string, string>> {
    await this.visible();
    const columns = table === 'spans' ? SPAN_COLUMNS : LOG_COLUMNS;
    const r = await this.backend.query<Record<string, unknown>>(
      `SELECT ${columns.join(', ')} FROM ${this.database}.${table} WHERE ingest_seq >= {f:UInt64} AND ingest_seq <= {t:UInt64} ORDER BY ingest_seq, ingest_row`,
      { params: { f: fromSeq.toString(), t: toSeq.toString() }, timeoutMs: 600_000 },
    );
    const out = new Map<string, string>();
    for (const row of r.rows) out.set(`${String(row.ingest_seq)}:${String(row.ingest_row)}`, canonicalRow(table, columns.map((c) => row[c])));
    return out;
  }

  /** Distinct label sets of the matching streams (Loki's `/series`). */
  series(q: StreamScan & { limit: number }, signal?: AbortSignal): Promise<QueryResult<SeriesRow>> {
    return this.run<SeriesRow>(compileSeries(q, this.database), signal);
  }

  indexStats(q: StreamScan, signal?: AbortSignal): Promise<QueryResult<IndexStatsRow>> {
    return this.run<IndexStatsRow>(compileIndexStats(q, this.database), signal);
  }

  volume(q: StreamScan & { grouping: VolumeGrouping; buckets?: TimeBuckets; limit: number }, signal?: AbortSignal): Promise<QueryResult<VolumeRow>> {
    return this.run<VolumeRow>(compileVolume(q, this.database), signal);
  }

  /** Entries and bytes per group and fine time bucket (the metric fast path). */
  metricBuckets(q: MetricBucketScan, signal?: AbortSignal): Promise<QueryResult<MetricBucketRow>> {
    return this.run<MetricBucketRow>(compileMetricBuckets(q, this.database), signal);
  }

  private async run<T>(c: CompiledSql, signal?: AbortSignal): Promise<QueryResult<T>> {
    await this.visible();
    return this.checkRead(await this.backend.query<T>(this.withLimits(c.sql), { params: c.params, timeoutMs: this.limits.timeoutMs, ...(signal ? { signal } : {}) }));
  }

  /**
   * The scan limits, checked again on what the query reports it read:
   * ClickHouse does not enforce them on every plan (an ORDER BY ... LIMIT
   * read in order is not checked against max_bytes_to_read), and an answer
   * past a limit must not be served whichever way it was computed.
   */
  private checkRead<T>(r: QueryResult<T>): QueryResult<T> {
    if (this.limits.maxBytesToRead > 0 && r.bytesRead > this.limits.maxBytesToRead) throw scanLimitError(`Limit for bytes to read exceeded: ${r.bytesRead} > ${this.limits.maxBytesToRead}`, undefined);
    if (this.limits.maxRowsToRead > 0 && r.rowsRead > this.limits.maxRowsToRead) throw scanLimitError(`Limit for rows to read exceeded: ${r.rowsRead} > ${this.limits.maxRowsToRead}`, undefined);
    return r;
  }

  async close(): Promise<void> {
    await this.wal?.close();
    this.ledger?.close();
    await this.backend.close();
  }

  /**
   * Caps what one query may scan, and its time on the server side too (an
   * abandoned chDB query still runs to completion, so `max_execution_time`
   * is what actually stops it).
   */
  private withLimits(sql: string): string {
    const settings = [`max_execution_time = ${Math.max(1, Math.ceil(this.limits.timeoutMs / 1000))}`];
    if (this.limits.maxRowsToRead > 0) settings.push(`max_rows_to_read = ${this.limits.maxRowsToRead}`);
    if (this.limits.maxBytesToRead > 0) settings.push(`max_bytes_to_read = ${this.limits.maxBytesToRead}`);
    return `${sql}\nSETTINGS ${settings.join(', ')}, read_overflow_mode = 'throw', timeout_overflow_mode = 'throw'`;
  }
}
