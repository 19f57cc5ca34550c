/**
 * MessagePack framing without decoding: where one msgpack value ends.
 *
 * A forward-protocol TCP stream is a sequence of msgpack values with no
 * length prefix, so a receiver must understand the encoding to find message
 * boundaries. `MessageFramer` does that incrementally: it walks type headers
 * only (never materializes values), skipping str/bin/ext payloads by their
 * declared length, and keeps a single counter of values still owed by the
 * current message (an array of n owes n more, a map 2n). That makes the scan
 * resumable across TCP reads at O(bytes) total and immune to nesting depth.
 *
 * Invariants:
 * - at most `maxMessageBytes` of one message are ever buffered: a message
 *   that declares or reaches more is refused (`FramingError`, reason
 *   `message_too_large`) before its bytes arrive;
 * - a byte that is no msgpack type (0xc1) is refused (`malformed`);
 * - a returned frame is exactly one complete msgpack value; nothing is
 *   decoded here, so nothing here can throw anything but `FramingError`.
 */

export type FramingFailure = 'message_too_large' | 'malformed';

export class FramingError extends Error {
  constructor(
    readonly reason: FramingFailure,
    message: string,
  ) {
    super(message);
    this.name = 'FramingError';
  }
}

/** A value header: its size in bytes, the payload it announces, the values nested in it. */
interface Header {
  headerBytes: number;
  payloadBytes: number;
  children: number;
}

const NEED_MORE = null;

/**
 * Reads the header at `pos`. Returns null when `end` cuts it short; throws
 * `FramingError` on a byte that starts no msgpack value.
 */
function readHeader(buf: Uint8Array, pos: number, end: number): Header | null {
  if (pos >= end) return NEED_MORE;
  const b = buf[pos]!;
  if (b <= 0x7f || b >= 0xe0) return { headerBytes: 1, payloadBytes: 0, children: 0 };
  if (b <= 0x8f) return { headerBytes: 1, payloadBytes: 0, children: (b & 0x0f) * 2 };
  if (b <= 0x9f) return { headerBytes: 1, payloadBytes: 0, children: b & 0x0f };
  if (b <= 0xbf) return { headerBytes: 1, payloadBytes: b & 0x1f, children: 0 };
  const len = (n: number): number | null => {
    if (pos + 1 + n > end) return null;
    if (n === 1) return buf[pos + 1]!;
    if (n === 2) return (buf[pos + 1]! << 8) | buf[pos + 2]!;
    return buf[pos + 1]! * 0x1000000 + ((buf[pos + 2]! << 16) | (buf[pos + 3]! << 8) | buf[pos + 4]!);
  };
  const sized = (n: number, extra: number, kind: 'payload' | 'array' | 'map'): Header | null => {
    const l = len(n);
    if (l === null) return NEED_MORE;
    if (kind === 'array') return { headerBytes: 1 + n, payloadBytes: 0, children: l };
    if (kind === 'map') return { headerBytes: 1 + n, payloadBytes: 0, children: l * 2 };
    return { headerBytes: 1 + n + extra, payloadBytes: l, children: 0 };
  };
  switch (b) {
    case 0xc0: // nil
    case 0xc2: // false
    case 0xc3: // true
      return { headerBytes: 1, payloadBytes: 0, children: 0 };
    case 0xc1:
      throw new FramingError('malformed', `byte 0xc1 at offset ${pos} is not a msgpack type`);
    case 0xc4: return sized(1, 0, 'payload'); // bin 8
    case 0xc5: return sized(2, 0, 'payload'); // bin 16
    case 0xc6: return sized(4, 0, 'payload'); // bin 32
    case 0xc7: return sized(1, 1, 'payload'); // ext 8 (+ type byte)
    case 0xc8: return sized(2, 1, 'payload'); // ext 16
    case 0xc9: return sized(4, 1, 'payload'); // ext 32
    case 0xca: return { headerBytes: 5, payloadBytes: 0, children: 0 }; // float 32
    case 0xcb: return { headerBytes: 9, payloadBytes: 0, children: 0 }; // float 64
    case 0xcc: return { headerBytes: 2, payloadBytes: 0, children: 0 }; // uint 8
    case 0xcd: return { headerBytes: 3, payloadBytes: 0, children: 0 };
    case 0xce: return { headerBytes: 5, payloadBytes: 0, children: 0 };
    case 0xcf: return { headerBytes: 9, payloadBytes: 0, children: 0 };
    case 0xd0: return { headerBytes: 2, payloadBytes: 0, children: 0 }; // int 8
    case 0xd1: return { headerBytes: 3, payloadBytes: 0, children: 0 };
    case 0xd2: return { headerBytes: 5, payloadBytes: 0, children: 0 };
    case 0xd3: return { headerBytes: 9, payloadBytes: 0, children: 0 };
    case 0xd4: return { headerBytes: 3, payloadBytes: 0, children: 0 }; // fixext 1 (type + 1)
    case 0xd5: return { headerBytes: 4, payloadBytes: 0, children: 0 }; // fixext 2
    case 0xd6: return { headerBytes: 6, payloadBytes: 0, children: 0 }; // fixext 4
    case 0xd7: return { headerBytes: 10, payloadBytes: 0, children: 0 }; // fixext 8
    case 0xd8: return { headerBytes: 18, payloadBytes: 0, children: 0 }; // fixext 16
    case 0xd9: return sized(1, 0, 'payload'); // str 8
    case 0xda: return sized(2, 0, 'payload'); // str 16
    case 0xdb: return sized(4, 0, 'payload'); // str 32
    case 0xdc: return sized(2, 0, 'array'); // array 16
    case 0xdd: return sized(4, 0, 'array'); // array 32
    case 0xde: return sized(2, 0, 'map'); // map 16
    default: return sized(4, 0, 'map'); // 0xdf map 32
  }
}

/**
 * The end offset of the one complete value starting at `pos` in
 * `buf[..end]`; throws `FramingError('malformed')` when the value is cut
 * short or broken. For walking values inside an already complete frame.
 */
export function skipValue(buf: Uint8Array, pos: number, end: number = buf.length): number {
  let owed = 1;
  while (owed > 0) {
    const h = readHeader(buf, pos, end);
    if (h === null) throw new FramingError('malformed', `value cut short at offset ${pos}`);
    pos += h.headerBytes + h.payloadBytes;
    if (pos > end) throw new FramingError('malformed', `value cut short at offset ${end}`);
    // Every owed value takes at least one byte: a count beyond the bytes left is a lie.
    owed += h.children - 1;
    if (owed > end - pos) throw new FramingError('malformed', `a container announces ${h.children} values but only ${end - pos} bytes remain`);
  }
  return pos;
}

/** The element count of the array header at `pos`, and where its first element starts; undefined when it is no array. */
export function readArrayHeader(buf: Uint8Array, pos: number, end: number = buf.length): { length: number; start: number } | undefined {
  if (pos >= end) return undefined;
  const b = buf[pos]!;
  if (b >= 0x90 && b <= 0x9f) return { length: b & 0x0f, start: pos + 1 };
  if (b === 0xdc && pos + 3 <= end) return { length: (buf[pos + 1]! << 8) | buf[pos + 2]!, start: pos + 3 };
  if (b === 0xdd && pos + 5 <= end) {
    return { length: buf[pos + 1]! * 0x1000000 + ((buf[pos + 2]! << 16) | (buf[pos + 3]! << 8) | buf[pos + 4]!), start: pos + 5 };
  }
  return undefined;
}

/** The kind of the value at `pos` as far as the forward protocol cares. */
export function kindAt(buf: Uint8Array, pos: number): 'array' | 'map' | 'str' | 'bin' | 'nil' | 'int' | 'float' | 'ext' | 'bool' | 'other' {
  const b = buf[pos];
  if (b === undefined) return 'other';
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) return 'int';
  if (b <= 0x8f || b === 0xde || b === 0xdf) return 'map';
  if (b <= 0x9f || b === 0xdc || b === 0xdd) return 'array';
  if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb)) return 'str';
  if (b >= 0xc4 && b <= 0xc6) return 'bin';
  if (b === 0xc0) return 'nil';
  if (b === 0xc2 || b === 0xc3) return 'bool';
  if (b === 0xca || b === 0xcb) return 'float';
  if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) return 'ext';
  return 'other';
}

/**
 * The payload bytes of the str or bin value at `pos` (a view, not a copy),
 * or undefined for any other kind. The forward protocol puts raw bytes in
 * str values (PackedForward entries from Fluentd, PING salts from Fluent
 * Bit), so these must never go through a UTF-8 decoder.
 */
export function rawBytesAt(buf: Uint8Array, pos: number, end: number = buf.length): Uint8Array | undefined {
  const kind = kindAt(buf, pos);
  if (kind !== 'str' && kind !== 'bin') return undefined;
  const h = readHeader(buf, pos, end);
  if (h === null || pos + h.headerBytes + h.payloadBytes > end) return undefined;
  return buf.subarray(pos + h.headerBytes, pos + h.headerBytes + h.payloadBytes);
}

/**
 * Splits a byte stream into complete msgpack values. `push` appends bytes;
 * `next` returns the next complete value (a copy the caller owns) or
 * undefined when more bytes are needed, and throws `FramingError` when the
 * stream cannot continue (the connection must then be closed: after a
 * framing error there is no way to find the next message boundary).
 */
export class MessageFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Start of the current (incomplete) message in `buf`. */
  private start = 0;
  /** Bytes of `buf` filled. */
  private end = 0;
  /** Where the scan of the current message goes on (may point past `end` while a payload is incomplete). */
  private scan = 0;
  /** Values the current message still owes (its payloads may still be arriving when 0). */
  private owed = 0;
  /** Whether a message has begun: `scan` and `owed` describe it. */
  private inMessage = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes buffered that belong to a message not yet complete. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const needed = live + chunk.length;
      if (needed <= this.buf.length && this.start > 0) {
        // Enough room once the consumed prefix is dropped.
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(this.buf.length * 2, this.maxMessageBytes + 65_536), 16_384));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.scan -= this.start;
      this.end = live;
      this.start = 0;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  next(): Buffer | undefined {
    if (this.start === this.end) return undefined;
    if (!this.inMessage) {
      this.inMessage = true;
      this.owed = 1;
      this.scan = this.start;
    }
    while (this.owed > 0) {
      if (this.scan >= this.end) return this.waitForMore();
      const h = readHeader(this.buf, this.scan, this.end);
      if (h === null) return this.waitForMore();
      this.scan += h.headerBytes + h.payloadBytes;
      this.owed += h.children - 1;
      // Each owed value needs at least a byte: refuse as soon as the declared shape cannot fit.
      if (this.scan - this.start + this.owed > this.maxMessageBytes) {
        throw new FramingError('message_too_large', `a forward message exceeds the ${this.maxMessageBytes}-byte limit (max_message_bytes)`);
      }
    }
    if (this.scan > this.end) return this.waitForMore();
    const frame = Buffer.from(this.buf.subarray(this.start, this.scan));
    this.start = this.scan;
    this.inMessage = false;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      this.scan = 0;
      // Do not keep a big buffer alive for a connection that sent one big message.
      if (this.buf.length > 1 << 20) this.buf = Buffer.alloc(0);
    }
    return frame;
  }

  private waitForMore(): undefined {
    if (this.end - this.start > this.maxMessageBytes) {
      throw new FramingError('message_too_large', `a forward message exceeds the ${this.maxMessageBytes}-byte limit (max_message_bytes)`);
    }
    return undefined;
  }
}
