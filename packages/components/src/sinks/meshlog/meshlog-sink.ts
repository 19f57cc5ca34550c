/**
 * The `meshlog` sink (forward): ships to a Meshlog server over HTTPS with
 * mutual TLS (the client certificate's SPIFFE ID is the agent's identity;
 * the server's `auth.certificate_rules` map it to a tenant), OTLP/HTTP
 * protobuf with gzip to `/v1/logs` and `/v1/traces`, an optional bearer
 * token, through the disk buffer (see sinks/shared/buffered-push-sink.ts).
 */
import { z } from 'zod';
import type { ComponentDefinition } from '@meshlog/core';
import { BufferedPushSink } from '../shared/buffered-push-sink.js';
import { PushSinkBaseSchema, refineEndpoint } from '../shared/push-config.js';
import { otlpProtocol } from '../shared/otlp-protocol.js';

export const MeshlogSinkConfigSchema = PushSinkBaseSchema.extend({
  /** The server's base URL, e.g. https://meshlog.example:3100. */
  endpoint: z.string().min(1),
})
  .strict()
  .superRefine(refineEndpoint)
  .superRefine((c, ctx) => {
    if (c.endpoint.startsWith('https:') && !c.tls?.cert_file && c.token_file === undefined && c.token_env === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'cert_file'], message: 'the server needs an identity: set tls.cert_file and tls.key_file (mutual TLS), or token_file / token_env' });
    }
  });
export type MeshlogSinkConfig = z.infer<typeof MeshlogSinkConfigSchema>;

export const meshlogSink: ComponentDefinition<MeshlogSinkConfig> = {
  kind: 'sink',
  type: 'meshlog',
  description: 'forward to a Meshlog server: OTLP/HTTP protobuf + gzip over HTTPS with mutual TLS, disk-buffered, retried until acknowledged',
  schema: MeshlogSinkConfigSchema,
  build: (config, ctx) => new BufferedPushSink(config, otlpProtocol({ logs: '/v1/logs', traces: '/v1/traces' }), ctx),
};
