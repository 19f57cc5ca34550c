import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limiter.js';

test('a bucket admits its burst, then refuses with the wait until the next token; it refills at its rate', () => {
  let now = 0;
  const limiter = new RateLimiter(100, () => now);
  const spec = { ratePerSecond: 2, burst: 3 };
  for (let i = 0; i < 3; i++) assert.equal(limiter.take([{ key: 'identity:a', spec }]), 0);
  assert.equal(limiter.take([{ key: 'identity:a', spec }]), 0.5, 'half a second until the next token at 2/s');
  assert.equal(limiter.take([{ key: 'identity:b', spec }]), 0, 'another key has its own bucket');
  now += 500;
  assert.equal(limiter.take([{ key: 'identity:a', spec }]), 0);
});

test('all or nothing across buckets: a refused call takes no token from the buckets that had room', () => {
  const limiter = new RateLimiter(100, () => 0);
  const identity = { ratePerSecond: 10, burst: 10 };
  const tenant = { ratePerSecond: 1, burst: 1 };
  assert.equal(limiter.take([{ key: 'identity:a', spec: identity }, { key: 'tenant:t', spec: tenant }]), 0);
  assert.ok(limiter.take([{ key: 'identity:a', spec: identity }, { key: 'tenant:t', spec: tenant }]) > 0, 'the tenant bucket is empty');
  // identity:a still has 9 tokens: the refused call took none.
  for (let i = 0; i < 9; i++) assert.equal(limiter.take([{ key: 'identity:a', spec: identity }]), 0);
  assert.ok(limiter.take([{ key: 'identity:a', spec: identity }]) > 0);
});

test('costs: a byte quota takes the request size; one request larger than the burst passes only on a full bucket', () => {
  let now = 0;
  const limiter = new RateLimiter(100, () => now);
  const bytes = { ratePerSecond: 1000, burst: 2000 };
  assert.equal(limiter.take([{ key: 'bytes:t', spec: bytes, cost: 5000 }]), 0, 'full bucket: admitted, drained below zero');
  assert.ok(limiter.take([{ key: 'bytes:t', spec: bytes, cost: 1 }]) > 3, 'then the debt is paid back at the rate');
  now += 10_000;
  assert.equal(limiter.take([{ key: 'bytes:t', spec: bytes, cost: 1500 }]), 0);
});

test('a rate of 0 is unlimited; memory stays bounded by maxKeys', () => {
  const limiter = new RateLimiter(3, () => 0);
  for (let i = 0; i < 1000; i++) assert.equal(limiter.take([{ key: `ip:${i}`, spec: { ratePerSecond: 0, burst: 0 } }]), 0);
  for (let i = 0; i < 10; i++) limiter.take([{ key: `ip:${i}`, spec: { ratePerSecond: 1, burst: 1 } }]);
  assert.ok((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size <= 3);
});
