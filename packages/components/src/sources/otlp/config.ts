/** Config of the `otlp` source: OTLP/HTTP logs and traces on the host's HTTP listener. */
import { z } from 'zod';

export const OtlpSourceConfigSchema = z
  .object({
    /** Accept `/v1/logs`. */
    logs: z.boolean().default(true),
    /** Accept `/v1/traces`. */
    traces: z.boolean().default(true),
    /** How long a request waits for queue space before answering 429. */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
  })
  .strict();
export type OtlpSourceConfig = z.infer<typeof OtlpSourceConfigSchema>;
