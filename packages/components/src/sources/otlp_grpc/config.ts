/** Config of the `otlp_grpc` source: OTLP/gRPC logs and traces on the host's gRPC listener. */
import { z } from 'zod';

export const OtlpGrpcSourceConfigSchema = z
  .object({
    /** Serve `opentelemetry.proto.collector.logs.v1.LogsService/Export`. */
    logs: z.boolean().default(true),
    /** Serve `opentelemetry.proto.collector.trace.v1.TraceService/Export`. */
    traces: z.boolean().default(true),
    /** How long a call waits for queue space before answering RESOURCE_EXHAUSTED with a retry delay. */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
  })
  .strict();
export type OtlpGrpcSourceConfig = z.infer<typeof OtlpGrpcSourceConfigSchema>;
