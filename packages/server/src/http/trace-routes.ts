/**
 * Traces, and traces joined to their logs:
 *
 * - `GET /api/v2/trace/{traceId}` in Zipkin v2's JSON shape (a list of
 *   spans), so Zipkin and Grafana's Zipkin data source can show Meshlog's
 *   traces. The span -> Zipkin mapping lives with the `zipkin` source
 *   (components/src/sources/zipkin/zipkin-model.ts), so spans ingested
 *   through `POST /api/v2/spans` come back field for field.
 * - `GET /api/v1/traces/{traceId}?logs=true`: the trace's spans (Zipkin
 *   shape) and the log records carrying that trace id, as Loki streams.
 *   The logs are one query through the reader on the trace_id column
 *   (bloom filter index), over `start`/`end` when given, else all time.
 */
import type { FastifyInstance } from 'fastify';
import type { SpanRow } from '@meshlog/store';
import { spanToZipkin } from '@meshlog/components';
import { ApiError } from './errors.js';
import { readerOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { isoOfNs } from '../audit/audit-trail.js';
import { entryOf } from '../query/entry-source.js';
import { LokiParams, NS_PER_S, parseDirection, parseLimit } from '../query/loki-params.js';
import { nowNs, parseTimeNs } from '../query/time-params.js';
import { StreamCollector } from '../query/results.js';
import { checkEntriesLimit } from '../query/loki-query.js';

export interface TraceRouteOptions {
  maxEntriesLimit: number;
}

/** A trace id as stored: 32 lower-case hex digits (a 16-digit id is zero-padded, as Zipkin's 64-bit ids are). */
export function normalizeTraceId(raw: string): string {
  const id = raw.toLowerCase();
  if (!/^[0-9a-f]{16}([0-9a-f]{16})?$/.test(id)) throw new ApiError('bad_request', `invalid trace id ${JSON.stringify(raw)}: expected 16 or 32 hex digits`);
  return id.padStart(32, '0');
}

export function registerTraceRoutes(app: FastifyInstance, opts: TraceRouteOptions = { maxEntriesLimit: 5000 }): void {
  app.get<{ Params: { traceId: string } }>('/api/v2/trace/:traceId', { config: { access: { permission: 'logs:read' }, action: 'traces.get' } }, async (req) => {
    const rows = await readerOf(req).selectTrace(normalizeTraceId(req.params.traceId));
    if (rows.length === 0) throw new ApiError('not_found', `trace ${req.params.traceId.toLowerCase()} not found`);
    return rows.map(toZipkin);
  });

  app.get<{ Params: { traceId: string } }>('/api/v1/traces/:traceId', { config: { access: { permission: 'logs:read' }, action: 'traces.get_with_logs' } }, async (req) => {
    const traceId = normalizeTraceId(req.params.traceId);
    const p = LokiParams.of(req);
    const withLogs = (p.get('logs') ?? 'true') !== 'false';
    const limit = parseLimit(p, 1000);
    checkEntriesLimit(limit, opts.maxEntriesLimit);
    const direction = p.get('direction') !== undefined ? parseDirection(p) : 'forward';
    const startNs = p.get('start') !== undefined ? parseTimeNs(p.get('start')!, 'start') : 0n;
    const endNs = p.get('end') !== undefined ? parseTimeNs(p.get('end')!, 'end') : nowNs() + 86_400n * NS_PER_S;
    const reader = readerOf(req);
    const spans = await reader.selectTrace(traceId);
    const note = auditNote(req);
    note.query = { text: `trace_id="${traceId}"`, start: isoOfNs(startNs), end: isoOfNs(endNs), rows: spans.length, bytes: 0 };
    let logs: object | undefined;
    let logCount = 0;
    if (withLogs) {
      const r = await reader.selectLogs({ matchers: [], lineFilters: [], traceId, startNs, endNs, limit, direction });
      const collector = new StreamCollector();
      for (const row of r.rows) {
        const e = entryOf(row);
        collector.add(e.ts, e.line, { ...e.labels, ...e.metadata });
      }
      logCount = collector.entries;
      note.query.rows += logCount;
      note.query.bytes = collector.bytes;
      logs = { resultType: 'streams', result: collector.streams() };
    }
    if (spans.length === 0 && logCount === 0) throw new ApiError('not_found', `trace ${traceId} not found (no spans${withLogs ? ' and no logs' : ''} with that id)`);
    return { status: 'success', data: { traceId, spans: spans.map(toZipkin), ...(logs ? { logs } : {}) } };
  });
}

interface StoredEvent {
  timeUnixNano: string;
  name: string;
  attributes?: Record<string, unknown>;
}

function toZipkin(s: SpanRow): object {
  const attributes: Record<string, string> = {};
  s.attr_keys.forEach((k, i) => (attributes[k] = s.attr_values[i] ?? ''));
  const hasService = s.res_keys.includes('service.name');
  let events: StoredEvent[] = [];
  if (s.events) {
    try {
      events = JSON.parse(s.events) as StoredEvent[];
    } catch {
      // A stored span is never rewritten; an unreadable events column shows as no annotations.
      events = [];
    }
  }
  return spanToZipkin({
    traceId: s.trace_id,
    spanId: s.span_id,
    parentSpanId: s.parent_span_id,
    name: s.name,
    kind: Number(s.kind),
    startTimeUnixNano: BigInt(s.start_ns),
    endTimeUnixNano: BigInt(s.end_ns),
    serviceName: hasService ? s.service_name : undefined,
    attributes,
    statusCode: Number(s.status_code),
    statusMessage: s.status_message,
    events: events.map((e) => ({ timeUnixNano: BigInt(e.timeUnixNano), name: e.name, attributes: e.attributes ?? {} })),
  });
}
