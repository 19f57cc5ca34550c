/**
 * Stream labels: the small, low-cardinality set of resource attributes that
 * identify a stream, as Loki 3 derives them from OTLP resources. They are what
 * LogQL stream selectors match; every other attribute is structured metadata.
 *
 * Names are the attribute names with every character outside [A-Za-z0-9_]
 * replaced by '_' (`service.name` -> `service_name`), as Loki does, so
 * Grafana dashboards written for Loki's OTLP ingestion work unchanged.
 *
 * Streams pushed with Loki's own protocol already have labels: the sender
 * chose them. Their resource carries each label as `loki.label.<name>`, and
 * such a stream's labels are exactly those (plus `service_name`, which Loki
 * adds too), so `{app="x"}` finds what a Promtail or winston-loki sender
 * pushed as `{app="x"}`. Semantic-convention copies a source adds beside
 * them (`k8s.namespace.name` from `namespace`) stay resource attributes and
 * do not add labels the sender never sent.
 */
import type { Attributes, LogRecord } from './log-record.js';

/** Resource attributes promoted to stream labels (Loki's default OTLP index labels). */
export const STREAM_LABEL_ATTRIBUTES: readonly string[] = [
  'service.name',
  'service.namespace',
  'service.instance.id',
  'deployment.environment',
  'deployment.environment.name',
  'cloud.region',
  'cloud.availability_zone',
  'k8s.cluster.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.container.name',
  'container.name',
  'k8s.replicaset.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
];

/** Resource attribute prefix of a label that arrived as a Loki stream label; the rest is the label name. */
export const LOKI_LABEL_PREFIX = 'loki.label.';

/** The stream label a record gets when nothing names its service. */
export const UNKNOWN_SERVICE = 'unknown_service';

export function labelName(attribute: string): string {
  return attribute.replace(/[^A-Za-z0-9_]/g, '_');
}

const PROMOTED = STREAM_LABEL_ATTRIBUTES.map((a) => [a, labelName(a)] as const);

/**
 * Stream labels of a record, sorted by name. `service_name` is always present
 * (Loki guarantees it too), falling back to well-known hints and then to
 * `unknown_service`.
 */
export function streamLabelsOf(resource: Attributes, attributes?: Attributes): [string, string][] {
  const out: [string, string][] = [];
  if (lokiLabelsInto(resource, out)) return out;
  for (const [attr, label] of PROMOTED) {
    const v = resource[attr];
    if (v !== undefined && v !== '') out.push([label, String(v)]);
  }
  if (resource['service.name'] === undefined || resource['service.name'] === '') {
    const hint = resource['k8s.container.name'] ?? resource['k8s.deployment.name'] ?? attributes?.['service.name'];
    out.push(['service_name', hint !== undefined && hint !== '' ? String(hint) : UNKNOWN_SERVICE]);
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

/**
 * The labels of a stream pushed over Loki's protocol, when `resource` is one:
 * every `loki.label.<name>` as `<name>`, plus `service_name` from
 * `service.name` (the Loki source always sets it, as Loki derives it).
 */
function lokiLabelsInto(resource: Attributes, out: [string, string][]): boolean {
  let found = false;
  for (const key in resource) {
    if (!key.startsWith(LOKI_LABEL_PREFIX)) continue;
    const name = key.slice(LOKI_LABEL_PREFIX.length);
    found = true;
    // service_name comes from service.name below, so it is never listed twice.
    if (name === 'service_name') continue;
    out.push([name, String(resource[key])]);
  }
  if (!found) return false;
  const service = resource['service.name'];
  out.push(['service_name', service !== undefined && service !== '' ? String(service) : UNKNOWN_SERVICE]);
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return true;
}

export function serviceNameOf(record: LogRecord): string {
  const v = record.resource['service.name'];
  if (v !== undefined && v !== '') return String(v);
  const hint = record.resource['k8s.container.name'] ?? record.resource['k8s.deployment.name'] ?? record.attributes['service.name'];
  return hint !== undefined && hint !== '' ? String(hint) : UNKNOWN_SERVICE;
}

/** Loki's canonical text form of a label set: `{a="1", b="2"}`. */
export function formatLabels(labels: Iterable<readonly [string, string]>): string {
  const parts: string[] = [];
  for (const [k, v] of labels) parts.push(`${k}=${JSON.stringify(v)}`);
  return `{${parts.join(', ')}}`;
}
