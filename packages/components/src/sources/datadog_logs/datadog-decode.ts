/**
 * Datadog log intake payloads -> the internal model. The Datadog Agent
 * (pkg/logs/processor/json.go) sends a JSON array of
 * `{"message","status","timestamp","hostname","service","ddsource","ddtags"}`
 * objects, `timestamp` in epoch milliseconds; Datadog's HTTP API and its
 * client libraries send the same shape with any further attributes, or a
 * single object; `/v1/input` also takes text, one log per line.
 *
 * Mapping (docs/schema.md lists every attribute):
 * - `message` (else `msg`, else `log`) -> body (non-strings as JSON text);
 * - `timestamp` (else `date`, `@timestamp`): epoch ms or RFC 3339 -> time;
 * - `status` (else `level`, `severity`) -> severity, by Datadog's status
 *   remapper rules (emergency, alert, critical, error, warning, notice,
 *   info, debug, ok; integers 0-7 as syslog severities);
 * - `service` -> resource `service.name`; `hostname` (else `host`) ->
 *   resource `host.name`; `ddsource` -> attribute `datadog.source`;
 * - `ddtags` "k:v,k2:v2": `env` -> `deployment.environment.name`, `version`
 *   -> `service.version`, `service`/`host` fill service and host when the
 *   log names none, Kubernetes and container tags (`kube_namespace`,
 *   `pod_name`, ...) -> their `k8s.*`/`container.*` resource attributes,
 *   every other tag -> `datadog.tag.<key>` (repeated keys joined with ",");
 * - `dd.trace_id`/`dd.span_id` (or `dd: {trace_id, span_id}`), Datadog's
 *   decimal 64-bit ids -> trace context: the 64-bit trace id becomes the
 *   low 64 bits of the 128-bit W3C id, high bits zero (Datadog's
 *   OpenTelemetry interop: `dd.trace_id` is the low 64 bits of the W3C id);
 *   a 32-hex `dd.trace_id` (tracers logging 128-bit ids) is taken whole;
 * - every other field -> attributes, nested objects flattened with dots.
 *
 * Malformed JSON or a non-object entry fails the request (400); oversized
 * requests fail with 413. A message over the per-log limit is cut (at a
 * UTF-8 boundary), marked `datadog.truncated = true` and counted.
 */
import { emptyLogRecord, severityFromText, type Attributes, type LogRecord } from '@meshlog/core';
import { flattenInto } from '../shared/flatten.js';
import { ResourceInterner } from '../shared/resource-attributes.js';

export class DatadogDecodeError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'DatadogDecodeError';
  }
}

export interface DatadogDefaults {
  ddsource?: string | undefined;
  ddtags?: string | undefined;
  hostname?: string | undefined;
  service?: string | undefined;
}

export interface DatadogLimits {
  maxLogBytes: number;
  maxEntries: number;
}

export interface DecodedDatadogLogs {
  records: LogRecord[];
  /** Logs whose message was cut to the per-log limit. */
  truncated: number;
  /** Logs without a usable time of their own (they take the arrival time; see the source's idempotency key). */
  untimed: number;
}

/** Datadog tags that name OpenTelemetry resource attributes (as Datadog's OpenTelemetry mapping names them). */
const TAG_RESOURCE: Record<string, string> = {
  env: 'deployment.environment.name',
  version: 'service.version',
  kube_cluster_name: 'k8s.cluster.name',
  kube_namespace: 'k8s.namespace.name',
  pod_name: 'k8s.pod.name',
  kube_container_name: 'k8s.container.name',
  kube_deployment: 'k8s.deployment.name',
  kube_replica_set: 'k8s.replicaset.name',
  kube_stateful_set: 'k8s.statefulset.name',
  kube_daemon_set: 'k8s.daemonset.name',
  kube_job: 'k8s.job.name',
  kube_cronjob: 'k8s.cronjob.name',
  container_name: 'container.name',
  container_id: 'container.id',
};

const MESSAGE_KEYS = ['message', 'msg', 'log'];
const TIME_KEYS = ['timestamp', 'date', '@timestamp'];
const STATUS_KEYS = ['status', 'level', 'severity'];

/** Datadog's status remapper: a status value -> [OpenTelemetry severity number, Datadog status name]. */
export function datadogStatus(v: unknown): { number: number; name: string } | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 7) return undefined;
    return SYSLOG[v];
  }
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const s = v.trim().toLowerCase();
  if (/^[0-7]$/.test(s)) return SYSLOG[Number(s)];
  if (s.startsWith('emerg') || s.startsWith('f')) return STATUS.emergency;
  if (s.startsWith('a')) return STATUS.alert;
  if (s.startsWith('c')) return STATUS.critical;
  if (s.startsWith('e')) return STATUS.error;
  if (s.startsWith('w')) return STATUS.warning;
  if (s.startsWith('n')) return STATUS.notice;
  if (s.startsWith('i')) return STATUS.info;
  if (s.startsWith('d') || s.startsWith('t') || s.startsWith('v')) return STATUS.debug;
  if (s.startsWith('o') || s.startsWith('s')) return STATUS.ok;
  return STATUS.info;
}

const sev = (name: string): { number: number; name: string } => ({ number: name === 'ok' ? severityFromText('info') : severityFromText(name), name });
const STATUS = {
  emergency: sev('emergency'),
  alert: sev('alert'),
  critical: sev('critical'),
  error: sev('error'),
  warning: sev('warning'),
  notice: sev('notice'),
  info: sev('info'),
  debug: sev('debug'),
  ok: sev('ok'),
};
const SYSLOG = [STATUS.emergency, STATUS.alert, STATUS.critical, STATUS.error, STATUS.warning, STATUS.notice, STATUS.info, STATUS.debug];

const U64_MAX = (1n << 64n) - 1n;

/** A Datadog id (decimal uint64, or hex when a tracer logs 128-bit ids) as lowercase hex of `hexDigits`, or undefined. */
export function datadogId(v: unknown, hexDigits: 16 | 32): string | undefined {
  let n: bigint | undefined;
  if (typeof v === 'number') {
    // Ids above 2^53 do not survive a JSON number; tracers send strings.
    if (Number.isSafeInteger(v) && v > 0) n = BigInt(v);
  } else if (typeof v === 'string') {
    const s = v.trim();
    if (/^\d{1,20}$/.test(s)) n = BigInt(s);
    else if (hexDigits === 32 && /^[0-9a-fA-F]{32}$/.test(s)) return /^0+$/.test(s) ? undefined : s.toLowerCase();
  }
  if (n === undefined || n === 0n || n > U64_MAX) return undefined;
  return n.toString(16).padStart(hexDigits, '0');
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|z|[+-]\d{2}:?\d{2})?$/;

/** A Datadog timestamp: epoch milliseconds (number or numeric string) or RFC 3339 text, in ns. */
export function datadogTime(v: unknown): bigint | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    const ms = Math.trunc(v);
    return BigInt(ms) * 1_000_000n + BigInt(Math.round((v - ms) * 1e6));
  }
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^\d{1,16}$/.test(s)) return BigInt(s) * 1_000_000n;
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  let zone = m[4] ?? 'Z';
  if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${zone.toUpperCase()}`);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
}

/** Cuts `s` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

interface ParsedTags {
  resource: [string, string][];
  attributes: [string, string][];
  service: string | undefined;
  host: string | undefined;
}

/** Parses a `ddtags` string once; a batch repeats the same string on every log. */
function parseTags(tags: string, cache: Map<string, ParsedTags>): ParsedTags {
  const hit = cache.get(tags);
  if (hit) return hit;
  const resource: Attributes = {};
  const attributes: Attributes = {};
  const hints: { service?: string; host?: string } = {};
  applyTags(tags, resource, attributes, hints);
  const parsed: ParsedTags = {
    resource: Object.entries(resource).map(([k, v]) => [k, String(v)]),
    attributes: Object.entries(attributes).map(([k, v]) => [k, String(v)]),
    service: hints.service,
    host: hints.host,
  };
  if (cache.size < 1000) cache.set(tags, parsed);
  return parsed;
}

/** Parses a `ddtags` string into resource attributes and `datadog.tag.*` attributes. */
function applyTags(tags: string, resource: Attributes, attributes: Attributes, hints: { service?: string; host?: string }): void {
  for (const raw of tags.split(',')) {
    const tag = raw.trim();
    if (tag === '') continue;
    const colon = tag.indexOf(':');
    const key = colon < 0 ? tag : tag.slice(0, colon);
    const value = colon < 0 ? '' : tag.slice(colon + 1);
    const target = TAG_RESOURCE[key];
    if (target !== undefined) {
      resource[target] = value;
    } else if (key === 'service') {
      hints.service ??= value;
    } else if (key === 'host') {
      hints.host ??= value;
    } else {
      const k = `datadog.tag.${key}`;
      const prev = attributes[k];
      attributes[k] = prev === undefined ? value : `${String(prev)},${value}`;
    }
  }
}

function pickString(o: Record<string, unknown>, keys: string[]): [string, unknown] | undefined {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return [k, o[k]];
  return undefined;
}

/** One log object -> a record (defaults from the query string fill what it lacks). */
function logToRecord(
  o: Record<string, unknown>,
  now: bigint,
  defaults: DatadogDefaults,
  limits: DatadogLimits,
  resources: ResourceInterner,
  tagCache: Map<string, ParsedTags>,
): { record: LogRecord; truncated: boolean; timed: boolean } {
  const r = emptyLogRecord();
  r.observedTimeUnixNano = now;
  const used = new Set<string>(['service', 'hostname', 'ddsource', 'ddtags']);
  const attributes: Attributes = {};
  const resource: Attributes = {};
  const hints: { service?: string; host?: string } = {};

  const message = pickString(o, MESSAGE_KEYS);
  if (message) {
    used.add(message[0]);
    r.body = typeof message[1] === 'string' ? message[1] : JSON.stringify(message[1]);
  }
  let truncated = false;
  if (r.body.length * 3 > limits.maxLogBytes && Buffer.byteLength(r.body) > limits.maxLogBytes) {
    r.body = truncateUtf8(r.body, limits.maxLogBytes);
    truncated = true;
  }

  const time = pickString(o, TIME_KEYS);
  const t = time ? datadogTime(time[1]) : undefined;
  if (time && t !== undefined) used.add(time[0]);
  r.timeUnixNano = t ?? now;

  const status = pickString(o, STATUS_KEYS);
  const st = status ? datadogStatus(status[1]) : undefined;
  if (status && st) {
    used.add(status[0]);
    r.severityNumber = st.number;
    r.severityText = typeof status[1] === 'string' ? status[1] : st.name;
  } else if (!status) {
    // Datadog gives a log without a status the status info.
    r.severityNumber = STATUS.info.number;
    r.severityText = 'info';
  }

  // Trace context: `dd.trace_id` as a dotted key, or nested under `dd`.
  const dd = typeof o['dd'] === 'object' && o['dd'] !== null && !Array.isArray(o['dd']) ? (o['dd'] as Record<string, unknown>) : undefined;
  const ddRest: Record<string, unknown> = { ...(dd ?? {}) };
  const traceId = datadogId(o['dd.trace_id'] ?? dd?.['trace_id'], 32);
  const spanId = datadogId(o['dd.span_id'] ?? dd?.['span_id'], 16);
  if (traceId) {
    r.traceId = traceId;
    used.add('dd.trace_id');
    delete ddRest['trace_id'];
  }
  if (spanId) {
    r.spanId = spanId;
    used.add('dd.span_id');
    delete ddRest['span_id'];
  }
  const ddService = o['dd.service'] ?? dd?.['service'];
  const ddEnv = o['dd.env'] ?? dd?.['env'];
  const ddVersion = o['dd.version'] ?? dd?.['version'];
  for (const [k, v] of [['service', ddService], ['env', ddEnv], ['version', ddVersion]] as const) {
    if (typeof v !== 'string') continue;
    used.add(`dd.${k}`);
    delete ddRest[k];
  }
  if (dd) used.add('dd');

  for (const tags of [defaults.ddtags, o['ddtags']]) {
    if (typeof tags !== 'string' || tags === '') continue;
    const parsed = parseTags(tags, tagCache);
    for (const [k, v] of parsed.resource) resource[k] = v;
    for (const [k, v] of parsed.attributes) {
      const prev = attributes[k];
      attributes[k] = prev === undefined ? v : `${String(prev)},${v}`;
    }
    hints.service ??= parsed.service;
    hints.host ??= parsed.host;
  }
  if (typeof ddEnv === 'string') resource['deployment.environment.name'] ??= ddEnv;
  if (typeof ddVersion === 'string') resource['service.version'] ??= ddVersion;

  const service = str(o['service']) ?? str(ddService) ?? defaults.service ?? hints.service;
  if (service) resource['service.name'] = service;
  const hostKey = o['hostname'] !== undefined ? 'hostname' : 'host';
  const host = str(o[hostKey]) ?? defaults.hostname ?? hints.host;
  if (typeof o[hostKey] === 'string') used.add(hostKey);
  if (host) resource['host.name'] = host;
  const source = str(o['ddsource']) ?? defaults.ddsource;
  if (source) attributes['datadog.source'] = source;

  for (const [k, v] of Object.entries(o)) {
    if (used.has(k)) continue;
    flattenInto(attributes, k, v);
  }
  for (const [k, v] of Object.entries(ddRest)) flattenInto(attributes, `dd.${k}`, v);
  if (truncated) attributes['datadog.truncated'] = true;
  r.attributes = attributes;
  r.resource = resources.intern(resource);
  return { record: r, truncated, timed: t !== undefined };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Decodes a log intake body: JSON (an array of log objects or one object;
 * `{}` is the Agent's connectivity check and yields nothing) or, for
 * `text/plain`, one log per non-blank line.
 */
export function decodeDatadogLogs(body: Buffer, contentType: string, now: bigint, defaults: DatadogDefaults, limits: DatadogLimits): DecodedDatadogLogs {
  const resources = new ResourceInterner();
  const tagCache = new Map<string, ParsedTags>();
  const out: DecodedDatadogLogs = { records: [], truncated: 0, untimed: 0 };
  const push = (o: Record<string, unknown>): void => {
    const { record, truncated, timed } = logToRecord(o, now, defaults, limits, resources, tagCache);
    out.records.push(record);
    if (truncated) out.truncated++;
    if (!timed) out.untimed++;
  };
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'text/plain') {
    const lines = body
      .toString('utf8')
      .split('\n')
      .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
      .filter((l) => l.trim() !== '');
    if (lines.length > limits.maxEntries) throw new DatadogDecodeError(413, `${lines.length} logs in one request exceed the limit of ${limits.maxEntries}; send smaller batches`);
    for (const line of lines) push({ message: line });
    return out;
  }
  if (body.length === 0) return out;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new DatadogDecodeError(400, `invalid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) {
    if (value.length > limits.maxEntries) throw new DatadogDecodeError(413, `${value.length} logs in one request exceed the limit of ${limits.maxEntries}; send smaller batches`);
    value.forEach((v, i) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DatadogDecodeError(400, `[${i}]: expected a log object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
      push(v as Record<string, unknown>);
    });
    return out;
  }
  if (typeof value === 'object' && value !== null) {
    if (Object.keys(value).length > 0) push(value as Record<string, unknown>);
    return out;
  }
  throw new DatadogDecodeError(400, `expected a JSON array of log objects or one log object, got ${typeof value}`);
}
