/** Config of the `splunk_hec` source: Splunk HTTP Event Collector endpoints on the host's HTTP listener. */
import { z } from 'zod';

export const SplunkHecSourceConfigSchema = z
  .object({
    /** Accept `/services/collector`, `/services/collector/event` and `/services/collector/event/1.0`. */
    event: z.boolean().default(true),
    /** Accept `/services/collector/raw` and `/services/collector/raw/1.0`. */
    raw: z.boolean().default(true),
    /** How long a request waits for queue space before answering 503 "Server is busy". */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
  })
  .strict();
export type SplunkHecSourceConfig = z.infer<typeof SplunkHecSourceConfigSchema>;
