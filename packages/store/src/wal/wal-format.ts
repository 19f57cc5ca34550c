/**
 * The ingest write-ahead log's on-disk format. An acknowledgement means the
 * batch's commit group is in a segment file and fsynced; everything else
 * (inserting into ClickHouse) can be redone from here.
 *
 * Design constraints: append-only segments; every group checksummed (a torn
 * tail after a crash is detected and cut, never half-applied); groups carry
 * their sequence number so replay is ordered and idempotent; the rows are
 * stored already encoded, so replay inserts exactly the bytes that were
 * acknowledged.
 *
 * Segment file `wal/<first seq, 16 hex digits>.wal` is a sequence of groups:
 *
 *   0        4        8     9
 *   +--------+--------+-----+------------------------------------------+
 *   | length | crc32  | fmt | payload                                  |
 *   +--------+--------+-----+------------------------------------------+
 *   length: bytes after the crc (fmt .. end); crc32: over those bytes
 *
 *   fmt 0, plaintext payload:
 *   +----------------+--------+-----------------------+------------------------+
 *   | seq (u64 LE)   | count  | batch entries ...     | ledger section         |
 *   +----------------+--------+-----------------------+------------------------+
 *
 *   ledger section (since the integrity ledger; a group without it was
 *   written before, and its rows have no `ingest_row` column):
 *   +--------+----------------------------------------------------------+
 *   | leaves | per leaf: leafL u32 | leaf bytes | hintsL u32 | hints    |
 *   | u32    |                                                          |
 *   +--------+----------------------------------------------------------+
 *   leaves: 0 (ledger off) or one per batch entry, in the same order; a
 *   leaf is the batch's ledger leaf (canonical JSON, @meshlog/core
 *   ledger-leaf.ts), hints the crc32 (u32 LE) of each of its rows. The
 *   leaves are in the same fsync as the rows they commit to: a crash cannot
 *   separate them.
 *
 *   fmt 1, encrypted payload (AES-256-GCM; the plaintext is the fmt 0
 *   payload; the key is HKDF-SHA256(storage key <key id>, "meshlog ingest
 *   wal"), so the storage key never serves two ciphers):
 *   +--------+-----------+----------+--------------------+
 *   | key id | iv (12 B) | tag (16) | ciphertext ...     |
 *   | u32 LE |           |          |                    |
 *   +--------+-----------+----------+--------------------+
 *
 *   batch entry:
 *   +------+---------+--------+---------+--------+-------+-----+---------+---------+------+
 *   | kind | tenantL | tenant | sourceL | source | idL   | id  | records | rowsL   | rows |
 *   | u8   | u16     | utf-8  | u16     | utf-8  | u8    |     | u32     | u32     |      |
 *   +------+---------+--------+---------+--------+-------+-----+---------+---------+------+
 *   kind: 1 logs, 2 spans, 3 audit_log; id: the batch's idempotency key ('' if none);
 *   rows: JSONCompactEachRow lines in LOG_COLUMNS / SPAN_COLUMNS order
 *   (audit_log rows have the logs table's columns)
 *
 * All integers little-endian.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The tables a WAL batch goes to, in kind-code order (code = index + 1). */
export const WAL_KINDS = ['logs', 'spans', 'audit_log'] as const;
export type WalKind = (typeof WAL_KINDS)[number];
const WAL_KIND_CODES: Record<WalKind, number> = { logs: 1, spans: 2, audit_log: 3 };

export const HEADER_BYTES = 8;

/** The storage keys, when the data dir is encrypted at rest: the log is encrypted with them too. */
export interface WalKeys {
  currentId: number;
  /** The 32-byte storage key `id`, or undefined when it is not configured. */
  key(id: number): Buffer | undefined;
}

const derived = new WeakMap<WalKeys, Map<number, Buffer>>();
function walKey(keys: WalKeys, id: number): Buffer | undefined {
  let byId = derived.get(keys);
  if (!byId) derived.set(keys, (byId = new Map()));
  let k = byId.get(id);
  if (!k) {
    const base = keys.key(id);
    if (!base) return undefined;
    k = Buffer.from(hkdfSync('sha256', base, Buffer.alloc(0), 'meshlog ingest wal', 32));
    byId.set(id, k);
  }
  return k;
}

export interface WalBatch {
  kind: WalKind;
  tenant: string;
  source: string;
  /** Idempotency key: a retried request with the same key is acknowledged without being stored twice. */
  id: string;
  records: number;
  rows: Buffer;
  /** The batch's ledger leaf and row hints (absent with the ledger off). */
  leaf?: Buffer;
  hints?: Buffer;
}

export interface WalGroup {
  seq: bigint;
  batches: WalBatch[];
  /** False for groups written before `ingest_row` existed: their rows lack that column. */
  rowOrdinals?: boolean;
}

export function encodeGroup(group: WalGroup, keys?: WalKeys): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(group.seq, 0);
  head.writeUInt32LE(group.batches.length, 8);
  parts.push(head);
  for (const b of group.batches) {
    const tenant = Buffer.from(b.tenant);
    const source = Buffer.from(b.source);
    const id = Buffer.from(b.id);
    if (tenant.length > 0xffff || source.length > 0xffff || id.length > 0xff) throw new Error('WAL batch header field too long');
    const h = Buffer.alloc(1 + 2 + tenant.length + 2 + source.length + 1 + id.length + 4 + 4);
    let o = 0;
    o = h.writeUInt8(WAL_KIND_CODES[b.kind], o);
    o = h.writeUInt16LE(tenant.length, o);
    o += tenant.copy(h, o);
    o = h.writeUInt16LE(source.length, o);
    o += source.copy(h, o);
    o = h.writeUInt8(id.length, o);
    o += id.copy(h, o);
    o = h.writeUInt32LE(b.records, o);
    h.writeUInt32LE(b.rows.length, o);
    parts.push(h, b.rows);
  }
  const withLeaves = group.batches.every((b) => b.leaf);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(withLeaves ? group.batches.length : 0, 0);
  parts.push(count);
  if (withLeaves) {
    for (const b of group.batches) {
      const lens = Buffer.alloc(8);
      lens.writeUInt32LE(b.leaf!.length, 0);
      lens.writeUInt32LE(b.hints?.length ?? 0, 4);
      parts.push(lens.subarray(0, 4), b.leaf!, lens.subarray(4), b.hints ?? Buffer.alloc(0));
    }
  }
  const payload = Buffer.concat(parts);
  let body: Buffer;
  if (keys) {
    const key = walKey(keys, keys.currentId);
    if (!key) throw new Error(`storage key ${keys.currentId} is not available`);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([cipher.update(payload), cipher.final()]);
    const head = Buffer.alloc(1 + 4);
    head.writeUInt8(1, 0);
    head.writeUInt32LE(keys.currentId, 1);
    body = Buffer.concat([head, iv, cipher.getAuthTag(), ct]);
  } else {
    body = Buffer.concat([Buffer.from([0]), payload]);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

export type DecodeResult = { ok: true; group: WalGroup; size: number } | { ok: false; reason: 'truncated' | 'checksum' | 'malformed' | 'key_missing' | 'authentication' };

/** Decodes the group starting at `offset`; never throws on bad bytes. */
export function decodeGroup(buf: Buffer, offset: number, keys?: WalKeys): DecodeResult {
  if (buf.length - offset < HEADER_BYTES) return { ok: false, reason: 'truncated' };
  const length = buf.readUInt32LE(offset);
  const crc = buf.readUInt32LE(offset + 4);
  if (buf.length - offset - HEADER_BYTES < length) return { ok: false, reason: 'truncated' };
  const stored = buf.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  if (crc32(stored) !== crc) return { ok: false, reason: 'checksum' };
  let body: Buffer;
  if (stored[0] === 0) body = stored.subarray(1);
  else if (stored[0] === 1 && stored.length >= 1 + 4 + 12 + 16) {
    const key = keys ? walKey(keys, stored.readUInt32LE(1)) : undefined;
    if (!key) return { ok: false, reason: 'key_missing' };
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, stored.subarray(5, 17));
      decipher.setAuthTag(stored.subarray(17, 33));
      body = Buffer.concat([decipher.update(stored.subarray(33)), decipher.final()]);
    } catch {
      return { ok: false, reason: 'authentication' };
    }
  } else return { ok: false, reason: 'malformed' };
  try {
    const seq = body.readBigUInt64LE(0);
    const count = body.readUInt32LE(8);
    let o = 12;
    const batches: WalBatch[] = [];
    for (let i = 0; i < count; i++) {
      const kind = WAL_KINDS[body.readUInt8(o) - 1];
      if (kind === undefined) return { ok: false, reason: 'malformed' };
      o += 1;
      const tl = body.readUInt16LE(o);
      const tenant = body.toString('utf8', o + 2, o + 2 + tl);
      o += 2 + tl;
      const sl = body.readUInt16LE(o);
      const source = body.toString('utf8', o + 2, o + 2 + sl);
      o += 2 + sl;
      const il = body.readUInt8(o);
      const id = body.toString('utf8', o + 1, o + 1 + il);
      o += 1 + il;
      const records = body.readUInt32LE(o);
      const rl = body.readUInt32LE(o + 4);
      o += 8;
      if (o + rl > body.length) return { ok: false, reason: 'malformed' };
      batches.push({ kind, tenant, source, id, records, rows: body.subarray(o, o + rl) });
      o += rl;
    }
    const rowOrdinals = o < body.length;
    if (rowOrdinals) {
      const leaves = body.readUInt32LE(o);
      o += 4;
      if (leaves !== 0 && leaves !== count) return { ok: false, reason: 'malformed' };
      for (let i = 0; i < leaves; i++) {
        const ll = body.readUInt32LE(o);
        const leaf = body.subarray(o + 4, o + 4 + ll);
        o += 4 + ll;
        const hl = body.readUInt32LE(o);
        const hints = body.subarray(o + 4, o + 4 + hl);
        o += 4 + hl;
        if (o > body.length) return { ok: false, reason: 'malformed' };
        batches[i]!.leaf = leaf;
        batches[i]!.hints = hints;
      }
    }
    return { ok: true, group: { seq, batches, rowOrdinals }, size: HEADER_BYTES + stored.length };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
