/**
 * The `file` source: tails files matched by globs (container logs under
 * /var/log/pods, Envoy access logs, application logs) with at-least-once
 * delivery across rotation, truncation and restarts.
 *
 * - Discovery expands `include` minus `exclude` (tinyglobby/picomatch) every
 *   `glob_interval_ms` and when fs.watch reports a change in a watched
 *   directory; every open file is checked every `poll_interval_ms` and on
 *   its directory's watch events.
 * - A file is identified by device and inode plus a fingerprint of its
 *   first bytes (checkpoints.ts). A new inode with a checkpoint resumes
 *   there; a new inode whose content is a moved file's (same full
 *   fingerprint, the old inode gone) resumes at that file's offset; a new
 *   inode whose full fingerprint equals a file being tailed is a copy
 *   (copytruncate) and is read only from where the original's truncation
 *   says (one deleted before any truncation, e.g. logrotate's `copy`, is
 *   let go after rotate_wait_ms); anything else is new and read from its beginning (files present
 *   at the very first start: per `start_at`).
 * - Rotation by rename: the old file stays open and is drained (the rotated
 *   name may or may not match the globs); the new file is found by the next
 *   scan. Rotations faster than the poll interval are followed when the
 *   globs include the rotated names (app.log*): each intermediate file is
 *   a new inode found by the scan.
 * - Gzip'd rotated files (`gzip: true`) are read whole, decompressed, and
 *   recognised by the fingerprint of their decompressed start, so a file
 *   already read before it was compressed is not read twice (logrotate
 *   writes the .gz while the original still exists: a .gz whose original is
 *   still being drained waits for it; one whose original is still tailed at
 *   its path starts where that file's acknowledgements are).
 *
 * Delivery window: a restart re-reads what was read but not yet
 * acknowledged (at most two batches in flight per file plus the batch being
 * cut), and what was acknowledged in the last ~50 ms before a crash (the
 * checkpoint write coalescing). copytruncate loses, as with every tailer,
 * what the writer appends between logrotate's copy and its truncate, and a
 * whole generation when the file is copytruncated twice between two looks
 * (the middle copy's content was never seen, so nothing recognises it).
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { glob } from 'tinyglobby';
import type { Attributes, Batch, BuildContext, ComponentDefinition, LogRecord, Source } from '@meshlog/core';
import { CheckpointStore, inodeKey } from './checkpoints.js';
import { FileSourceConfigSchema, type FileSourceConfig } from './config.js';
import { FileTailer, fingerprintOf, readFingerprint, type TailerHost } from './file-tailer.js';
import { LineSplitter, type Line } from './line-framing.js';

/** Wall clock in nanoseconds that never repeats within the process (distinct records get distinct observed times). */
const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
function nowNanos(): bigint {
  return EPOCH_OFFSET + process.hrtime.bigint();
}

export class FileSource implements Source {
  readonly kind = 'source' as const;
  private readonly tailers = new Map<string, FileTailer>();
  /** .gz files read to their end: inode -> size and mtime when read (a new file on a reused inode differs; entries of files gone go at the next scan). */
  private readonly gzipDone = new Map<string, string>();
  private readonly watchers = new Map<string, FSWatcher>();
  private store: CheckpointStore | undefined;
  private readonly stopping = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private firstScan = true;
  private started = false;
  private readonly host: TailerHost;
  private readonly truncatedLines: () => void;
  private readonly truncations: () => void;
  private readonly retries: () => void;
  private readonly openFiles: (n: number) => void;

  constructor(
    private readonly cfg: FileSourceConfig,
    private readonly ctx: BuildContext,
  ) {
    const m = ctx.metrics;
    const counter = (name: string, help: string): (() => void) => {
      const c = m.counter?.(name, help);
      return c ? () => c() : () => undefined;
    };
    this.truncatedLines = counter('file_truncated_lines_total', 'Lines longer than max_line_bytes, cut (the record carries log.truncated).');
    this.truncations = counter('file_truncations_total', 'Files found truncated (copytruncate rotation or a rewrite) and read again from the start.');
    this.retries = counter('file_emit_retries_total', 'Batches of lines handed downstream again after a failure (never dropped).');
    const gauge = m.gauge?.('file_open_files', 'Files the file source holds open.');
    this.openFiles = gauge ? (n) => gauge(n) : () => undefined;
    const storeOf = (): CheckpointStore => this.store!;
    this.host = {
      cfg,
      sourceId: ctx.id,
      logger: ctx.logger,
      get store(): CheckpointStore {
        return storeOf();
      },
      stopping: this.stopping.signal,
      emit: (batch: Batch) => ctx.emit(batch),
      now: nowNanos,
      counters: { truncatedLines: this.truncatedLines, truncations: this.truncations, retries: this.retries },
      copyTruncated: (t, fp, len, from) => this.drainCopy(t, fp, len, from),
    };
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.store = new CheckpointStore(join(this.ctx.dataDir, 'file', this.ctx.id), this.ctx.logger, this.cfg.checkpoint_retention_ms);
    await this.scan();
    this.timers.push(setInterval(() => void this.scan(), this.cfg.glob_interval_ms));
    this.timers.push(setInterval(() => this.pumpAll(), this.cfg.poll_interval_ms));
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (!this.started) return;
    await this.scanning;
    // Batches in flight get their answer (the agent's shutdown makes a full disk buffer answer at once); bounded anyway.
    const settled = Promise.allSettled([...this.tailers.values()].map((t) => t.settle()));
    await Promise.race([settled, new Promise((r) => setTimeout(r, 15_000).unref())]);
    await this.store?.close();
    await Promise.allSettled([...this.tailers.values()].map((t) => t.close()));
  }

  /** For tests and metrics: the read and acknowledged positions of each open file. */
  positions(): { path: string; read: number; acknowledged: number }[] {
    return [...this.tailers.values()].map((t) => ({ path: t.path, ...t.position }));
  }

  private pumpAll(): void {
    for (const t of this.tailers.values()) {
      if (t.closed) {
        this.tailers.delete(t.key);
        continue;
      }
      // A gone file that was let go for being idle is pumped too, to be finished and dropped.
      if (t.open || t.goneSince !== undefined) void t.pump();
    }
    this.openFiles([...this.tailers.values()].filter((t) => t.open).length);
  }

  private scan(): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.rescan = false;
          await this.scanOnce();
        } while (this.rescan && !this.stopping.signal.aborted);
      } catch (err) {
        this.ctx.logger.warn('file discovery failed; trying again', { error: (err as Error).message });
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const store = this.store!;
    const initial = this.firstScan && !store.loaded;
    this.firstScan = false;
    const paths = await glob(this.cfg.include, { ignore: this.cfg.exclude, absolute: true, onlyFiles: true, dot: true, followSymbolicLinks: true, expandDirectories: false });
    const found: { path: string; dev: number; ino: number; size: number; mtimeMs: number }[] = [];
    for (const path of paths.sort()) {
      if (path.endsWith('.gz') && !this.cfg.gzip) continue;
      try {
        const st = await stat(path);
        if (st.isFile()) found.push({ path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // Gone between the glob and the stat.
      }
    }
    const live = new Set<string>([...found.map((f) => inodeKey(f.dev, f.ino)), ...this.tailers.keys()]);
    for (const key of this.gzipDone.keys()) if (!live.has(key)) this.gzipDone.delete(key);
    const atPath = new Set<string>();
    for (const f of found) {
      if (this.stopping.signal.aborted) return;
      const key = inodeKey(f.dev, f.ino);
      atPath.add(key);
      const existing = this.tailers.get(key);
      if (existing) {
        existing.path = f.path;
        existing.goneSince = undefined;
        if (!existing.open && f.size !== existing.position.read) {
          try {
            existing.reopen(await open(f.path, 'r'));
          } catch {
            continue;
          }
        }
        continue;
      }
      if (f.path.endsWith('.gz')) {
        const seen = `${f.size}:${f.mtimeMs}`;
        if (this.gzipDone.get(key) !== seen) await this.readGzip(f.path, f.dev, f.ino, seen);
        continue;
      }
      await this.track(f, initial, live);
    }
    const now = Date.now();
    for (const t of this.tailers.values()) {
      if (!atPath.has(t.key) && t.goneSince === undefined) t.goneSince = now;
    }
    store.sweep(live);
    this.watchDirectories();
    this.pumpAll();
  }

  private async track(f: { path: string; dev: number; ino: number; size: number }, initial: boolean, live: Set<string>): Promise<void> {
    const store = this.store!;
    let fh;
    try {
      fh = await open(f.path, 'r');
    } catch {
      return;
    }
    const st = await fh.stat();
    if (st.dev !== f.dev || st.ino !== f.ino) {
      // Replaced between stat and open: the next scan sees the new one.
      await fh.close();
      return;
    }
    const N = this.cfg.fingerprint_bytes;
    const full = await readFingerprint(fh, N);
    let start: number | undefined;
    let copyOf: FileTailer | undefined;
    const entry = store.get(f.dev, f.ino);
    if (entry) {
      const prefix = entry.fp_len === full.len ? full : await readFingerprint(fh, entry.fp_len);
      if (prefix.len === entry.fp_len && prefix.fp === entry.fp) start = Math.min(entry.offset, st.size);
    }
    if (start === undefined && full.len === N) {
      copyOf = [...this.tailers.values()].find((t) => t.fpLen === N && t.fp === full.fp && !t.closed);
      if (!copyOf) {
        const moved = store.findMoved(full.fp, N, live);
        if (moved) start = Math.min(moved.offset, st.size);
      }
    }
    start ??= initial && this.cfg.start_at === 'end' && !copyOf ? st.size : 0;
    const t = new FileTailer(this.host, f.dev, f.ino, f.path, fh, full, start);
    if (copyOf) {
      // Same content as a file being tailed: a copy (copytruncate in progress). Read nothing until the original is truncated.
      t.copyHold = true;
      this.ctx.logger.info('file has the same content as one being tailed (a copy); it is read only from where that file is truncated', { path: f.path, original: copyOf.path });
    }
    this.tailers.set(t.key, t);
    t.saveCheckpoint();
  }

  /** After `tailer` was truncated: its old content's rest is in a copy beside it (copytruncate); drain it from `from`. */
  private async drainCopy(tailer: FileTailer, oldFp: string, oldFpLen: number, from: number): Promise<void> {
    // Nothing of the old content was seen: there is no fingerprint to recognise its copy by.
    if (oldFpLen === 0) return;
    const held = [...this.tailers.values()].find((t) => t.copyHold && !t.closed && t.fp === oldFp && t.fpLen === oldFpLen);
    if (held) {
      held.releaseCopy(from);
      void held.pump();
      return;
    }
    const dir = dirname(tailer.path);
    const stem = basename(tailer.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(stem) || name === stem || name.endsWith('.gz')) continue;
      const path = join(dir, name);
      let fh;
      try {
        fh = await open(path, 'r');
      } catch {
        continue;
      }
      const st = await fh.stat();
      const key = inodeKey(st.dev, st.ino);
      const fp = await readFingerprint(fh, oldFpLen);
      if (this.tailers.has(key) || fp.fp !== oldFp || st.size < from) {
        await fh.close();
        continue;
      }
      const full = await readFingerprint(fh, this.cfg.fingerprint_bytes);
      const t = new FileTailer(this.host, st.dev, st.ino, path, fh, full, from);
      t.goneSince = Date.now();
      this.tailers.set(key, t);
      this.ctx.logger.info('reading the rest of a truncated file from its copy', { path, original: tailer.path, from });
      t.saveCheckpoint();
      void t.pump();
      return;
    }
  }

  /** A gzip'd file, read whole once (resuming where its uncompressed original or an earlier read got to). */
  private async readGzip(path: string, dev: number, ino: number, seen: string): Promise<void> {
    const store = this.store!;
    const key = inodeKey(dev, ino);
    // This inode's checkpoint counts only once the decompressed start still hashes to its fingerprint:
    // logrotate deletes an old .gz and writes a new one, which often gets the freed inode.
    const own = store.get(dev, ino);
    const N = this.cfg.fingerprint_bytes;
    const resource: Attributes = {};
    const splitter = new LineSplitter(this.cfg.max_line_bytes, 0, this.truncatedLines);
    let head = Buffer.alloc(0);
    let start: number | undefined;
    let fp = '';
    let offset = 0;
    let lines: Line[] = [];
    let acked = 0;
    const flush = async (): Promise<void> => {
      if (lines.length === 0) return;
      const batch = lines;
      lines = [];
      const records: LogRecord[] = batch.map((l) => ({
        timeUnixNano: 0n,
        observedTimeUnixNano: nowNanos(),
        severityNumber: 0,
        severityText: '',
        body: l.text,
        attributes: { 'log.file.path': path, 'log.file.name': basename(path), ...(l.truncated ? { 'log.truncated': true } : {}) },
        resource,
        scopeName: '',
        scopeVersion: '',
        traceId: '',
        spanId: '',
        flags: 0,
      }));
      await this.ctx.emit({ kind: 'logs', tenant: this.cfg.tenant, source: this.ctx.id, records });
      acked = batch[batch.length - 1]!.end;
      store.set({ dev, ino, fp, fp_len: N, offset: acked, path, seen: Date.now(), done: false });
    };
    try {
      const stream = createReadStream(path).pipe(createGunzip());
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (this.stopping.signal.aborted) {
          stream.destroy();
          return;
        }
        let data = chunk;
        let at = offset;
        offset += chunk.length;
        if (start === undefined) {
          head = Buffer.concat([head, chunk]);
          if (head.length < N) continue;
          fp = fingerprintOf(head.subarray(0, N));
          if (own && own.fp === fp && own.fp_len === N) {
            if (own.done) {
              stream.destroy();
              this.gzipDone.set(key, seen);
              return;
            }
            // Read part-way before (a restart mid-file): go on from there.
            start = own.offset;
          } else {
            // logrotate's compress writes the .gz while the original is still there (and maybe still being drained).
            const original = [...this.tailers.values()].find((t) => !t.closed && t.fpLen === N && t.fp === fp);
            if (original && original.goneSince !== undefined) {
              // Rotated away and still being read: look again once it is drained and its checkpoint is final.
              stream.destroy();
              return;
            }
            const moved = original ? { offset: original.position.acknowledged } : store.findMoved(fp, N, new Set());
            start = moved ? moved.offset : 0;
          }
          acked = start;
          data = head;
          at = offset - head.length;
        }
        if (at + data.length <= start) continue;
        const skip = Math.max(0, start - at);
        if (skip > 0) splitter.reset(start);
        splitter.push(data.subarray(skip), at + skip, lines);
        if (lines.length >= this.cfg.batch_max_records) await flush();
      }
      if (start === undefined) {
        // Shorter than fingerprint_bytes: the whole content is the fingerprint.
        fp = fingerprintOf(head);
        const mine = own && own.fp === fp ? own : undefined;
        if (mine?.done) {
          this.gzipDone.set(key, seen);
          return;
        }
        start = acked = Math.min(mine?.offset ?? 0, head.length);
        splitter.reset(start);
        splitter.push(head.subarray(start), start, lines);
      }
      const tail = splitter.takePartial(offset);
      if (tail) lines.push(tail);
      await flush();
      store.set({ dev, ino, fp, fp_len: N, offset: Math.max(acked, offset), path, seen: Date.now(), done: true });
      this.gzipDone.set(key, seen);
    } catch (err) {
      if (!this.stopping.signal.aborted) this.ctx.logger.warn('reading a gzip file failed; trying again at the next scan', { path, error: (err as Error).message });
    }
  }

  /** One fs.watch per directory holding a tailed file: a write or rename there wakes its files at once. */
  private watchDirectories(): void {
    const dirs = new Set([...this.tailers.values()].filter((t) => !t.closed).map((t) => dirname(t.path)));
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (event) => {
          for (const t of this.tailers.values()) if (t.open && dirname(t.path) === dir) void t.pump();
          if (event === 'rename') void this.scan();
        });
        w.on('error', () => {
          // Polling still covers the directory.
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // Out of inotify watches: polling covers it.
      }
    }
  }
}

export const fileSource: ComponentDefinition<FileSourceConfig> = {
  kind: 'source',
  type: 'file',
  description: 'tails files by glob with checkpoints, rotation (rename, copytruncate, gzip), multiline and at-least-once delivery',
  schema: FileSourceConfigSchema,
  build: (config, ctx) => new FileSource(config, ctx),
};
