import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle } from './login-throttle.js';

const opts = { freeFailures: 3, freeFailuresPerAddress: 10, baseDelayMs: 1000, maxDelayMs: 8000, forgetMs: 60_000 };

test('failures of one username lock it with exponential backoff, capped', () => {
  const t = new LoginThrottle(opts);
  const now = 1_000_000;
  t.failed('Alice', '10.0.0.1', now);
  t.failed('alice', '10.0.0.2', now);
  assert.equal(t.waitMs('alice', '10.0.0.3', now), 0, 'two failures: no lock yet');
  t.failed('alice', '10.0.0.3', now);
  assert.equal(t.waitMs('ALICE', '10.0.0.9', now), 1000, 'the third locks for the base delay, from any address, any case');
  assert.equal(t.waitMs('bob', '10.0.0.9', now), 0, 'other usernames are not affected');
  t.failed('alice', '10.0.0.3', now + 1000);
  assert.equal(t.waitMs('alice', 'x', now + 1000), 2000);
  t.failed('alice', 'x', now + 3000);
  t.failed('alice', 'x', now + 7000);
  t.failed('alice', 'x', now + 15000);
  assert.equal(t.waitMs('alice', 'y', now + 15000), 8000, 'capped at maxDelayMs');
  t.succeeded('alice');
  assert.equal(t.waitMs('alice', 'y', now + 15000), 0, 'a success clears the username');
});

test('failures from one address over many usernames lock the address; a success does not clear it', () => {
  const t = new LoginThrottle(opts);
  const now = 5_000_000;
  for (let i = 0; i < 10; i++) t.failed(`user${i}`, '192.0.2.7', now);
  assert.equal(t.waitMs('someone-else', '192.0.2.7', now), 1000);
  t.succeeded('someone-else');
  assert.equal(t.waitMs('someone-else', '192.0.2.7', now), 1000);
  assert.equal(t.waitMs('someone-else', '192.0.2.8', now), 0);
});

test('counts are forgotten after a quiet period', () => {
  const t = new LoginThrottle(opts);
  t.failed('carol', 'a', 0);
  t.failed('carol', 'a', 0);
  t.failed('carol', 'b', 61_001);
  assert.equal(t.waitMs('carol', 'c', 61_001), 0, 'the first two were forgotten');
});
