import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@meshlog/core';
import { RetentionScheduler } from './scheduler.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('runs once shortly after start, then every interval, never two at once', async () => {
  let running = 0;
  let maxRunning = 0;
  const starts: number[] = [];
  const t0 = Date.now();
  const s = new RetentionScheduler({
    startDelayMs: 150,
    intervalMs: 30,
    logger: silentLogger,
    run: async () => {
      starts.push(Date.now() - t0);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(50); // longer than the interval
      running--;
      return { errors: [] };
    },
  });
  s.start();
  s.start(); // idempotent
  await sleep(30);
  assert.equal(starts.length, 0, 'not before the start delay');
  // Timers only ever fire late (this machine may be busy): wait for three runs, bounded.
  for (let i = 0; i < 200 && starts.length < 3; i++) await sleep(20);
  await s.stop();
  assert.ok(starts.length >= 3, `ran ${starts.length} times`);
  assert.ok(starts[0]! >= 145, `the first run waited for the start delay (${starts[0]} ms)`);
  assert.equal(maxRunning, 1);
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 75, 'the interval counts from the end of the previous run');
  assert.equal(s.stats.runs, starts.length);
  assert.equal(s.stats.failures, 0);
});

test('a failing run is counted and logged, and the schedule goes on', async () => {
  let n = 0;
  const logged: string[] = [];
  const outcomes: string[] = [];
  const s = new RetentionScheduler({
    startDelayMs: 0,
    intervalMs: 10,
    logger: { ...silentLogger, error: (msg) => logged.push(msg) },
    onRun: (o) => outcomes.push(o),
    run: async () => {
      n++;
      if (n === 1) throw new Error('store unavailable');
      if (n === 2) return { errors: [{ tenant: 't' }] };
      return { errors: [] };
    },
  });
  s.start();
  while (n < 3) await sleep(5);
  await s.stop();
  assert.deepEqual(outcomes.slice(0, 3), ['error', 'error', 'ok']);
  assert.equal(s.stats.failures, 2);
  assert.equal(s.stats.lastError, '1 tenant table(s) failed');
  assert.deepEqual(logged, ['scheduled retention enforcement failed']);
});

test('stop() waits for a running enforcement, cancels the next, and is safe before start and twice', async () => {
  await new RetentionScheduler({ startDelayMs: 0, intervalMs: 10, run: async () => ({ errors: [] }) }).stop();
  let finished = false;
  let runs = 0;
  const s = new RetentionScheduler({
    startDelayMs: 0,
    intervalMs: 5,
    run: async () => {
      runs++;
      await sleep(60);
      finished = true;
      return { errors: [] };
    },
  });
  s.start();
  while (runs === 0) await sleep(2);
  await s.stop();
  assert.equal(finished, true, 'the running enforcement finished before stop() resolved');
  await s.stop();
  await sleep(30);
  assert.equal(runs, 1, 'nothing ran after stop');
  s.start();
  await sleep(20);
  assert.equal(runs, 1, 'a stopped scheduler does not start again');
});
