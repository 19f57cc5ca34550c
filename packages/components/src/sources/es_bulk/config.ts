/** Config of the `es_bulk` source: Elasticsearch's bulk API (and the endpoints its clients probe) on the host's HTTP listener. */
import { z } from 'zod';

export const EsBulkSourceConfigSchema = z
  .object({
    /**
     * The Elasticsearch version `GET /` reports. Shippers check it: Filebeat
     * and Logstash 8 want 8.x, their 7.x releases want 7.x (use "7.17.0").
     */
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, 'expected a version like "8.11.0"')
      .default('8.11.0'),
    /** How long a request waits for queue space before its items answer 429. */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
    /** Answer `GET /`, `/_license`, `/_xpack` and the template/ILM/pipeline setup calls shippers make at start. */
    probe_endpoints: z.boolean().default(true),
  })
  .strict();
export type EsBulkSourceConfig = z.infer<typeof EsBulkSourceConfigSchema>;
