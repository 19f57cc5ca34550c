/**
 * Tenant-scoped reads. A `TenantReader` is bound to one tenant and to the
 * tables its holder may read when it is made (by the server, from the
 * caller's authenticated identity); none of its methods takes a tenant, so
 * an endpoint cannot read another tenant's data by passing the wrong one,
 * or by forgetting to pass one.
 *
 * The audit trail lives in its own table, `audit_log`, and LogQL reaches it
 * through a reserved stream label: a selector with `meshlog_stream="audit"`
 * reads the audit trail instead of the logs (every audit record carries that
 * label, so the matcher also holds row by row). Only a scope with
 * `auditTrail` may do that; anyone else gets a `forbidden` StoreError.
 *
 * A scope may carry a `mask`: every row the reader returns passes through
 * it (personal data masked for readers who may not see it).
 */
import { StoreError } from '../backend.js';
import type { QueryResult } from '../backend.js';
import type { LogRow, LogStore, SpanRow } from '../log-store.js';
import type { LogSelect, LogTable, Matcher } from './log-select.js';
import type { IndexStatsRow, MetricBucketRow, MetricBucketScan, SeriesRow, StreamScan, TimeBuckets, VolumeGrouping, VolumeRow } from './index-select.js';

/** A scan as a route asks for it: everything but the tenant and the table, which the reader decides. */
export type ReaderScan = Omit<StreamScan, 'tenant' | 'table'>;

/** The reserved stream label (and value) that addresses the audit trail. */
export const AUDIT_STREAM_LABEL = 'meshlog_stream';
export const AUDIT_STREAM_VALUE = 'audit';

/** Rewrites rows before the reader returns them (masking personal data for readers who may not see it). */
export interface RowMasker {
  logRow(row: LogRow): LogRow;
  spanRow(row: SpanRow): SpanRow;
}

export interface ReadScope {
  tenant: string;
  /** May read the audit trail (auditors and admins). */
  auditTrail: boolean;
  /** Applied to every row returned; absent = rows as stored. */
  mask?: RowMasker;
}

export class TenantReader {
  constructor(
    private readonly store: LogStore,
    readonly scope: Readonly<ReadScope>,
  ) {
    if (scope.tenant === '') throw new Error('a reader needs a tenant');
  }

  get tenant(): string {
    return this.scope.tenant;
  }

  async selectLogs(q: Omit<LogSelect, 'tenant' | 'table'>, signal?: AbortSignal): Promise<QueryResult<LogRow>> {
    const r = await this.store.selectLogs({ ...q, tenant: this.scope.tenant, table: this.tableFor(q.matchers) }, signal);
    const mask = this.scope.mask;
    return mask ? { ...r, rows: r.rows.map((row) => mask.logRow(row)) } : r;
  }

  async selectTrace(traceId: string, signal?: AbortSignal): Promise<SpanRow[]> {
    const rows = await this.store.selectTrace(this.scope.tenant, traceId, signal);
    const mask = this.scope.mask;
    return mask ? rows.map((row) => mask.spanRow(row)) : rows;
  }

  /** Label names of the streams a selector matches (every stream of the logs table when `matchers` is empty). */
  labelNames(q: ReaderScan, signal?: AbortSignal): Promise<string[]> {
    return this.store.labelNames(this.scan(q), signal);
  }

  labelValues(name: string, q: ReaderScan, signal?: AbortSignal): Promise<string[]> {
    return this.store.labelValues({ ...this.scan(q), name }, signal);
  }

  /** Distinct label sets of matching streams; stream labels are never personal data, so nothing to mask. */
  series(q: ReaderScan & { limit: number }, signal?: AbortSignal): Promise<QueryResult<SeriesRow>> {
    return this.store.series({ ...this.scan(q), limit: q.limit }, signal);
  }

  indexStats(q: ReaderScan, signal?: AbortSignal): Promise<QueryResult<IndexStatsRow>> {
    return this.store.indexStats(this.scan(q), signal);
  }

  volume(q: ReaderScan & { grouping: VolumeGrouping; buckets?: TimeBuckets; limit: number }, signal?: AbortSignal): Promise<QueryResult<VolumeRow>> {
    return this.store.volume({ ...this.scan(q), grouping: q.grouping, ...(q.buckets ? { buckets: q.buckets } : {}), limit: q.limit }, signal);
  }

  /**
   * Entries and bytes per group and time bucket. Group values can be
   * structured metadata, so they pass the mask too: whole attribute rows
   * for series grouping, the mask's text patterns for label grouping.
   */
  async metricBuckets(q: Omit<MetricBucketScan, 'tenant' | 'table'>, signal?: AbortSignal): Promise<QueryResult<MetricBucketRow>> {
    const r = await this.store.metricBuckets({ ...q, ...this.scan(q) }, signal);
    const mask = this.scope.mask;
    if (!mask) return r;
    const blank: LogRow = { timestamp_ns: '0', body: '', labels_keys: [], labels_values: [], severity_number: 0, trace_id: '', span_id: '', attr_keys: [], attr_values: [] };
    const rows = r.rows.map((row) => {
      if (row.k) return { ...row, k: row.k.map((v) => mask.logRow({ ...blank, body: v }).body) };
      const masked = mask.logRow({ ...blank, attr_keys: row.attr_keys ?? [], attr_values: row.attr_values ?? [] });
      return { ...row, attr_values: masked.attr_values };
    });
    return { ...r, rows };
  }

  private scan(q: ReaderScan): StreamScan {
    return {
      tenant: this.scope.tenant,
      table: this.tableFor(q.matchers),
      matchers: q.matchers,
      startNs: q.startNs,
      endNs: q.endNs,
      ...(q.lineFilters ? { lineFilters: q.lineFilters } : {}),
      ...(q.traceId !== undefined ? { traceId: q.traceId } : {}),
    };
  }

  /** The table a selector reads: the audit trail when it asks for it (and may), else the logs. */
  tableFor(matchers: readonly Matcher[]): LogTable {
    const audit = matchers.some((m) => m.name === AUDIT_STREAM_LABEL && m.op === '=' && m.value === AUDIT_STREAM_VALUE);
    if (!audit) return 'logs';
    if (!this.scope.auditTrail) {
      throw new StoreError(`the audit trail ({${AUDIT_STREAM_LABEL}="${AUDIT_STREAM_VALUE}"}) is readable by auditors and admins only`, 'forbidden');
    }
    return 'audit_log';
  }
}
