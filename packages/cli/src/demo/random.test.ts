/** Seeded randomness: reproducible, in range, and ids shaped as W3C trace context wants. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash32, SeededRandom } from './random.js';

describe('SeededRandom', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const seqA = Array.from({ length: 20 }, () => a.nextUint32());
    assert.deepEqual(seqA, Array.from({ length: 20 }, () => b.nextUint32()));
    assert.notDeepEqual(seqA, Array.from({ length: 20 }, () => c.nextUint32()));
  });

  it('keeps values in range', () => {
    const r = new SeededRandom(1);
    for (let i = 0; i < 10_000; i++) {
      const n = r.next();
      assert.ok(n >= 0 && n < 1);
      const k = r.int(3, 7);
      assert.ok(Number.isInteger(k) && k >= 3 && k <= 7);
    }
  });

  it('makes lowercase hex ids of the asked length, never all zeros', () => {
    const r = new SeededRandom(9);
    for (let i = 0; i < 1000; i++) {
      assert.match(r.nonZeroHex(32), /^[0-9a-f]{32}$/);
      assert.match(r.nonZeroHex(16), /^[0-9a-f]{16}$/);
    }
    assert.match(r.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('hashes the same parts to the same value', () => {
    assert.equal(hash32(5, 1, 2, 3), hash32(5, 1, 2, 3));
    assert.notEqual(hash32(5, 1, 2, 3), hash32(5, 1, 2, 4));
    assert.notEqual(hash32(5, 1, 2, 3), hash32(6, 1, 2, 3));
  });
});
