/**
 * `GET /api/v2/trace/{traceId}` in Zipkin v2's JSON shape (a list of spans),
 * so Zipkin and Grafana's Zipkin data source can show Meshlog's traces.
 */
import type { FastifyInstance } from 'fastify';
import type { LogStore, SpanRow } from '@meshlog/store';
import { ApiError } from './errors.js';
import { identityOf } from './auth-hook.js';

const ZIPKIN_KIND: Record<number, string | undefined> = { 2: 'SERVER', 3: 'CLIENT', 4: 'PRODUCER', 5: 'CONSUMER' };

export function registerTraceRoutes(app: FastifyInstance, store: LogStore): void {
  app.get<{ Params: { traceId: string } }>('/api/v2/trace/:traceId', async (req) => {
    const traceId = req.params.traceId.toLowerCase();
    if (!/^[0-9a-f]{16}([0-9a-f]{16})?$/.test(traceId)) throw new ApiError('bad_request', `invalid trace id ${JSON.stringify(req.params.traceId)}: expected 16 or 32 hex digits`);
    const rows = await store.selectTrace(identityOf(req).tenant, traceId.padStart(32, '0'));
    if (rows.length === 0) throw new ApiError('not_found', `trace ${traceId} not found`);
    return rows.map(toZipkin);
  });
}

function toZipkin(s: SpanRow): object {
  const tags: Record<string, string> = {};
  s.attr_keys.forEach((k, i) => (tags[k] = s.attr_values[i] ?? ''));
  if (s.status_code === 2) tags['error'] = s.status_message || 'true';
  const startUs = BigInt(s.start_ns) / 1000n;
  const durationUs = (BigInt(s.end_ns) - BigInt(s.start_ns)) / 1000n;
  return {
    traceId: s.trace_id,
    id: s.span_id,
    ...(s.parent_span_id ? { parentId: s.parent_span_id } : {}),
    name: s.name,
    ...(ZIPKIN_KIND[s.kind] ? { kind: ZIPKIN_KIND[s.kind] } : {}),
    timestamp: Number(startUs),
    duration: Number(durationUs),
    localEndpoint: { serviceName: s.service_name },
    tags,
  };
}
