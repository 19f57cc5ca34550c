/**
 * The WAL group's ledger section (wal-format.ts): leaves and row hints ride
 * in the same group as their rows, plaintext or encrypted; a group with the
 * ledger off says so (0 leaves); a group written before the section existed
 * still decodes (its rows have no `ingest_row`: `rowOrdinals` false) and is
 * replayed by the WAL as legacy rows beside new ones; a section that does
 * not match its batches is malformed, never half read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { silentLogger } from '@meshlog/core';
import { HEADER_BYTES, decodeGroup, encodeGroup, type WalBatch, type WalGroup, type WalKeys, type WalKind } from './wal-format.js';
import { IngestWal, type WalApplyTarget, type WalLedger } from './ingest-wal.js';

const KEYS: WalKeys = { currentId: 3, key: (id) => (id === 3 ? Buffer.alloc(32, 7) : undefined) };

function batch(kind: WalKind, lines: string[], leaf?: string): WalBatch {
  const rows = Buffer.from(lines.map((l) => JSON.stringify([l])).join('\n'));
  const hints = Buffer.alloc(lines.length * 4);
  lines.forEach((l, i) => hints.writeUInt32LE(crc32(JSON.stringify([l])), i * 4));
  return { kind, tenant: 'acme', source: 'otlp', id: '', records: lines.length, rows, ...(leaf ? { leaf: Buffer.from(leaf), hints } : {}) };
}

/** A group as the WAL wrote it before the ledger section existed: the payload ends after the last batch entry. */
function legacyGroup(g: WalGroup): Buffer {
  const current = encodeGroup({ ...g, batches: g.batches.map(({ leaf: _l, hints: _h, ...b }) => b) });
  // Plaintext: header, fmt 0, payload; the payload's last 4 bytes are the section's leaf count (0).
  const body = current.subarray(HEADER_BYTES, current.length - 4);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

test('leaves and hints round-trip with their rows, plaintext and encrypted', () => {
  const g: WalGroup = { seq: 41n, batches: [batch('logs', ['a', 'b', 'ü 🚀'], '{"type":"batch","n":1}'), batch('spans', ['s'], '{"type":"batch","n":2}'), batch('audit_log', ['x'], '{"type":"batch","n":3}')] };
  for (const keys of [undefined, KEYS]) {
    const r = decodeGroup(encodeGroup(g, keys), 0, keys);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.group.rowOrdinals, true);
    assert.equal(r.group.seq, 41n);
    for (const [i, b] of r.group.batches.entries()) {
      const want = g.batches[i]!;
      assert.equal(b.kind, want.kind);
      assert.deepEqual(b.rows, want.rows);
      assert.deepEqual(b.leaf, want.leaf);
      assert.deepEqual(b.hints, want.hints);
    }
  }
  // The leaf is inside the checksummed (and, encrypted, authenticated) body: flipping a byte of it is caught.
  const bytes = encodeGroup(g);
  const at = bytes.indexOf('"n":2');
  const flipped = Buffer.from(bytes);
  flipped[at + 4] = flipped[at + 4]! ^ 1;
  assert.deepEqual(decodeGroup(flipped, 0), { ok: false, reason: 'checksum' });
});

test('ledger off: the section says 0 leaves, and the rows still carry ordinals', () => {
  const g: WalGroup = { seq: 5n, batches: [batch('logs', ['a']), batch('logs', ['b', 'c'])] };
  const bytes = encodeGroup(g);
  assert.equal(bytes.readUInt32LE(bytes.length - 4), 0);
  const r = decodeGroup(bytes, 0);
  assert.ok(r.ok);
  assert.equal(r.group.rowOrdinals, true);
  assert.ok(r.group.batches.every((b) => b.leaf === undefined && b.hints === undefined));
});

test('a group written before the ledger section decodes as legacy rows (no ingest_row)', () => {
  const g: WalGroup = { seq: 9n, batches: [batch('logs', ['old 1', 'old 2']), batch('spans', ['old span'])] };
  const r = decodeGroup(legacyGroup(g), 0);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.group.rowOrdinals, false);
  assert.equal(r.group.seq, 9n);
  assert.deepEqual(
    r.group.batches.map((b) => [b.kind, b.records, b.rows.toString(), b.leaf]),
    [
      ['logs', 2, '["old 1"]\n["old 2"]', undefined],
      ['spans', 1, '["old span"]', undefined],
    ],
  );
});

test('a ledger section that does not match its batches is malformed', () => {
  const g: WalGroup = { seq: 1n, batches: [batch('logs', ['a'], '{"l":1}'), batch('logs', ['b'], '{"l":2}')] };
  const bytes = encodeGroup(g);
  // Say 1 leaf for 2 batches: neither every leaf nor none.
  const body = Buffer.from(bytes.subarray(HEADER_BYTES));
  const sectionAt = body.indexOf('{"l":1}') - 8; // leaves u32, then leafL u32, then the leaf
  body.writeUInt32LE(1, sectionAt);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(crc32(body), 4);
  assert.deepEqual(decodeGroup(Buffer.concat([header, body]), 0), { ok: false, reason: 'malformed' });
  // A leaf length running past the end.
  const long = Buffer.from(bytes.subarray(HEADER_BYTES));
  long.writeUInt32LE(1_000_000, sectionAt + 4);
  header.writeUInt32LE(long.length, 0);
  header.writeUInt32LE(crc32(long), 4);
  assert.deepEqual(decodeGroup(Buffer.concat([header, long]), 0), { ok: false, reason: 'malformed' });
});

class Target implements WalApplyTarget {
  readonly inserts: { table: WalKind; rows: string; legacy: boolean }[] = [];
  async insertRows(table: WalKind, rows: Buffer, _token: string, legacy?: boolean): Promise<void> {
    this.inserts.push({ table, rows: rows.toString(), legacy: legacy === true });
  }
  async countRange(): Promise<number> {
    return 0;
  }
  async deleteRange(): Promise<void> {}
  async maxIngestSeq(): Promise<bigint> {
    return 0n;
  }
}

class Ledger implements WalLedger {
  readonly groups: WalGroup[] = [];
  committed(group: WalGroup): void {
    this.groups.push(group);
  }
  durableSeq(): bigint {
    return 0n;
  }
}

test('a segment holding a legacy group then a new one: both replay, legacy rows as legacy, leaves reach the ledger', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'wal-ledger-')), 'wal');
  mkdirSync(dir);
  const old: WalGroup = { seq: 1n, batches: [batch('logs', ['before the ledger'])] };
  const fresh: WalGroup = { seq: 2n, batches: [batch('logs', ['with a leaf'], '{"type":"batch","seq":"2"}')] };
  writeFileSync(join(dir, `${(1).toString(16).padStart(16, '0')}.wal`), Buffer.concat([legacyGroup(old), encodeGroup(fresh)]));
  const target = new Target();
  const ledger = new Ledger();
  const wal = await IngestWal.open({ dir, logger: silentLogger, ledger }, target);
  await wal.waitVisible();
  assert.deepEqual(
    target.inserts.map((i) => [i.rows, i.legacy]).sort(),
    [
      ['["before the ledger"]', true],
      ['["with a leaf"]', false],
    ],
  );
  assert.deepEqual(
    ledger.groups.map((g) => [g.seq, g.rowOrdinals, g.batches.map((b) => b.leaf?.toString())]),
    [
      [1n, false, [undefined]],
      [2n, true, ['{"type":"batch","seq":"2"}']],
    ],
  );
  await wal.close();
});
