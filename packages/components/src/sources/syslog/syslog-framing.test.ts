import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyslogFramer } from './syslog-framing.js';

function frames(input: Buffer | string, max = 1024, chunks?: number[]): [string, number][] {
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  const f = new SyslogFramer(max);
  const out: [string, number][] = [];
  const on = (frame: Buffer, original: number): void => void out.push([frame.toString(), original]);
  let at = 0;
  for (const size of chunks ?? [buf.length]) {
    f.push(buf.subarray(at, at + size), on);
    at += size;
  }
  if (at < buf.length) f.push(buf.subarray(at), on);
  f.end(on);
  return out;
}

test('newline framing: LF and NUL end a message; CR and blank lines are dropped', () => {
  assert.deepEqual(frames('<13>a\n<13>b\r\n\n<13>c\0<13>d'), [
    ['<13>a', 5],
    ['<13>b', 6],
    ['<13>c', 5],
    ['<13>d', 5],
  ]);
});

test('octet counting: LEN SP MSG, the LF inside the count trimmed, LF between frames skipped', () => {
  const a = '<13>1 - h a - - - one';
  const b = '<13>1 - h a - - - two\n';
  assert.deepEqual(frames(`${a.length} ${a}${b.length} ${b}\n`), [
    [a, a.length],
    [b.trimEnd(), b.length],
  ]);
  // A MSG may contain LF when counted.
  const multi = '<13>1 - h a - - - line1\nline2';
  assert.deepEqual(frames(`${Buffer.byteLength(multi)} ${multi}`), [[multi, multi.length]]);
  // LEN counts bytes, not characters.
  const utf = '<13>1 - h a - - - héllo ✓';
  assert.deepEqual(frames(`${Buffer.byteLength(utf)} ${utf}<13>next\n`), [
    [utf, Buffer.byteLength(utf)],
    ['<13>next', 8],
  ]);
});

test('framing is chosen per message, so one stream may mix both', () => {
  const c = '<13>counted';
  assert.deepEqual(frames(`<13>line\n${c.length} ${c}<13>line again\n`).map((x) => x[0]), ['<13>line', c, '<13>line again']);
});

test('digits that are not a length begin a line', () => {
  assert.deepEqual(frames('2024-06-15 plain text\n12345678901 x\n42\n'), [
    ['2024-06-15 plain text', 21],
    ['12345678901 x', 13],
    ['42', 2],
  ]);
});

test('oversized messages keep max bytes and report their full length; the stream stays in sync', () => {
  const long = '<13>' + 'x'.repeat(5000);
  assert.deepEqual(frames(`${long}\n<13>after\n`, 1000), [
    [long.slice(0, 1000), 5004],
    ['<13>after', 9],
  ]);
  const counted = '<13>1 - h a - - - ' + 'y'.repeat(3000);
  const out = frames(`${counted.length} ${counted}<13>after\n`, 600);
  assert.deepEqual(out, [
    [counted.slice(0, 600), counted.length],
    ['<13>after', 9],
  ]);
});

test('a stream ending mid-line yields the line; ending mid-count yields what arrived', () => {
  assert.deepEqual(frames('<13>no newline'), [['<13>no newline', 14]]);
  assert.deepEqual(frames('20 <13>short'), [['<13>short', 9]]);
  assert.deepEqual(frames('123'), [['123', 3]]);
});

test('frames do not depend on how the stream is chunked', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const parts: string[] = [];
  for (let i = 0; i < 300; i++) {
    const msg = `<${rnd(192)}>1 2024-06-15T10:00:00Z host app ${i} - - message ${'z'.repeat(rnd(200))}`;
    parts.push(rnd(2) === 0 ? `${Buffer.byteLength(msg)} ${msg}` : `${msg}${rnd(3) === 0 ? '\r\n' : '\n'}`);
  }
  const stream = Buffer.from(parts.join(''));
  const whole = frames(stream, 150);
  assert.equal(whole.length, 300);
  for (let trial = 0; trial < 30; trial++) {
    const chunks: number[] = [];
    for (let left = stream.length; left > 0; ) {
      const n = Math.min(left, 1 + rnd(trial % 2 ? 7 : 900));
      chunks.push(n);
      left -= n;
    }
    assert.deepEqual(frames(stream, 150, chunks), whole, `chunking trial ${trial}`);
  }
});
