/**
 * The integrity ledger: the Merkle log of every accepted batch, deletion,
 * retention change and signing key, with signed checkpoints.
 *
 * Invariants:
 * - a batch's leaf is written in its ingest WAL group (same fsync as its
 *   rows, wal-format.ts); the ledger file is a copy that is fsynced before
 *   every checkpoint and every deletion leaf, and WAL segments are kept until
 *   it is, so after a crash the leaves the file lacks are rebuilt from the
 *   WAL, in sequence order (the order they were first appended in);
 * - every leaf a checkpoint covers was fsynced before it was signed: a
 *   ledger file with fewer leaves than its last checkpoint was truncated
 *   (not crashed), is reported, and is not repaired from the WAL (the
 *   verifier must see it);
 * - checkpoints are only appended; the signing key lives outside the data
 *   dir, and a new key is itself a leaf (rotation recorded in the log).
 *
 * Files under `<data dir>/ledger/`:
 *
 *   origin             the log's id (random, written once)
 *   leaves.log         entries, appended:
 *     +--------+--------+---------+------------+-------------------+
 *     | length | crc32  | leafL   | leaf bytes | hints             |
 *     | u32 LE | u32 LE | u32 LE  |            | (length-4-leafL)  |
 *     +--------+--------+---------+------------+-------------------+
 *     length: bytes after the crc; crc32 over them. leaf: canonical JSON
 *     (@meshlog/core ledger-leaf.ts); hints: crc32 u32 LE of each row of a
 *     batch leaf (empty for other leaves). A torn tail is cut at open.
 *   checkpoints.jsonl  one signed checkpoint (@meshlog/core checkpoint.ts) a line
 *
 * Witness: each checkpoint is also appended to `witness.file` (a path the
 * operator does not control, e.g. another host's mount) and/or POSTed as
 * JSON to `witness.url`; a failed witness is logged, never blocks ingest.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, truncateSync, writeFileSync, writeSync, existsSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, type KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  MerkleTree,
  decodeLeaf,
  encodeLeaf,
  keyIdOf,
  leafHash,
  publicKeyDer,
  signCheckpoint,
  type Checkpoint,
  type LedgerLeaf,
  type Logger,
} from '@meshlog/core';
import type { WalLedger } from '../wal/ingest-wal.js';
import type { WalGroup } from '../wal/wal-format.js';

export interface LedgerOptions {
  dir: string;
  signingKey: KeyObject;
  /** The key the ledger's last key leaf names, when rotating: it signs a checkpoint that covers the new key's leaf. */
  previousKey?: KeyObject;
  logger: Logger;
  witness?: { file?: string; url?: string };
}

export interface LedgerEntry {
  index: number;
  leaf: Buffer;
  hints: Buffer;
}

export class IntegrityLedger implements WalLedger {
  readonly origin: string;
  private readonly tree = new MerkleTree();
  private readonly offsets: number[] = [];
  /** Leaf indices of each WAL group's batches (for proofs by record). */
  private readonly bySeq = new Map<string, number[]>();
  private fd: number;
  private fileBytes = 0;
  private lastSeq = 0n;
  private durable = 0n;
  private checkpoints: Checkpoint[] = [];
  private currentKeyId = '';
  /** Set when the file held fewer leaves than its last checkpoint: WAL rebuild is off then. */
  readonly truncatedAtOpen: boolean;
  private readonly leavesPath: string;
  /** True until `start()`: groups arriving now come from the WAL's recovery, not from live appends. */
  private recovering = true;

  private constructor(private readonly opts: LedgerOptions) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const originPath = join(opts.dir, 'origin');
    if (!existsSync(originPath)) writeFileSync(originPath, `meshlog-${randomBytes(8).toString('hex')}\n`, { mode: 0o600 });
    this.origin = readFileSync(originPath, 'utf8').trim();
    this.leavesPath = join(opts.dir, 'leaves.log');
    this.readLeaves();
    this.checkpoints = this.readCheckpoints();
    const last = this.checkpoints[this.checkpoints.length - 1];
    this.truncatedAtOpen = last !== undefined && last.size > this.tree.size;
    if (this.truncatedAtOpen)
      opts.logger.error('integrity ledger: the ledger holds fewer leaves than its last signed checkpoint; it was truncated or replaced, and meshlog verify will report it', {
        leaves: this.tree.size,
        checkpointSize: last!.size,
      });
    this.fd = openSync(this.leavesPath, 'a', 0o600);
    this.durable = this.lastSeq;
  }

  /** Opens the ledger; call `start()` after the WAL has replayed its groups into it. */
  static open(opts: LedgerOptions): IntegrityLedger {
    return new IntegrityLedger(opts);
  }

  /** After WAL recovery: records the signing key (a key leaf when it is new) and signs a checkpoint. */
  async start(): Promise<void> {
    this.recovering = false;
    const keyId = keyIdOf(this.opts.signingKey);
    if (keyId !== this.currentKeyId) {
      const previous = this.currentKeyId;
      this.append(
        encodeLeaf({ type: 'key', at: new Date().toISOString(), key_id: keyId, public_key: publicKeyDer(this.opts.signingKey).toString('base64'), previous_key_id: previous }),
        Buffer.alloc(0),
      );
      if (previous && this.opts.previousKey && keyIdOf(this.opts.previousKey) === previous) {
        // The outgoing key vouches for the incoming one: its checkpoint covers the key leaf.
        await this.checkpoint(this.opts.previousKey);
      } else if (previous) {
        this.opts.logger.warn('integrity ledger: signing key changed without the previous key to endorse it; auditors must be given the new public key', { previous, current: keyId });
      }
    }
    await this.checkpoint();
  }

  get size(): number {
    return this.tree.size;
  }

  get keyId(): string {
    return keyIdOf(this.opts.signingKey);
  }

  get publicKey(): string {
    return publicKeyDer(this.opts.signingKey).toString('base64');
  }

  committed(group: WalGroup): void {
    if (group.seq <= this.lastSeq) return;
    // Rebuilding a truncated ledger from the WAL would hide the truncation: only a crash's unsynced tail is rebuilt.
    if (this.truncatedAtOpen && this.recovering) return;
    for (const b of group.batches) if (b.leaf) this.append(b.leaf, b.hints ?? Buffer.alloc(0), group.seq);
    this.lastSeq = group.seq;
  }

  durableSeq(): bigint {
    return this.durable;
  }

  /** Appends a non-batch leaf (deletion, change) durably. */
  appendLeaf(leaf: LedgerLeaf): number {
    const index = this.append(encodeLeaf(leaf), Buffer.alloc(0));
    this.sync();
    return index;
  }

  private append(leaf: Buffer, hints: Buffer, seq?: bigint): number {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(4 + leaf.length + hints.length, 0);
    head.writeUInt32LE(leaf.length, 8);
    const body = Buffer.concat([head.subarray(8), leaf, hints]);
    head.writeUInt32LE(crc32(body), 4);
    const entry = Buffer.concat([head.subarray(0, 8), body]);
    writeSync(this.fd, entry);
    this.index(leaf, this.fileBytes, seq);
    this.fileBytes += entry.length;
    return this.tree.size - 1;
  }

  private index(leaf: Buffer, offset: number, seq?: bigint): void {
    this.offsets.push(offset);
    this.tree.append(leafHash(leaf));
    if (seq !== undefined) {
      const key = seq.toString();
      const list = this.bySeq.get(key);
      if (list) list.push(this.tree.size - 1);
      else this.bySeq.set(key, [this.tree.size - 1]);
    }
  }

  private sync(): void {
    fsyncSync(this.fd);
    this.durable = this.lastSeq;
  }

  /** Signs (and witnesses) a checkpoint of the current tree, unless nothing was appended since the last. */
  async checkpoint(key: KeyObject = this.opts.signingKey): Promise<Checkpoint | undefined> {
    const last = this.checkpoints[this.checkpoints.length - 1];
    const signer = keyIdOf(key);
    if (last && last.size === this.tree.size && last.key_id === signer && this.tree.size > 0) return undefined;
    this.sync();
    const cp = signCheckpoint({ origin: this.origin, size: this.tree.size, root: this.tree.root().toString('hex'), time: new Date().toISOString() }, key);
    const line = JSON.stringify(cp) + '\n';
    const path = join(this.opts.dir, 'checkpoints.jsonl');
    appendFileSync(path, line, { mode: 0o600 });
    const fd = openSync(path, 'r');
    fsyncSync(fd);
    closeSync(fd);
    this.checkpoints.push(cp);
    await this.witness(cp, line);
    return cp;
  }

  private async witness(cp: Checkpoint, line: string): Promise<void> {
    const w = this.opts.witness;
    if (w?.file) {
      try {
        appendFileSync(w.file, line);
      } catch (err) {
        this.opts.logger.error('integrity ledger: could not append the checkpoint to the witness file; check integrity.witness.file', { file: w.file, error: (err as Error).message });
      }
    }
    if (w?.url) {
      try {
        const res = await fetch(w.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cp), signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        this.opts.logger.error('integrity ledger: the witness did not take the checkpoint; check integrity.witness.url', { error: (err as Error).message });
      }
    }
  }

  listCheckpoints(): Checkpoint[] {
    return [...this.checkpoints];
  }

  root(size = this.tree.size): Buffer {
    return this.tree.root(size);
  }

  inclusionProof(index: number, size: number): Buffer[] {
    return this.tree.inclusionProof(index, size);
  }

  consistencyProof(size1: number, size2: number): Buffer[] {
    return this.tree.consistencyProof(size1, size2);
  }

  /** Leaf indices of the batches of WAL group `seq`. */
  leavesOfSeq(seq: bigint): number[] {
    return this.bySeq.get(seq.toString()) ?? [];
  }

  /** Reads entries [from, to) back from the file. */
  entries(from: number, to: number): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    if (from >= to) return out;
    const fd = openSync(this.leavesPath, 'r');
    try {
      const start = this.offsets[from]!;
      const end = to < this.offsets.length ? this.offsets[to]! : this.fileBytes;
      const buf = Buffer.alloc(end - start);
      readSync(fd, buf, 0, buf.length, start);
      let o = 0;
      for (let i = from; i < to; i++) {
        const length = buf.readUInt32LE(o);
        const leafL = buf.readUInt32LE(o + 8);
        out.push({ index: i, leaf: buf.subarray(o + 12, o + 12 + leafL), hints: buf.subarray(o + 12 + leafL, o + 8 + length) });
        o += 8 + length;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  close(): void {
    this.sync();
    closeSync(this.fd);
  }

  private readLeaves(): void {
    let buf: Buffer;
    try {
      buf = readFileSync(this.leavesPath);
    } catch {
      return;
    }
    let o = 0;
    while (o + 12 <= buf.length) {
      const length = buf.readUInt32LE(o);
      if (o + 8 + length > buf.length) break;
      const body = buf.subarray(o + 8, o + 8 + length);
      if (crc32(body) !== buf.readUInt32LE(o + 4)) {
        this.opts.logger.error('integrity ledger: a damaged entry; the ledger is read up to it', { offset: o });
        break;
      }
      const leaf = body.subarray(4, 4 + body.readUInt32LE(0));
      let seq: bigint | undefined;
      try {
        const l = decodeLeaf(leaf);
        if (l.type === 'batch') seq = BigInt(l.seq);
        if (l.type === 'key') this.currentKeyId = l.key_id;
      } catch {
        // Kept as is: the verifier reports a leaf it cannot read.
      }
      this.index(leaf, o, seq);
      if (seq !== undefined && seq > this.lastSeq) this.lastSeq = seq;
      o += 8 + length;
    }
    if (o < buf.length) {
      this.opts.logger.warn('integrity ledger: cut a torn tail left by a crash', { bytes: buf.length - o });
      truncateSync(this.leavesPath, o);
    }
    this.fileBytes = o;
  }

  private readCheckpoints(): Checkpoint[] {
    try {
      return readFileSync(join(this.opts.dir, 'checkpoints.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Checkpoint);
    } catch {
      return [];
    }
  }
}
