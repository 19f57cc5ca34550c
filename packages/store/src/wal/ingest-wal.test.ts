import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@meshlog/core';
import { IngestWal, type WalApplyTarget } from './ingest-wal.js';
import { decodeGroup, encodeGroup, type WalBatch } from './wal-format.js';

/** A store stand-in that records inserts and, like ClickHouse, ignores a repeated dedup token. */
class RecordingTarget implements WalApplyTarget {
  readonly rows: string[] = [];
  readonly tokens = new Set<string>();
  failNext = 0;
  async insertLogs(rows: Buffer, token: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('store down');
    }
    if (this.tokens.has(token)) return;
    this.tokens.add(token);
    this.rows.push(...rows.toString().split('\n'));
  }
  async insertSpans(rows: Buffer, token: string): Promise<void> {
    return this.insertLogs(rows, token);
  }
}

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
  await wal.append([batch('req-1', ['a', 'b'])]);
  const again = await wal.append([batch('req-1', ['a', 'b']), batch('req-2', ['c'])]);
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
  await wal.append([batch('k1', ['one'])]);
  await wal.append([batch('k2', ['two', 'three'])]);
  // Simulate kill -9: abandon the instance without close; only files remain.
  const target2 = new RecordingTarget();
  const wal2 = await IngestWal.open({ dir, logger: silentLogger }, target2);
  await wal2.waitVisible();
  assert.deepEqual(target2.rows.sort(), ['["one"]', '["three"]', '["two"]']);
  const retry = await wal2.append([batch('k2', ['two', 'three'])]);
  assert.equal(retry.deduplicated, 1, 'a client retry after the restart is not stored again');
  await wal2.close();
  target.failNext = 0;
  await wal.close(0);
});

test('a crash between insert and checkpoint replays the same range with the same token', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([batch('a', ['1'])]);
  await wal.append([batch('b', ['2'])]);
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
  await wal.append([batch('x', ['first'])]);
  await wal.append([batch('y', ['second'])]);
  await wal.append([batch('z', ['third'])]);
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
  await wal2.append([batch('v', ['fourth'])]);
  await wal2.close();
});

test('a store outage holds acknowledged rows in the log until it recovers', async () => {
  const dir = dirOf();
  const target = new RecordingTarget();
  target.failNext = 3;
  const wal = await IngestWal.open({ dir, logger: silentLogger }, target);
  await wal.append([batch('p', ['held'])]);
  await wal.waitVisible(20_000);
  assert.deepEqual(target.rows, ['["held"]']);
  await wal.close();
});
