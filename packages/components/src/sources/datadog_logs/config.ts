/** Config of the `datadog_logs` source: Datadog's log intake (`/api/v2/logs`, `/v1/input`) on the host's HTTP listener. */
import { z } from 'zod';

export const DatadogLogsSourceConfigSchema = z
  .object({
    /** Also accept the older `POST /v1/input` intake (JSON or text lines). */
    v1_input: z.boolean().default(true),
    /** Largest uncompressed payload (Datadog: 5 MB); larger requests get 413. */
    max_payload_bytes: z.number().int().positive().default(5 * 1024 * 1024),
    /** Largest log message (Datadog: 1 MB); longer ones are cut to this, marked and counted, as Datadog does. */
    max_log_bytes: z.number().int().positive().default(1024 * 1024),
    /** Most logs in one request (Datadog: 1000); more get 413. */
    max_entries: z.number().int().positive().default(1000),
    /** How long a request waits for queue space before answering 429. */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
  })
  .strict();
export type DatadogLogsSourceConfig = z.infer<typeof DatadogLogsSourceConfigSchema>;
