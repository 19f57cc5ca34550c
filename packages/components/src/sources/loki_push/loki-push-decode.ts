/**
 * Loki push requests (protobuf + snappy, or JSON) -> the internal model, in
 * two steps, as Loki's distributor works:
 *
 * 1. `decodeLokiPush` turns the body into streams of entries. A body that is
 *    not the protocol (bad snappy, bad protobuf, bad JSON, a timestamp that
 *    is not a string of nanoseconds) throws a `LokiDecodeError` whose
 *    message names the spot (`streams[1].values[4][0]: ...`): the whole
 *    request is refused, nothing is stored.
 * 2. `lokiStreamsToRecords` validates each stream's labels and each entry.
 *    A stream with bad labels, or an entry with an oversized line, is
 *    rejected on its own and named in `problems`; the rest is kept. Loki
 *    answers such a request with 400 after storing what was valid, and its
 *    clients do not resend a 400, so nothing is stored twice.
 *
 * Mapping: each label becomes the resource attribute `loki.label.<name>`
 * (stream-labels.ts turns those back into exactly these stream labels), and
 * `service.name` comes from Loki's service-name discovery. A few well-known
 * Kubernetes labels are also copied to their semantic-convention names so
 * mesh joins see them. Structured metadata becomes record attributes, as
 * sent; trace ids and levels in it (or a `level` label) also fill the
 * record's trace id, span id and severity.
 */
import { uncompress } from 'snappyjs';
import { LOKI_LABEL_PREFIX, UNKNOWN_SERVICE, emptyLogRecord, severityFromText, type Attributes, type LogRecord } from '@meshlog/core';
import { lokiType } from './loki-proto.js';
import type { LabelParser, LabelPairs } from './loki-labels.js';

export class LokiDecodeError extends Error {
  constructor(
    message: string,
    /** 413 when the body would decompress past the size cap, else 400. */
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
    this.name = 'LokiDecodeError';
  }
}

export type LokiEncoding = 'protobuf' | 'json';

/** Loki's rule: JSON when the content type says so, protobuf for anything else (including none). */
export function lokiEncodingOf(contentType: string): LokiEncoding {
  const ct = contentType.split(';')[0]!.trim().toLowerCase();
  return ct === 'application/json' ? 'json' : 'protobuf';
}

export interface PushEntry {
  /** 0n = the sender gave none: the record takes the time it was received. */
  timeUnixNano: bigint;
  line: string;
  metadata: [string, string][];
}

export interface PushStream {
  /** Protobuf: the label text. JSON: the label object. */
  labels: string | Record<string, string>;
  entries: PushEntry[];
}

export interface DecodeOptions {
  /** Largest body after undoing snappy. */
  maxBodyBytes: number;
  /** The body carries `Content-Encoding: snappy` (JSON bodies may, protobuf ones always are). */
  snappyEncoded: boolean;
}

export function decodeLokiPush(body: Buffer, encoding: LokiEncoding, opts: DecodeOptions): PushStream[] {
  if (encoding === 'protobuf' || opts.snappyEncoded) body = unsnappy(body, opts.maxBodyBytes, encoding);
  return encoding === 'protobuf' ? decodeProtobuf(body) : decodeJson(body);
}

function unsnappy(body: Buffer, maxBytes: number, encoding: LokiEncoding): Buffer {
  if (body.length === 0) return body;
  // The stated length is checked here, not left to the decoder: nothing is allocated for a bomb.
  const stated = snappyLength(body);
  if (stated !== undefined && stated > maxBytes) throw new LokiDecodeError(`snappy body would decompress past the ${maxBytes}-byte request limit (it states ${stated} bytes)`, 413);
  try {
    return uncompress(body, maxBytes);
  } catch (err) {
    const message = (err as Error).message;
    if (/too big/.test(message)) throw new LokiDecodeError(`snappy body would decompress past the ${maxBytes}-byte request limit`, 413);
    const hint = encoding === 'protobuf' ? ' (a protobuf push must be snappy block-compressed; send Content-Type: application/json for JSON)' : '';
    throw new LokiDecodeError(`invalid snappy-compressed body: ${message}${hint}`);
  }
}

/** The uncompressed length a snappy block states up front (a little-endian base-128 varint, at most 32 bits). */
function snappyLength(body: Buffer): number | undefined {
  let n = 0;
  for (let i = 0; i < 5 && i < body.length; i++) {
    const b = body[i]!;
    n += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return n;
  }
  return undefined;
}

const NS_PER_S = 1_000_000_000n;
const MAX_SECONDS = 18_446_744_072n; // keeps seconds * 1e9 + nanos inside uint64

function decodeProtobuf(body: Buffer): PushStream[] {
  let req: { streams?: { labels?: string; entries?: { timestamp?: { seconds?: unknown; nanos?: number } | null; line?: string; structuredMetadata?: { name?: string; value?: string }[] }[] }[] };
  try {
    req = lokiType('PushRequest').decode(body) as never;
  } catch (err) {
    throw new LokiDecodeError(`invalid protobuf PushRequest: ${(err as Error).message}`);
  }
  return (req.streams ?? []).map((s, i) => ({
    labels: s.labels ?? '',
    entries: (s.entries ?? []).map((e, j) => {
      const path = `streams[${i}].entries[${j}]`;
      return {
        timeUnixNano: protoTimestamp(e.timestamp, `${path}.timestamp`),
        line: e.line ?? '',
        metadata: (e.structuredMetadata ?? []).map((p) => [p.name ?? '', p.value ?? ''] as [string, string]),
      };
    }),
  }));
}

function protoTimestamp(ts: { seconds?: unknown; nanos?: number } | null | undefined, path: string): bigint {
  if (!ts) return 0n;
  const seconds = int64(ts.seconds);
  const nanos = ts.nanos ?? 0;
  if (seconds < 0n || seconds > MAX_SECONDS) throw new LokiDecodeError(`${path}: seconds ${seconds} is out of range (0 .. ${MAX_SECONDS})`);
  if (!Number.isInteger(nanos) || nanos < 0 || nanos >= 1e9) throw new LokiDecodeError(`${path}: nanos ${nanos} is out of range (0 .. 999999999)`);
  return seconds * NS_PER_S + BigInt(nanos);
}

function int64(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number };
    return (BigInt(l.high | 0) << 32n) | BigInt(l.low >>> 0);
  }
  return BigInt(String(v));
}

const INT64_MAX = (1n << 63n) - 1n;

function decodeJson(body: Buffer): PushStream[] {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new LokiDecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new LokiDecodeError('invalid push request: expected an object {"streams": [...]} at the top level');
  const streams = value['streams'];
  if (!Array.isArray(streams)) throw new LokiDecodeError('invalid push request: "streams" must be an array of {"stream": {labels}, "values": [["<unix ns>", "<line>"], ...]}');
  return streams.map((s: unknown, i): PushStream => {
    const path = `streams[${i}]`;
    if (!isObject(s)) throw new LokiDecodeError(`${path}: expected an object with "stream" and "values"`);
    const labels = s['stream'] ?? {};
    if (!isObject(labels)) throw new LokiDecodeError(`${path}.stream: expected an object of label names to string values`);
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== 'string') throw new LokiDecodeError(`${path}.stream.${k}: label values must be strings, got ${typeName(v)}`);
    }
    const values = s['values'] ?? [];
    if (!Array.isArray(values)) throw new LokiDecodeError(`${path}.values: expected an array of ["<unix ns>", "<line>", {metadata}?]`);
    return { labels: labels as Record<string, string>, entries: values.map((v: unknown, j) => jsonEntry(v, `${path}.values[${j}]`)) };
  });
}

function jsonEntry(v: unknown, path: string): PushEntry {
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) throw new LokiDecodeError(`${path}: expected ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {structured metadata}]`);
  const [ts, line, meta] = v as unknown[];
  if (typeof ts !== 'string' || !/^\d{1,19}$/.test(ts) || BigInt(ts) > INT64_MAX) {
    throw new LokiDecodeError(`${path}[0]: the timestamp must be a string of Unix epoch nanoseconds (e.g. "1700000000000000000"), got ${abbreviateJson(ts)}`);
  }
  if (typeof line !== 'string') throw new LokiDecodeError(`${path}[1]: the log line must be a string, got ${typeName(line)}`);
  const metadata: [string, string][] = [];
  if (meta !== undefined) {
    if (!isObject(meta)) throw new LokiDecodeError(`${path}[2]: structured metadata must be an object of string values, got ${typeName(meta)}`);
    for (const [k, mv] of Object.entries(meta)) {
      if (typeof mv !== 'string') throw new LokiDecodeError(`${path}[2].${k}: structured metadata values must be strings, got ${typeName(mv)}`);
      metadata.push([k, mv]);
    }
  }
  return { timeUnixNano: BigInt(ts), line, metadata };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

function abbreviateJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return `${s.length > 40 ? s.slice(0, 40) + '…' : s} (${typeName(v)})`;
}

export interface RecordOptions {
  labels: LabelParser;
  /** Labels that name the service when there is no `service_name` label. */
  discoverServiceName: readonly string[];
  /** 0 = no limit. */
  maxLineBytes: number;
  now: bigint;
}

export interface LokiRecords {
  records: LogRecord[];
  /** Entries rejected (a bad stream counts all of its entries). */
  rejected: number;
  /** What was wrong, one message per rejected stream or entry, in request order. */
  problems: string[];
}

/** Loki labels copied to semantic-convention resource attributes (they add no stream labels). */
const SEMCONV_COPIES: readonly (readonly [string, string])[] = [
  ['namespace', 'k8s.namespace.name'],
  ['pod', 'k8s.pod.name'],
  ['container', 'k8s.container.name'],
  ['node_name', 'k8s.node.name'],
  ['cluster', 'k8s.cluster.name'],
  ['host', 'host.name'],
  ['hostname', 'host.name'],
];

/** Where Loki looks for a level, in this order: structured metadata, then stream labels. */
const LEVEL_KEYS = ['detected_level', 'level', 'Level', 'LEVEL', 'severity', 'Severity', 'SEVERITY', 'lvl', 'Lvl', 'LVL'];
const TRACE_ID_KEYS = ['trace_id', 'traceId', 'traceID', 'trace.id'];
const SPAN_ID_KEYS = ['span_id', 'spanId', 'spanID', 'span.id'];
const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;

export function lokiStreamsToRecords(streams: PushStream[], opts: RecordOptions): LokiRecords {
  const out: LokiRecords = { records: [], rejected: 0, problems: [] };
  for (const stream of streams) {
    if (stream.entries.length === 0) continue;
    const parsed = typeof stream.labels === 'string' ? opts.labels.parseText(stream.labels) : opts.labels.fromObject(stream.labels);
    if (parsed.problem !== undefined) {
      out.rejected += stream.entries.length;
      out.problems.push(parsed.problem);
      continue;
    }
    // One resource object per stream of this request (shared by its records, never across requests).
    const resource = resourceOf(parsed.pairs, opts.discoverServiceName);
    const streamLevel = firstOf(parsed.pairs, LEVEL_KEYS);
    for (let j = 0; j < stream.entries.length; j++) {
      const e = stream.entries[j]!;
      if (opts.maxLineBytes > 0 && lineTooLong(e.line, opts.maxLineBytes)) {
        out.rejected++;
        out.problems.push(`stream ${labelsText(parsed.pairs)} entry ${j}: line of ${Buffer.byteLength(e.line)} bytes exceeds max_line_size ${opts.maxLineBytes}`);
        continue;
      }
      out.records.push(recordOf(e, resource, streamLevel, opts.now));
    }
  }
  return out;
}

function resourceOf(pairs: LabelPairs, discover: readonly string[]): Attributes {
  const resource: Attributes = {};
  for (const [name, value] of pairs) resource[LOKI_LABEL_PREFIX + name] = value;
  for (const [label, attr] of SEMCONV_COPIES) {
    const v = resource[LOKI_LABEL_PREFIX + label];
    if (v !== undefined && resource[attr] === undefined) resource[attr] = v;
  }
  resource['service.name'] = serviceName(resource, discover);
  return resource;
}

/** Loki's rule: the `service_name` label, else the first discovery label present, else `unknown_service`. */
function serviceName(resource: Attributes, discover: readonly string[]): string {
  const own = resource[`${LOKI_LABEL_PREFIX}service_name`];
  if (own !== undefined) return String(own);
  for (const label of discover) {
    const v = resource[LOKI_LABEL_PREFIX + label];
    if (v !== undefined && v !== '') return String(v);
  }
  return UNKNOWN_SERVICE;
}

function recordOf(e: PushEntry, resource: Attributes, streamLevel: string | undefined, now: bigint): LogRecord {
  const r = emptyLogRecord();
  r.resource = resource;
  r.observedTimeUnixNano = now;
  r.timeUnixNano = e.timeUnixNano === 0n ? now : e.timeUnixNano;
  r.body = e.line;
  if (e.metadata.length > 0) {
    const attributes: Attributes = {};
    for (const [k, v] of e.metadata) if (k !== '') attributes[k] = v;
    r.attributes = attributes;
    const trace = firstIn(attributes, TRACE_ID_KEYS);
    if (trace !== undefined && HEX32.test(trace) && !/^0+$/.test(trace)) r.traceId = trace.toLowerCase();
    const span = firstIn(attributes, SPAN_ID_KEYS);
    if (span !== undefined && HEX16.test(span) && !/^0+$/.test(span)) r.spanId = span.toLowerCase();
    const level = firstIn(attributes, LEVEL_KEYS) ?? streamLevel;
    if (level !== undefined) setLevel(r, level);
  } else if (streamLevel !== undefined) {
    setLevel(r, streamLevel);
  }
  return r;
}

function setLevel(r: LogRecord, level: string): void {
  r.severityText = level;
  r.severityNumber = severityFromText(level);
}

function firstIn(attributes: Attributes, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = attributes[k];
    if (v !== undefined && v !== '') return String(v);
  }
  return undefined;
}

function firstOf(pairs: LabelPairs, keys: readonly string[]): string | undefined {
  for (const k of keys) for (const [name, value] of pairs) if (name === k) return value;
  return undefined;
}

/** UTF-8 length without encoding when the UTF-16 length already decides (1-3 bytes per code unit). */
function lineTooLong(line: string, max: number): boolean {
  if (line.length > max) return true;
  if (line.length * 3 <= max) return false;
  return Buffer.byteLength(line) > max;
}

function labelsText(pairs: LabelPairs): string {
  const text = `{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
