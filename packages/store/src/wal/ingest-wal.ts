/**
 * The ingest write-ahead log: what makes a 2xx mean "durable" without one
 * ClickHouse insert (and one part) per request.
 *
 *   append(batches) ──► group → segment file → fdatasync ──► resolve (ack)
 *                                         │
 *                      applier (async) ◄──┘  merges committed groups into
 *                      big inserts, each with a deterministic
 *                      insert_deduplication_token, then checkpoints
 *
 * Invariants:
 * - a group is acknowledged only after its bytes and (for a new segment) the
 *   directory entry are fsynced;
 * - every acknowledged group is inserted into the store exactly once: rows
 *   carry their group's sequence number (`ingest_seq`); before inserting
 *   groups a..b the applier records the intent [a, b] (fsynced), inserts,
 *   then records `applied = b`. After a crash the recorded range is checked
 *   in the store first: all there, skipped; partly there (a crash between the
 *   parts of one insert), the part removed and the range inserted again;
 *   absent, inserted. (ClickHouse's own token deduplication is kept as a
 *   second line, but on chDB's encrypted disk its log does not survive a
 *   kill -9 — measured — so it cannot be the only one.)
 * - a batch whose idempotency key was accepted within `dedupWindowMs` is
 *   acknowledged again without being stored twice (a client retrying a
 *   request whose answer it never got);
 * - a torn tail (crash mid-write) is cut at the last whole group; a damaged
 *   group elsewhere is counted and reported, never applied.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@meshlog/core';
import { encodeLeaf, fsyncDir, recordsHash } from '@meshlog/core';
import { newRowStats, type RowStats } from '../rows.js';
import { WAL_KINDS, decodeGroup, encodeGroup, type WalGroup, type WalKeys, type WalKind } from './wal-format.js';

export interface WalApplyTarget {
  /**
   * Inserts JSONCompactEachRow rows into `table`; the token makes a repeated
   * insert a no-op where the engine keeps its deduplication log. `legacy`:
   * rows written before `ingest_row` existed (one column fewer).
   */
  insertRows(table: WalKind, rows: Buffer, token: string, legacy?: boolean): Promise<void>;
  /** Rows of `table` whose `ingest_seq` is in [from, to]. */
  countRange(table: WalKind, from: bigint, to: bigint): Promise<number>;
  /** Removes rows of `table` whose `ingest_seq` is in [from, to] (a half-applied range, before it is applied again). */
  deleteRange(table: WalKind, from: bigint, to: bigint): Promise<void>;
  /** The highest `ingest_seq` in the store, so a new log never reuses one. */
  maxIngestSeq(): Promise<bigint>;
}

/** A batch to append: its rows are encoded once its group's sequence number is known (rows carry it). */
export interface WalAppend {
  kind: WalKind;
  tenant: string;
  source: string;
  id: string;
  records: number;
  /** Rows of the batch; `firstRow` is the first row's ordinal in the group, `stats` gathers what its ledger leaf needs. */
  encode(seq: bigint, firstRow: number, stats?: RowStats): Buffer;
}

/** The integrity ledger, as the WAL sees it: told every committed group, in order. */
export interface WalLedger {
  /** Called for every committed group: at recovery for each group still on disk, then after each append's fsync. */
  committed(group: WalGroup): void;
  /** The highest sequence whose leaves the ledger holds durably: segments above it are kept to rebuild them. */
  durableSeq(): bigint;
}

export interface IngestWalOptions {
  dir: string;
  logger: Logger;
  segmentBytes?: number;
  /** Committed but not yet applied records above which `append` waits (backpressure). */
  maxBacklogRecords?: number;
  /** Most records in one store insert. */
  maxApplyRecords?: number;
  /** How long idempotency keys are remembered (and applied segments kept to rebuild them after a restart). */
  dedupWindowMs?: number;
  /** The storage keys of an encrypted data dir: every group is then encrypted (AES-256-GCM). */
  keys?: WalKeys;
  /** The integrity ledger: each batch gets a leaf written in its group (same fsync). */
  ledger?: WalLedger;
}

export interface WalStats {
  committedSeq: bigint;
  appliedSeq: bigint;
  backlogRecords: number;
  deduplicatedBatches: number;
  damagedGroups: number;
  truncatedBytes: number;
  segments: number;
  /** Store inserts that failed and will be retried (the rows stay in the log; nothing is dropped). */
  applyFailures: number;
  /** The last failure while the applier is still retrying it; undefined once an insert succeeds. */
  failingSince?: Date;
  lastError?: string;
}

interface Segment {
  path: string;
  firstSeq: bigint;
  lastSeq: bigint;
  closedAtMs: number | undefined;
}

interface Checkpoint {
  applied: string;
  intent: [string, string] | null;
}

const CHECKPOINT = 'checkpoint.json';

export class IngestWal {
  private readonly segmentBytes: number;
  private readonly maxBacklogRecords: number;
  private readonly maxApplyRecords: number;
  private readonly dedupWindowMs: number;
  private segments: Segment[] = [];
  private fh: FileHandle | undefined;
  private fileBytes = 0;
  private nextSeq = 1n;
  private committedSeq = 0n;
  private appliedSeq = 0n;
  private pending: { group: WalGroup; records: number }[] = [];
  private backlogRecords = 0;
  private forcedRange: [bigint, bigint] | undefined;
  private readonly recentIds = new Map<string, number>();
  private appendChain: Promise<unknown> = Promise.resolve();
  private wakeApplier: (() => void) | undefined;
  private backlogWaiters: (() => void)[] = [];
  private appliedWaiters: { seq: bigint; resolve: () => void }[] = [];
  private applierDone: Promise<void> | undefined;
  private closing = false;
  private deduplicatedBatches = 0;
  private damagedGroups = 0;
  private applyFailures = 0;
  private failing: { since: Date; error: string } | undefined;
  private truncatedBytes = 0;

  private constructor(
    private readonly opts: IngestWalOptions,
    private readonly target: WalApplyTarget,
  ) {
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    // Bounded so pending rows (held in memory for the applier) stay within a few hundred MiB.
    this.maxBacklogRecords = opts.maxBacklogRecords ?? 200_000;
    this.maxApplyRecords = opts.maxApplyRecords ?? 100_000;
    this.dedupWindowMs = opts.dedupWindowMs ?? 15 * 60_000;
  }

  /** Opens (creating if needed), recovers from whatever a crash left, and starts applying. */
  static async open(opts: IngestWalOptions, target: WalApplyTarget): Promise<IngestWal> {
    const wal = new IngestWal(opts, target);
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    wal.recover();
    // A log that was lost or reset must not reuse sequence numbers rows already carry.
    const storeMax = await target.maxIngestSeq();
    if (storeMax >= wal.nextSeq) {
      wal.nextSeq = storeMax + 1n;
      wal.committedSeq = wal.appliedSeq = storeMax > wal.appliedSeq ? storeMax : wal.appliedSeq;
    }
    wal.applierDone = wal.applyLoop();
    return wal;
  }

  get stats(): WalStats {
    return {
      committedSeq: this.committedSeq,
      appliedSeq: this.appliedSeq,
      backlogRecords: this.backlogRecords,
      deduplicatedBatches: this.deduplicatedBatches,
      damagedGroups: this.damagedGroups,
      truncatedBytes: this.truncatedBytes,
      segments: this.segments.length,
      applyFailures: this.applyFailures,
      ...(this.failing ? { failingSince: this.failing.since, lastError: this.failing.error } : {}),
    };
  }

  private recover(): void {
    const cp = this.readCheckpoint();
    this.appliedSeq = BigInt(cp.applied);
    const files = readdirSync(this.opts.dir).filter((f) => /^[0-9a-f]{16}\.wal$/.test(f)).sort();
    const now = Date.now();
    let maxSeq = this.appliedSeq;
    files.forEach((name, index) => {
      const path = join(this.opts.dir, name);
      const buf = readFileSync(path);
      const last = index === files.length - 1;
      let offset = 0;
      let firstSeq = BigInt('0x' + name.slice(0, 16));
      let lastSeq = firstSeq - 1n;
      while (offset < buf.length) {
        const r = decodeGroup(buf, offset, this.opts.keys);
        if (!r.ok) {
          if (last && r.reason === 'truncated') {
            // A crash mid-append: that group was never acknowledged.
            this.truncatedBytes += buf.length - offset;
            truncateSync(path, offset);
            this.opts.logger.warn('ingest WAL: cut a torn tail left by a crash', { segment: name, bytes: buf.length - offset });
          } else {
            this.damagedGroups++;
            this.opts.logger.error('ingest WAL: damaged group; the rest of this segment is skipped', { segment: name, offset, reason: r.reason });
          }
          break;
        }
        const g = r.group;
        this.opts.ledger?.committed(g);
        if (lastSeq < firstSeq) firstSeq = g.seq;
        lastSeq = g.seq;
        if (g.seq > maxSeq) maxSeq = g.seq;
        for (const b of g.batches) if (b.id) this.recentIds.set(b.id, now + this.dedupWindowMs);
        if (g.seq > this.appliedSeq) {
          const records = g.batches.reduce((n, b) => n + b.records, 0);
          this.pending.push({ group: g, records });
          this.backlogRecords += records;
        }
        offset += r.size;
      }
      this.segments.push({ path, firstSeq, lastSeq, closedAtMs: last ? undefined : statSync(path).mtimeMs });
    });
    this.pending.sort((a, b) => (a.group.seq < b.group.seq ? -1 : 1));
    this.nextSeq = maxSeq + 1n;
    this.committedSeq = maxSeq;
    if (cp.intent && BigInt(cp.intent[1]) > this.appliedSeq) this.forcedRange = [BigInt(cp.intent[0]), BigInt(cp.intent[1])];
    if (this.pending.length > 0) this.opts.logger.info('ingest WAL: replaying acknowledged groups not yet in the store', { groups: this.pending.length, records: this.backlogRecords });
  }

  /**
   * Makes the batches durable and resolves; the store gets them shortly
   * after. Batches whose idempotency key was seen recently are skipped.
   */
  append(batches: WalAppend[]): Promise<{ deduplicated: number }> {
    const run = this.appendChain.then(() => this.doAppend(batches));
    this.appendChain = run.catch(() => undefined);
    return run;
  }

  private async doAppend(batches: WalAppend[]): Promise<{ deduplicated: number }> {
    if (this.closing) throw new Error('the ingest WAL is closed');
    const now = Date.now();
    const fresh: WalAppend[] = [];
    let deduplicated = 0;
    const seen = new Set<string>();
    for (const b of batches) {
      if (b.id) {
        const until = this.recentIds.get(b.id);
        if ((until !== undefined && until > now) || seen.has(b.id)) {
          deduplicated++;
          continue;
        }
        seen.add(b.id);
      }
      fresh.push(b);
    }
    this.deduplicatedBatches += deduplicated;
    if (fresh.length === 0) return { deduplicated };
    while (this.backlogRecords > this.maxBacklogRecords && !this.closing) await new Promise<void>((r) => this.backlogWaiters.push(r));
    if (this.closing) throw new Error('the ingest WAL is closed');

    const seq = this.nextSeq;
    let row = 0;
    const group: WalGroup = {
      seq,
      rowOrdinals: true,
      batches: fresh.map((b) => {
        const firstRow = row;
        row += b.records;
        if (!this.opts.ledger) return { kind: b.kind, tenant: b.tenant, source: b.source, id: b.id, records: b.records, rows: b.encode(seq, firstRow) };
        const stats = newRowStats();
        const rows = b.encode(seq, firstRow, stats);
        return { kind: b.kind, tenant: b.tenant, source: b.source, id: b.id, records: b.records, rows, ...batchLeaf(seq, firstRow, b, rows, stats) };
      }),
    };
    const bytes = encodeGroup(group, this.opts.keys);
    const fh = await this.writableSegment(group.seq, bytes.length);
    await fh.write(bytes);
    await fh.datasync();
    this.fileBytes += bytes.length;
    this.nextSeq++;
    this.committedSeq = group.seq;
    this.segments[this.segments.length - 1]!.lastSeq = group.seq;
    this.opts.ledger?.committed(group);
    for (const b of fresh) if (b.id) this.recentIds.set(b.id, now + this.dedupWindowMs);
    const records = fresh.reduce((n, b) => n + b.records, 0);
    this.pending.push({ group, records });
    this.backlogRecords += records;
    this.wakeApplier?.();
    return { deduplicated };
  }

  private async writableSegment(seq: bigint, incoming: number): Promise<FileHandle> {
    if (this.fh && this.fileBytes + incoming <= this.segmentBytes) return this.fh;
    if (this.fh) {
      await this.fh.close();
      const cur = this.segments[this.segments.length - 1];
      if (cur) cur.closedAtMs = Date.now();
    }
    const path = join(this.opts.dir, `${seq.toString(16).padStart(16, '0')}.wal`);
    this.fh = await open(path, 'a', 0o600);
    this.fileBytes = (await this.fh.stat()).size;
    // A new file's directory entry must be durable too, or a power cut could lose the whole segment.
    fsyncDir(this.opts.dir);
    if (this.segments[this.segments.length - 1]?.path !== path) this.segments.push({ path, firstSeq: seq, lastSeq: seq - 1n, closedAtMs: undefined });
    return this.fh;
  }

  /** Resolves once everything committed before the call is queryable (or after `timeoutMs`). */
  waitVisible(timeoutMs = 10_000): Promise<void> {
    const target = this.committedSeq;
    if (this.appliedSeq >= target) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.appliedWaiters.push({ seq: target, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private async applyLoop(): Promise<void> {
    let backoff = 100;
    for (;;) {
      if (this.pending.length === 0) {
        if (this.closing) return;
        await new Promise<void>((r) => (this.wakeApplier = r));
        this.wakeApplier = undefined;
        continue;
      }
      const take = this.takeForApply();
      const first = take[0]!.group.seq;
      const last = take[take.length - 1]!.group.seq;
      try {
        this.writeCheckpoint({ applied: this.appliedSeq.toString(), intent: [first.toString(), last.toString()] });
        const rows = new Map<WalKind, { parts: Buffer[]; legacy: Buffer[]; records: number }>();
        for (const p of take) {
          for (const b of p.group.batches) {
            let r = rows.get(b.kind);
            if (!r) rows.set(b.kind, (r = { parts: [], legacy: [], records: 0 }));
            (p.group.rowOrdinals === false ? r.legacy : r.parts).push(b.rows);
            r.records += b.records;
          }
        }
        const token = `wal-${first}-${last}`;
        // After a crash the recorded range may already be (partly) in the store.
        const replay = this.forcedRange !== undefined;
        for (const kind of WAL_KINDS) {
          const r = rows.get(kind);
          if (!r) continue;
          // The token suffix kept its pre-audit spelling (`-logs`, `-spans`), so tokens of old WAL ranges still match.
          if (!replay || (await this.needsInsert(kind, first, last, r.records))) {
            if (r.legacy.length > 0) await this.target.insertRows(kind, joinRows(r.legacy), `${token}-${kind}-legacy`, true);
            if (r.parts.length > 0) await this.target.insertRows(kind, joinRows(r.parts), `${token}-${kind}`);
          }
        }
      } catch (err) {
        const error = (err as Error).message;
        this.applyFailures++;
        this.failing = { since: this.failing?.since ?? new Date(), error };
        this.opts.logger.warn('ingest WAL: store insert failed; will retry', { error, from: String(first), to: String(last) });
        if (this.closing && this.closeDeadlinePassed()) return;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      backoff = 100;
      this.failing = undefined;
      this.pending.splice(0, take.length);
      this.backlogRecords -= take.reduce((n, p) => n + p.records, 0);
      this.appliedSeq = last;
      this.forcedRange = undefined;
      this.writeCheckpoint({ applied: last.toString(), intent: null });
      this.appliedWaiters = this.appliedWaiters.filter((w) => (w.seq <= last ? (w.resolve(), false) : true));
      for (const w of this.backlogWaiters.splice(0)) w();
      this.pruneSegments();
    }
  }

  /** For a replayed range: true when it must be inserted (after removing a partial copy). */
  private async needsInsert(table: WalKind, from: bigint, to: bigint, expected: number): Promise<boolean> {
    const present = await this.target.countRange(table, from, to);
    if (present === expected) return false;
    if (present > 0) {
      this.opts.logger.warn('ingest WAL: a crash left part of a range in the store; replacing it', { table, from: String(from), to: String(to), present, expected });
      await this.target.deleteRange(table, from, to);
    }
    return true;
  }

  /** The groups of the next insert: the recorded intent after a crash, else as many as fit. */
  private takeForApply(): { group: WalGroup; records: number }[] {
    if (this.forcedRange) {
      const [, to] = this.forcedRange;
      const n = this.pending.findIndex((p) => p.group.seq > to);
      return this.pending.slice(0, n < 0 ? this.pending.length : n);
    }
    let records = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || records + this.pending[n]!.records <= this.maxApplyRecords)) records += this.pending[n++]!.records;
    return this.pending.slice(0, n);
  }

  private pruneSegments(): void {
    const now = Date.now();
    for (const [id, until] of this.recentIds) if (until <= now) this.recentIds.delete(id);
    // Keep applied segments for the dedup window: they rebuild the idempotency keys after a restart.
    const ledgerDurable = this.opts.ledger?.durableSeq();
    while (this.segments.length > 1) {
      const s = this.segments[0]!;
      // A segment also rebuilds ledger leaves not yet fsynced in the ledger file.
      if ((ledgerDurable !== undefined && s.lastSeq > ledgerDurable) || s.lastSeq > this.appliedSeq || s.closedAtMs === undefined || now - s.closedAtMs < this.dedupWindowMs) break;
      rmSync(s.path, { force: true });
      this.segments.shift();
    }
  }

  private readCheckpoint(): Checkpoint {
    try {
      return JSON.parse(readFileSync(join(this.opts.dir, CHECKPOINT), 'utf8')) as Checkpoint;
    } catch {
      return { applied: '0', intent: null };
    }
  }

  private writeCheckpoint(cp: Checkpoint): void {
    const path = join(this.opts.dir, CHECKPOINT);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(cp));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    fsyncDir(this.opts.dir);
  }

  private closeDeadline = 0;
  private closeDeadlinePassed(): boolean {
    return Date.now() > this.closeDeadline;
  }

  /** Stops accepting, applies what is pending (up to `drainMs`; the rest replays at next start), closes. */
  async close(drainMs = 30_000): Promise<void> {
    if (this.closing) return this.applierDone;
    await this.appendChain;
    this.closing = true;
    this.closeDeadline = Date.now() + drainMs;
    for (const w of this.backlogWaiters.splice(0)) w();
    this.wakeApplier?.();
    await this.applierDone;
    for (const w of this.appliedWaiters.splice(0)) w.resolve();
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** The batch's ledger leaf (committed in its WAL group) and its row hints. */
function batchLeaf(seq: bigint, row: number, b: WalAppend, rows: Buffer, stats: RowStats): { leaf: Buffer; hints: Buffer } {
  const hints = Buffer.alloc(stats.crcs.length * 4);
  stats.crcs.forEach((c, i) => hints.writeUInt32LE(c, i * 4));
  const leaf = encodeLeaf({
    type: 'batch',
    seq: seq.toString(),
    row,
    table: b.kind,
    tenant: b.tenant,
    source: b.source,
    records: b.records,
    min_ns: (stats.minNs < 0n ? 0n : stats.minNs).toString(),
    max_ns: (stats.maxNs < 0n ? 0n : stats.maxNs).toString(),
    records_sha256: recordsHash(rows),
  });
  return { leaf, hints };
}

function joinRows(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  const withNewlines: Buffer[] = [];
  const nl = Buffer.from('\n');
  parts.forEach((p, i) => {
    if (i > 0) withNewlines.push(nl);
    withNewlines.push(p);
  });
  return Buffer.concat(withNewlines);
}

