/**
 * Loki's query HTTP API with Loki's response shapes, so Grafana and logcli
 * work against Meshlog: `query_range`, `query`, `labels`,
 * `label/{name}/values`. Every read is scoped to the caller's tenant by the
 * store.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LogStore } from '@meshlog/store';
import { ApiError } from './errors.js';
import { identityOf } from './auth-hook.js';
import { parseQuery, runLogQuery, type LogQueryResult } from '../query/log-query-executor.js';
import { nowNs, parseTimeNs, rangeFromQuery, type TimeRange } from '../query/time-params.js';

export interface LokiRouteOptions {
  store: LogStore;
  maxEntriesLimit: number;
  maxQueryRangeHours: number;
}

type Query = Record<string, string | undefined>;

export function registerLokiRoutes(app: FastifyInstance, opts: LokiRouteOptions): void {
  const { store } = opts;

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
    const result = await runLogQuery(store, identityOf(req).tenant, expr, range, limit, direction, abort.signal);
    return { status: 'success', data: { resultType: 'streams', result: result.streams, stats: stats(result) } };
  };

  app.get('/loki/api/v1/query_range', async (req) => logQuery(req, rangeFromQuery(req.query as Query)));

  app.get('/loki/api/v1/query', async (req) => {
    const q = req.query as Query;
    // An instant log query looks back from `time` (Loki reads the range from the query; log queries use a 1h window).
    const end = q['time'] ? parseTimeNs(q['time'], 'time') : nowNs();
    return logQuery(req, { startNs: end - 3_600_000_000_000n, endNs: end });
  });

  app.get('/loki/api/v1/labels', async (req) => {
    const range = rangeFromQuery(req.query as Query, 6 * 3_600_000);
    const names = await store.labelNames(identityOf(req).tenant, range.startNs, range.endNs);
    return { status: 'success', data: names };
  });

  app.get<{ Params: { name: string } }>('/loki/api/v1/label/:name/values', async (req) => {
    const range = rangeFromQuery(req.query as Query, 6 * 3_600_000);
    const values = await store.labelValues(identityOf(req).tenant, req.params.name, range.startNs, range.endNs);
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
