/**
 * The disk buffer in front of a shipping sink (`meshlog`, `otlp`, `loki`):
 * what a sink accepted is fsync'd here before its source's batch is
 * acknowledged, and leaves only when the destination acknowledged it. The
 * on-disk format is drawn in README.md beside this file.
 *
 * Design constraints, in order:
 * - nothing acknowledged upstream is lost: `append` resolves only after the
 *   record and (for a new segment) its directory entry are fsync'd; a crash
 *   between the write and the fsync loses only a record nobody was told of;
 * - a record leaves only after `ack`: the ledger (acknowledged position) is
 *   replaced atomically (temp + fsync + rename), off the event loop and at
 *   most every LEDGER_INTERVAL_MS, so it lags the acknowledgements by about
 *   that long and a crash re-sends those records (at-least-once; the Meshlog
 *   server recognises an identical resent request by its idempotency key);
 * - bounded: `maxBytes` caps the unacknowledged bytes; a full buffer makes
 *   `append` wait (backpressure reaches the sources through `emit`) or,
 *   with `drop_newest`, refuse the record (the caller counts it);
 * - damage never stops delivery: every record carries a CRC32 over its
 *   length, count and payload; a record that fails it (or a header that
 *   makes no sense) is skipped up to the next intact record header, the
 *   skipped bytes are counted and logged with file and offset, and every
 *   intact record after it is still delivered. A record cut short at the
 *   very end of the newest segment is a write the crash interrupted (never
 *   acknowledged upstream): it is truncated away at open, not counted.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '@meshlog/core';
import { fsyncDir } from '@meshlog/core';

/** "MLBR": the first four bytes of every record. */
export const RECORD_MAGIC = 0x4d4c4252;
/** magic u32 | length u32 | count u32 | crc32 u32, all big-endian. */
export const RECORD_HEADER_BYTES = 16;
/** Larger lengths in a header are damage, not a record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const SEGMENT_SUFFIX = '.seg';
const LEDGER = 'ledger.json';
/** The ledger is rewritten at most this often (it lags the acknowledgements by about this long). */
const LEDGER_INTERVAL_MS = 100;

export type WhenFull = 'block' | 'drop_newest';

export interface DiskBufferOptions {
  /** Most unacknowledged bytes (headers included); one larger record is admitted alone into an empty buffer. */
  maxBytes: number;
  /** A segment file is closed for writing at this size and deleted once fully acknowledged. */
  maxSegmentBytes: number;
  whenFull: WhenFull;
  logger: Logger;
  /** Called for each damaged stretch found: bytes skipped, where, why. */
  onDamage?: (d: BufferDamage) => void;
}

export interface BufferDamage {
  file: string;
  offset: number;
  bytes: number;
  reason: string;
}

/** One record handed out by `next`; give it back to `ack` once the destination has it. */
export interface BufferedRecord {
  readonly payload: Buffer;
  /** What the writer said the record holds (log records), for metrics. */
  readonly count: number;
  readonly segment: number;
  /** Byte offset just past the record in its segment. */
  readonly end: number;
  /** @internal */ done: boolean;
}

export class BufferClosedError extends Error {
  constructor() {
    super('the disk buffer is closed (shutting down)');
    this.name = 'BufferClosedError';
  }
}

interface Segment {
  id: number;
  size: number;
}

export class DiskBuffer {
  private readonly segments: Segment[] = [];
  private writer: { id: number; fh: FileHandle } | undefined;
  private writeChain: Promise<unknown> = Promise.resolve();
  /** Acknowledged position: everything before (segment, offset) is gone. */
  private ackSeg: number;
  private ackOff: number;
  /** Next read position. */
  private readSeg: number;
  private readOff: number;
  private reader: { id: number; fh: FileHandle } | undefined;
  private readChain: Promise<unknown> = Promise.resolve();
  /** Handed out, in read order, not yet retired from the head. */
  private readonly outstanding: BufferedRecord[] = [];
  private unacked = 0;
  private closed = false;
  private dataWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private ledgerDirty = false;
  private ledgerWriting: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private readonly opts: DiskBufferOptions,
    ack: { segment: number; offset: number },
  ) {
    this.ackSeg = ack.segment;
    this.ackOff = ack.offset;
    this.readSeg = ack.segment;
    this.readOff = ack.offset;
  }

  /** Opens (or creates) the buffer in `dir`; repairs a torn tail write; never loses an intact record. */
  static async open(dir: string, opts: DiskBufferOptions): Promise<DiskBuffer> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ids = readdirSync(dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX) && /^\d{20}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    const ledger = readLedger(dir, opts.logger);
    let ack = ledger ?? { segment: ids[0] ?? 1, offset: 0 };
    if (ids.length > 0 && ack.segment < ids[0]!) ack = { segment: ids[0]!, offset: 0 };
    const buf = new DiskBuffer(dir, opts, ack);
    for (const id of ids) {
      if (id < ack.segment) {
        // Fully acknowledged before the crash; only its deletion was pending.
        unlinkSync(buf.segmentPath(id));
        continue;
      }
      buf.segments.push({ id, size: statSync(buf.segmentPath(id)).size });
    }
    const last = buf.segments.at(-1);
    if (last) last.size = repairTornTail(buf.segmentPath(last.id), last.size, last.id === ack.segment ? ack.offset : 0, opts.logger);
    const first = buf.segments[0];
    if (first && first.id === ack.segment && ack.offset > first.size) {
      opts.logger.warn('disk buffer ledger points past the end of its segment; resending that segment from its start', { dir, segment: first.id });
      buf.ackOff = buf.readOff = 0;
    }
    for (const s of buf.segments) buf.unacked += s.size - (s.id === buf.ackSeg ? buf.ackOff : 0);
    // New records always go to a fresh segment: the old ones stay exactly as found.
    await buf.rollWriter((last?.id ?? ack.segment - 1) + 1);
    return buf;
  }

  /** Unacknowledged bytes (headers included). */
  get bytes(): number {
    return this.unacked;
  }

  get maxBytes(): number {
    return this.opts.maxBytes;
  }

  /**
   * Appends records and fsyncs them (one fsync for the lot: group commit).
   * Resolves 'written' once durable, or 'dropped' when the buffer is full
   * and set to `drop_newest` (nothing written). With `block` it waits for
   * space; `signal` (shutdown) ends the wait with a `BufferClosedError`.
   */
  async append(items: readonly { payload: Buffer; count: number }[], signal?: AbortSignal): Promise<'written' | 'dropped'> {
    let size = 0;
    const parts: Buffer[] = [];
    for (const { payload, count } of items) {
      if (payload.length > MAX_RECORD_BYTES) throw new Error(`a disk buffer record is limited to ${MAX_RECORD_BYTES} bytes, got ${payload.length}`);
      const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
      header.writeUInt32BE(RECORD_MAGIC, 0);
      header.writeUInt32BE(payload.length, 4);
      header.writeUInt32BE(count >>> 0, 8);
      header.writeUInt32BE(crc32(payload, crc32(header.subarray(4, 12))), 12);
      parts.push(header, payload);
      size += RECORD_HEADER_BYTES + payload.length;
    }
    if (size === 0) return 'written';
    while (!this.hasSpace(size)) {
      if (this.closed || signal?.aborted) throw new BufferClosedError();
      if (this.opts.whenFull === 'drop_newest') return 'dropped';
      await this.waitForSpace(signal);
    }
    if (this.closed) throw new BufferClosedError();
    this.unacked += size;
    const run = this.writeChain.then(async () => {
      let seg = this.segments.at(-1)!;
      if (!this.writer || (seg.size > 0 && seg.size + size > this.opts.maxSegmentBytes)) {
        await this.rollWriter(seg.id + 1);
        seg = this.segments.at(-1)!;
      }
      const w = this.writer!;
      try {
        // A full disk (or a file size limit) writes part of the records and says so only in the count.
        const { bytesWritten } = await w.fh.writev(parts, seg.size);
        if (bytesWritten !== size) throw new Error(`only ${bytesWritten} of ${size} bytes reached ${this.segmentPath(seg.id)} (disk full?)`);
        await w.fh.datasync();
      } catch (err) {
        await this.discardFailedWrite(w, seg);
        throw err;
      }
      seg.size += size;
    });
    this.writeChain = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      this.unacked -= size;
      throw err;
    }
    this.wakeReaders();
    return 'written';
  }

  private hasSpace(size: number): boolean {
    return this.unacked === 0 || this.unacked + size <= this.opts.maxBytes;
  }

  private waitForSpace(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.spaceWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * After a failed or short write: cut the segment back to its last whole
   * record. The file is opened for appending, so a later write lands at the
   * file's end whatever position it names; bytes left behind would put every
   * later record where the reader does not look for it. When the cut fails
   * too, the next append starts a new segment (the reader never reads past
   * `seg.size`, so the leftover bytes are never read).
   */
  private async discardFailedWrite(w: { id: number; fh: FileHandle }, seg: Segment): Promise<void> {
    try {
      await w.fh.truncate(seg.size);
    } catch (err) {
      this.opts.logger.warn('could not cut a failed write off a disk buffer segment; starting a new segment', { file: this.segmentPath(seg.id), error: (err as Error).message });
      if (this.writer === w) this.writer = undefined;
      await w.fh.close().catch(() => undefined);
    }
  }

  private async rollWriter(id: number): Promise<void> {
    const old = this.writer;
    // Cleared first: when the new segment cannot be opened, the next append tries again.
    this.writer = undefined;
    if (old) await old.fh.close();
    const fh = await open(this.segmentPath(id), 'a+', 0o600);
    await fh.sync();
    fsyncDir(this.dir);
    this.writer = { id, fh };
    if (this.segments.at(-1)?.id !== id) this.segments.push({ id, size: 0 });
  }

  /**
   * The next record in order, once there is one; undefined after `close`.
   * Damaged stretches on the way are reported and skipped.
   */
  next(): Promise<BufferedRecord | undefined> {
    const run = this.readChain.then(() => this.readNext());
    this.readChain = run.catch(() => undefined);
    return run;
  }

  private async readNext(): Promise<BufferedRecord | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const segIndex = this.segments.findIndex((s) => s.id === this.readSeg);
      const seg = segIndex >= 0 ? this.segments[segIndex]! : undefined;
      if (!seg) {
        // The read segment is gone or not yet there: move to the first one at or after it.
        const later = this.segments.find((s) => s.id > this.readSeg);
        if (!later) {
          await this.waitForData();
          continue;
        }
        this.readSeg = later.id;
        this.readOff = 0;
        continue;
      }
      if (this.readOff >= seg.size) {
        if (segIndex < this.segments.length - 1) {
          this.readSeg = this.segments[segIndex + 1]!.id;
          this.readOff = 0;
          continue;
        }
        await this.waitForData();
        continue;
      }
      const fh = await this.readerFor(seg.id);
      const found = await this.readRecordAt(fh, seg, this.readOff);
      if (found.kind === 'record') {
        const rec: BufferedRecord = { payload: found.payload, count: found.count, segment: seg.id, end: found.end, done: false };
        this.readOff = found.end;
        this.outstanding.push(rec);
        return rec;
      }
      // Damage: report it, skip to the next intact header (or the segment's end).
      const skipTo = await this.resync(fh, seg, this.readOff + 1);
      const damage: BufferDamage = { file: this.segmentPath(seg.id), offset: this.readOff, bytes: skipTo - this.readOff, reason: found.reason };
      this.opts.logger.warn('disk buffer damage: skipped bytes that are not an intact record; intact records before and after it are delivered', { ...damage });
      this.opts.onDamage?.(damage);
      this.readOff = skipTo;
      // Skipped bytes count as acknowledged once the records around them are.
      const marker: BufferedRecord = { payload: Buffer.alloc(0), count: 0, segment: seg.id, end: skipTo, done: true };
      this.outstanding.push(marker);
      this.retireHead();
    }
  }

  private async readerFor(id: number): Promise<FileHandle> {
    if (this.reader?.id === id) return this.reader.fh;
    if (this.reader) await this.reader.fh.close();
    this.reader = { id, fh: await open(this.segmentPath(id), 'r') };
    return this.reader.fh;
  }

  private async readRecordAt(
    fh: FileHandle,
    seg: Segment,
    off: number,
  ): Promise<{ kind: 'record'; payload: Buffer; count: number; end: number } | { kind: 'damaged'; reason: string }> {
    if (seg.size - off < RECORD_HEADER_BYTES) return { kind: 'damaged', reason: 'a record header cut short' };
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    await fh.read(header, 0, RECORD_HEADER_BYTES, off);
    if (header.readUInt32BE(0) !== RECORD_MAGIC) return { kind: 'damaged', reason: 'no record header (bad magic)' };
    const length = header.readUInt32BE(4);
    if (length > MAX_RECORD_BYTES || off + RECORD_HEADER_BYTES + length > seg.size) return { kind: 'damaged', reason: `a record length (${length}) past the segment's end` };
    const payload = Buffer.allocUnsafe(length);
    if (length > 0) await fh.read(payload, 0, length, off + RECORD_HEADER_BYTES);
    if (crc32(payload, crc32(header.subarray(4, 12))) !== header.readUInt32BE(12)) return { kind: 'damaged', reason: 'checksum mismatch (CRC32)' };
    return { kind: 'record', payload, count: header.readUInt32BE(8), end: off + RECORD_HEADER_BYTES + length };
  }

  /** The offset of the next intact record at or after `from`, or the segment's size. */
  private async resync(fh: FileHandle, seg: Segment, from: number): Promise<number> {
    const magic = Buffer.alloc(4);
    magic.writeUInt32BE(RECORD_MAGIC, 0);
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    let pos = from;
    while (pos < seg.size) {
      const n = (await fh.read(chunk, 0, Math.min(chunk.length, seg.size - pos), pos)).bytesRead;
      if (n <= 0) break;
      let i = chunk.subarray(0, n).indexOf(magic);
      while (i >= 0) {
        const at = pos + i;
        if ((await this.readRecordAt(fh, seg, at)).kind === 'record') return at;
        i = chunk.subarray(0, n).indexOf(magic, i + 1);
      }
      // Overlap by 3 bytes so a magic split across chunks is still found.
      pos += n > 3 ? n - 3 : n;
    }
    return seg.size;
  }

  /** The destination has `rec`: it may leave once everything before it has. */
  ack(rec: BufferedRecord): void {
    rec.done = true;
    this.retireHead();
  }

  /** Moves the acknowledged position over every finished record at the head, in order. */
  private retireHead(): void {
    let moved = false;
    while (this.outstanding.length > 0 && this.outstanding[0]!.done) {
      const rec = this.outstanding.shift()!;
      this.advanceAck(rec.segment, rec.end);
      moved = true;
    }
    if (!moved) return;
    this.ledgerDirty = true;
    void this.flushLedger();
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private advanceAck(segment: number, end: number): void {
    while (this.segments.length > 0 && this.segments[0]!.id < segment) {
      const s = this.segments.shift()!;
      this.unacked -= s.size - (s.id === this.ackSeg ? this.ackOff : 0);
      this.ackSeg = s.id;
      this.ackOff = 0;
      this.deleteSegment(s.id);
    }
    const head = this.segments[0];
    if (head && head.id === segment) {
      this.unacked -= end - (this.ackSeg === segment ? this.ackOff : 0);
      this.ackSeg = segment;
      this.ackOff = end;
      // A segment that is fully acknowledged and no longer written to can go.
      if (end >= head.size && this.writer?.id !== head.id) {
        this.segments.shift();
        this.deleteSegment(head.id);
        const next = this.segments[0];
        if (next) {
          this.ackSeg = next.id;
          this.ackOff = 0;
        }
      }
    }
  }

  private deleteSegment(id: number): void {
    if (this.reader?.id === id) {
      const fh = this.reader.fh;
      this.reader = undefined;
      void fh.close().catch(() => undefined);
    }
    try {
      unlinkSync(this.segmentPath(id));
    } catch (err) {
      this.opts.logger.warn('could not delete an acknowledged disk buffer segment', { file: this.segmentPath(id), error: (err as Error).message });
    }
  }

  private async flushLedger(): Promise<void> {
    if (this.ledgerWriting) return;
    const run = (async () => {
      while (this.ledgerDirty && !this.closed) {
        this.ledgerDirty = false;
        try {
          await writeLedgerAsync(this.dir, { segment: this.ackSeg, offset: this.ackOff });
        } catch (err) {
          this.opts.logger.warn('could not write the disk buffer ledger; acknowledged records may be sent again after a restart', { dir: this.dir, error: (err as Error).message });
        }
        // Acknowledgements arriving meanwhile are written together (an fsync per ack would cost more than the sends).
        await new Promise((r) => setTimeout(r, LEDGER_INTERVAL_MS));
      }
    })();
    this.ledgerWriting = run;
    await run;
    this.ledgerWriting = undefined;
  }

  private waitForData(): Promise<void> {
    return new Promise((resolve) => this.dataWaiters.push(resolve));
  }

  private wakeReaders(): void {
    for (const w of this.dataWaiters.splice(0)) w();
  }

  /** Stops waits (next resolves undefined, blocked appends throw); the ledger is written a last time. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeReaders();
    for (const w of this.spaceWaiters.splice(0)) w();
    await this.writeChain;
    await this.readChain;
    await this.ledgerWriting;
    writeLedger(this.dir, { segment: this.ackSeg, offset: this.ackOff });
    await this.writer?.fh.close();
    await this.reader?.fh.close();
    this.writer = undefined;
    this.reader = undefined;
  }

  private segmentPath(id: number): string {
    return join(this.dir, `${String(id).padStart(20, '0')}${SEGMENT_SUFFIX}`);
  }
}

function readLedger(dir: string, logger: Logger): { segment: number; offset: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, LEDGER), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as { version?: unknown; segment?: unknown; offset?: unknown };
    if (v.version === 1 && Number.isSafeInteger(v.segment) && Number.isSafeInteger(v.offset) && (v.offset as number) >= 0) return { segment: v.segment as number, offset: v.offset as number };
  } catch {
    // fall through
  }
  logger.warn('disk buffer ledger is unreadable; every record still on disk will be sent again (at-least-once)', { file: join(dir, LEDGER) });
  return undefined;
}

function writeLedger(dir: string, ack: { segment: number; offset: number }): void {
  const tmp = join(dir, `${LEDGER}.tmp`);
  writeFileSync(tmp, JSON.stringify({ version: 1, segment: ack.segment, offset: ack.offset }) + '\n', { mode: 0o600 });
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, LEDGER));
}

async function writeLedgerAsync(dir: string, ack: { segment: number; offset: number }): Promise<void> {
  const tmp = join(dir, `${LEDGER}.tmp`);
  await writeFile(tmp, JSON.stringify({ version: 1, segment: ack.segment, offset: ack.offset }) + '\n', { mode: 0o600 });
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, LEDGER));
}


/**
 * Walks the newest segment from `from`; a last record whose declared
 * length runs past the end of the file was being written when the process
 * died (its batch was never acknowledged), so the file is cut back to the
 * last whole record. Anything else that looks wrong is left for the reader
 * to report as damage.
 */
function repairTornTail(path: string, size: number, from: number, logger: Logger): number {
  if (size <= from) return size;
  const data = readFileSync(path);
  let off = from;
  while (off + RECORD_HEADER_BYTES <= data.length) {
    if (data.readUInt32BE(off) !== RECORD_MAGIC) return size;
    const length = data.readUInt32BE(off + 4);
    if (length > MAX_RECORD_BYTES) return size;
    if (off + RECORD_HEADER_BYTES + length > data.length) break;
    off += RECORD_HEADER_BYTES + length;
  }
  if (off === data.length) return size;
  // Either a header or a payload cut short at the very end.
  if (data.length - off >= 4 && data.readUInt32BE(off) !== RECORD_MAGIC) return size;
  logger.info('disk buffer: cut back a record the last crash interrupted while it was written (it was never acknowledged upstream)', { file: path, offset: off, bytes: data.length - off });
  truncateSync(path, off);
  return off;
}
