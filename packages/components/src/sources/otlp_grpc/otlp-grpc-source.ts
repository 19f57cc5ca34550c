/**
 * The `otlp_grpc` source: OTLP/gRPC `LogsService/Export` and
 * `TraceService/Export` on the host's gRPC listener (gzip message
 * compression is undone by the host). Requests are decoded by the same code
 * as OTLP/HTTP (`ingestOtlpRequest`), so both transports agree on records,
 * partial success and idempotency keys.
 *
 * Answers, per the OTLP/gRPC spec: OK with an Export*ServiceResponse
 * (`partial_success` when records were rejected) only after the batch is
 * durable; INVALID_ARGUMENT naming the problem for an undecodable request
 * (not retried by clients); under backpressure RESOURCE_EXHAUSTED (a full
 * queue) or UNAVAILABLE (the store or pipeline is not available), both with
 * a `google.rpc.RetryInfo` delay, which makes RESOURCE_EXHAUSTED retryable
 * for OTLP clients.
 */
import {
  GRPC_INGEST_SERVICE,
  GrpcIngestError,
  GrpcStatus,
  type BuildContext,
  type ComponentDefinition,
  type GrpcCall,
  type GrpcIngestHost,
  type GrpcService,
  type Source,
} from '@meshlog/core';
import { OtlpGrpcSourceConfigSchema, type OtlpGrpcSourceConfig } from './config.js';
import { encodeOtlpSuccess, ingestOtlpRequest, type OtlpSignal } from '../otlp/otlp-ingest.js';
import { OTLP_LOGS_SERVICE, OTLP_TRACE_SERVICE } from '../otlp/otlp-proto.js';

export const otlpGrpcSource: ComponentDefinition<OtlpGrpcSourceConfig> = {
  kind: 'source',
  type: 'otlp_grpc',
  description: 'OTLP/gRPC logs and traces (LogsService/Export, TraceService/Export, gzip) on the gRPC listener',
  schema: OtlpGrpcSourceConfigSchema,
  build: (config, ctx) => new OtlpGrpcSource(config, ctx),
};

class OtlpGrpcSource implements Source {
  readonly kind = 'source' as const;
  private registered = false;

  constructor(
    private readonly config: OtlpGrpcSourceConfig,
    private readonly ctx: BuildContext,
  ) {}

  async start(): Promise<void> {
    const host = this.ctx.services.get<GrpcIngestHost>(GRPC_INGEST_SERVICE);
    if (!host) throw new Error(`source ${this.ctx.id}: this role offers no gRPC listener for OTLP/gRPC (is server.grpc_port 0?)`);
    const services: GrpcService[] = [];
    const exportMethod = (signal: OtlpSignal): GrpcService['methods'][number] => ({
      type: 'unary',
      name: 'Export',
      handler: (body, call) => this.export(signal, body, call),
    });
    if (this.config.logs) services.push({ name: OTLP_LOGS_SERVICE, permission: 'ingest', methods: [exportMethod('logs')] });
    if (this.config.traces) services.push({ name: OTLP_TRACE_SERVICE, permission: 'ingest', methods: [exportMethod('traces')] });
    host.register(this.ctx.id, services);
    this.registered = true;
  }

  async stop(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    this.ctx.services.get<GrpcIngestHost>(GRPC_INGEST_SERVICE)?.unregister(this.ctx.id);
  }

  private async export(signal: OtlpSignal, body: Buffer, call: GrpcCall): Promise<Buffer> {
    const outcome = await ingestOtlpRequest(this.ctx, { tenant: call.tenant, signal, body, encoding: 'protobuf', maxWaitMs: this.config.max_wait_ms });
    switch (outcome.kind) {
      case 'invalid':
        throw new GrpcIngestError(GrpcStatus.INVALID_ARGUMENT, outcome.message);
      case 'retry':
        throw new GrpcIngestError(outcome.throttled ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.UNAVAILABLE, outcome.message, { retryAfterMs: outcome.retryAfterMs });
      case 'accepted':
        return encodeOtlpSuccess(signal, outcome.rejected, outcome.firstError);
    }
  }
}
