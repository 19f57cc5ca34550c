/**
 * Which attribute names describe the emitter (OpenTelemetry resource
 * semantic conventions) rather than the event. Protocols that carry both
 * in one flat map (Splunk HEC `fields`) split it with this, so
 * `service.name` and `k8s.namespace.name` become resource attributes and
 * with them stream labels.
 */
import type { Attributes } from '@meshlog/core';

const RESOURCE_PREFIXES = ['service.', 'host.', 'k8s.', 'container.', 'cloud.', 'deployment.', 'os.', 'process.', 'telemetry.sdk.', 'faas.', 'device.'];

export function isResourceAttribute(key: string): boolean {
  for (const p of RESOURCE_PREFIXES) if (key.startsWith(p)) return true;
  return false;
}

/**
 * Shares one resource object among records whose resource attributes are
 * equal: the store encodes derived stream columns once per resource object.
 * Batches are mostly homogeneous, so the previous resource is compared
 * first, without building a key; keys follow insertion order (decoders
 * insert in a fixed order), so the same attributes in another order are
 * merely not shared.
 */
export class ResourceInterner {
  private readonly seen = new Map<string, Attributes>();
  private last: Attributes | undefined;

  intern(resource: Attributes): Attributes {
    if (this.last !== undefined && sameAttributes(this.last, resource)) return this.last;
    let key = '';
    for (const k in resource) key += `${k}\u0000${String(resource[k])}\u0001`;
    let found = this.seen.get(key);
    if (found === undefined) {
      found = resource;
      this.seen.set(key, resource);
    }
    this.last = found;
    return found;
  }
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  let n = 0;
  for (const k in b) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}
