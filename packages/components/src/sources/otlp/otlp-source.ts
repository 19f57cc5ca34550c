/**
 * The `otlp` source: OTLP/HTTP `POST /v1/logs` and `POST /v1/traces`, in
 * protobuf or JSON (gzip is undone by the host). Answers per the OTLP/HTTP
 * spec: 200 with an Export*ServiceResponse in the request's encoding (with
 * `partial_success` when some records were rejected), 400 with a Status
 * naming the problem for bad input, 429/503 with Retry-After when the
 * pipeline pushes back. The 200 is sent only after the batch is durable.
 */
import {
  HTTP_INGEST_SERVICE,
  PipelineError,
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type HttpIngestHost,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
  type Source,
} from '@meshlog/core';
import { createHash } from 'node:crypto';
import { OtlpSourceConfigSchema, type OtlpSourceConfig } from './config.js';
import { OtlpDecodeError, decodeOtlpLogs, decodeOtlpTraces, encodingOf, type OtlpEncoding } from './otlp-decode.js';
import { otlpType } from './otlp-proto.js';

export const otlpSource: ComponentDefinition<OtlpSourceConfig> = {
  kind: 'source',
  type: 'otlp',
  description: 'OTLP/HTTP logs and traces (protobuf and JSON, gzip) on the HTTP listener',
  schema: OtlpSourceConfigSchema,
  build: (config, ctx) => new OtlpSource(config, ctx),
};

class OtlpSource implements Source {
  readonly kind = 'source' as const;
  private mounted = false;

  constructor(
    private readonly config: OtlpSourceConfig,
    private readonly ctx: BuildContext,
  ) {}

  async start(): Promise<void> {
    const host = this.ctx.services.get<HttpIngestHost>(HTTP_INGEST_SERVICE);
    if (!host) throw new Error(`source ${this.ctx.id}: this role offers no HTTP listener for OTLP/HTTP`);
    const routes: IngestRoute[] = [];
    if (this.config.logs) routes.push({ method: 'POST', path: '/v1/logs', permission: 'ingest', handler: (req) => this.handle(req, 'logs') });
    if (this.config.traces) routes.push({ method: 'POST', path: '/v1/traces', permission: 'ingest', handler: (req) => this.handle(req, 'traces') });
    host.mount(this.ctx.id, routes);
    this.mounted = true;
  }

  async stop(): Promise<void> {
    if (!this.mounted) return;
    this.mounted = false;
    this.ctx.services.get<HttpIngestHost>(HTTP_INGEST_SERVICE)?.unmount(this.ctx.id);
  }

  private async handle(req: IngestRequest, signal: 'logs' | 'traces'): Promise<IngestResponse> {
    const encoding = encodingOf(req.contentType);
    if (!encoding) {
      this.ctx.metrics.error('unsupported_content_type');
      return errorResponse('json', 400, `unsupported content type ${JSON.stringify(req.contentType)}; OTLP/HTTP takes application/x-protobuf or application/json`);
    }
    let records: number;
    let rejected: number;
    let firstError: string | undefined;
    let emit: () => Promise<void>;
    // The same request body from the same tenant is a retry (exporters resend
    // identical payloads); the store acknowledges it again without a second copy.
    const id = createHash('sha256').update(req.tenant).update('\0').update(signal).update('\0').update(req.body).digest('base64url').slice(0, 32);
    try {
      if (signal === 'logs') {
        const d = decodeOtlpLogs(req.body, encoding, nowUnixNano());
        records = d.records.length;
        ({ rejected, firstError } = d);
        emit = () => this.ctx.emit({ kind: 'logs', tenant: req.tenant, source: this.ctx.id, id, records: d.records }, { maxWaitMs: this.config.max_wait_ms });
      } else {
        const d = decodeOtlpTraces(req.body, encoding);
        records = d.spans.length;
        ({ rejected, firstError } = d);
        emit = () => this.ctx.emit({ kind: 'spans', tenant: req.tenant, source: this.ctx.id, id, spans: d.spans }, { maxWaitMs: this.config.max_wait_ms });
      }
    } catch (err) {
      if (!(err instanceof OtlpDecodeError)) throw err;
      this.ctx.metrics.error('decode_failed');
      return errorResponse(encoding, 400, err.message);
    }
    this.ctx.metrics.received(records, req.body.length);
    if (rejected > 0) this.ctx.metrics.discarded(rejected, 'invalid', req.tenant);
    if (records > 0) {
      try {
        await emit();
      } catch (err) {
        if (err instanceof PipelineError && !err.retryable) return errorResponse(encoding, 400, err.message);
        const retryAfter = Math.ceil(((err instanceof PipelineError ? err.retryAfterMs : undefined) ?? 1000) / 1000);
        const status = err instanceof PipelineError && err.reason === 'queue_full' ? 429 : 503;
        return { ...errorResponse(encoding, status, (err as Error).message), headers: { 'retry-after': String(retryAfter) } };
      }
    }
    return successResponse(encoding, signal, rejected, firstError);
  }
}

function successResponse(encoding: OtlpEncoding, signal: 'logs' | 'traces', rejected: number, firstError: string | undefined): IngestResponse {
  const partial =
    rejected > 0
      ? { partialSuccess: { [signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans']: rejected, errorMessage: firstError ?? '' } }
      : {};
  if (encoding === 'json') return { status: 200, contentType: 'application/json', body: JSON.stringify(partial) };
  const type = otlpType(signal === 'logs' ? 'ExportLogsServiceResponse' : 'ExportTraceServiceResponse');
  return { status: 200, contentType: 'application/x-protobuf', body: Buffer.from(type.encode(type.fromObject(partial)).finish()) };
}

/** OTLP/HTTP error bodies are a google.rpc.Status in the request's encoding. */
function errorResponse(encoding: OtlpEncoding, status: number, message: string): IngestResponse {
  // gRPC codes carried in Status: INVALID_ARGUMENT 3, RESOURCE_EXHAUSTED 8, UNAVAILABLE 14.
  const code = status === 400 ? 3 : status === 429 ? 8 : 14;
  if (encoding === 'json') return { status, contentType: 'application/json', body: JSON.stringify({ code, message }) };
  const type = otlpType('RpcStatus');
  return { status, contentType: 'application/x-protobuf', body: Buffer.from(type.encode(type.fromObject({ code, message })).finish()) };
}
