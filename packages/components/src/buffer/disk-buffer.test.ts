/**
 * The disk buffer on real files: order and acknowledgement across reopen
 * (at-least-once), the byte bound with block and drop_newest, a torn tail
 * write cut back at open, and damage in the middle of a segment reported
 * while every intact record around it is still handed out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readdirSync, readFileSync, writeSync, closeSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@meshlog/core';
import { DiskBuffer, RECORD_HEADER_BYTES, type BufferDamage } from './disk-buffer.js';

const logger = createLogger({ write: () => undefined });
const rec = (i: number, size = 100): { payload: Buffer; count: number } => ({ payload: Buffer.from(`record-${i}-`.padEnd(size, 'x')), count: 1 });
const open = (dir: string, extra: Partial<Parameters<typeof DiskBuffer.open>[1]> = {}): Promise<DiskBuffer> =>
  DiskBuffer.open(dir, { maxBytes: 1024 * 1024, maxSegmentBytes: 4096, whenFull: 'block', logger, ...extra });

async function drain(buf: DiskBuffer, n: number, ack = true): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await buf.next();
    assert.ok(r);
    out.push(r.payload.toString().split('-x')[0]!.replace(/x+$/, ''));
    if (ack) buf.ack(r);
  }
  return out;
}

test('records come out in order; unacknowledged ones come back after reopen, acknowledged ones do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buf-'));
  let buf = await open(dir);
  for (let i = 0; i < 100; i++) assert.equal(await buf.append([rec(i)]), 'written');
  const first = await drain(buf, 60);
  assert.deepEqual(first, Array.from({ length: 60 }, (_, i) => `record-${i}`));
  // Read but not acknowledged: must survive.
  await drain(buf, 10, false);
  await buf.close();
  buf = await open(dir);
  const rest = await drain(buf, 40);
  assert.deepEqual(rest, Array.from({ length: 40 }, (_, i) => `record-${60 + i}`));
  assert.equal(buf.bytes, 0);
  await buf.close();
  // Fully acknowledged segments were deleted (only the newest, empty ones may stay).
  const segs = readdirSync(dir).filter((f) => f.endsWith('.seg'));
  assert.ok(segs.length <= 2, segs.join(','));
});

test('a full buffer blocks append until acknowledgements free space; drop_newest refuses instead', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buf-'));
  const size = 200 * 1024;
  const buf = await open(dir, { maxBytes: 1024 * 1024, maxSegmentBytes: 512 * 1024 });
  for (let i = 0; i < 5; i++) await buf.append([rec(i, size)]);
  assert.ok(buf.bytes <= 1024 * 1024);
  let done = false;
  const blocked = buf.append([rec(5, size)]).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(done, false, 'append must wait while the buffer is full');
  const r = await buf.next();
  buf.ack(r!);
  await blocked;
  assert.equal(done, true);
  await buf.close();

  const dir2 = mkdtempSync(join(tmpdir(), 'buf-'));
  const dropping = await open(dir2, { maxBytes: 1024 * 1024, maxSegmentBytes: 512 * 1024, whenFull: 'drop_newest' });
  for (let i = 0; i < 5; i++) assert.equal(await dropping.append([rec(i, size)]), 'written');
  assert.equal(await dropping.append([rec(5, size)]), 'dropped');
  await dropping.close();
});

test('a record cut short by a crash at the end of the newest segment is removed at open, not reported as damage', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buf-'));
  let buf = await open(dir, { maxSegmentBytes: 1024 * 1024 });
  for (let i = 0; i < 10; i++) await buf.append([rec(i)]);
  await buf.close();
  const seg = join(dir, readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[0]!);
  truncateSync(seg, statSync(seg).size - 30);
  const damage: BufferDamage[] = [];
  buf = await open(dir, { maxSegmentBytes: 1024 * 1024, onDamage: (d) => damage.push(d) });
  assert.deepEqual(await drain(buf, 9), Array.from({ length: 9 }, (_, i) => `record-${i}`));
  assert.equal(damage.length, 0);
  await buf.close();
});

test('damage in the middle of a segment is reported with file and offset; every intact record is still delivered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buf-'));
  let buf = await open(dir, { maxSegmentBytes: 1024 * 1024 });
  for (let i = 0; i < 50; i++) await buf.append([rec(i)]);
  await buf.close();
  const seg = join(dir, readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[0]!);
  const recordBytes = RECORD_HEADER_BYTES + 100;
  // Flip payload bytes of record 10 and smash the header of record 30.
  const fd = openSync(seg, 'r+');
  writeSync(fd, Buffer.from('CORRUPTED'), 0, 9, 10 * recordBytes + RECORD_HEADER_BYTES + 20);
  writeSync(fd, Buffer.from([0, 0, 0, 0, 0xff, 0xff]), 0, 6, 30 * recordBytes);
  closeSync(fd);
  const before = readFileSync(seg).length;
  const damage: BufferDamage[] = [];
  buf = await open(dir, { maxSegmentBytes: 1024 * 1024, onDamage: (d) => damage.push(d) });
  const got = await drain(buf, 48);
  assert.deepEqual(
    got,
    Array.from({ length: 50 }, (_, i) => `record-${i}`).filter((_, i) => i !== 10 && i !== 30),
  );
  assert.equal(damage.length, 2);
  assert.equal(damage[0]!.offset, 10 * recordBytes);
  assert.equal(damage[0]!.bytes, recordBytes);
  assert.match(damage[0]!.reason, /checksum/);
  assert.equal(damage[1]!.offset, 30 * recordBytes);
  assert.match(damage[1]!.reason, /magic/);
  assert.equal(buf.bytes, 0);
  assert.equal(before, 50 * recordBytes, 'damage is not mistaken for a torn tail');
  await buf.close();
});

test('a write the disk refuses part-way (disk full, file size limit) fails the append and leaves nothing behind that later records would be read against', async (t) => {
  // A real short write, no mock: a child process whose file size limit
  // (`ulimit -f`, 512-byte blocks; Node ignores SIGXFSZ) lets the kernel
  // write only part of the second record, as a full disk does.
  const dir = mkdtempSync(join(tmpdir(), 'buf-'));
  const script = `
    const { DiskBuffer } = await import(process.env.BUFFER_MODULE);
    const { createLogger } = await import('@meshlog/core');
    const logger = createLogger({ write: () => undefined });
    const damage = [];
    const buf = await DiskBuffer.open(process.env.BUFFER_DIR, { maxBytes: 1 << 20, maxSegmentBytes: 1 << 20, whenFull: 'block', logger, onDamage: (d) => damage.push(d) });
    const out = {};
    const put = async (name, size) => {
      try { out[name] = await buf.append([{ payload: Buffer.alloc(size, name), count: 1 }]); } catch (err) { out[name] = 'error'; }
    };
    await put('A', 1000);
    await put('B', 5000);
    await put('C', 500);
    out.read = [];
    for (let i = 0; i < 2; i++) {
      const r = await Promise.race([buf.next(), new Promise((res) => setTimeout(res, 500))]);
      if (!r) break;
      out.read.push(r.payload.subarray(0, 1).toString() + r.payload.length);
      buf.ack(r);
    }
    out.damage = damage.length;
    out.bytes = buf.bytes;
    await buf.close();
    console.log(JSON.stringify(out));
  `;
  const { spawnSync } = await import('node:child_process');
  const moduleUrl = new URL('./disk-buffer.js', import.meta.url).href;
  const res = spawnSync('sh', ['-c', 'ulimit -f 8 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    cwd: new URL('.', import.meta.url).pathname,
    env: { ...process.env, BUFFER_MODULE: moduleUrl, BUFFER_DIR: dir },
    encoding: 'utf8',
  });
  if (res.status !== 0 && /ulimit/.test(res.stderr)) return t.skip(`the shell cannot set a file size limit: ${res.stderr}`);
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(out['A'], 'written');
  assert.equal(out['B'], 'error', 'an append whose record did not fully reach the disk must not report it written (its source would move its checkpoint past it)');
  assert.equal(out['C'], 'written', 'the part of B that reached the file is cut back, so the next record fits and is read where it was written');
  assert.deepEqual(out['read'], ['A1000', 'C500']);
  assert.equal(out['damage'], 0);
  assert.equal(out['bytes'], 0);
});
