/**
 * Loki's query HTTP API with Loki's response shapes and errors, so Grafana,
 * logcli and every Loki client work against Meshlog:
 *
 *   GET|POST /loki/api/v1/query, /query_range      streams, matrix, vector + stats
 *   GET|POST /loki/api/v1/labels, /label/{name}/values   (optionally `query=` a selector)
 *   GET|POST /loki/api/v1/series                   (`match[]` repeated)
 *   GET|POST /loki/api/v1/index/stats              {streams, chunks, bytes, entries}
 *   GET|POST /loki/api/v1/index/volume, /index/volume_range
 *   GET|POST /loki/api/v1/format_query             canonical text (@meshlog/logql)
 *   GET      /loki/api/v1/status/buildinfo         what Grafana probes
 *   GET      /loki/api/v1/tail                     WebSocket (loki-tail.ts)
 *
 * POST takes the same parameters form-encoded. Every read goes through the
 * request's tenant-bound reader; every route needs `logs:read`; a query's
 * audit record names its text, range and counts; a client that goes away
 * cancels its query down to ClickHouse. Errors are Loki's plain text
 * (loki-errors.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse, parseSelector, print, selectorsOf, ParseError, type LabelMatcher } from '@meshlog/logql';
import type { TenantReader, VolumeGrouping } from '@meshlog/store';
import { ApiError } from './errors.js';
import { readerOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { renderLokiError } from './loki-errors.js';
import { isoOfNs } from '../audit/audit-trail.js';
import { LokiParams, NS_PER_S, parseBounds, parseDirection, parseInstantTime, parseInterval, parseLimit, parseRangeBounds, parseStep, requireQuery } from '../query/loki-params.js';
import { checkRange, parseLogQL, runQuery, type QueryLimits } from '../query/loki-query.js';
import { formatSampleValue, sortSeries, type MatrixSeries } from '../query/results.js';

export interface LokiRouteOptions extends QueryLimits {
  /** Reported by `/status/buildinfo` beside the Loki API version this server speaks. */
  version: string;
}

/** The Loki API version these routes follow (what `/status/buildinfo` answers to Grafana's probe). */
export const LOKI_API_VERSION = '3.0.0';

/** Most label sets `/series` returns; more is an error that says how to narrow the match. */
export const MAX_SERIES_RESPONSE = 10_000;

const BOTH = ['GET', 'POST'] as const;

/** The config of every Loki route: `logs:read`, the audit action, Loki's error shape. */
export function lokiRoute(action: string) {
  return { access: { permission: 'logs:read' as const }, action, renderError: renderLokiError };
}

/** An abort signal that fires when the client goes away before the answer is sent. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  return abort.signal;
}

export function registerLokiRoutes(app: FastifyInstance, opts: LokiRouteOptions): void {
  const query = (instant: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const p = LokiParams.of(req);
    const text = requireQuery(p);
    const expr = parseLogQL(text);
    const limit = parseLimit(p);
    const direction = parseDirection(p);
    let startNs: bigint;
    let endNs: bigint;
    let stepNs = 0n;
    let intervalNs = 0n;
    if (instant) {
      startNs = endNs = parseInstantTime(p);
    } else {
      ({ startNs, endNs } = parseRangeBounds(p));
      stepNs = parseStep(p, { startNs, endNs });
      intervalNs = parseInterval(p);
    }
    const note = auditNote(req);
    note.query = { text, start: isoOfNs(startNs), end: isoOfNs(endNs), rows: 0, bytes: 0 };
    const answer = await runQuery(readerOf(req), { text, expr, startNs, endNs, stepNs, intervalNs, limit, direction, instant }, opts, clientGone(reply));
    note.query.rows = answer.stats.returned;
    note.query.bytes = answer.stats.bytesRead;
    return { status: 'success', data: answer.data };
  };
  app.route({ method: [...BOTH], url: '/loki/api/v1/query_range', config: lokiRoute('logs.query_range'), handler: query(false) });
  app.route({ method: [...BOTH], url: '/loki/api/v1/query', config: lokiRoute('logs.query'), handler: query(true) });

  app.route({
    method: [...BOTH],
    url: '/loki/api/v1/labels',
    config: lokiRoute('logs.labels'),
    handler: async (req, reply) => {
      const p = LokiParams.of(req);
      const range = parseBounds(p, 6 * 3_600_000);
      checkRange(range.startNs, range.endNs, opts.maxQueryRangeHours);
      const matchers = optionalSelector(p);
      const names = await readerOf(req).labelNames({ matchers, ...range }, clientGone(reply));
      noteLookup(req, p.get('query') ?? '{}', range, names.length);
      return { status: 'success', data: names };
    },
  });

  app.route<{ Params: { name: string } }>({
    method: [...BOTH],
    url: '/loki/api/v1/label/:name/values',
    config: lokiRoute('logs.label_values'),
    handler: async (req, reply) => {
      const p = LokiParams.of(req);
      const range = parseBounds(p, 6 * 3_600_000);
      checkRange(range.startNs, range.endNs, opts.maxQueryRangeHours);
      const matchers = optionalSelector(p);
      const values = await readerOf(req).labelValues(req.params.name, { matchers, ...range }, clientGone(reply));
      noteLookup(req, p.get('query') ?? '{}', range, values.length);
      return { status: 'success', data: values };
    },
  });

  app.route({
    method: [...BOTH],
    url: '/loki/api/v1/series',
    config: lokiRoute('logs.series'),
    handler: async (req, reply) => {
      const p = LokiParams.of(req);
      const range = parseBounds(p);
      checkRange(range.startNs, range.endNs, opts.maxQueryRangeHours);
      const groups = [...p.all('match[]'), ...p.all('match')].map((m) => selectorMatchers(m, 'match[]'));
      if (groups.length === 0) groups.push([]);
      const signal = clientGone(reply);
      const reader = readerOf(req);
      const seen = new Map<string, Record<string, string>>();
      for (const matchers of groups) {
        const r = await reader.series({ matchers, ...range, limit: MAX_SERIES_RESPONSE + 1 }, signal);
        for (const row of r.rows) {
          const labels: Record<string, string> = {};
          row.stream_keys.forEach((k, i) => (labels[k] = row.stream_values[i] ?? ''));
          seen.set(JSON.stringify(row.stream_keys) + JSON.stringify(row.stream_values), labels);
        }
        if (seen.size > MAX_SERIES_RESPONSE) {
          throw new ApiError('limit_exceeded', `more than ${MAX_SERIES_RESPONSE} series match; add label matchers to match[] or narrow start and end`);
        }
      }
      const data = [...seen.values()];
      noteLookup(req, [...p.all('match[]'), ...p.all('match')].join(' or ') || '{}', range, data.length);
      return { status: 'success', data };
    },
  });

  app.route({
    method: [...BOTH],
    url: '/loki/api/v1/index/stats',
    config: lokiRoute('logs.index_stats'),
    handler: async (req, reply) => {
      const p = LokiParams.of(req);
      const text = requireQuery(p);
      const range = parseRangeBounds(p);
      checkRange(range.startNs, range.endNs, opts.maxQueryRangeHours);
      const signal = clientGone(reply);
      const total = { streams: 0, chunks: 0, bytes: 0, entries: 0 };
      for (const matchers of selectorsOfQuery(text)) {
        const row = (await readerOf(req).indexStats({ matchers, ...range }, signal)).rows[0];
        if (!row) continue;
        total.streams += Number(row.streams);
        total.chunks += Number(row.chunks);
        total.bytes += Number(row.bytes);
        total.entries += Number(row.entries);
      }
      noteLookup(req, text, range, total.entries);
      return total;
    },
  });

  const volume = (ranged: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const p = LokiParams.of(req);
    const text = requireQuery(p);
    const range = ranged ? parseRangeBounds(p) : parseBounds(p);
    checkRange(range.startNs, range.endNs, opts.maxQueryRangeHours);
    const limit = parseLimit(p, 100);
    const aggregateBy = p.get('aggregateBy') ?? 'series';
    if (aggregateBy !== 'series' && aggregateBy !== 'labels') throw new ApiError('bad_request', 'invalid aggregation option');
    const targets = (p.get('targetLabels') ?? '').split(',').filter((t) => t !== '');
    const stepNs = ranged ? parseStep(p, range) : 0n;
    const answer = await runVolume(readerOf(req), { text, ...range, stepNs, ranged, limit, aggregateBy, targets, maxSeries: opts.maxQuerySeries }, clientGone(reply));
    noteLookup(req, text, range, answer.result.length);
    return { status: 'success', data: { resultType: answer.resultType, result: answer.result, stats: {} } };
  };
  app.route({ method: [...BOTH], url: '/loki/api/v1/index/volume', config: lokiRoute('logs.volume'), handler: volume(false) });
  app.route({ method: [...BOTH], url: '/loki/api/v1/index/volume_range', config: lokiRoute('logs.volume_range'), handler: volume(true) });

  app.route({
    method: [...BOTH],
    url: '/loki/api/v1/format_query',
    config: lokiRoute('logs.format_query'),
    handler: async (req) => {
      const text = requireQuery(LokiParams.of(req));
      try {
        return { status: 'success', data: print(parse(text)) };
      } catch (err) {
        if (err instanceof ParseError) throw new ApiError('bad_query', err.message);
        throw err;
      }
    },
  });

  app.get('/loki/api/v1/status/buildinfo', { config: lokiRoute('logs.buildinfo') }, async () => ({
    version: LOKI_API_VERSION,
    revision: `meshlog-${opts.version}`,
    branch: 'meshlog',
    buildUser: 'meshlog',
    buildDate: '',
    goVersion: '',
    meshlogVersion: opts.version,
  }));
}

function noteLookup(req: FastifyRequest, text: string, range: { startNs: bigint; endNs: bigint }, rows: number): void {
  auditNote(req).query = { text, start: isoOfNs(range.startNs), end: isoOfNs(range.endNs), rows, bytes: 0 };
}

/** A stream selector parameter (`{a="b"}`); `{}` or absent means every stream. */
function selectorMatchers(text: string, name: string): LabelMatcher[] {
  if (/^\s*\{\s*\}\s*$/.test(text)) return [];
  try {
    return parseSelector(text).matchers;
  } catch (err) {
    if (err instanceof ParseError) throw new ApiError('bad_query', `${name}: ${err.message}`);
    throw err;
  }
}

/** `query=` of `/labels` and `/label/{name}/values`: a selector or a whole query (its first selector); absent = every stream. */
function optionalSelector(p: LokiParams): LabelMatcher[] {
  const text = p.get('query');
  if (text === undefined) return [];
  return selectorsOfQuery(text)[0] ?? [];
}

/** The matchers of every stream selector a query (or a bare selector) reads. */
function selectorsOfQuery(text: string): LabelMatcher[][] {
  if (/^\s*\{\s*\}\s*$/.test(text)) return [[]];
  try {
    return selectorsOf(parse(text)).map((s) => s.matchers);
  } catch (err) {
    if (err instanceof ParseError) throw new ApiError('bad_query', err.message);
    throw err;
  }
}

interface VolumeRequest {
  text: string;
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
  ranged: boolean;
  limit: number;
  aggregateBy: 'series' | 'labels';
  targets: string[];
  maxSeries: number;
}

/**
 * Loki's volume semantics (pkg/storage/stores/index/seriesvolume and
 * util.PrepareLabelsAndMatchers): by default, series made of the labels the
 * selector names; with `targetLabels`, of those (each must then be present);
 * with `aggregateBy=labels`, one series per label name (`{name=""}`).
 * Values are bytes; each bucket keeps its top `limit` series; buckets end
 * at their timestamp.
 */
async function runVolume(reader: TenantReader, q: VolumeRequest, signal: AbortSignal): Promise<{ resultType: 'vector' | 'matrix'; result: object[] }> {
  const matchers = selectorsOfQuery(q.text)[0] ?? [];
  const named = [...new Set(matchers.map((m) => m.name))];
  const targets = q.targets;
  const scanMatchers: LabelMatcher[] = [...matchers, ...targets.filter((t) => !named.includes(t)).map((t) => ({ name: t, op: '=~' as const, value: '.+' }))];
  let grouping: VolumeGrouping;
  if (q.aggregateBy === 'labels') grouping = { kind: 'label-names' };
  else if (targets.length > 0) grouping = { kind: 'series', labels: targets };
  else if (named.length > 0) grouping = { kind: 'series', labels: named };
  else grouping = { kind: 'all-labels' };
  const r = await reader.volume(
    { matchers: scanMatchers, startNs: q.startNs, endNs: q.endNs + 1n, grouping, ...(q.ranged ? { buckets: { startNs: q.startNs, stepNs: q.stepNs } } : {}), limit: 1_000_000 },
    signal,
  );
  // name -> bucket -> bytes
  const byName = new Map<string, { metric: Record<string, string>; points: Map<number, number> }>();
  for (const row of r.rows) {
    let metric: Record<string, string>;
    if (grouping.kind === 'label-names') {
      const name = String(row.k);
      if (targets.length > 0 && !targets.includes(name)) continue;
      metric = { [name]: '' };
    } else if (grouping.kind === 'all-labels') {
      metric = {};
      (row.stream_keys ?? []).forEach((k, i) => (metric[k] = row.stream_values?.[i] ?? ''));
    } else {
      metric = {};
      (row.k as string[]).forEach((v, i) => {
        if (v !== '') metric[grouping.labels[i]!] = v;
      });
    }
    const key = JSON.stringify(Object.entries(metric).sort());
    let s = byName.get(key);
    if (!s) {
      if (byName.size >= q.maxSeries) throw new ApiError('limit_exceeded', `the query hit the max number of series limit (limit: ${q.maxSeries} series); add label matchers or targetLabels (limits.max_query_series)`);
      s = { metric, points: new Map() };
      byName.set(key, s);
    }
    const b = Number(row.b);
    s.points.set(b, (s.points.get(b) ?? 0) + Number(row.bytes));
  }
  // Top `limit` per bucket, as Loki's MapToVolumeResponse (by volume, then name).
  const buckets = new Set<number>();
  for (const s of byName.values()) for (const b of s.points.keys()) buckets.add(b);
  const kept = new Map<string, Map<number, number>>();
  for (const b of buckets) {
    const inBucket = [...byName.entries()].filter(([, s]) => s.points.has(b)).map(([key, s]) => ({ key, v: s.points.get(b)! }));
    inBucket.sort((x, y) => y.v - x.v || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    for (const { key, v } of inBucket.slice(0, q.limit)) {
      const m = kept.get(key) ?? new Map<number, number>();
      m.set(b, v);
      kept.set(key, m);
    }
  }
  const endS = (b: number): number => {
    if (!q.ranged) return Number(q.endNs / NS_PER_S);
    const end = q.startNs + BigInt(b + 1) * q.stepNs;
    return Number((end < q.endNs ? end : q.endNs) / 1_000_000n) / 1000;
  };
  const series: MatrixSeries[] = [...kept.entries()].map(([key, points]) => ({
    metric: byName.get(key)!.metric,
    values: [...points.entries()].sort((a, b) => a[0] - b[0]).map(([b, v]) => [endS(b), formatSampleValue(v)] as [number, string]),
  }));
  // Loki orders by the first value, largest first, then by name.
  series.sort((a, b) => Number(b.values[0]![1]) - Number(a.values[0]![1]));
  if (!q.ranged) return { resultType: 'vector', result: series.map((s) => ({ metric: s.metric, value: s.values[0]! })) };
  return { resultType: 'matrix', result: sortSeries(series).sort((a, b) => Number(b.values[0]![1]) - Number(a.values[0]![1])) };
}
