/**
 * Where the `file` source is in each file, kept across restarts. An entry
 * moves forward only when the lines before its offset were acknowledged
 * downstream (durable in every sink: for the forward sink, fsync'd in its
 * disk buffer), so a crash re-reads at most what was in flight:
 * at-least-once. The file is replaced atomically: written to a temp file,
 * fsync'd, renamed over the old one, and the directory fsync'd.
 *
 * `<data_dir>/file/<source id>/checkpoints.json`:
 *
 * ```
 * {
 *   "version": 1,
 *   "files": [
 *     {
 *       "dev": 2049, "ino": 131075,     <- device and inode of the file
 *       "fp": "9f86d081884c7d65",       <- SHA-256 (first 16 hex) of its first fp_len bytes
 *       "fp_len": 256,                  <- = fingerprint_bytes once the file is that long
 *       "offset": 18234,                <- bytes acknowledged (for .gz: of the decompressed content)
 *       "path": "/var/log/app.log",     <- last path seen (for people; identity is the rest)
 *       "seen": 1710000000000,          <- last time the file existed (ms), for retention
 *       "done": false                   <- a .gz file read to its end
 *     }
 *   ]
 * }
 * ```
 *
 * Identity: an entry belongs to a file when dev/ino match and the file's
 * first fp_len bytes still hash to fp (same inode, other content = inode
 * reuse or a truncation: a new file). When no live file has the entry's
 * dev/ino any more, a file whose first fingerprint_bytes hash to fp is the
 * same content moved or copied (copy rotation, a gzip'd rotation) and
 * resumes at offset.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@meshlog/core';

export interface CheckpointEntry {
  dev: number;
  ino: number;
  fp: string;
  fp_len: number;
  offset: number;
  path: string;
  seen: number;
  done: boolean;
}

export function inodeKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

export class CheckpointStore {
  private readonly entries = new Map<string, CheckpointEntry>();
  private readonly file: string;
  private dirty = false;
  private saving: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly retentionMs: number,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, 'checkpoints.json');
    this.load();
  }

  /** True when the file existed: this is not the first start. */
  loaded = false;

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    try {
      const v = JSON.parse(text) as { version?: number; files?: CheckpointEntry[] };
      if (v.version !== 1 || !Array.isArray(v.files)) throw new Error('unknown version');
      for (const e of v.files) {
        if (Number.isSafeInteger(e.dev) && Number.isSafeInteger(e.ino) && typeof e.fp === 'string' && Number.isSafeInteger(e.offset)) this.entries.set(inodeKey(e.dev, e.ino), { ...e, done: Boolean(e.done) });
      }
      this.loaded = true;
    } catch (err) {
      // Renamed aside, not deleted: an operator can look at it. Files are then read per start_at.
      const aside = `${this.file}.unreadable-${Date.now()}`;
      renameSync(this.file, aside);
      this.logger.error('file checkpoints are unreadable; moved aside, files are read again per start_at', { file: aside, error: (err as Error).message });
    }
  }

  get(dev: number, ino: number): CheckpointEntry | undefined {
    return this.entries.get(inodeKey(dev, ino));
  }

  /** An entry with this full-length fingerprint whose inode is not one of `live`. */
  findMoved(fp: string, fpLen: number, live: Set<string>): CheckpointEntry | undefined {
    let best: CheckpointEntry | undefined;
    for (const [key, e] of this.entries) {
      if (e.fp === fp && e.fp_len === fpLen && !live.has(key) && (!best || e.seen > best.seen)) best = e;
    }
    return best;
  }

  set(entry: CheckpointEntry): void {
    this.entries.set(inodeKey(entry.dev, entry.ino), entry);
    this.dirty = true;
    this.schedule();
  }

  delete(dev: number, ino: number): void {
    if (this.entries.delete(inodeKey(dev, ino))) {
      this.dirty = true;
      this.schedule();
    }
  }

  /** Marks entries of files still present as seen; forgets those gone longer than the retention. */
  sweep(live: Set<string>, now = Date.now()): void {
    for (const [key, e] of this.entries) {
      if (live.has(key)) e.seen = now;
      else if (now - e.seen > this.retentionMs) {
        this.entries.delete(key);
        this.dirty = true;
      }
    }
    this.schedule();
  }

  /** Saves soon (coalesced: at most one write in flight, one more after it). */
  private schedule(): void {
    if (!this.dirty || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 50);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    while (this.saving) await this.saving;
    if (!this.dirty) return;
    this.dirty = false;
    this.saving = Promise.resolve().then(() => this.writeNow());
    try {
      await this.saving;
    } catch (err) {
      this.dirty = true;
      this.logger.error('writing file checkpoints failed; lines may be read again after a restart', { file: this.file, error: (err as Error).message });
    } finally {
      this.saving = undefined;
    }
  }

  private writeNow(): void {
    const tmp = `${this.file}.tmp`;
    const body = JSON.stringify({ version: 1, files: [...this.entries.values()] });
    writeFileSync(tmp, body, { mode: 0o600 });
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = true;
    await this.flush();
  }
}
