/**
 * An Elasticsearch document (ECS, Beats, Fluent Bit or anything JSON) -> a
 * log record with OpenTelemetry semantic-convention names.
 *
 * - The document is flattened to dotted keys (`{"host":{"name":"a"}}` and
 *   `{"host.name":"a"}` are the same field); arrays and objects nested
 *   deeper than MAX_DEPTH become JSON text (the model's scalar rule).
 * - `@timestamp` (else `timestamp`, `time`) -> time, as Elasticsearch's
 *   default date format reads it (ISO 8601 with up to nanoseconds, or epoch
 *   milliseconds). A bad `@timestamp` fails the document, as it would
 *   against Elasticsearch's date mapping.
 * - `message` (else a string `log`, else `msg`) -> body; a document without
 *   one keeps its source text as the body.
 * - `log.level` (else `level`, `severity`) -> severity; `log.logger` ->
 *   scope name; `trace.id`/`span.id` -> trace and span ids when they are
 *   valid hex.
 * - The fields in RESOURCE_FIELDS and RENAMED_FIELDS move to their
 *   OpenTelemetry names (first source wins when several name one target);
 *   every other field stays a record attribute under its own dotted name.
 * - The index -> `elasticsearch.index`; a client-given `_id` ->
 *   `elasticsearch.id`. When nothing names the service (no `service.name`,
 *   no Kubernetes container or deployment), the index (without a trailing
 *   date) does.
 *
 * Invariant: `documentToRecord` never throws; a document it cannot take
 * comes back as an `EsItemError` for that item alone.
 */
import { emptyLogRecord, severityFromText, type Attributes, type AttributeValue, type LogRecord } from '@meshlog/core';
import type { EsItemError } from './es-bulk-decode.js';

const MAX_DEPTH = 8;

/** ECS / Beats / Fluent Bit field -> OpenTelemetry resource attribute. Order matters: the first present wins. */
export const RESOURCE_FIELDS: readonly (readonly [string, string])[] = [
  ['service.name', 'service.name'],
  ['service.version', 'service.version'],
  ['service.namespace', 'service.namespace'],
  ['service.environment', 'deployment.environment.name'],
  ['service.node.name', 'service.instance.id'],
  ['host.name', 'host.name'],
  ['host.hostname', 'host.name'],
  ['host.id', 'host.id'],
  ['host.architecture', 'host.arch'],
  ['host.ip', 'host.ip'],
  ['host.os.type', 'os.type'],
  ['host.os.name', 'os.name'],
  ['host.os.version', 'os.version'],
  ['cloud.provider', 'cloud.provider'],
  ['cloud.region', 'cloud.region'],
  ['cloud.availability_zone', 'cloud.availability_zone'],
  ['cloud.account.id', 'cloud.account.id'],
  ['orchestrator.cluster.name', 'k8s.cluster.name'],
  ['kubernetes.namespace', 'k8s.namespace.name'],
  ['kubernetes.namespace.name', 'k8s.namespace.name'],
  ['kubernetes.namespace_name', 'k8s.namespace.name'],
  ['orchestrator.namespace', 'k8s.namespace.name'],
  ['kubernetes.pod.name', 'k8s.pod.name'],
  ['kubernetes.pod_name', 'k8s.pod.name'],
  ['kubernetes.pod.uid', 'k8s.pod.uid'],
  ['kubernetes.pod_id', 'k8s.pod.uid'],
  ['kubernetes.node.name', 'k8s.node.name'],
  ['kubernetes.host', 'k8s.node.name'],
  ['kubernetes.container.name', 'k8s.container.name'],
  ['kubernetes.container_name', 'k8s.container.name'],
  ['kubernetes.deployment.name', 'k8s.deployment.name'],
  ['kubernetes.replicaset.name', 'k8s.replicaset.name'],
  ['kubernetes.statefulset.name', 'k8s.statefulset.name'],
  ['kubernetes.daemonset.name', 'k8s.daemonset.name'],
  ['kubernetes.job.name', 'k8s.job.name'],
  ['kubernetes.cronjob.name', 'k8s.cronjob.name'],
  ['container.name', 'container.name'],
  ['container.id', 'container.id'],
  ['container.runtime', 'container.runtime'],
  ['container.image.name', 'container.image.name'],
  ['kubernetes.container_image', 'container.image.name'],
  ['process.pid', 'process.pid'],
  ['process.executable', 'process.executable.path'],
  ['process.name', 'process.executable.name'],
  ['process.command_line', 'process.command_line'],
];

/** ECS record fields whose OpenTelemetry name differs. Fields already named alike (`http.request.method`, `url.path`, `user_agent.original`, ...) stay as they are. */
export const RENAMED_FIELDS: readonly (readonly [string, string])[] = [
  ['http.version', 'network.protocol.version'],
  ['http.request.bytes', 'http.request.size'],
  ['http.response.bytes', 'http.response.size'],
  ['http.request.body.bytes', 'http.request.body.size'],
  ['http.response.body.bytes', 'http.response.body.size'],
  ['http.request.referrer', 'http.request.header.referer'],
  ['source.ip', 'source.address'],
  ['destination.ip', 'destination.address'],
  ['client.ip', 'client.address'],
  ['server.ip', 'server.address'],
  ['error.message', 'exception.message'],
  ['error.type', 'exception.type'],
  ['error.stack_trace', 'exception.stacktrace'],
];

const TIME_FIELDS = ['@timestamp', 'timestamp', 'time'];
const BODY_FIELDS = ['message', 'log', 'msg'];
const LEVEL_FIELDS = ['log.level', 'level', 'severity'];
const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;

export interface DocumentContext {
  index: string;
  /** The id the client gave (not a generated one). */
  id: string | undefined;
  sourceText: string;
  now: bigint;
  /** Interns resource objects: records with equal resources share one object (the store encodes each once). */
  internResource(resource: Attributes): Attributes;
}

export function documentToRecord(doc: Record<string, unknown>, ctx: DocumentContext): LogRecord | { error: EsItemError } {
  // A Map, not an object: fields are taken out one by one below, and deleting
  // object properties would push every record's attributes into slow mode.
  const fields = new Map<string, AttributeValue>();
  flatten(doc, '', 0, fields);
  const r = emptyLogRecord();
  r.observedTimeUnixNano = ctx.now;

  const time = takeTime(fields);
  if (typeof time === 'object') return time;
  r.timeUnixNano = time === 0n ? ctx.now : time;

  const bodyKey = BODY_FIELDS.find((k) => fields.has(k) && (k === 'message' || typeof fields.get(k) === 'string'));
  if (bodyKey !== undefined) {
    r.body = String(fields.get(bodyKey));
    fields.delete(bodyKey);
  } else {
    r.body = ctx.sourceText.trim();
  }

  const levelKey = LEVEL_FIELDS.find((k) => typeof fields.get(k) === 'string' && fields.get(k) !== '');
  if (levelKey !== undefined) {
    r.severityText = String(fields.get(levelKey));
    r.severityNumber = severityFromText(r.severityText);
    fields.delete(levelKey);
  }
  const logger = fields.get('log.logger');
  if (typeof logger === 'string') {
    r.scopeName = logger;
    fields.delete('log.logger');
  }
  const trace = fields.get('trace.id');
  if (typeof trace === 'string' && HEX32.test(trace) && !/^0+$/.test(trace)) {
    r.traceId = trace.toLowerCase();
    fields.delete('trace.id');
  }
  const span = fields.get('span.id');
  if (typeof span === 'string' && HEX16.test(span) && !/^0+$/.test(span)) {
    r.spanId = span.toLowerCase();
    fields.delete('span.id');
  }

  const resource: Attributes = {};
  for (const [from, to] of RESOURCE_FIELDS) {
    const v = fields.get(from);
    // The first source of a target wins; a later one stays an attribute under its own name.
    if (v === undefined || resource[to] !== undefined) continue;
    resource[to] = v;
    fields.delete(from);
  }
  for (const [from, to] of RENAMED_FIELDS) {
    const v = fields.get(from);
    if (v === undefined || fields.has(to)) continue;
    fields.delete(from);
    fields.set(to, v);
  }
  if (resource['service.name'] === undefined && resource['k8s.container.name'] === undefined && resource['k8s.deployment.name'] === undefined) {
    resource['service.name'] = serviceFromIndex(ctx.index);
  }
  fields.set('elasticsearch.index', ctx.index);
  if (ctx.id !== undefined) fields.set('elasticsearch.id', ctx.id);
  const attributes: Attributes = {};
  for (const [k, v] of fields) attributes[k] = v;
  r.attributes = attributes;
  r.resource = ctx.internResource(resource);
  return r;
}

function flatten(value: Record<string, unknown>, prefix: string, depth: number, out: Map<string, AttributeValue>): void {
  for (const key of Object.keys(value)) {
    const v = value[key];
    const name = prefix + key;
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'boolean') out.set(name, v);
    else if (typeof v === 'number') out.set(name, Number.isFinite(v) ? v : String(v));
    else if (Array.isArray(v) || depth >= MAX_DEPTH) out.set(name, JSON.stringify(v));
    else if (typeof v === 'object') flatten(v as Record<string, unknown>, `${name}.`, depth + 1, out);
    else out.set(name, String(v as AttributeValue));
  }
}

/** The event time in ns (0n when the document has none), or the item's error. */
function takeTime(fields: Map<string, AttributeValue>): bigint | { error: EsItemError } {
  for (const key of TIME_FIELDS) {
    const v = fields.get(key);
    if (v === undefined) continue;
    const ns = parseDate(v);
    if (ns === undefined) {
      // Only @timestamp is a date by contract; `timestamp` and `time` are guesses, so a value that is no date stays an attribute.
      if (key !== '@timestamp') continue;
      return {
        error: {
          type: 'mapper_parsing_exception',
          reason: `failed to parse field [@timestamp] of type [date]: ${JSON.stringify(String(v).slice(0, 60))} is neither ISO 8601 (strict_date_optional_time) nor epoch_millis`,
        },
      };
    }
    fields.delete(key);
    return ns;
  }
  return 0n;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Elasticsearch's default date format: `strict_date_optional_time||epoch_millis`. */
export function parseDate(v: AttributeValue): bigint | undefined {
  if (typeof v === 'number') return epochMillis(v);
  if (typeof v !== 'string') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(v)) return epochMillis(Number(v));
  const m = ISO.exec(v.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  // Date.UTC rolls 2024-02-31 over to March: a date that does not round-trip does not exist.
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || check.getUTCMinutes() !== Number(mi) || Number(s) > 59) return undefined;
  let offsetMin = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? '0'));
  }
  const ns = BigInt(ms - offsetMin * 60_000) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  return ns < 0n ? undefined : ns;
}

function epochMillis(ms: number): bigint | undefined {
  if (!Number.isFinite(ms) || ms < 0 || ms > 1e15) return undefined;
  // ms * 1e6 would pass 2^53: whole milliseconds and their fraction separately.
  const whole = Math.trunc(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** `logs-2024.01.31` and `app-2024-01-31` name the service `logs` and `app`. */
export function serviceFromIndex(index: string): string {
  const base = index.replace(/[-_.]\d{4}([-.]\d{2}){0,2}$/, '');
  return base === '' ? index : base;
}
