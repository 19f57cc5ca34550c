/**
 * Config of the `loki_push` source: Loki's push API on the host's HTTP
 * listener. The limits carry Loki's own names and defaults, so a team that
 * tuned them for Loki can copy the values.
 */
import { z } from 'zod';

/** Loki's `discover_service_name` default: labels tried in order when a stream has no `service_name`. */
export const LOKI_DISCOVER_SERVICE_NAME: readonly string[] = [
  'service',
  'app',
  'application',
  'name',
  'app_kubernetes_io_name',
  'container',
  'container_name',
  'k8s_container_name',
  'component',
  'workload',
  'job',
  'k8s_job_name',
];

const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a label name ([A-Za-z_][A-Za-z0-9_]*)');

export const LokiPushSourceConfigSchema = z
  .object({
    /** How long a request waits for queue space before answering 429. */
    max_wait_ms: z.number().int().min(0).max(60_000).default(2_000),
    /** An entry whose line is longer is rejected (counted, named in the 400); 0 = no limit. Loki: 256 KB. */
    max_line_size: z.number().int().min(0).default(256 * 1024),
    /** A stream with more labels is rejected. Loki: 15. */
    max_label_names_per_series: z.number().int().min(1).max(1000).default(15),
    max_label_name_length: z.number().int().min(1).default(1024),
    max_label_value_length: z.number().int().min(1).default(2048),
    /** Labels that name the service when a stream has no `service_name` label; first present wins. */
    discover_service_name: z.array(labelName).default([...LOKI_DISCOVER_SERVICE_NAME]),
  })
  .strict();
export type LokiPushSourceConfig = z.infer<typeof LokiPushSourceConfigSchema>;
