/** Config of the `zipkin` source: Zipkin v2 span intake on the host's HTTP listener. */
import { z } from 'zod';

export const ZipkinSourceConfigSchema = z
  .object({
    /** Also accept `application/x-protobuf` (Zipkin's proto3 `ListOfSpans`); JSON is always accepted. */
    protobuf: z.boolean().default(true),
    /** How long a request waits for queue space before answering 429. */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
  })
  .strict();
export type ZipkinSourceConfig = z.infer<typeof ZipkinSourceConfigSchema>;
