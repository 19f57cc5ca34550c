/**
 * One file being tailed: reads from its position to the end whenever it is
 * woken (poll, fs.watch), cuts lines, sends batches downstream with a few
 * in flight, and moves its checkpoint only over batches that were
 * acknowledged, in file order. A failed hand-off is retried with the same lines (records
 * are rebuilt, since transforms change records in place) until it succeeds
 * or the source stops; nothing read is ever dropped.
 *
 * Rotation: the file is held open by descriptor, so a rename (or a delete)
 * changes nothing for reading: the source marks it gone and it is drained,
 * then closed once it has not grown for `rotate_wait_ms`. A size below the
 * read position, or a first `fingerprint_bytes` that no longer hash the
 * same, is a truncation (copytruncate): reading starts again at 0, and the
 * source is asked to drain the rest of the old content from its copy.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Attributes, Batch, LogRecord, Logger } from '@meshlog/core';
import type { CheckpointStore } from './checkpoints.js';
import type { FileSourceConfig } from './config.js';
import { LineSplitter, MultilineJoiner, type Line } from './line-framing.js';
import { ContainerPieceJoiner } from './container-pieces.js';

/** Container pieces whose last piece has not come within this long go downstream as they are. */
const CONTAINER_PIECE_TIMEOUT_MS = 5000;

export interface TailerHost {
  cfg: FileSourceConfig;
  sourceId: string;
  logger: Logger;
  store: CheckpointStore;
  stopping: AbortSignal;
  emit(batch: Batch): Promise<void>;
  now(): bigint;
  counters: { truncatedLines(): void; truncations(): void; retries(): void };
  /** A truncation of `tailer`: find a copy of its old content and drain it from `from`. */
  copyTruncated(tailer: FileTailer, oldFp: string, oldFpLen: number, from: number): Promise<void>;
}

/** SHA-256 of the bytes, first 16 hex digits: enough to tell files apart, short in the checkpoint file. */
export function fingerprintOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export async function readFingerprint(fh: FileHandle, length: number): Promise<{ fp: string; len: number }> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return { fp: fingerprintOf(buf.subarray(0, got)), len: got };
}

const READ_CHUNK = 1024 * 1024;
/** Batches of one file handed downstream and not yet acknowledged, at most. */
const MAX_INFLIGHT_BATCHES = 2;

export class FileTailer {
  readonly key: string;
  /** Last path the file was seen under. */
  path: string;
  /** The path it was found under: what records carry as log.file.path. */
  readonly originalPath: string;
  private readonly resource: Attributes = {};
  private readonly fileName: string;
  private fh: FileHandle | undefined;
  fp: string;
  fpLen: number;
  private readPos: number;
  private ackPos: number;
  private generation = 0;
  private readonly splitter: LineSplitter;
  private readonly joiner: MultilineJoiner | undefined;
  /** Container runtime pieces (CRI `P`, Docker 16 KiB splits) joined before anything else. */
  private readonly pieces: ContainerPieceJoiner | undefined;
  private pending: Line[] = [];
  private pendingBytes = 0;
  /** When the path stopped pointing to this file (renamed away or deleted). */
  goneSince: number | undefined;
  private lastGrowth = Date.now();
  private lastMtimeMs = 0;
  private running: Promise<void> | undefined;
  private again = false;
  /** The chain of batches in flight, in file order: resolves true when every one of them so far was acknowledged. */
  private inflight: Promise<boolean> = Promise.resolve(true);
  private inflightCount = 0;
  private slotWaiters: (() => void)[] = [];
  closed = false;
  /** A copy of another file's content (copytruncate): read only from where that file's truncation says. */
  copyHold = false;
  /** When a held copy was first seen deleted. */
  private deletedSince: number | undefined;

  constructor(
    private readonly host: TailerHost,
    readonly dev: number,
    readonly ino: number,
    path: string,
    fh: FileHandle,
    fingerprint: { fp: string; len: number },
    start: number,
  ) {
    this.key = `${dev}:${ino}`;
    this.path = path;
    this.originalPath = path;
    this.fileName = basename(path);
    this.fh = fh;
    this.fp = fingerprint.fp;
    this.fpLen = fingerprint.len;
    this.readPos = start;
    this.ackPos = start;
    this.splitter = new LineSplitter(host.cfg.max_line_bytes, start, () => host.counters.truncatedLines());
    this.joiner = host.cfg.multiline ? new MultilineJoiner(host.cfg.multiline) : undefined;
    this.pieces = host.cfg.container_format !== 'none' ? new ContainerPieceJoiner(host.cfg.container_format, host.cfg.max_line_bytes, CONTAINER_PIECE_TIMEOUT_MS, start) : undefined;
  }

  get position(): { read: number; acknowledged: number } {
    return { read: this.readPos, acknowledged: this.ackPos };
  }

  /** Reads whatever is new. Concurrent calls coalesce into one more pass. */
  pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.closed && !this.host.stopping.aborted);
      } catch (err) {
        if (!this.host.stopping.aborted) this.host.logger.warn('reading a file failed; trying again at the next poll', { path: this.path, error: (err as Error).message });
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Sets where a copy starts being read (copytruncate), once. */
  releaseCopy(from: number): void {
    if (!this.copyHold) return;
    this.copyHold = false;
    this.readPos = this.ackPos = from;
    this.splitter.reset(from);
    this.pieces?.reset(from);
    this.saveCheckpoint();
  }

  private async pass(): Promise<void> {
    if (this.closed || this.host.stopping.aborted) return;
    const now = Date.now();
    if (!this.fh) {
      // Let go for being idle, then rotated away or deleted: nothing more can be read from it, so it is
      // finished like a drained rotated file (its partial last line is sent, the tailer goes).
      if (this.goneSince !== undefined) await this.maybeClose(this.readPos);
      return;
    }
    const fh = this.fh;
    const st = await fh.stat();
    const size = st.size;
    // Same size but written since the last look: a truncation followed by as many bytes as were there.
    const touched = st.mtimeMs !== this.lastMtimeMs;
    this.lastMtimeMs = st.mtimeMs;
    if (size < this.readPos) {
      await this.truncated();
      // Look again from the top: while the copy was searched for, the file may have been rotated once more.
      this.again = true;
      return;
    } else if (!this.copyHold && (size > this.readPos || (touched && size > 0))) {
      // Grown: make sure it is still the same content (a truncation followed by more writes than were there is no shrink).
      const old = await readFingerprint(fh, this.fpLen);
      if (old.fp !== this.fp) {
        await this.truncated();
        this.again = true;
        return;
      } else if (this.fpLen < this.host.cfg.fingerprint_bytes) {
        const next = await readFingerprint(fh, this.host.cfg.fingerprint_bytes);
        this.fp = next.fp;
        this.fpLen = next.len;
      }
    }
    if (this.copyHold) {
      // A copy whose original was never truncated (logrotate's `copy`, a backup) and that is now deleted:
      // nothing will ask for it any more, and holding it keeps its disk space. rotate_wait_ms leaves a
      // truncation noticed late the time to still release it.
      if (st.nlink === 0) {
        this.deletedSince ??= now;
        if (now - this.deletedSince >= this.host.cfg.rotate_wait_ms) await this.close();
      }
      return;
    }
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    while (this.readPos < size && !this.host.stopping.aborted) {
      this.lastGrowth = now;
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, size - this.readPos), this.readPos);
      if (bytesRead === 0) break;
      const lines: Line[] = [];
      this.splitter.push(buf.subarray(0, bytesRead), this.readPos, lines);
      this.readPos += bytesRead;
      for (const line of lines) {
        this.frame(line, now);
        if (this.pending.length >= this.host.cfg.batch_max_records || this.pendingBytes >= this.host.cfg.batch_max_bytes) await this.send();
      }
    }
    this.flushFraming(Date.now(), this.goneSince !== undefined && Date.now() - this.lastGrowth >= this.host.cfg.rotate_wait_ms);
    if (this.pending.length > 0) await this.send();
    // Grown meanwhile: another pass, which checks the file's identity again before reading on.
    const now2 = (await fh.stat()).size;
    if (now2 > this.readPos) this.again = true;
    await this.maybeClose(Math.max(size, now2));
  }

  /** One line from the splitter through the piece joiner and the multiline joiner, into the batch. */
  private frame(line: Line, now: number): void {
    const joined: Line[] = [];
    if (this.pieces) this.pieces.add(line, now, joined);
    else joined.push(line);
    for (const l of joined) {
      if (!this.joiner) {
        this.hold(l);
        continue;
      }
      const out: Line[] = [];
      this.joiner.add(l, now, out);
      for (const r of out) this.hold(r);
    }
  }

  /** What the joiners hold and may let go now (all of it with `force`). */
  private flushFraming(now: number, force: boolean): void {
    if (this.pieces) {
      const out: Line[] = [];
      this.pieces.flush(now, force, out);
      for (const l of out) {
        if (!this.joiner) this.hold(l);
        else {
          const records: Line[] = [];
          this.joiner.add(l, now, records);
          for (const r of records) this.hold(r);
        }
      }
    }
    if (this.joiner) {
      const out: Line[] = [];
      this.joiner.flush(now, force, out);
      for (const l of out) this.hold(l);
    }
  }

  private get framingHolds(): boolean {
    return this.joiner?.holding === true || this.pieces?.holding === true;
  }

  private hold(line: Line): void {
    this.pending.push(line);
    this.pendingBytes += line.text.length + 64;
  }

  private async maybeClose(size: number): Promise<void> {
    const idle = Date.now() - this.lastGrowth;
    if (this.readPos < size) return;
    if (this.goneSince !== undefined && idle >= this.host.cfg.rotate_wait_ms) {
      // Drained and quiet: a partial last line (no newline ever came) is sent as a line of its own, and
      // whatever the joiner still holds goes too (its flush earlier in the pass may have come before the
      // quiet time was up, e.g. when the send after it waited for a slot).
      const tail = this.splitter.takePartial(this.readPos);
      if (tail) this.frame(tail, Date.now());
      this.flushFraming(0, true);
      if (this.pending.length > 0) await this.send();
      await this.inflight;
      await this.close();
    } else if (this.goneSince === undefined && idle >= this.host.cfg.close_idle_ms && !this.framingHolds) {
      // Idle at its path: let the descriptor go; the source reopens it when it grows (a partial line stays in memory).
      await this.inflight;
      const fh = this.fh;
      this.fh = undefined;
      await fh?.close();
    }
  }

  /** Whether the file is held open (an idle file at its path may be closed and reopened). */
  get open(): boolean {
    return this.fh !== undefined;
  }

  reopen(fh: FileHandle): void {
    this.fh = fh;
    this.lastGrowth = Date.now();
  }

  private async truncated(): Promise<void> {
    const from = this.splitter.consumed;
    const oldFp = this.fp;
    const oldLen = this.fpLen;
    this.host.counters.truncations();
    this.host.logger.info('file truncated (copytruncate or rewritten); reading it again from the start', { path: this.path, readTo: this.readPos });
    this.flushFraming(0, true);
    if (this.pending.length > 0) await this.send();
    await this.inflight;
    // Acknowledgements of the old content must not move the new content's checkpoint.
    this.generation++;
    this.inflight = Promise.resolve(true);
    this.readPos = this.ackPos = 0;
    this.splitter.reset(0);
    this.joiner?.reset();
    this.pieces?.reset(0);
    await this.host.copyTruncated(this, oldFp, oldLen, from);
    // The identity of the new content, taken after the (slow) copy search: the next pass checks it before reading.
    const fresh = await readFingerprint(this.fh!, this.host.cfg.fingerprint_bytes);
    this.fp = fresh.fp;
    this.fpLen = fresh.len;
    this.saveCheckpoint();
  }

  private async send(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (lines.length === 0) return;
    const ackTo = lines[lines.length - 1]!.end;
    // A few batches in flight: reading and cutting the next ones overlaps the sink's compression and fsync.
    while (this.inflightCount >= MAX_INFLIGHT_BATCHES) await new Promise<void>((r) => this.slotWaiters.push(r));
    const generation = this.generation;
    this.inflightCount++;
    const delivered = this.deliver(lines).then(
      () => true,
      () => false,
    );
    void delivered.then(() => {
      this.inflightCount--;
      this.slotWaiters.shift()?.();
    });
    // The checkpoint moves in file order, and never past a batch that was not acknowledged (stopping mid-delivery).
    this.inflight = Promise.all([this.inflight, delivered]).then(([before, ok]) => {
      if (!before || !ok) return false;
      if (generation === this.generation && ackTo > this.ackPos) {
        this.ackPos = ackTo;
        this.saveCheckpoint();
      }
      return true;
    });
  }

  private batchOf(lines: Line[]): Batch {
    const observed = this.host.now();
    const records: LogRecord[] = new Array<LogRecord>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      const attributes: Attributes = { 'log.file.path': this.originalPath, 'log.file.name': this.fileName };
      if (l.truncated) attributes['log.truncated'] = true;
      records[i] = {
        timeUnixNano: 0n,
        observedTimeUnixNano: observed + BigInt(i),
        severityNumber: 0,
        severityText: '',
        body: l.text,
        attributes,
        resource: this.resource,
        scopeName: '',
        scopeVersion: '',
        traceId: '',
        spanId: '',
        flags: 0,
      };
    }
    return { kind: 'logs', tenant: this.host.cfg.tenant, source: this.host.sourceId, records };
  }

  /** Hands the lines downstream until acknowledged; rejects only when the source stops first. */
  private async deliver(lines: Line[]): Promise<void> {
    let backoff = 250;
    let logged = false;
    for (;;) {
      try {
        await this.host.emit(this.batchOf(lines));
        return;
      } catch (err) {
        if (this.host.stopping.aborted) throw err;
        this.host.counters.retries();
        if (!logged) {
          logged = true;
          this.host.logger.warn('a batch of lines was not acknowledged downstream; retrying it (the checkpoint stays put)', { path: this.path, lines: lines.length, error: (err as Error).message });
        }
        await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * (backoff / 2)));
        backoff = Math.min(10_000, backoff * 2);
      }
    }
  }

  saveCheckpoint(): void {
    this.host.store.set({ dev: this.dev, ino: this.ino, fp: this.fp, fp_len: this.fpLen, offset: this.ackPos, path: this.path, seen: Date.now(), done: false });
  }

  /** Waits for the batch in flight (bounded by the source's stop). */
  async settle(): Promise<void> {
    await this.running;
    await this.inflight;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
