/**
 * The `enrich_mesh` transform: derives mesh identity (source/destination
 * namespace, service account and service, `mesh.direction`, `mesh.mtls`)
 * from Envoy attributes records already carry, for records that did not go
 * through `parse` (which does the same for the lines it decodes): records
 * from the Envoy gRPC access log service, or from a collector that parsed
 * access logs itself. The rules are in normalize/mesh-identity.ts and
 * docs/schema.md.
 */
import { z } from 'zod';
import type { Batch, ComponentDefinition, LogRecord, Transform } from '@meshlog/core';
import { enrichMeshIdentity } from '../../normalize/mesh-identity.js';
import { WhenSchema, compileWhen } from '../when.js';

export const EnrichMeshConfigSchema = z
  .object({
    /** Only records matching these attributes/resource attributes are enriched. */
    when: WhenSchema.optional(),
  })
  .strict();
export type EnrichMeshConfig = z.infer<typeof EnrichMeshConfigSchema>;

export class EnrichMeshTransform implements Transform {
  readonly kind = 'transform' as const;
  private readonly when: ((r: LogRecord) => boolean) | undefined;
  constructor(config: EnrichMeshConfig) {
    this.when = compileWhen(config.when);
  }

  process(batch: Batch): Batch {
    if (batch.kind !== 'logs') return batch;
    for (const r of batch.records) {
      if (this.when === undefined || this.when(r)) enrichMeshIdentity(r.attributes);
    }
    return batch;
  }
}

export const enrichMeshTransform: ComponentDefinition<EnrichMeshConfig> = {
  kind: 'transform',
  type: 'enrich_mesh',
  description: 'derives source/destination workload identity, mesh.direction and mesh.mtls from Envoy cluster, SNI and peer SPIFFE attributes',
  schema: EnrichMeshConfigSchema,
  build: (config) => new EnrichMeshTransform(config),
};
