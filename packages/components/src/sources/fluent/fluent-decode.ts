/**
 * One complete forward-protocol message (a msgpack frame) -> what it means:
 * a handshake PING, or events in one of the four event modes
 *
 *   Message                 [tag, time, record, option?]
 *   Forward                 [tag, [[time, record], ...], option?]
 *   PackedForward           [tag, <str|bin: concatenated msgpack entries>, option?]
 *   CompressedPackedForward the same with option.compressed = "gzip"
 *
 * The frame is walked with the framing scanner and only its parts are
 * decoded, so the packed entries (which Fluentd sends as msgpack *str*
 * holding binary) never pass through a UTF-8 decoder, and each entry is
 * decoded on its own: a bad entry is rejected and counted while the others
 * are kept. Forward mode's entry array is, after its header, exactly a
 * stream of entries, so all three batch modes share `decodeEntryStream`.
 *
 * Errors: a frame that is valid msgpack but no forward message throws
 * `ForwardDecodeError` naming what is wrong (with the chunk id when one could
 * be read, so the caller can still answer it). Nothing else escapes.
 */
import { decodeValue, EventTime } from './fluent-codec.js';
import { FramingError, kindAt, rawBytesAt, readArrayHeader, skipValue } from './msgpack-framing.js';
import { fluentEventToLogRecord, type FluentEvent } from './fluent-record.js';
import type { LogRecord } from '@meshlog/core';

export class ForwardDecodeError extends Error {
  constructor(
    message: string,
    /** The option of the message when it could be read (its chunk is still acknowledged). */
    readonly option?: ForwardOption,
    /**
     * The value is not even an array: every forward message is one, so the
     * stream is out of step (or not the forward protocol: JSON, HTTP) and
     * nothing after it can be trusted.
     */
    readonly streamBroken = false,
  ) {
    super(message);
    this.name = 'ForwardDecodeError';
  }
}

/** The chunk id exactly as the client sent it (str or bin), so the ack echoes the same bytes and type. */
export type ChunkId = string | Uint8Array;

export interface ForwardOption {
  chunk?: ChunkId;
  size?: number;
  compressed?: string;
  /** Fluent Bit: 0 logs, 1 metrics, 2 traces. */
  fluentSignal?: number;
}

export type EventMode = 'message' | 'forward' | 'packed_forward' | 'compressed_packed_forward';

export interface PingMessage {
  type: 'ping';
  hostname: string;
  salt: Uint8Array;
  sharedKeyDigest: string;
  username: string;
  passwordDigest: string;
}

export interface EventsMessage {
  type: 'events';
  mode: EventMode;
  tag: string;
  option: ForwardOption;
  /** Message mode: the one entry's parts, undecoded. */
  message?: { time: Uint8Array; record: Uint8Array };
  /** Batch modes: the concatenated entries (gzip members for compressed_packed_forward). */
  entries?: Uint8Array;
  /** Forward mode: the entry count its array header declares. */
  declaredEntries?: number;
}

export type ForwardMessage = PingMessage | EventsMessage;

export function parseForwardMessage(frame: Uint8Array): ForwardMessage {
  const top = readArrayHeader(frame, 0);
  if (!top) throw new ForwardDecodeError(`expected a msgpack array at the top of a forward message, got ${kindAt(frame, 0)}`, undefined, true);
  if (top.length < 2 || top.length > 6) throw new ForwardDecodeError(`a forward message is an array of 2 to 4 elements (6 for PING), got ${top.length}`);
  const spans: [number, number][] = [];
  let pos = top.start;
  try {
    for (let i = 0; i < top.length; i++) {
      const end = skipValue(frame, pos);
      spans.push([pos, end]);
      pos = end;
    }
  } catch (err) {
    throw new ForwardDecodeError(err instanceof FramingError ? err.message : String(err));
  }
  const part = (i: number): Uint8Array => frame.subarray(spans[i]![0], spans[i]![1]);
  const str = (i: number): string | undefined => {
    if (kindAt(frame, spans[i]![0]) !== 'str') return undefined;
    const v = safeDecode(part(i));
    return typeof v === 'string' ? v : undefined;
  };

  const head = str(0);
  if (head === 'PING' && top.length === 6) return parsePing(frame, spans, str);
  if (top.length > 4) throw new ForwardDecodeError(`a forward message is an array of 2 to 4 elements, got ${top.length}`);

  // The option is the last element of a 3-element batch message or the 4th of a Message.
  const kind1 = kindAt(frame, spans[1]![0]);
  const batch = kind1 === 'array' || kind1 === 'str' || kind1 === 'bin';
  const optionIndex = batch ? 2 : 3;
  const option = optionIndex < top.length ? parseOption(part(optionIndex)) : {};
  if (head === undefined) throw new ForwardDecodeError(`the tag (element 0) must be a string, got ${kindAt(frame, spans[0]![0])}`, option);

  if (kind1 === 'array') {
    if (top.length > 3) throw new ForwardDecodeError(`a Forward mode message has at most 3 elements, got ${top.length}`, option);
    const arr = readArrayHeader(frame, spans[1]![0])!;
    return { type: 'events', mode: 'forward', tag: head, option, entries: frame.subarray(arr.start, spans[1]![1]), declaredEntries: arr.length };
  }
  if (kind1 === 'str' || kind1 === 'bin') {
    if (top.length > 3) throw new ForwardDecodeError(`a PackedForward mode message has at most 3 elements, got ${top.length}`, option);
    const entries = rawBytesAt(frame, spans[1]![0], spans[1]![1])!;
    const compressed = option.compressed === undefined || option.compressed === 'text' ? undefined : option.compressed;
    return { type: 'events', mode: compressed !== undefined ? 'compressed_packed_forward' : 'packed_forward', tag: head, option, entries };
  }
  if (top.length < 3) throw new ForwardDecodeError(`a Message mode message is [tag, time, record, option?], got ${top.length} elements`, option);
  return { type: 'events', mode: 'message', tag: head, option, message: { time: part(1), record: part(2) } };
}

function parsePing(frame: Uint8Array, spans: [number, number][], str: (i: number) => string | undefined): PingMessage {
  const hostname = str(1);
  const salt = rawBytesAt(frame, spans[2]![0], spans[2]![1]);
  const sharedKeyDigest = str(3);
  const username = str(4);
  const passwordDigest = str(5);
  if (hostname === undefined || salt === undefined || sharedKeyDigest === undefined || username === undefined || passwordDigest === undefined) {
    throw new ForwardDecodeError('a PING is ["PING", hostname, salt, shared key digest, username, password digest] with string elements');
  }
  return { type: 'ping', hostname, salt: Uint8Array.from(salt), sharedKeyDigest, username, passwordDigest };
}

function parseOption(bytes: Uint8Array): ForwardOption {
  const kind = kindAt(bytes, 0);
  if (kind === 'nil') return {};
  if (kind !== 'map') throw new ForwardDecodeError(`the option must be a map, got ${kind}`);
  const v = safeDecode(bytes);
  if (typeof v !== 'object' || v === null) throw new ForwardDecodeError('the option map does not decode');
  const o = v as Record<string, unknown>;
  const out: ForwardOption = {};
  const chunk = o['chunk'];
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
    if (chunk.length > 0 && chunk.length <= 256) out.chunk = chunk;
    else throw new ForwardDecodeError(`option.chunk must be 1 to 256 bytes, got ${chunk.length}`);
  } else if (chunk !== undefined && chunk !== null) {
    throw new ForwardDecodeError('option.chunk must be a string');
  }
  if (typeof o['size'] === 'number' && Number.isSafeInteger(o['size']) && o['size'] >= 0) out.size = o['size'];
  const compressed = o['compressed'];
  if (typeof compressed === 'string') out.compressed = compressed;
  else if (compressed instanceof Uint8Array) out.compressed = Buffer.from(compressed).toString('latin1');
  if (typeof o['fluent_signal'] === 'number') out.fluentSignal = o['fluent_signal'];
  return out;
}

/** Decodes, mapping any failure to undefined (for the parts whose type is checked by the caller). */
function safeDecode(bytes: Uint8Array): unknown {
  try {
    return decodeValue(bytes);
  } catch {
    return undefined;
  }
}

export interface DecodedEntries {
  records: LogRecord[];
  rejected: number;
  /** Entries that are no records (Fluent Bit group markers). */
  skipped: number;
  /** The first per-entry problem, for the log line. */
  firstError: string | undefined;
}

/** Unix nanoseconds must fit an Int64: seconds beyond this are not a time. */
const MAX_SECONDS = 9_000_000_000;

/** Time of an entry: EventTime, integer or fractional seconds; 0 or nil means "now" (as Fluentd does). */
export function timeOf(v: unknown, now: bigint): bigint {
  if (v instanceof EventTime) return v.seconds === 0 && v.nanoseconds === 0 ? now : v.unixNano;
  if (v === null || v === undefined) return now;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > MAX_SECONDS) throw new RangeError(`time ${v} is not seconds since the epoch`);
    if (v === 0) return now;
    const whole = Math.floor(v);
    return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((v - whole) * 1e9));
  }
  throw new TypeError(`time must be an integer or EventTime, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'binary';
  return typeof v;
}

function recordOf(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof EventTime) {
    throw new TypeError(`record must be a map, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

/**
 * Fluent Bit's group markers: entries of its `[[time, metadata], body]` form
 * whose time is -1 (group start) or -2 (group end). They frame records, they
 * are not records.
 */
function isGroupMarker(time: unknown): boolean {
  if (typeof time === 'number') return time === -1 || time === -2;
  // As an EventTime the seconds are an unsigned 32-bit field: -1 and -2 wrap around.
  return time instanceof EventTime && (time.seconds === 0xffffffff || time.seconds === 0xfffffffe);
}

/** One entry value: `[time, record]` or Fluent Bit's `[[time, metadata], record]`; null for a group marker. */
function eventOf(tag: string, entry: unknown, now: bigint): FluentEvent | null {
  if (!Array.isArray(entry) || entry.length < 2) throw new TypeError(`an entry is [time, record], got ${describe(entry)}${Array.isArray(entry) ? ` of ${entry.length}` : ''}`);
  let time: unknown = entry[0];
  let metadata: Record<string, unknown> | undefined;
  if (Array.isArray(time)) {
    const header = time as unknown[];
    if (isGroupMarker(header[0])) return null;
    time = header[0];
    if (header[1] !== undefined && header[1] !== null) {
      const m = recordOf(header[1]);
      if (Object.keys(m).length > 0) metadata = m;
    }
  }
  return { tag, timeUnixNano: timeOf(time, now), record: recordOf(entry[1]), ...(metadata ? { metadata } : {}) };
}

/**
 * Records of one message (or one read of Message-mode events) from one pod
 * carry equal resources; handing the store one shared object per distinct
 * resource lets it encode stream labels and resource arrays once per
 * resource instead of once per record.
 */
export class ResourceInterner {
  private readonly seen = new Map<string, LogRecord['resource']>();

  intern(r: LogRecord): void {
    const key = JSON.stringify(r.resource);
    const shared = this.seen.get(key);
    if (shared) r.resource = shared;
    else if (this.seen.size < 1024) this.seen.set(key, r.resource);
  }
}

function toRecord(tag: string, decode: () => unknown, now: bigint, out: DecodedEntries, index: number, interner?: ResourceInterner): void {
  try {
    const ev = eventOf(tag, decode(), now);
    if (ev === null) {
      out.skipped++;
      return;
    }
    const r = fluentEventToLogRecord(ev, now);
    interner?.intern(r);
    out.records.push(r);
  } catch (err) {
    out.rejected++;
    out.firstError ??= `entry ${index}: ${(err as Error).message}`;
  }
}

/** Message mode: the one event. */
export function decodeMessageEntry(tag: string, parts: { time: Uint8Array; record: Uint8Array }, now: bigint, interner?: ResourceInterner): DecodedEntries {
  const out: DecodedEntries = { records: [], rejected: 0, skipped: 0, firstError: undefined };
  toRecord(tag, () => [decodeValue(parts.time), decodeValue(parts.record)], now, out, 0, interner);
  return out;
}

/**
 * Decodes a stream of concatenated msgpack entries (Forward, PackedForward
 * and decompressed CompressedPackedForward). Each entry is decoded alone; a
 * broken one is rejected and counted. When the stream itself breaks (an
 * entry cut short), the rest cannot be delimited: it counts as
 * `expected - decoded` rejected entries (at least one).
 */
export function decodeEntryStream(tag: string, bytes: Uint8Array, now: bigint, expected?: number, interner: ResourceInterner = new ResourceInterner()): DecodedEntries {
  const out: DecodedEntries = { records: [], rejected: 0, skipped: 0, firstError: undefined };
  let pos = 0;
  let index = 0;
  while (pos < bytes.length) {
    let end: number;
    try {
      end = skipValue(bytes, pos);
    } catch (err) {
      const seen = out.records.length + out.rejected + out.skipped;
      out.rejected += Math.max(1, (expected ?? 0) - seen);
      out.firstError ??= `entry ${index}: ${(err as Error).message}`;
      return out;
    }
    const slice = bytes.subarray(pos, end);
    toRecord(tag, () => decodeValue(slice), now, out, index, interner);
    pos = end;
    index++;
  }
  return out;
}
