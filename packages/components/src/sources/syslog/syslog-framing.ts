/**
 * Message framing on a syslog byte stream (TCP and TLS), RFC 6587: octet
 * counting (`LEN SP MSG`, what RFC 5425 prescribes for TLS) or
 * non-transparent framing (a message ends at LF, or NUL as some senders
 * use), detected per message: a frame that starts with a digit and whose
 * digits end in a space is octet-counted, anything else runs to the next LF
 * or NUL. (A syslog message starts with `<`, so the two never collide; a
 * line that is not syslog at all is still cut at its newline.)
 *
 * Invariants:
 * - memory per connection is bounded: a frame keeps at most
 *   `maxMessageBytes`; the rest of a longer frame is consumed and dropped,
 *   and the frame is reported with its full length so the caller can count
 *   the truncation;
 * - the frames produced do not depend on how the stream is chunked (a test
 *   checks random chunkings against a single chunk);
 * - LF, CR, NUL and spaces between frames are skipped; trailing CR/LF/NUL
 *   inside a frame are trimmed (octet-counted senders often end MSG with LF).
 */

export type FrameHandler = (frame: Buffer, originalBytes: number) => void;

const enum State {
  /** Between frames. */
  Start,
  /** Reading LEN digits (kept in `lenDigits`). */
  Length,
  /** Inside an octet-counted MSG: `remaining` bytes to go. */
  Counted,
  /** Inside a newline-terminated frame. */
  Line,
}

/** More digits than this is not a length (10^10 bytes): the frame is read as a line. */
const MAX_LEN_DIGITS = 10;

export class SyslogFramer {
  private state = State.Start;
  private lenDigits = '';
  private remaining = 0;
  private parts: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes held for an incomplete frame (bounded by `maxMessageBytes`). */
  get bufferedBytes(): number {
    return this.kept;
  }

  push(chunk: Buffer, onFrame: FrameHandler): void {
    let i = 0;
    const n = chunk.length;
    // Next LF and NUL at or after i, found with the native indexOf and reused until passed.
    let nextLf = -1;
    let nextNul = -1;
    while (i < n) {
      switch (this.state) {
        case State.Start: {
          const c = chunk[i]!;
          if (c === 0x0a || c === 0x0d || c === 0x00 || c === 0x20) {
            i++;
          } else if (c >= 0x30 && c <= 0x39) {
            this.state = State.Length;
            this.lenDigits = '';
          } else {
            this.state = State.Line;
          }
          break;
        }
        case State.Length: {
          const c = chunk[i]!;
          if (c >= 0x30 && c <= 0x39 && this.lenDigits.length < MAX_LEN_DIGITS) {
            this.lenDigits += String.fromCharCode(c);
            i++;
          } else if (c === 0x20 && this.lenDigits.length > 0) {
            i++;
            this.remaining = Number(this.lenDigits);
            this.lenDigits = '';
            this.total = 0;
            this.state = State.Counted;
            if (this.remaining === 0) this.state = State.Start;
          } else {
            // Not a length after all: the digits begin a newline-terminated line.
            this.state = State.Line;
            this.append(Buffer.from(this.lenDigits, 'latin1'));
            this.lenDigits = '';
          }
          break;
        }
        case State.Counted: {
          const take = Math.min(this.remaining, n - i);
          this.append(chunk.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.emit(onFrame);
          break;
        }
        case State.Line: {
          if (nextLf < i) nextLf = indexOrEnd(chunk, 0x0a, i);
          if (nextNul < i) nextNul = indexOrEnd(chunk, 0x00, i);
          const end = Math.min(nextLf, nextNul);
          this.append(chunk.subarray(i, end));
          i = end;
          if (end < n) {
            i++;
            this.emit(onFrame);
          }
          break;
        }
      }
    }
  }

  /**
   * The stream ended: a newline-framed message without its final LF is still
   * a message. An octet-counted frame cut short is passed on as it is (its
   * `originalBytes` is what arrived).
   */
  end(onFrame: FrameHandler): void {
    if (this.state === State.Length && this.lenDigits !== '') {
      this.append(Buffer.from(this.lenDigits, 'latin1'));
      this.lenDigits = '';
    }
    if (this.total > 0) this.emit(onFrame);
    this.state = State.Start;
  }

  private append(b: Buffer): void {
    if (b.length === 0) return;
    this.total += b.length;
    const room = this.maxMessageBytes - this.kept;
    if (room <= 0) return;
    const keep = b.length <= room ? b : b.subarray(0, room);
    // Views, not copies: a socket hands out a new buffer per read, so a view stays valid; a
    // frame that spans chunks is joined once, when it is complete.
    this.parts.push(keep);
    this.kept += keep.length;
  }

  private emit(onFrame: FrameHandler): void {
    const parts = this.parts;
    let frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.kept);
    let end = frame.length;
    while (end > 0 && (frame[end - 1] === 0x0a || frame[end - 1] === 0x0d || frame[end - 1] === 0x00)) end--;
    if (end !== frame.length) frame = frame.subarray(0, end);
    const total = this.total;
    this.parts = [];
    this.kept = 0;
    this.total = 0;
    this.state = State.Start;
    if (frame.length > 0) onFrame(frame, total);
  }
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}
