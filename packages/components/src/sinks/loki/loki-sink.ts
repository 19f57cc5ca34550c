/**
 * The `loki` sink: Loki's push API (`/loki/api/v1/push`, JSON, gzip) to
 * Grafana Loki or anything that speaks it, disk-buffered and retried like
 * the `meshlog` sink. Streams are cut by labels: fixed `labels` plus
 * `label_keys` (label name -> a resource or record attribute, e.g.
 * `namespace: k8s.namespace.name`); every other attribute travels as
 * structured metadata, so nothing is lost and label cardinality stays the
 * operator's choice. Loki has no traces: spans are counted as discarded
 * `unsupported`.
 */
import { z } from 'zod';
import type { ComponentDefinition, LogRecord } from '@meshlog/core';
import { BufferedPushSink, type PushProtocol } from '../shared/buffered-push-sink.js';
import { PushSinkBaseSchema, refineEndpoint } from '../shared/push-config.js';

const LABEL = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)');

export const LokiSinkConfigSchema = PushSinkBaseSchema.extend({
  /** Base URL of Loki, e.g. https://loki:3100. */
  endpoint: z.string().min(1),
  path: z.string().regex(/^\/[^\s?#]*$/).default('/loki/api/v1/push'),
  /** Labels on every stream. */
  labels: z.record(LABEL, z.string()).default({ agent: 'meshlog' }),
  /** Label name -> attribute (resource first, then the record's) whose value becomes the label. */
  label_keys: z.record(LABEL, z.string().min(1)).default({ service_name: 'service.name', namespace: 'k8s.namespace.name', pod: 'k8s.pod.name', container: 'k8s.container.name' }),
  /** Send the remaining attributes as structured metadata (Loki 3+). */
  structured_metadata: z.boolean().default(true),
  /** Loki's tenant (`X-Scope-OrgID`), for multi-tenant Loki. */
  tenant_id: z.string().min(1).optional(),
})
  .strict()
  .superRefine(refineEndpoint);
export type LokiSinkConfig = z.infer<typeof LokiSinkConfigSchema>;

export function lokiProtocol(config: Pick<LokiSinkConfig, 'path' | 'labels' | 'label_keys' | 'structured_metadata'>): PushProtocol {
  const labelKeys = Object.entries(config.label_keys);
  return {
    name: 'loki',
    contentType: 'application/json',
    logsPath: config.path,
    encodeLogs(records: readonly LogRecord[]): Buffer {
      const streams = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
      for (const r of records) {
        const labels: Record<string, string> = { ...config.labels };
        for (const [label, key] of labelKeys) {
          const v = r.resource[key] ?? r.attributes[key];
          if (v !== undefined && v !== '') labels[label] = String(v);
        }
        const key = JSON.stringify(labels);
        let s = streams.get(key);
        if (!s) streams.set(key, (s = { stream: labels, values: [] }));
        const ts = String(r.timeUnixNano || r.observedTimeUnixNano);
        if (!config.structured_metadata) {
          s.values.push([ts, r.body]);
          continue;
        }
        const meta: Record<string, string> = {};
        for (const k in r.attributes) meta[k] = String(r.attributes[k]);
        if (r.traceId) meta['trace_id'] = r.traceId;
        if (r.spanId) meta['span_id'] = r.spanId;
        if (r.severityText) meta['severity'] = r.severityText;
        s.values.push(Object.keys(meta).length > 0 ? [ts, r.body, meta] : [ts, r.body]);
      }
      return Buffer.from(JSON.stringify({ streams: [...streams.values()] }));
    },
  };
}

export const lokiSink: ComponentDefinition<LokiSinkConfig> = {
  kind: 'sink',
  type: 'loki',
  description: "Loki's push API (JSON + gzip), labels from chosen attributes, the rest as structured metadata; disk-buffered, retried until acknowledged",
  schema: LokiSinkConfigSchema,
  build: (config, ctx) => new BufferedPushSink({ ...config, headers: { ...config.headers, ...(config.tenant_id ? { 'X-Scope-OrgID': config.tenant_id } : {}) } }, lokiProtocol(config), ctx),
};
