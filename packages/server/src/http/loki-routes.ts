/**
 * Loki's query HTTP API with Loki's response shapes, so Grafana and logcli
 * work against Meshlog: `query_range`, `query`, `labels`,
 * `label/{name}/values`. Every read goes through the request's tenant-bound
 * store reader; a query's audit record names its text, range and counts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import { readerOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { isoOfNs } from '../audit/audit-trail.js';
import { parseQuery, runLogQuery, type LogQueryResult } from '../query/log-query-executor.js';
import { nowNs, parseTimeNs, rangeFromQuery, type TimeRange } from '../query/time-params.js';

export interface LokiRouteOptions {
  maxEntriesLimit: number;
  maxQueryRangeHours: number;
}

type Query = Record<string, string | undefined>;

export function registerLokiRoutes(app: FastifyInstance, opts: LokiRouteOptions): void {
  const read = { access: { permission: 'logs:read' as const } };
  const logQuery = async (req: FastifyRequest, range: TimeRange): Promise<object> => {
    const q = req.query as Query;
    const text = q['query'];
    if (!text) throw new ApiError('bad_request', 'missing required parameter "query"');
    const limit = q['limit'] !== undefined ? Number(q['limit']) : 100;
    if (!Number.isInteger(limit) || limit <= 0) throw new ApiError('bad_request', `invalid limit ${JSON.stringify(q['limit'])}: must be a positive integer`);
    if (limit > opts.maxEntriesLimit) {
      throw new ApiError('limit_exceeded', `max entries limit per query exceeded, limit > max_entries_limit (${limit} > ${opts.maxEntriesLimit}); lower the limit`);
    }
    const direction = (q['direction'] ?? 'backward').toLowerCase();
    if (direction !== 'backward' && direction !== 'forward') throw new ApiError('bad_request', `invalid direction ${JSON.stringify(q['direction'])}: use backward or forward`);
    const rangeHours = Number(range.endNs - range.startNs) / 3.6e12;
    if (rangeHours > opts.maxQueryRangeHours) {
      throw new ApiError('limit_exceeded', `the query time range exceeds the limit (${rangeHours.toFixed(1)}h > ${opts.maxQueryRangeHours}h); narrow start/end`);
    }
    const expr = parseQuery(text);
    if (expr.kind !== 'LogQuery') throw new ApiError('unsupported', 'metric queries are not supported by this server yet; send a log query (a stream selector with line filters)');
    const abort = new AbortController();
    req.raw.once('close', () => abort.abort());
    const note = auditNote(req);
    note.query = { text, start: isoOfNs(range.startNs), end: isoOfNs(range.endNs), rows: 0, bytes: 0 };
    const result = await runLogQuery(readerOf(req), expr, range, limit, direction, abort.signal);
    note.query.rows = result.entries;
    note.query.bytes = result.bytes;
    return { status: 'success', data: { resultType: 'streams', result: result.streams, stats: stats(result) } };
  };

  app.get('/loki/api/v1/query_range', { config: { ...read, action: 'logs.query_range' } }, async (req) => logQuery(req, rangeFromQuery(req.query as Query)));

  app.get('/loki/api/v1/query', { config: { ...read, action: 'logs.query' } }, async (req) => {
    const q = req.query as Query;
    // An instant log query looks back from `time` (Loki reads the range from the query; log queries use a 1h window).
    const end = q['time'] ? parseTimeNs(q['time'], 'time') : nowNs();
    return logQuery(req, { startNs: end - 3_600_000_000_000n, endNs: end });
  });

  app.get('/loki/api/v1/labels', { config: { ...read, action: 'logs.labels' } }, async (req) => {
    const range = rangeFromQuery(req.query as Query, 6 * 3_600_000);
    const names = await readerOf(req).labelNames(range.startNs, range.endNs);
    return { status: 'success', data: names };
  });

  app.get<{ Params: { name: string } }>('/loki/api/v1/label/:name/values', { config: { ...read, action: 'logs.label_values' } }, async (req) => {
    const range = rangeFromQuery(req.query as Query, 6 * 3_600_000);
    const values = await readerOf(req).labelValues(req.params.name, range.startNs, range.endNs);
    return { status: 'success', data: values };
  });
}

/** Loki's `stats` object; the summary carries what this server measures. */
function stats(r: LogQueryResult): object {
  const execSeconds = r.execMs / 1000;
  const perSecond = (n: number): number => (execSeconds > 0 ? Math.round(n / execSeconds) : 0);
  return {
    summary: {
      bytesProcessedPerSecond: perSecond(r.bytesRead),
      linesProcessedPerSecond: perSecond(r.rowsRead),
      totalBytesProcessed: r.bytesRead,
      totalLinesProcessed: r.rowsRead,
      execTime: execSeconds,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: r.entries,
      splits: 0,
      shards: 0,
      totalPostFilterLines: r.entries,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store: { totalChunksRef: 0, totalChunksDownloaded: 0, chunksDownloadTime: 0, chunk: { headChunkBytes: 0, headChunkLines: 0, decompressedBytes: r.bytesRead, decompressedLines: r.rowsRead, compressedBytes: 0, totalDuplicates: 0 } } },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: { totalChunksRef: 0, totalChunksDownloaded: 0, chunksDownloadTime: 0, chunk: { headChunkBytes: 0, headChunkLines: 0, decompressedBytes: 0, decompressedLines: 0, compressedBytes: 0, totalDuplicates: 0 } } },
  };
}
