/**
 * Copies a batch for fan-out. Records and their attribute maps are copied
 * (transforms may change them in place); strings are immutable and shared.
 */
import type { Batch } from '../model/log-record.js';

export function cloneBatch(batch: Batch): Batch {
  if (batch.kind === 'logs') {
    return {
      kind: 'logs',
      tenant: batch.tenant,
      source: batch.source,
      ...(batch.id !== undefined ? { id: batch.id } : {}),
      records: batch.records.map((r) => ({ ...r, attributes: { ...r.attributes }, resource: { ...r.resource } })),
    };
  }
  return {
    kind: 'spans',
    tenant: batch.tenant,
    source: batch.source,
    ...(batch.id !== undefined ? { id: batch.id } : {}),
    spans: batch.spans.map((s) => ({ ...s, attributes: { ...s.attributes }, resource: { ...s.resource }, events: [...s.events] })),
  };
}
