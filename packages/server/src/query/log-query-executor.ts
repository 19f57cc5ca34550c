/**
 * Runs LogQL log queries (stream selector + pipeline) for the Loki API.
 * The selector, line filters and time range are pushed down to the store as
 * one SQL query; results come back as Loki streams. Stages the store cannot
 * run are refused with a clear error until the query engine evaluates them.
 */
import { parse, ParseError, type Expr, type LogQuery, type PipelineStage } from '@meshlog/logql';
import type { LineFilterSpec, LogRow, TenantReader } from '@meshlog/store';
import { ApiError } from '../http/errors.js';
import type { TimeRange } from './time-params.js';

export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}

export interface LogQueryResult {
  streams: LokiStream[];
  entries: number;
  bytes: number;
  rowsRead: number;
  bytesRead: number;
  execMs: number;
}

export function parseQuery(text: string): Expr {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof ParseError) throw new ApiError('bad_query', err.message);
    throw err;
  }
}

export function lineFiltersOf(pipeline: PipelineStage[]): LineFilterSpec[] {
  const out: LineFilterSpec[] = [];
  for (const stage of pipeline) {
    if (stage.kind !== 'LineFilter') {
      throw new ApiError('unsupported', `pipeline stage ${stage.kind} is not supported by this server yet; use a stream selector with line filters (|=, !=, |~, !~)`);
    }
    if (stage.ip || stage.or.some((t) => t.ip)) throw new ApiError('unsupported', 'ip() line filters are not supported by this server yet');
    out.push({ op: stage.op, values: [stage.value, ...stage.or.map((t) => t.value)] });
  }
  return out;
}

export async function runLogQuery(
  reader: TenantReader,
  query: LogQuery,
  range: TimeRange,
  limit: number,
  direction: 'backward' | 'forward',
  signal?: AbortSignal,
): Promise<LogQueryResult> {
  const started = performance.now();
  const result = await reader.selectLogs(
    {
      matchers: query.selector.matchers,
      lineFilters: lineFiltersOf(query.pipeline),
      startNs: range.startNs,
      endNs: range.endNs,
      limit,
      direction,
    },
    signal,
  );
  return { ...toStreams(result.rows), rowsRead: result.rowsRead, bytesRead: result.bytesRead, execMs: performance.now() - started };
}

function toStreams(rows: LogRow[]): Pick<LogQueryResult, 'streams' | 'entries' | 'bytes'> {
  const byKey = new Map<string, LokiStream>();
  let bytes = 0;
  for (const row of rows) {
    const key = row.labels_keys.map((k, i) => `${k}\u0000${row.labels_values[i]}`).join('\u0001');
    let s = byKey.get(key);
    if (!s) {
      const stream: Record<string, string> = {};
      row.labels_keys.forEach((k, i) => (stream[k] = row.labels_values[i] ?? ''));
      s = { stream, values: [] };
      byKey.set(key, s);
    }
    s.values.push([row.timestamp_ns, row.body]);
    bytes += row.body.length;
  }
  // Rows arrive globally sorted, so each stream's values are already in the requested order.
  return { streams: [...byKey.values()], entries: rows.length, bytes };
}
