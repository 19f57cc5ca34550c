import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@meshlog/core';
import { IngestWal, type WalApplyTarget, type WalAppend } from './ingest-wal.js';
import { decodeGroup, encodeGroup, type WalBatch, type WalKind } from './wal-format.js';

/** A store stand-in that records inserts and, like ClickHouse, ignores a repeated dedup token. */
class RecordingTarget implements WalApplyTarget {
  readonly rows: string[] = [];
  readonly tokens = new Set<string>();
  failNext = 0;
  async insertRows(_table: WalKind, rows: Buffer, token: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('store down');
    }
    if (this.tokens.has(token)) return;
    this.tokens.add(token);
    this.rows.push(...rows.toString().split('\n'));
  }
  /** Rows are `["line"]`; a target that keeps no deduplication log sees replays through countRange. */
  async countRange(_table: WalKind, _from: bigint, _to: bigint): Promise<number> {
    return 0;
  }
  async deleteRange(_table: WalKind, _from: bigint, _to: bigint): Promise<void> {}
  async maxIngestSeq(): Promise<bigint> {
    return 0n;
  }
}

const append = (b: WalBatch): WalAppend => ({ kind: b.kind, tenant: b.tenant, source: b.source, id: b.id, records: b.records, encode: () => b.rows });

function batch(id: string, lines: string[]): WalBatch {
  return { kind: 'logs', tenant: 't', source: 'otlp', id, records: lines.length, rows: Buffer.from(lines.map((l) => JSON.stringify([l])).join('\n')) };
}

const dirOf = (): string => join(mkdtempSync(join(tmpdir(), 'wal-test-')), 'wal');

test('groups round-trip through the format; damage is detected, never thrown', () => {
  const g = { seq: 7n, batches: [batch('a', ['x', 'y']), { ...batch('', ['z']), kind: 'spans' as const }] };
  const bytes = encodeGroup(g);
  const r = decodeGroup(bytes, 0);
  assert.ok(r.ok);
  assert.equal(r.group.seq, 7n);
  assert.equal(r.group.batches[1]!.kind, 'spans');
  assert.equal(r.group.batches[0]!.rows.toString(), '["x"]\n["y"]');
  assert.deepEqual(decodeGroup(bytes.subarray(0, bytes.length - 1), 0), { ok: false, reason: 'truncated' });
  const flipped = Buffer.from(bytes);
  flipped[20] = flipped[20]! ^ 0xff;
  assert.deepEqual(decodeGroup(flipped, 0), { ok: false, reason: 'checksum' });
});

test('append resolves durable; the applier inserts; a repeated idempotency key is stored once', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([append(batch('req-1', ['a', 'b']))]);
  const again = await wal.append([append(batch('req-1', ['a', 'b'])), append(batch('req-2', ['c']))]);
  assert.equal(again.deduplicated, 1);
  await wal.waitVisible();
  assert.deepEqual(target.rows, ['["a"]', '["b"]', '["c"]']);
  await wal.close();
});

test('after a crash, acknowledged groups are replayed exactly once and the keys are remembered', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  target.failNext = 1_000_000; // the store never takes the rows before the "crash"
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([append(batch('k1', ['one']))]);
  await wal.append([append(batch('k2', ['two', 'three']))]);
  // Simulate kill -9: abandon the instance without close; only files remain.
  const target2 = new RecordingTarget();
  const wal2 = await IngestWal.open({ dir, logger: silentLogger }, target2);
  await wal2.waitVisible();
  assert.deepEqual(target2.rows.sort(), ['["one"]', '["three"]', '["two"]']);
  const retry = await wal2.append([append(batch('k2', ['two', 'three']))]);
  assert.equal(retry.deduplicated, 1, 'a client retry after the restart is not stored again');
  await wal2.close();
  target.failNext = 0;
  await wal.close(0);
});

test('a crash between insert and checkpoint replays the same range with the same token', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([append(batch('a', ['1']))]);
  await wal.append([append(batch('b', ['2']))]);
  await wal.waitVisible();
  await wal.close();
  // Rewind the checkpoint to "intent recorded, not applied", as a crash after the insert would leave it.
  const applied = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { applied: string };
  const tokens = [...target.tokens];
  const [from, to] = tokens[tokens.length - 1]!.split('-').slice(1, 3);
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ applied: String(BigInt(from!) - 1n), intent: [from, to] }));
  const wal2 = await IngestWal.open({ dir, logger: silentLogger }, target); // same target: it has seen the token
  await wal2.waitVisible();
  await wal2.close();
  assert.equal(target.rows.length, 2, `replayed range ${from}-${to} was deduplicated (applied was ${applied.applied})`);
});

test('a torn tail is cut; damage in an older segment is counted and skipped', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  const wal = await IngestWal.open({ dir, logger: silentLogger, segmentBytes: 1 }, target); // one group per segment
  await wal.append([append(batch('x', ['first']))]);
  await wal.append([append(batch('y', ['second']))]);
  await wal.append([append(batch('z', ['third']))]);
  await wal.waitVisible();
  await wal.close();
  const segments = readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
  assert.equal(segments.length, 3);
  // Tear the last segment: half a group appended by a crash mid-write.
  const half = encodeGroup({ seq: 99n, batches: [batch('w', ['torn'])] }).subarray(0, 20);
  appendFileSync(join(dir, segments[2]!), half);
  const sizeBefore = statSync(join(dir, segments[2]!)).size;
  // Damage the first (already applied) segment.
  const firstPath = join(dir, segments[0]!);
  const bytes = readFileSync(firstPath);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
  writeFileSync(firstPath, bytes);
  const wal2 = await IngestWal.open({ dir, logger: silentLogger }, new RecordingTarget());
  assert.equal(wal2.stats.damagedGroups, 1);
  assert.equal(wal2.stats.truncatedBytes, 20);
  assert.equal(statSync(join(dir, segments[2]!)).size, sizeBefore - 20);
  await wal2.append([append(batch('v', ['fourth']))]);
  await wal2.close();
});

test('a store outage holds acknowledged rows in the log until it recovers', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  target.failNext = 3;
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([append(batch('p', ['held']))]);
  await wal.waitVisible(20_000);
  assert.deepEqual(target.rows, ['["held"]']);
  const stats = wal.stats;
  assert.equal(stats.applyFailures, 3, 'each failed insert is counted');
  assert.equal(stats.failingSince, undefined, 'no longer failing once an insert succeeded');
  assert.equal(stats.backlogRecords, 0);
  assert.equal(stats.appliedSeq, stats.committedSeq);
  await wal.close();
});

test('with storage keys every group is encrypted (AES-256-GCM) and reads back; rotation keeps old groups readable', async () => {
  const dir = dirOf();
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 2);
  const keysV1 = { currentId: 1, key: (id: number) => (id === 1 ? k1 : undefined) };
  const target = new RecordingTarget();
  target.failNext = 1_000_000; // keep the groups pending, so the replay must decrypt them
  const wal = await IngestWal.open({ dir, logger: silentLogger, keys: keysV1 }, target);
  await wal.append([append(batch('e1', ['secret-token-1']))]);
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.wal'))) assert.ok(!readFileSync(join(dir, f)).includes('secret-token-1'), 'no plaintext in the segment');
  const rotated = { currentId: 2, key: (id: number) => (id === 1 ? k1 : id === 2 ? k2 : undefined) };
  const target2 = new RecordingTarget();
  const wal2 = await IngestWal.open({ dir, logger: silentLogger, keys: rotated }, target2);
  await wal2.append([append(batch('e2', ['secret-token-2']))]);
  await wal2.waitVisible();
  assert.deepEqual(target2.rows.sort(), ['["secret-token-1"]', '["secret-token-2"]']);
  await wal2.close();
  const segs = readdirSync(dir).filter((x) => x.endsWith('.wal'));
  const g = decodeGroup(readFileSync(join(dir, segs[segs.length - 1]!)), 0, rotated);
  assert.ok(g.ok);
  assert.equal(decodeGroup(readFileSync(join(dir, segs[0]!)), 0).ok, false, 'unreadable without the keys');
  target.failNext = 0;
  await wal.close(0);
});

/** A store without a deduplication log (chDB's encrypted disk after kill -9): replay must check the range itself. */
class ForgetfulTarget extends RecordingTarget {
  readonly byRange = new Map<string, number>();
  override async insertRows(_table: WalKind, rows: Buffer, token: string): Promise<void> {
    const [, from, to] = token.split('-');
    const lines = rows.toString().split('\n');
    this.byRange.set(`${from}-${to}`, (this.byRange.get(`${from}-${to}`) ?? 0) + lines.length);
    this.rows.push(...lines);
  }
  override async countRange(_table: WalKind, from: bigint, to: bigint): Promise<number> {
    return this.byRange.get(`${from}-${to}`) ?? 0;
  }
  override async deleteRange(_table: WalKind, from: bigint, to: bigint): Promise<void> {
    const n = this.byRange.get(`${from}-${to}`) ?? 0;
    this.rows.splice(this.rows.length - n, n);
    this.byRange.delete(`${from}-${to}`);
  }
}

test('replaying a recorded range checks the store: complete → skipped, partial → replaced', async () => {
  const dir = dirOf();
  const target = new ForgetfulTarget();
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([append(batch('a', ['1', '2']))]);
  await wal.waitVisible();
  await wal.close();
  const [from, to] = [...target.byRange.keys()][0]!.split('-');
  // A crash after the insert, before the checkpoint: the intent is still recorded.
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ applied: String(BigInt(from!) - 1n), intent: [from, to] }));
  const wal2 = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal2.waitVisible();
  await wal2.close();
  assert.deepEqual(target.rows, ['["1"]', '["2"]'], 'a complete range is not inserted again');
  // Now a partial range: only one of the two rows made it.
  target.rows.pop();
  target.byRange.set(`${from}-${to}`, 1);
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ applied: String(BigInt(from!) - 1n), intent: [from, to] }));
  const wal3 = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal3.waitVisible();
  await wal3.close();
  assert.deepEqual(target.rows, ['["1"]', '["2"]'], 'a partial range is replaced, not doubled');
});

test('while the store refuses inserts, the stats say since when and why, and the rows wait', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  target.failNext = 1_000_000;
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([append(batch('w', ['waiting']))]);
  while (wal.stats.applyFailures === 0) await new Promise((r) => setTimeout(r, 10));
  const stats = wal.stats;
  assert.ok(stats.failingSince instanceof Date);
  assert.equal(stats.lastError, 'store down');
  assert.equal(stats.backlogRecords, 1);
  assert.ok(stats.committedSeq > stats.appliedSeq);
  target.failNext = 0;
  await wal.waitVisible(20_000);
  assert.equal(wal.stats.failingSince, undefined);
  await wal.close();
});
