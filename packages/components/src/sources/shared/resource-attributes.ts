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
 */
export class ResourceInterner {
  private readonly seen = new Map<string, Attributes>();

  intern(resource: Attributes): Attributes {
    const keys = Object.keys(resource).sort();
    let key = '';
    for (const k of keys) key += `${k}\u0000${String(resource[k])}\u0001`;
    const found = this.seen.get(key);
    if (found) return found;
    this.seen.set(key, resource);
    return resource;
  }
}
