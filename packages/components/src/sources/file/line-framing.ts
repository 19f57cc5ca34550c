/**
 * Bytes of a file -> lines -> records. `LineSplitter` cuts at '\n' (a
 * trailing '\r' goes too), carries a partial last line to the next chunk,
 * and cuts lines longer than `maxLineBytes` (the rest up to the newline is
 * skipped; the line is marked truncated and counted). `MultilineJoiner`
 * joins lines into one record by a start or continuation pattern, bounded
 * in lines and bytes, and lets a record that waits too long go.
 *
 * Every line and record knows the file offset just past its last byte: the
 * checkpoint may move there once it was acknowledged.
 */
import type { MultilineConfig } from './config.js';

export interface Line {
  text: string;
  /** Offset just past the line's newline. */
  end: number;
  truncated: boolean;
}

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  private skipping = false;
  /** Offset just past the last complete line. */
  consumed: number;

  constructor(
    private readonly maxLineBytes: number,
    start: number,
    private readonly onTruncated: () => void,
  ) {
    this.consumed = start;
  }

  /** Bytes held as a partial line. */
  get pending(): number {
    return this.carryLen;
  }

  reset(start: number): void {
    this.carry = [];
    this.carryLen = 0;
    this.skipping = false;
    this.consumed = start;
  }

  /** `chunk` starts at file offset `at`; pushes complete lines to `out`. */
  push(chunk: Buffer, at: number, out: Line[]): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.hold(chunk.subarray(pos), at + chunk.length, out);
        return;
      }
      const end = at + nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.consumed = end;
        pos = nl + 1;
        continue;
      }
      let lineEnd = nl;
      if (this.carryLen === 0) {
        if (lineEnd > pos && chunk[lineEnd - 1] === 13) lineEnd--;
        if (lineEnd - pos > this.maxLineBytes) {
          out.push({ text: chunk.toString('utf8', pos, pos + this.maxLineBytes), end, truncated: true });
          this.onTruncated();
        } else out.push({ text: chunk.toString('utf8', pos, lineEnd), end, truncated: false });
      } else {
        this.carry.push(chunk.subarray(pos, nl));
        let whole = Buffer.concat(this.carry, this.carryLen + nl - pos);
        this.carry = [];
        this.carryLen = 0;
        if (whole.length > 0 && whole[whole.length - 1] === 13) whole = whole.subarray(0, whole.length - 1);
        if (whole.length > this.maxLineBytes) {
          out.push({ text: whole.toString('utf8', 0, this.maxLineBytes), end, truncated: true });
          this.onTruncated();
        } else out.push({ text: whole.toString('utf8'), end, truncated: false });
      }
      this.consumed = end;
      pos = nl + 1;
    }
  }

  /** A partial last line as a line of its own (the file will not grow any more). */
  takePartial(end: number): Line | undefined {
    if (this.carryLen === 0) return undefined;
    const text = Buffer.concat(this.carry, this.carryLen).toString('utf8');
    this.carry = [];
    this.carryLen = 0;
    this.consumed = end;
    return { text, end, truncated: false };
  }

  private hold(rest: Buffer, endOffset: number, out: Line[]): void {
    if (this.skipping) return;
    if (this.carryLen + rest.length > this.maxLineBytes) {
      // Cut now: the line is already too long, whatever follows.
      const whole = Buffer.concat([...this.carry, rest]);
      out.push({ text: whole.toString('utf8', 0, this.maxLineBytes), end: endOffset, truncated: true });
      this.onTruncated();
      this.carry = [];
      this.carryLen = 0;
      this.skipping = true;
      this.consumed = endOffset;
      return;
    }
    // Copy: the chunk buffer is reused for the next read.
    this.carry.push(Buffer.from(rest));
    this.carryLen += rest.length;
  }
}

interface PendingRecord {
  lines: string[];
  bytes: number;
  end: number;
  truncated: boolean;
  lastAt: number;
}

export class MultilineJoiner {
  private readonly start: RegExp | undefined;
  private readonly continuation: RegExp | undefined;
  private pending: PendingRecord | undefined;

  constructor(private readonly cfg: MultilineConfig) {
    this.start = cfg.start_pattern !== undefined ? new RegExp(cfg.start_pattern, 'u') : undefined;
    this.continuation = cfg.continuation_pattern !== undefined ? new RegExp(cfg.continuation_pattern, 'u') : undefined;
  }

  get holding(): boolean {
    return this.pending !== undefined;
  }

  /** Adds a line; pushes records that are complete to `out`. */
  add(line: Line, now: number, out: Line[]): void {
    const joins = this.start ? !this.start.test(line.text) : this.continuation!.test(line.text);
    const p = this.pending;
    if (p && joins && p.lines.length < this.cfg.max_lines && p.bytes + line.text.length + 1 <= this.cfg.max_bytes) {
      p.lines.push(line.text);
      p.bytes += line.text.length + 1;
      p.end = line.end;
      p.truncated ||= line.truncated;
      p.lastAt = now;
      return;
    }
    if (p) out.push(this.release());
    this.pending = { lines: [line.text], bytes: line.text.length, end: line.end, truncated: line.truncated, lastAt: now };
  }

  /** The held record when it has waited `timeout_ms` (or always, with `force`). */
  flush(now: number, force: boolean, out: Line[]): void {
    if (this.pending && (force || now - this.pending.lastAt >= this.cfg.timeout_ms)) out.push(this.release());
  }

  reset(): void {
    this.pending = undefined;
  }

  private release(): Line {
    const p = this.pending!;
    this.pending = undefined;
    return { text: p.lines.join('\n'), end: p.end, truncated: p.truncated };
  }
}
