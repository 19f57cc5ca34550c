/**
 * The `zipkin` source: Zipkin v2's span intake, `POST /api/v2/spans`, on
 * the host's HTTP listener, so Zipkin tracers (zipkin-js with
 * zipkin-transport-http, Brave, Envoy's and Istio's Zipkin tracer) report
 * to Meshlog unchanged. JSON (`application/json`, the default) and, unless
 * turned off, proto3 (`application/x-protobuf`); gzip is undone by the host.
 *
 * A request is all or nothing, as in Zipkin's collector: a span that does
 * not decode fails the request with 400 and a text message naming the span
 * and field (`spans[3].traceId: ...`). Success is 202 with an empty body,
 * sent once the spans are durable; back-pressure answers 429 or 503 with
 * Retry-After. Zipkin itself has no authentication: Meshlog requires the
 * API token as `Authorization: Bearer` (zipkin-transport-http's `headers`
 * option carries it).
 */
import {
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type HostError,
  type IngestRequest,
  type IngestResponse,
  type Span,
  type IngestRoute,
} from '@meshlog/core';
import { emitWithOutcome, requestId } from '../shared/emit-outcome.js';
import { ZipkinSourceConfigSchema, type ZipkinSourceConfig } from './config.js';
import { ZipkinDecodeError, zipkinSpansToModel } from './zipkin-model.js';
import { decodeZipkinProto } from './zipkin-proto.js';
import { HttpMountedSource } from '../shared/http-mounted-source.js';

export const zipkinSource: ComponentDefinition<ZipkinSourceConfig> = {
  kind: 'source',
  type: 'zipkin',
  description: 'Zipkin v2 spans (POST /api/v2/spans, JSON or protobuf, gzip) on the HTTP listener',
  schema: ZipkinSourceConfigSchema,
  build: (config, ctx) => new ZipkinSource(config, ctx),
};

class ZipkinSource extends HttpMountedSource {
  constructor(
    private readonly config: ZipkinSourceConfig,
    ctx: BuildContext,
  ) {
    super(ctx, 'Zipkin');
  }

  protected routes(): IngestRoute[] {
    return [{ method: 'POST', path: '/api/v2/spans', permission: 'ingest', renderError: renderHostError, handler: (req) => this.handle(req) }];
  }

  private async handle(req: IngestRequest): Promise<IngestResponse> {
    const mediaType = req.contentType.split(';')[0]!.trim().toLowerCase();
    const protobuf = mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf';
    if (protobuf && !this.config.protobuf) return text(415, 'this source takes Zipkin v2 JSON only (protobuf is turned off); send application/json');
    if (!protobuf && mediaType !== '' && mediaType !== 'application/json' && mediaType !== 'text/plain') {
      return text(415, `unsupported content type ${JSON.stringify(req.contentType)}; send application/json${this.config.protobuf ? ' or application/x-protobuf' : ''}`);
    }
    let spans: Span[];
    try {
      if (req.body.length === 0) throw new ZipkinDecodeError('empty body: expected a list of spans');
      let list: unknown;
      if (protobuf) {
        list = decodeZipkinProto(req.body);
      } else {
        try {
          list = JSON.parse(req.body.toString('utf8'));
        } catch (err) {
          throw new ZipkinDecodeError(`invalid JSON: ${(err as Error).message}`);
        }
      }
      spans = zipkinSpansToModel(list, nowUnixNano());
    } catch (err) {
      if (!(err instanceof ZipkinDecodeError)) throw err;
      this.ctx.metrics.error('decode_failed');
      return text(400, err.message);
    }
    if (spans.length === 0) return { status: 202 };
    this.ctx.metrics.received(spans.length, req.body.length);
    const id = requestId(req.tenant, `zipkin/${protobuf ? 'proto' : 'json'}`, req.body);
    const outcome = await emitWithOutcome(this.ctx, { kind: 'spans', tenant: req.tenant, source: this.ctx.id, id, spans }, this.config.max_wait_ms);
    if (outcome.ok) return { status: 202 };
    if (!outcome.retryable) return text(400, outcome.message);
    return { ...text(outcome.status, outcome.message), headers: { 'retry-after': String(outcome.retryAfterSeconds) } };
  }
}

function text(status: number, message: string): IngestResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${message}\n` };
}

/** Zipkin's collector answers errors in plain text. */
function renderHostError(e: HostError): IngestResponse {
  const headers: Record<string, string> = {};
  if (e.retryAfterSeconds !== undefined) headers['retry-after'] = String(e.retryAfterSeconds);
  if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="meshlog"';
  return { ...text(e.status, e.message), headers };
}
