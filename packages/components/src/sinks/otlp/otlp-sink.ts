/**
 * The `otlp` sink: OTLP/HTTP protobuf (gzip) to any OTLP receiver (an
 * OpenTelemetry Collector, a vendor's intake), disk-buffered and retried
 * like the `meshlog` sink; paths configurable for receivers that mount
 * them elsewhere.
 */
import { z } from 'zod';
import type { ComponentDefinition } from '@meshlog/core';
import { BufferedPushSink } from '../shared/buffered-push-sink.js';
import { PushSinkBaseSchema, refineEndpoint } from '../shared/push-config.js';
import { otlpProtocol } from '../shared/otlp-protocol.js';

const PATH = z.string().regex(/^\/[^\s?#]*$/, 'a URL path starting with /');

export const OtlpSinkConfigSchema = PushSinkBaseSchema.extend({
  /** Base URL of the receiver, e.g. https://collector:4318. */
  endpoint: z.string().min(1),
  logs_path: PATH.default('/v1/logs'),
  traces_path: PATH.default('/v1/traces'),
})
  .strict()
  .superRefine(refineEndpoint);
export type OtlpSinkConfig = z.infer<typeof OtlpSinkConfigSchema>;

export const otlpSink: ComponentDefinition<OtlpSinkConfig> = {
  kind: 'sink',
  type: 'otlp',
  description: 'OTLP/HTTP protobuf + gzip to any OTLP receiver, disk-buffered, retried until acknowledged',
  schema: OtlpSinkConfigSchema,
  build: (config, ctx) => new BufferedPushSink(config, otlpProtocol({ logs: config.logs_path, traces: config.traces_path }), ctx),
};
