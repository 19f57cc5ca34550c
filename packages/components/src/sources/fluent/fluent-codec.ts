/**
 * The MessagePack codec of the Fluentd Forward Protocol v1: a decoder with
 * the EventTime extension (ext type 0: big-endian uint32 seconds, uint32
 * nanoseconds) registered, and the encoder for what the server sends (HELO,
 * PONG, ack maps).
 *
 * Invariants: decoding never yields an unregistered extension as anything
 * but `ExtData` (kept opaque), and every failure is a thrown error the caller
 * catches per record; map keys `__proto__` are refused by the library.
 */
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';

/** Fluentd's EventTime: seconds and nanoseconds since the Unix epoch. */
export class EventTime {
  constructor(
    readonly seconds: number,
    readonly nanoseconds: number,
  ) {}

  get unixNano(): bigint {
    return BigInt(this.seconds) * 1_000_000_000n + BigInt(this.nanoseconds);
  }
}

export const EVENT_TIME_EXT_TYPE = 0;

const codec = new ExtensionCodec();
codec.register({
  type: EVENT_TIME_EXT_TYPE,
  encode: (value: unknown) => {
    if (!(value instanceof EventTime)) return null;
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, value.seconds);
    view.setUint32(4, value.nanoseconds);
    return out;
  },
  decode: (data: Uint8Array) => {
    // The spec fixes the payload at 8 bytes (fixext 8); anything else is a broken time.
    if (data.length !== 8) throw new RangeError(`EventTime must be 8 bytes, got ${data.length}`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const nanoseconds = view.getUint32(4);
    if (nanoseconds > 999_999_999) throw new RangeError(`EventTime nanoseconds out of range: ${nanoseconds}`);
    return new EventTime(view.getUint32(0), nanoseconds);
  },
});

// One decoder per process: decode() is synchronous and the library clones
// itself if re-entered, so sharing is safe and saves the key cache warm-up.
const decoder = new Decoder({ extensionCodec: codec });
const encoder = new Encoder({ extensionCodec: codec });

/** Decodes one complete msgpack value; throws on anything malformed. */
export function decodeValue(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

export function encodeValue(value: unknown): Buffer {
  const out = encoder.encode(value);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
