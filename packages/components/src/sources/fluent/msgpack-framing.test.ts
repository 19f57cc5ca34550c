import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { FramingError, MessageFramer, kindAt, rawBytesAt, readArrayHeader, skipValue } from './msgpack-framing.js';
import { EventTime, encodeValue } from './fluent-codec.js';

const samples: unknown[] = [
  ['app.tag', 1700000000, { log: 'hello', n: 1, f: 1.5, neg: -7, big: 2 ** 40, nested: { a: [1, 2, { b: null }] } }],
  ['t', [[new EventTime(1700000000, 5), { message: 'x'.repeat(300) }]], { chunk: 'abc', size: 1 }],
  ['t', new Uint8Array(70_000).fill(0x92), { size: 3 }],
  { ack: 'c' },
  'x'.repeat(70_000),
  Array.from({ length: 20 }, (_, i) => i * 1000),
  new Map<unknown, unknown>([['k', true], ['j', false]]),
];

function frames(): Buffer[] {
  return samples.map((s) => encodeValue(s));
}

test('splits a stream into whole values whatever the read boundaries', () => {
  const expected = frames();
  const stream = Buffer.concat(expected);
  for (const step of [1, 2, 3, 7, 64, 1000, 65_536, stream.length]) {
    const f = new MessageFramer(1 << 20);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i += step) {
      f.push(stream.subarray(i, i + step));
      for (let m = f.next(); m; m = f.next()) got.push(m);
    }
    assert.equal(got.length, expected.length, `step ${step}`);
    got.forEach((g, i) => assert.ok(g.equals(expected[i]!), `step ${step}, frame ${i}`));
    assert.equal(f.pendingBytes, 0);
  }
});

test('refuses a message that declares more than the limit before its bytes arrive', () => {
  const f = new MessageFramer(1024);
  // str 32 announcing 1 GiB: refused on the header alone.
  f.push(Buffer.from([0xdb, 0x40, 0x00, 0x00, 0x00]));
  assert.throws(() => f.next(), (e: unknown) => e instanceof FramingError && e.reason === 'message_too_large');

  // An array claiming 4 billion elements cannot fit either (each needs a byte).
  const g = new MessageFramer(1024);
  g.push(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]));
  assert.throws(() => g.next(), (e: unknown) => e instanceof FramingError && e.reason === 'message_too_large');

  // A message growing byte by byte past the limit is refused once it is past it.
  const h = new MessageFramer(1024);
  h.push(Buffer.from([0xdc, 0x10, 0x00])); // array of 4096
  let thrown = false;
  for (let i = 0; i < 4096 && !thrown; i++) {
    h.push(Buffer.from([0x01]));
    try {
      h.next();
    } catch (e) {
      assert.ok(e instanceof FramingError && e.reason === 'message_too_large');
      thrown = true;
      assert.ok(i < 1100, `refused late, at ${i}`);
    }
  }
  assert.ok(thrown);
});

test('a message exactly at the limit passes; one byte more does not', () => {
  const value = encodeValue('x'.repeat(1000));
  const ok = new MessageFramer(value.length);
  ok.push(value);
  assert.ok(ok.next()?.equals(value));
  const tooBig = new MessageFramer(value.length - 1);
  tooBig.push(value);
  assert.throws(() => tooBig.next(), FramingError);
});

test('0xc1 is malformed; truncated values are malformed for skipValue', () => {
  const f = new MessageFramer(1024);
  f.push(Buffer.from([0x92, 0x01, 0xc1]));
  assert.throws(() => f.next(), (e: unknown) => e instanceof FramingError && e.reason === 'malformed');
  const v = encodeValue(['a', 'bcdef']);
  assert.equal(skipValue(v, 0), v.length);
  assert.throws(() => skipValue(v.subarray(0, v.length - 1), 0), FramingError);
  assert.throws(() => skipValue(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), 0), FramingError);
});

test('deep nesting costs nothing: the scan keeps one counter, not a stack', () => {
  const depth = 200_000;
  const bytes = Buffer.alloc(depth + 1, 0x91); // [[[[...1]]]]
  bytes[depth] = 0x01;
  const f = new MessageFramer(1 << 20);
  f.push(bytes);
  assert.equal(f.next()?.length, depth + 1);
});

test('header readers: array headers, kinds, raw str/bin payloads', () => {
  const v = encodeValue(['tag', new Uint8Array([1, 2, 3]), { a: 1 }]);
  const h = readArrayHeader(v, 0)!;
  assert.equal(h.length, 3);
  assert.equal(kindAt(v, h.start), 'str');
  const second = skipValue(v, h.start);
  assert.equal(kindAt(v, second), 'bin');
  assert.deepEqual([...rawBytesAt(v, second)!], [1, 2, 3]);
  assert.equal(kindAt(v, skipValue(v, second)), 'map');
  assert.equal(readArrayHeader(encode({ a: 1 }), 0), undefined);
  const big = encodeValue(Array.from({ length: 70_000 }, () => 0));
  assert.equal(readArrayHeader(big, 0)!.length, 70_000);
});
