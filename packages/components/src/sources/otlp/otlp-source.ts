/**
 * The `otlp` source: OTLP/HTTP `POST /v1/logs` and `POST /v1/traces`, in
 * protobuf or JSON (gzip is undone by the host). Answers per the OTLP/HTTP
 * spec: 200 with an Export*ServiceResponse in the request's encoding (with
 * `partial_success` when some records were rejected), 400 with a Status
 * naming the problem for bad input, 429/503 with Retry-After when the
 * pipeline pushes back. The 200 is sent only after the batch is durable.
 */
import {
  type BuildContext,
  type ComponentDefinition,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
} from '@meshlog/core';
import { OtlpSourceConfigSchema, type OtlpSourceConfig } from './config.js';
import { encodingOf, type OtlpEncoding } from './otlp-decode.js';
import { encodeOtlpSuccess, ingestOtlpRequest, otlpSuccessObject, type OtlpSignal } from './otlp-ingest.js';
import { otlpType } from './otlp-proto.js';
import { HttpMountedSource } from '../shared/http-mounted-source.js';

export const otlpSource: ComponentDefinition<OtlpSourceConfig> = {
  kind: 'source',
  type: 'otlp',
  description: 'OTLP/HTTP logs and traces (protobuf and JSON, gzip) on the HTTP listener',
  schema: OtlpSourceConfigSchema,
  build: (config, ctx) => new OtlpSource(config, ctx),
};

class OtlpSource extends HttpMountedSource {
  constructor(
    private readonly config: OtlpSourceConfig,
    ctx: BuildContext,
  ) {
    super(ctx, 'OTLP/HTTP');
  }

  protected routes(): IngestRoute[] {
    const routes: IngestRoute[] = [];
    if (this.config.logs) routes.push({ method: 'POST', path: '/v1/logs', permission: 'ingest', handler: (req) => this.handle(req, 'logs') });
    if (this.config.traces) routes.push({ method: 'POST', path: '/v1/traces', permission: 'ingest', handler: (req) => this.handle(req, 'traces') });
    return routes;
  }

  private async handle(req: IngestRequest, signal: OtlpSignal): Promise<IngestResponse> {
    const encoding = encodingOf(req.contentType);
    if (!encoding) {
      this.ctx.metrics.error('unsupported_content_type');
      return errorResponse('json', 400, `unsupported content type ${JSON.stringify(req.contentType)}; OTLP/HTTP takes application/x-protobuf or application/json`);
    }
    const outcome = await ingestOtlpRequest(this.ctx, { tenant: req.tenant, signal, body: req.body, encoding, maxWaitMs: this.config.max_wait_ms });
    switch (outcome.kind) {
      case 'invalid':
        return errorResponse(encoding, 400, outcome.message);
      case 'retry':
        return { ...errorResponse(encoding, outcome.throttled ? 429 : 503, outcome.message), headers: { 'retry-after': String(Math.ceil(outcome.retryAfterMs / 1000)) } };
      case 'accepted':
        return successResponse(encoding, signal, outcome.rejected, outcome.firstError);
    }
  }
}

function successResponse(encoding: OtlpEncoding, signal: OtlpSignal, rejected: number, firstError: string | undefined): IngestResponse {
  if (encoding === 'json') return { status: 200, contentType: 'application/json', body: JSON.stringify(otlpSuccessObject(signal, rejected, firstError)) };
  return { status: 200, contentType: 'application/x-protobuf', body: encodeOtlpSuccess(signal, rejected, firstError) };
}

/** OTLP/HTTP error bodies are a google.rpc.Status in the request's encoding. */
function errorResponse(encoding: OtlpEncoding, status: number, message: string): IngestResponse {
  // gRPC codes carried in Status: INVALID_ARGUMENT 3, RESOURCE_EXHAUSTED 8, UNAVAILABLE 14.
  const code = status === 400 ? 3 : status === 429 ? 8 : 14;
  if (encoding === 'json') return { status, contentType: 'application/json', body: JSON.stringify({ code, message }) };
  const type = otlpType('RpcStatus');
  return { status, contentType: 'application/x-protobuf', body: Buffer.from(type.encode(type.fromObject({ code, message })).finish()) };
}
