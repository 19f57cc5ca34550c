/**
 * Zipkin v2 spans <-> the internal Span model, both directions in one place
 * so that what `POST /api/v2/spans` takes in comes back field for field from
 * `GET /api/v2/trace/{id}`.
 *
 * Zipkin -> Span:
 * - `traceId` (1-32 hex, left-padded as Zipkin does) -> 32-hex trace id;
 *   `id`, `parentId` (1-16 hex) -> span ids; a `parentId` equal to `id` is dropped;
 * - `kind` CLIENT/SERVER/PRODUCER/CONSUMER -> SpanKind 3/2/4/5; absent ->
 *   INTERNAL (OpenTelemetry's Zipkin mapping pairs INTERNAL with no kind);
 * - `timestamp`/`duration` (epoch microseconds) -> start/end in ns; a span
 *   without `timestamp` (late data) starts at its first annotation or at the
 *   time it arrived and is marked `zipkin.timestamp_absent`; without
 *   `duration` it ends where it starts;
 * - `localEndpoint.serviceName` -> resource `service.name`;
 *   `localEndpoint.ipv4`/`ipv6`/`port` -> `network.local.address`/`port`;
 *   `remoteEndpoint.serviceName` -> `peer.service`, its address and port ->
 *   `network.peer.address`/`port` (with both ipv4 and ipv6, ipv6 goes to
 *   `zipkin.local_endpoint.ipv6` / `zipkin.remote_endpoint.ipv6`);
 * - `tags` -> attributes (an `error` tag also sets status ERROR with its
 *   value as the message); `annotations` -> span events; `shared`, `debug`
 *   -> `zipkin.shared`, `zipkin.debug`.
 *
 * Span -> Zipkin reverses each of these. Endpoint attributes are taken out
 * of `tags` only when they hold a valid IP or port, so an OTLP span whose
 * `network.peer.address` is a host name keeps it as a tag. A tag that the
 * sender named like an endpoint attribute comes back as the endpoint field.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { SpanKind, type Attributes, type Span } from '@meshlog/core';
import { ResourceInterner } from '../shared/resource-attributes.js';

export class ZipkinDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipkinDecodeError';
  }
}

/** Attribute names this mapping owns (docs/schema.md). */
export const ZipkinAttr = {
  LocalAddress: 'network.local.address',
  LocalPort: 'network.local.port',
  LocalIpv6: 'zipkin.local_endpoint.ipv6',
  PeerService: 'peer.service',
  PeerAddress: 'network.peer.address',
  PeerPort: 'network.peer.port',
  RemoteIpv6: 'zipkin.remote_endpoint.ipv6',
  Shared: 'zipkin.shared',
  Debug: 'zipkin.debug',
  TimestampAbsent: 'zipkin.timestamp_absent',
} as const;

const KIND_IN: Record<string, number> = { CLIENT: SpanKind.CLIENT, SERVER: SpanKind.SERVER, PRODUCER: SpanKind.PRODUCER, CONSUMER: SpanKind.CONSUMER };
const KIND_OUT: Record<number, string | undefined> = { [SpanKind.SERVER]: 'SERVER', [SpanKind.CLIENT]: 'CLIENT', [SpanKind.PRODUCER]: 'PRODUCER', [SpanKind.CONSUMER]: 'CONSUMER' };

type Obj = Record<string, unknown>;

/** A JSON-shaped Zipkin span list (from JSON, or converted from protobuf) -> spans; throws naming `spans[i].field`. */
export function zipkinSpansToModel(list: unknown, now: bigint): Span[] {
  if (!Array.isArray(list)) throw new ZipkinDecodeError(`expected a JSON list of spans, got ${list === null ? 'null' : typeof list}`);
  const resources = new ResourceInterner();
  return list.map((s, i) => spanToModel(s, `spans[${i}]`, now, resources));
}

function hexId(v: unknown, maxDigits: 16 | 32, path: string, required: boolean): string {
  if (v === undefined || v === null || v === '') {
    if (required) throw new ZipkinDecodeError(`${path}: required`);
    return '';
  }
  if (typeof v !== 'string' || v.length > maxDigits || !/^[0-9a-fA-F]+$/.test(v)) {
    throw new ZipkinDecodeError(`${path}: expected ${maxDigits === 32 ? '16 or 32' : '16'} hex characters, got ${JSON.stringify(v).slice(0, 60)}`);
  }
  const hex = v.toLowerCase().padStart(v.length <= 16 ? 16 : 32, '0');
  if (/^0+$/.test(hex)) {
    if (required) throw new ZipkinDecodeError(`${path}: must not be all zeros`);
    return '';
  }
  return maxDigits === 32 ? hex.padStart(32, '0') : hex;
}

/** Epoch microseconds (possibly fractional) -> ns. */
function micros(v: unknown, path: string): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ZipkinDecodeError(`${path}: expected a non-negative number of microseconds, got ${JSON.stringify(v).slice(0, 40)}`);
  const whole = Math.trunc(v);
  return BigInt(whole) * 1000n + BigInt(Math.round((v - whole) * 1000));
}

function optString(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ZipkinDecodeError(`${path}.${key}: expected a string`);
  return v;
}

function optBool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ZipkinDecodeError(`${path}.${key}: expected true or false`);
  return v;
}

interface Endpoint {
  serviceName: string | undefined;
  ipv4: string | undefined;
  ipv6: string | undefined;
  port: number | undefined;
}

function endpoint(v: unknown, path: string): Endpoint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ZipkinDecodeError(`${path}: expected an object`);
  const o = v as Obj;
  const ipv4 = optString(o, 'ipv4', path);
  if (ipv4 !== undefined && ipv4 !== '' && !isIPv4(ipv4)) throw new ZipkinDecodeError(`${path}.ipv4: not an IPv4 address: ${JSON.stringify(ipv4).slice(0, 60)}`);
  const ipv6 = optString(o, 'ipv6', path);
  if (ipv6 !== undefined && ipv6 !== '' && !isIPv6(ipv6)) throw new ZipkinDecodeError(`${path}.ipv6: not an IPv6 address: ${JSON.stringify(ipv6).slice(0, 60)}`);
  const port = o['port'];
  if (port !== undefined && port !== null && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new ZipkinDecodeError(`${path}.port: expected an integer 0..65535`);
  }
  return {
    serviceName: optString(o, 'serviceName', path) || undefined,
    ipv4: ipv4 || undefined,
    ipv6: ipv6 || undefined,
    port: typeof port === 'number' && port > 0 ? port : undefined,
  };
}

function spanToModel(v: unknown, path: string, now: bigint, resources: ResourceInterner): Span {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ZipkinDecodeError(`${path}: expected a span object`);
  const o = v as Obj;
  const traceId = hexId(o['traceId'], 32, `${path}.traceId`, true);
  const spanId = hexId(o['id'], 16, `${path}.id`, true);
  let parentSpanId = hexId(o['parentId'], 16, `${path}.parentId`, false);
  if (parentSpanId === spanId) parentSpanId = '';
  const name = optString(o, 'name', path) ?? '';
  let kind: number = SpanKind.INTERNAL;
  if (o['kind'] !== undefined && o['kind'] !== null) {
    const k = typeof o['kind'] === 'string' ? KIND_IN[o['kind'].toUpperCase()] : undefined;
    if (k === undefined) throw new ZipkinDecodeError(`${path}.kind: expected CLIENT, SERVER, PRODUCER or CONSUMER, got ${JSON.stringify(o['kind']).slice(0, 40)}`);
    kind = k;
  }
  const timestamp = micros(o['timestamp'], `${path}.timestamp`);
  const duration = micros(o['duration'], `${path}.duration`);
  const local = endpoint(o['localEndpoint'], `${path}.localEndpoint`);
  const remote = endpoint(o['remoteEndpoint'], `${path}.remoteEndpoint`);

  const attributes: Attributes = {};
  const tags = o['tags'];
  if (tags !== undefined && tags !== null) {
    if (typeof tags !== 'object' || Array.isArray(tags)) throw new ZipkinDecodeError(`${path}.tags: expected an object of string values`);
    for (const [k, tv] of Object.entries(tags as Obj)) {
      if (tv === null || typeof tv === 'object') throw new ZipkinDecodeError(`${path}.tags.${k}: expected a string`);
      attributes[k] = String(tv);
    }
  }

  const events: Span['events'] = [];
  const annotations = o['annotations'];
  if (annotations !== undefined && annotations !== null) {
    if (!Array.isArray(annotations)) throw new ZipkinDecodeError(`${path}.annotations: expected a list`);
    annotations.forEach((a, j) => {
      const ap = `${path}.annotations[${j}]`;
      if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new ZipkinDecodeError(`${ap}: expected {timestamp, value}`);
      const at = micros((a as Obj)['timestamp'], `${ap}.timestamp`);
      if (at === undefined) throw new ZipkinDecodeError(`${ap}.timestamp: required`);
      const value = optString(a as Obj, 'value', ap);
      if (value === undefined) throw new ZipkinDecodeError(`${ap}.value: required`);
      events.push({ timeUnixNano: at, name: value, attributes: {} });
    });
  }

  // Endpoint fields win over tags of the same name: they are the span's own structure.
  if (local) setAddress(attributes, local, ZipkinAttr.LocalAddress, ZipkinAttr.LocalIpv6, ZipkinAttr.LocalPort);
  if (remote) {
    if (remote.serviceName) attributes[ZipkinAttr.PeerService] = remote.serviceName;
    setAddress(attributes, remote, ZipkinAttr.PeerAddress, ZipkinAttr.RemoteIpv6, ZipkinAttr.PeerPort);
  }
  if (optBool(o, 'shared', path)) attributes[ZipkinAttr.Shared] = true;
  if (optBool(o, 'debug', path)) attributes[ZipkinAttr.Debug] = true;

  let start = timestamp;
  if (start === undefined) {
    attributes[ZipkinAttr.TimestampAbsent] = true;
    start = events.length > 0 ? events.reduce((m, e) => (e.timeUnixNano < m ? e.timeUnixNano : m), events[0]!.timeUnixNano) : now;
  }
  const resource: Attributes = local?.serviceName ? { 'service.name': local.serviceName } : {};
  const error = attributes['error'];
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: start + (duration ?? 0n),
    attributes,
    resource: resources.intern(resource),
    statusCode: error !== undefined ? 2 : 0,
    statusMessage: error !== undefined ? String(error) : '',
    events,
  };
}

function setAddress(attributes: Attributes, e: Endpoint, addressKey: string, ipv6Key: string, portKey: string): void {
  if (e.ipv4) {
    attributes[addressKey] = e.ipv4;
    if (e.ipv6) attributes[ipv6Key] = e.ipv6;
  } else if (e.ipv6) {
    attributes[addressKey] = e.ipv6;
  }
  if (e.port !== undefined) attributes[portKey] = e.port;
}

/** A stored span, as the trace API reads it back (attribute values are text in the store). */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  /** `service.name` of the resource, or undefined when the span had none. */
  serviceName: string | undefined;
  attributes: Record<string, string>;
  statusCode: number;
  statusMessage: string;
  events: { timeUnixNano: bigint; name: string; attributes: Record<string, unknown> }[];
}

/** Zipkin normalizes a 128-bit id whose high half is zero to 16 hex digits; so does this. */
function traceIdOut(id: string): string {
  return id.length === 32 && id.startsWith('0000000000000000') ? id.slice(16) : id;
}

function takeAddress(tags: Record<string, string>, addressKey: string, ipv6Key: string, portKey: string): Obj {
  const out: Obj = {};
  const address = tags[addressKey];
  if (address !== undefined && isIPv4(address)) {
    out['ipv4'] = address;
    delete tags[addressKey];
  } else if (address !== undefined && isIPv6(address)) {
    out['ipv6'] = address;
    delete tags[addressKey];
  }
  const ipv6 = tags[ipv6Key];
  if (ipv6 !== undefined && isIPv6(ipv6) && out['ipv6'] === undefined) {
    out['ipv6'] = ipv6;
    delete tags[ipv6Key];
  }
  const port = tags[portKey];
  if (port !== undefined && /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) {
    out['port'] = Number(port);
    delete tags[portKey];
  }
  return out;
}

/** A stored span in Zipkin v2's JSON shape (field order as Zipkin writes it). */
export function spanToZipkin(s: StoredSpan): Obj {
  const tags = { ...s.attributes };
  const local: Obj = { ...(s.serviceName ? { serviceName: s.serviceName } : {}), ...takeAddress(tags, ZipkinAttr.LocalAddress, ZipkinAttr.LocalIpv6, ZipkinAttr.LocalPort) };
  const peer = tags[ZipkinAttr.PeerService];
  delete tags[ZipkinAttr.PeerService];
  const remote: Obj = { ...(peer ? { serviceName: peer } : {}), ...takeAddress(tags, ZipkinAttr.PeerAddress, ZipkinAttr.RemoteIpv6, ZipkinAttr.PeerPort) };
  const flag = (key: string): boolean => {
    const v = tags[key];
    delete tags[key];
    return v === 'true';
  };
  const shared = flag(ZipkinAttr.Shared);
  const debug = flag(ZipkinAttr.Debug);
  const timestampAbsent = flag(ZipkinAttr.TimestampAbsent);
  if (s.statusCode === 2 && tags['error'] === undefined) tags['error'] = s.statusMessage || 'true';
  const durationNs = s.endTimeUnixNano - s.startTimeUnixNano;
  // Zipkin: duration in microseconds, absent when unknown, at least 1 when known.
  const durationUs = durationNs > 0n ? (durationNs < 1000n ? 1n : durationNs / 1000n) : 0n;
  const annotations = s.events.map((e) => ({
    timestamp: Number(e.timeUnixNano / 1000n),
    value: Object.keys(e.attributes).length === 0 ? e.name : `${e.name} ${JSON.stringify(e.attributes)}`,
  }));
  const kind = KIND_OUT[s.kind];
  return {
    traceId: traceIdOut(s.traceId),
    ...(s.parentSpanId ? { parentId: s.parentSpanId } : {}),
    id: s.spanId,
    ...(kind ? { kind } : {}),
    ...(s.name ? { name: s.name } : {}),
    ...(timestampAbsent ? {} : { timestamp: Number(s.startTimeUnixNano / 1000n) }),
    ...(durationUs > 0n ? { duration: Number(durationUs) } : {}),
    ...(Object.keys(local).length > 0 ? { localEndpoint: local } : {}),
    ...(Object.keys(remote).length > 0 ? { remoteEndpoint: remote } : {}),
    ...(annotations.length > 0 ? { annotations } : {}),
    ...(Object.keys(tags).length > 0 ? { tags } : {}),
    ...(debug ? { debug: true } : {}),
    ...(shared ? { shared: true } : {}),
  };
}
