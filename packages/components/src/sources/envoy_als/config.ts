/** Config of the `envoy_als` source: Envoy's gRPC access log service on the host's gRPC listener. */
import { z } from 'zod';

export const EnvoyAlsSourceConfigSchema = z
  .object({
    /**
     * How long one stream message waits for queue space. Envoy never resends
     * an access log message, so this is longer than for request/response
     * protocols: while it waits, HTTP/2 flow control holds the Envoy. When it
     * runs out the message's records are discarded (counted) and the stream
     * ends with UNAVAILABLE, so Envoy reconnects.
     */
    max_wait_ms: z.number().int().min(0).max(300_000).default(30_000),
    /**
     * Messages of one stream awaiting durability at once. 1 stores strictly
     * one message per store commit; more lets a busy Envoy's messages share
     * commits.
     */
    max_in_flight_messages: z.number().int().min(1).max(64).default(8),
    /**
     * DANGEROUS: accept streams that carry no credentials at all, as this
     * tenant. For Envoys that cannot be given `initial_metadata` (Istio's
     * mesh-wide ALS settings have none) until mutual TLS identities arrive.
     * Anyone who can reach the gRPC port can then write into this tenant,
     * so keep the port on a private network. Wrong credentials are still refused.
     */
    insecure_unauthenticated_tenant: z.string().min(1).optional(),
  })
  .strict();
export type EnvoyAlsSourceConfig = z.infer<typeof EnvoyAlsSourceConfigSchema>;
