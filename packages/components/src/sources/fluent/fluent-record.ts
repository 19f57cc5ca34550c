/**
 * One Fluentd/Fluent Bit event (tag, time, record map) -> one LogRecord.
 *
 * Fluent records are free-form maps; these rules find the fields that the
 * common producers (Fluent Bit's tail + kubernetes filter, Fluentd's
 * kubernetes_metadata filter, Docker's fluentd log driver, JSON app loggers)
 * put there and move them to where the schema wants them. The full list is
 * in docs/schema.md ("Fluent forward"); in short:
 *
 * - body: `log`, then `message`, then `msg` (one trailing newline dropped);
 *   without any of them the body is the JSON of the fields left over;
 * - `kubernetes.{namespace_name,pod_name,container_name,host,pod_id,...}`
 *   and `kubernetes.labels/annotations` -> k8s resource attributes;
 * - Docker's `container_id`/`container_name` -> `container.id`/`container.name`;
 * - `level`/`severity`/`log.level`/`loglevel` -> severity (words, or pino's
 *   numbers); `stream` (and Docker's `source`) stdout/stderr -> `log.iostream`;
 * - `trace_id`/`traceId`/`trace.id`/`otelTraceID`, `span_id`/..., `traceparent`
 *   -> trace context (only when well-formed; otherwise they stay attributes);
 * - service.name from the record (`service.name`, `service_name`, `service`,
 *   `app`), the pod's `app.kubernetes.io/name`/`app`/`k8s-app` label, the
 *   container name, and only then the tag;
 * - everything else -> attributes, nested maps flattened with dots, arrays as
 *   JSON; the tag -> `fluent.tag`.
 *
 * Pure and total over decoded msgpack values: it throws only on input no
 * mapping can hold (a nesting too deep to print), which the caller counts as
 * one rejected record.
 */
import { ExtData } from '@msgpack/msgpack';
import { emptyLogRecord, severityFromText, type Attributes, type AttributeValue, type LogRecord } from '@meshlog/core';
import { EventTime } from './fluent-codec.js';

export interface FluentEvent {
  tag: string;
  timeUnixNano: bigint;
  record: Record<string, unknown>;
  /** Fluent Bit's per-record metadata (its `[[time, metadata], record]` entry form). */
  metadata?: Record<string, unknown>;
}

/** Attributes beyond this many per record are dropped and counted in `fluent.dropped_attributes_count`. */
export const MAX_ATTRIBUTES = 1024;
/** Nested maps deeper than this are kept as one JSON attribute. */
const MAX_FLATTEN_DEPTH = 8;

const BODY_FIELDS = ['log', 'message', 'msg'];
const LEVEL_FIELDS = ['level', 'severity', 'log.level', 'loglevel'];
const TRACE_ID_FIELDS = ['trace_id', 'traceId', 'traceid', 'trace.id', 'otelTraceID'];
const SPAN_ID_FIELDS = ['span_id', 'spanId', 'spanid', 'span.id', 'otelSpanID'];
const TRACE_FLAGS_FIELDS = ['trace_flags', 'traceFlags'];
const SERVICE_FIELDS = ['service.name', 'service_name', 'service', 'app'];

/** pino/bunyan numeric levels. */
const NUMERIC_LEVELS: Record<number, [number, string]> = {
  10: [1, 'trace'],
  20: [5, 'debug'],
  30: [9, 'info'],
  40: [13, 'warn'],
  50: [17, 'error'],
  60: [21, 'fatal'],
};

/** Fluent Bit's tail input tags container logs after their file: `kube.var.log.containers.<pod>_<namespace>_<container>-<id>.log`. */
const CONTAINER_LOG_TAG = /(?:^|\.)var\.log\.containers\.([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/;

const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function fluentEventToLogRecord(ev: FluentEvent, observedUnixNano: bigint): LogRecord {
  const r = emptyLogRecord();
  r.timeUnixNano = ev.timeUnixNano;
  r.observedTimeUnixNano = observedUnixNano;
  const rest: Record<string, unknown> = { ...ev.record };
  const resource = r.resource;
  const attributes: Attributes = {};

  // Kubernetes metadata added by Fluent Bit's kubernetes filter or Fluentd's kubernetes_metadata filter.
  let podLabels: Record<string, unknown> | undefined;
  const k8s = rest['kubernetes'];
  if (isMap(k8s)) {
    delete rest['kubernetes'];
    const left: Record<string, unknown> = { ...k8s };
    const move = (field: string, attr: string): void => {
      const v = left[field];
      if (typeof v === 'string' && v !== '') {
        resource[attr] = v;
        delete left[field];
      }
    };
    move('namespace_name', 'k8s.namespace.name');
    move('pod_name', 'k8s.pod.name');
    move('container_name', 'k8s.container.name');
    move('host', 'k8s.node.name');
    move('pod_id', 'k8s.pod.uid');
    move('namespace_id', 'k8s.namespace.uid');
    move('docker_id', 'container.id');
    move('container_id', 'container.id');
    move('container_image', 'container.image.name');
    if (isMap(left['labels'])) {
      podLabels = left['labels'];
      for (const [k, v] of Object.entries(podLabels)) if (isScalar(v)) resource[`k8s.pod.label.${k}`] = scalar(v);
      delete left['labels'];
    }
    if (isMap(left['annotations'])) {
      for (const [k, v] of Object.entries(left['annotations'])) if (isScalar(v)) resource[`k8s.pod.annotation.${k}`] = scalar(v);
      delete left['annotations'];
    }
    flattenInto(attributes, left, 'kubernetes', 1);
  } else {
    // No kubernetes filter ran: the tail input's tag still names pod, namespace and container.
    const m = CONTAINER_LOG_TAG.exec(ev.tag);
    if (m) {
      resource['k8s.pod.name'] = m[1]!;
      resource['k8s.namespace.name'] = m[2]!;
      resource['k8s.container.name'] = m[3]!;
      resource['container.id'] = m[4]!;
    }
  }

  // Docker's fluentd log driver.
  const containerId = rest['container_id'];
  if (typeof containerId === 'string' && containerId !== '') {
    resource['container.id'] ??= containerId;
    delete rest['container_id'];
  }
  const containerName = rest['container_name'];
  if (typeof containerName === 'string' && containerName !== '') {
    resource['container.name'] = containerName.replace(/^\//, '');
    delete rest['container_name'];
  }

  // Body.
  let hasBody = false;
  for (const f of BODY_FIELDS) {
    const v = rest[f];
    if (v === undefined || v === null) continue;
    delete rest[f];
    r.body = typeof v === 'string' ? stripNewline(v) : typeof v === 'object' ? toJson(v) : String(v);
    hasBody = true;
    break;
  }

  // Severity.
  for (const f of LEVEL_FIELDS) {
    const v = rest[f];
    if (typeof v === 'string' && v !== '') {
      r.severityText = v;
      r.severityNumber = severityFromText(v);
      delete rest[f];
      break;
    }
    if (typeof v === 'number' && NUMERIC_LEVELS[v]) {
      [r.severityNumber, r.severityText] = NUMERIC_LEVELS[v]!;
      delete rest[f];
      break;
    }
  }

  // stdout/stderr of a container.
  for (const f of ['stream', 'source']) {
    const v = rest[f];
    if (v === 'stdout' || v === 'stderr') {
      attributes['log.iostream'] = v;
      delete rest[f];
      break;
    }
  }

  // Trace context: only well-formed ids move; anything else stays an attribute.
  for (const f of TRACE_ID_FIELDS) {
    const v = rest[f];
    if (typeof v === 'string' && HEX32.test(v) && !/^0+$/.test(v)) {
      r.traceId = v.toLowerCase();
      delete rest[f];
      break;
    }
  }
  for (const f of SPAN_ID_FIELDS) {
    const v = rest[f];
    if (typeof v === 'string' && HEX16.test(v) && !/^0+$/.test(v)) {
      r.spanId = v.toLowerCase();
      delete rest[f];
      break;
    }
  }
  for (const f of TRACE_FLAGS_FIELDS) {
    const v = rest[f];
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9a-fA-F]{1,2}$/.test(v) ? parseInt(v, 16) : NaN;
    if (Number.isInteger(n) && n >= 0 && n <= 255) {
      r.flags = n;
      delete rest[f];
      break;
    }
  }
  const traceparent = rest['traceparent'];
  if (typeof traceparent === 'string') {
    const m = TRACEPARENT.exec(traceparent.trim().toLowerCase());
    if (m && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!)) {
      if (r.traceId === '') r.traceId = m[1]!;
      if (r.spanId === '') r.spanId = m[2]!;
      r.flags ||= parseInt(m[3]!, 16);
      delete rest['traceparent'];
    }
  }

  // Host of a non-Kubernetes sender.
  const hostname = rest['hostname'];
  if (typeof hostname === 'string' && hostname !== '') {
    resource['host.name'] = hostname;
    delete rest['hostname'];
  }

  // service.name: what the record says, then the pod's app label, then the container, then the tag.
  let service: string | undefined;
  for (const f of SERVICE_FIELDS) {
    const v = rest[f];
    if (typeof v === 'string' && v !== '') {
      service = v;
      delete rest[f];
      break;
    }
    if (f === 'service' && isMap(v) && typeof v['name'] === 'string' && v['name'] !== '') {
      // ECS-style `service: {name, version, ...}`: the name moves, the rest stays.
      service = v['name'];
      const { name: _name, ...others } = v;
      if (Object.keys(others).length > 0) rest['service'] = others;
      else delete rest['service'];
      break;
    }
  }
  if (service === undefined && podLabels) {
    for (const l of ['app.kubernetes.io/name', 'app', 'k8s-app']) {
      const v = podLabels[l];
      if (typeof v === 'string' && v !== '') {
        service = v;
        break;
      }
    }
  }
  service ??= str(resource['k8s.container.name']) ?? str(resource['container.name']) ?? (ev.tag !== '' ? ev.tag : undefined);
  if (service !== undefined) resource['service.name'] = service;

  if (hasBody) flattenInto(attributes, rest, '', 0);
  else if (Object.keys(rest).length > 0) r.body = toJson(rest);
  if (ev.metadata) flattenInto(attributes, ev.metadata, 'fluent.metadata', 1);
  delete attributes['fluent.tag'];
  const keys = Object.keys(attributes);
  if (keys.length + 1 > MAX_ATTRIBUTES) {
    // Keep room for the tag and the count of what was dropped.
    const kept: Attributes = {};
    for (const k of keys.slice(0, MAX_ATTRIBUTES - 2)) kept[k] = attributes[k]!;
    kept['fluent.dropped_attributes_count'] = keys.length - (MAX_ATTRIBUTES - 2);
    kept['fluent.tag'] = ev.tag;
    r.attributes = kept;
  } else {
    attributes['fluent.tag'] = ev.tag;
    r.attributes = attributes;
  }
  return r;
}

function stripNewline(s: string): string {
  if (s.endsWith('\r\n')) return s.slice(0, -2);
  if (s.endsWith('\n')) return s.slice(0, -1);
  return s;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof EventTime) && !(v instanceof ExtData) && !(v instanceof Date);
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
}

function str(v: AttributeValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function scalar(v: unknown): AttributeValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  return String(v);
}

/** A decoded msgpack leaf as an attribute value; maps and arrays are handled by the caller. */
function leaf(v: unknown): AttributeValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return bytesToText(v);
  if (v instanceof EventTime) return v.unixNano.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof ExtData) return `ext:${v.type}:${Buffer.from(v.data as Uint8Array).toString('hex')}`;
  return undefined;
}

/** Binary values: UTF-8 text when they are valid text (Fluentd sends strings as bin too), else base64. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
function bytesToText(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  }
}

function flattenInto(out: Attributes, value: Record<string, unknown>, prefix: string, depth: number): void {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isMap(v)) {
      if (depth >= MAX_FLATTEN_DEPTH) out[key] = toJson(v);
      else flattenInto(out, v, key, depth + 1);
      continue;
    }
    if (Array.isArray(v)) {
      out[key] = toJson(v);
      continue;
    }
    const l = leaf(v);
    if (l !== undefined) out[key] = l;
  }
}

/** JSON text of a decoded value; binary, EventTime and extension values print as their attribute forms. */
export function toJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => {
      if (x === null || typeof x !== 'object') return typeof x === 'bigint' ? x.toString() : x;
      if (Array.isArray(x) || isMap(x)) return x;
      return leaf(x) ?? null;
    });
  } catch (err) {
    // JSON.stringify recurses: a value nested thousands deep exhausts the stack (a catchable RangeError).
    if (err instanceof RangeError) throw new RangeError('a value is nested too deeply to store', { cause: err });
    throw err;
  }
}
