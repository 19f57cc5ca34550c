/**
 * The file source on real files and directories (the downstream is this
 * test's emit, which acknowledges at once): what happens to a file the
 * source had let go of (idle longer than close_idle_ms) when it is then
 * rotated away; a .gz file that gets the inode of a .gz read earlier; the
 * multiline record held when a rotated file is finished under backpressure;
 * a copy of a tailed file that is deleted without its original ever being
 * truncated (logrotate's `copy`, a backup).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceMap, type BuildContext, type ComponentMetrics, type LogBatch, type Logger } from '@meshlog/core';
import { FileSourceConfigSchema } from './config.js';
import { FileSource } from './file-source.js';

const metrics: ComponentMetrics = { received: () => {}, sent: () => {}, discarded: () => {}, error: () => {}, queueDepth: () => {} };
const logger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => logger };

/** The source's context: real data directory, an emit that records bodies (after `delay`, when set). */
function contextFor(bodies: string[], dataDir = mkdtempSync(join(tmpdir(), 'file-src-data-')), delay: () => Promise<void> = async () => {}): BuildContext {
  return {
    id: 'files',
    dataDir,
    logger,
    metrics,
    services: new ServiceMap(),
    emit: async (batch) => {
      await delay();
      bodies.push(...(batch as LogBatch).records.map((r) => r.body));
    },
  };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a file closed for being idle and then rotated away is finished: its partial last line is sent and it is let go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-src-'));
  const log = join(dir, 'app.log');
  writeFileSync(log, 'one\ntwo\npartial');
  const bodies: string[] = [];
  const ctx = contextFor(bodies);
  const cfg = FileSourceConfigSchema.parse({ include: [log], start_at: 'beginning', poll_interval_ms: 20, glob_interval_ms: 50, close_idle_ms: 1000, rotate_wait_ms: 0 });
  const source = new FileSource(cfg, ctx);
  await source.start();
  try {
    await until('the complete lines', () => bodies.length === 2);
    assert.deepEqual(bodies, ['one', 'two']);
    // Quiet for longer than close_idle_ms: the source lets the descriptor go (the partial line stays in memory).
    await new Promise((r) => setTimeout(r, 1500));
    renameSync(log, join(dir, 'app.log.rotated'));
    await until('the partial last line of the rotated-away file', () => bodies.includes('partial'));
    assert.deepEqual(bodies, ['one', 'two', 'partial']);
    await until('the rotated-away file to be let go', () => source.positions().length === 0);
  } finally {
    await source.stop();
  }
});

test('a .gz file on the inode of a deleted .gz that was read before is read too (inode reuse), after a restart and while running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'file-src-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'file-src-data-'));
  const bodies: string[] = [];
  const ctx = contextFor(bodies, dataDir);
  const cfg = FileSourceConfigSchema.parse({ include: [join(dir, '*.gz')], gzip: true, start_at: 'beginning', poll_interval_ms: 20, glob_interval_ms: 50 });
  const lines = (name: string): string[] => Array.from({ length: 20 }, (_, i) => `${name} line ${i} ${'x'.repeat(40)}`);
  const writeGz = (file: string, name: string): { dev: number; ino: number } => {
    writeFileSync(join(dir, file), gzipSync(lines(name).join('\n') + '\n'));
    const st = statSync(join(dir, file));
    return { dev: st.dev, ino: st.ino };
  };
  // While the agent was down, logrotate deleted a .gz the agent had read to its end and wrote a new one that
  // got the freed inode: the checkpoint file still names that inode (done) until its retention runs out.
  const first = writeGz('app.log.2.gz', 'first');
  mkdirSync(join(dataDir, 'file', 'files'), { recursive: true });
  const stale = { ...first, fp: '0123456789abcdef', fp_len: 256, offset: 1000, path: join(dir, 'app.log.1.gz'), seen: Date.now(), done: true };
  writeFileSync(join(dataDir, 'file', 'files', 'checkpoints.json'), JSON.stringify({ version: 1, files: [stale] }));
  const source = new FileSource(cfg, ctx);
  await source.start();
  try {
    await until('the .gz on the reused inode, after a restart', () => bodies.length === 20);
    assert.deepEqual(bodies, lines('first'));
    // The same while running, when the file system hands the freed inode to the next file (ext4 usually does).
    rmSync(join(dir, 'app.log.2.gz'));
    const second = writeGz('app.log.3.gz', 'second');
    if (second.ino !== first.ino) {
      t.diagnostic('this file system did not reuse the inode this time; the in-process half is not exercised');
      return;
    }
    await until('the second .gz (same inode as the first)', () => bodies.length === 40);
    assert.deepEqual(bodies.slice(20), lines('second'));
  } finally {
    await source.stop();
  }
});

test('a rotated-away file finished while sends were held up by backpressure still sends the multiline record it was holding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-src-'));
  const log = join(dir, 'app.log');
  writeFileSync(log, 'X first\n');
  const bodies: string[] = [];
  let slow = false;
  // A full disk buffer downstream, once `slow`: each batch takes a while to be acknowledged.
  const ctx = contextFor(bodies, undefined, async () => {
    if (slow) await new Promise((r) => setTimeout(r, 2500));
  });
  const cfg = FileSourceConfigSchema.parse({
    include: [log],
    start_at: 'beginning',
    poll_interval_ms: 20,
    glob_interval_ms: 50,
    rotate_wait_ms: 1000,
    batch_max_records: 2,
    multiline: { start_pattern: '^[A-Z]', timeout_ms: 60_000 },
  });
  const source = new FileSource(cfg, ctx);
  await source.start();
  try {
    await until('the first line read (the joiner holds it)', () => source.positions()[0]?.read === 8);
    // Rotated away while the writer still holds it open, then its last lines arrive.
    const fd = openSync(log, 'a');
    renameSync(log, join(dir, 'app.log.rotated'));
    await new Promise((r) => setTimeout(r, 300));
    slow = true;
    // Two batches fill both in-flight slots; the third (D) waits for a slot while the ERROR record is held.
    writeSync(fd, 'A one\nB two\nC three\nD four\nERROR boom\n  at frame\n');
    closeSync(fd);
    await until('the held multiline record', () => bodies.includes('ERROR boom\n  at frame'), 20_000);
    assert.deepEqual(bodies, ['X first', 'A one', 'B two', 'C three', 'D four', 'ERROR boom\n  at frame']);
  } finally {
    await source.stop();
  }
});

test('a copy of a tailed file whose original is never truncated (logrotate copy, a backup) is let go once deleted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-src-'));
  const log = join(dir, 'app.log');
  writeFileSync(log, Array.from({ length: 20 }, (_, i) => `line ${i} ${'x'.repeat(40)}\n`).join(''));
  const bodies: string[] = [];
  const ctx = contextFor(bodies);
  const cfg = FileSourceConfigSchema.parse({ include: [`${log}*`], start_at: 'beginning', poll_interval_ms: 20, glob_interval_ms: 50, rotate_wait_ms: 0 });
  const source = new FileSource(cfg, ctx);
  await source.start();
  const heldOpen = (): string[] =>
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return [];
      }
    }).filter((target) => target.startsWith(join(dir, 'app.log.1')));
  try {
    await until('the lines', () => bodies.length === 20);
    copyFileSync(log, join(dir, 'app.log.1'));
    await until('the copy to be found (and held, not read)', () => source.positions().length === 2);
    rmSync(join(dir, 'app.log.1'));
    await until('the deleted copy to be let go', () => source.positions().length === 1 && heldOpen().length === 0);
    assert.equal(bodies.length, 20, 'the copy is never read');
  } finally {
    await source.stop();
  }
});
