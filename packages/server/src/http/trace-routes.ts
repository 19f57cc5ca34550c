/**
 * `GET /api/v2/trace/{traceId}` in Zipkin v2's JSON shape (a list of spans),
 * so Zipkin and Grafana's Zipkin data source can show Meshlog's traces.
 * The span -> Zipkin mapping lives with the `zipkin` source
 * (components/src/sources/zipkin/zipkin-model.ts), so spans ingested
 * through `POST /api/v2/spans` come back field for field: kind, parentId,
 * tags, endpoints, annotations (span events), shared and debug.
 */
import type { FastifyInstance } from 'fastify';
import type { SpanRow } from '@meshlog/store';
import { spanToZipkin } from '@meshlog/components';
import { ApiError } from './errors.js';
import { readerOf } from './auth-hook.js';

export function registerTraceRoutes(app: FastifyInstance): void {
  app.get<{ Params: { traceId: string } }>('/api/v2/trace/:traceId', { config: { access: { permission: 'logs:read' }, action: 'traces.get' } }, async (req) => {
    const traceId = req.params.traceId.toLowerCase();
    if (!/^[0-9a-f]{16}([0-9a-f]{16})?$/.test(traceId)) throw new ApiError('bad_request', `invalid trace id ${JSON.stringify(req.params.traceId)}: expected 16 or 32 hex digits`);
    const rows = await readerOf(req).selectTrace(traceId.padStart(32, '0'));
    if (rows.length === 0) throw new ApiError('not_found', `trace ${traceId} not found`);
    return rows.map(toZipkin);
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
