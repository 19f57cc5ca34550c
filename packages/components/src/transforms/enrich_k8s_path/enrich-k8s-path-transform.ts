/**
 * The `enrich_k8s_path` transform: reads `log.file.path` (what a file source
 * sets) and adds the Kubernetes metadata the path names (k8s-path.ts) as
 * resource attributes, so pod logs get their namespace, pod and container as
 * stream labels. Attributes the resource already has are kept.
 *
 * Records of one source often share one resource object; a record's resource
 * is replaced, never changed in place, and records of one resource and path
 * share the new object (computed once per batch).
 */
import { z } from 'zod';
import type { Attributes, Batch, ComponentDefinition, Transform } from '@meshlog/core';
import { k8sMetadataFromPath } from '../../normalize/k8s-path.js';

export const EnrichK8sPathConfigSchema = z
  .object({
    /** The attribute holding the file path. */
    path_attribute: z.string().min(1).default('log.file.path'),
  })
  .strict();
export type EnrichK8sPathConfig = z.infer<typeof EnrichK8sPathConfigSchema>;

/** The resource with the path's metadata added (the same object when there is nothing to add). */
export function resourceWithPathMetadata(resource: Attributes, path: string): Attributes {
  const meta = k8sMetadataFromPath(path);
  if (!meta) return resource;
  let out: Attributes | undefined;
  for (const [k, v] of Object.entries(meta) as [string, string | number | undefined][]) {
    if (v === undefined || resource[k] !== undefined) continue;
    out ??= { ...resource };
    out[k] = v;
  }
  return out ?? resource;
}

export class EnrichK8sPathTransform implements Transform {
  readonly kind = 'transform' as const;
  constructor(private readonly config: EnrichK8sPathConfig) {}

  process(batch: Batch): Batch {
    if (batch.kind !== 'logs') return batch;
    let cache: Map<Attributes, Map<string, Attributes>> | undefined;
    for (const r of batch.records) {
      const path = r.attributes[this.config.path_attribute];
      if (typeof path !== 'string') continue;
      cache ??= new Map();
      let byPath = cache.get(r.resource);
      if (!byPath) {
        byPath = new Map();
        cache.set(r.resource, byPath);
      }
      let enriched = byPath.get(path);
      if (!enriched) {
        enriched = resourceWithPathMetadata(r.resource, path);
        byPath.set(path, enriched);
      }
      r.resource = enriched;
    }
    return batch;
  }
}

export const enrichK8sPathTransform: ComponentDefinition<EnrichK8sPathConfig> = {
  kind: 'transform',
  type: 'enrich_k8s_path',
  description: 'adds k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.container.name and restart count from pod log paths in log.file.path',
  schema: EnrichK8sPathConfigSchema,
  build: (config) => new EnrichK8sPathTransform(config),
};
