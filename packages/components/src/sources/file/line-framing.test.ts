/**
 * Line cutting and multiline joining on byte chunks split anywhere: offsets
 * point just past each line, CRLF is trimmed, an over-long line is cut and
 * counted once (the rest up to its newline skipped), start and continuation
 * patterns join lines, bounded, and a held record goes after its timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, MultilineJoiner, type Line } from './line-framing.js';
import { MultilineSchema } from './config.js';

function split(text: string, chunk: number, max = 1024): { lines: Line[]; truncated: number } {
  let truncated = 0;
  const s = new LineSplitter(max, 0, () => truncated++);
  const buf = Buffer.from(text);
  const lines: Line[] = [];
  for (let at = 0; at < buf.length; at += chunk) s.push(buf.subarray(at, at + chunk), at, lines);
  return { lines, truncated };
}

test('lines and offsets are the same whatever the chunk size; CRLF trimmed; a partial last line is held', () => {
  const text = 'alpha\r\nbeta\n\ngamma été\npartial';
  for (const chunk of [1, 2, 3, 7, 100]) {
    const { lines } = split(text, chunk);
    assert.deepEqual(lines.map((l) => l.text), ['alpha', 'beta', '', 'gamma été']);
    assert.deepEqual(lines.map((l) => l.end), [7, 12, 13, Buffer.byteLength('alpha\r\nbeta\n\ngamma été\n')]);
  }
});

test('a line longer than the maximum is cut, marked and counted once; the next line is intact', () => {
  const long = 'x'.repeat(5000);
  for (const chunk of [64, 1000, 10_000]) {
    const { lines, truncated } = split(`${long}\nnext\n`, chunk, 1024);
    assert.equal(truncated, 1);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.text.length, 1024);
    assert.equal(lines[0]!.truncated, true);
    assert.deepEqual(lines[1], { text: 'next', end: 5006, truncated: false });
  }
});

test('multiline by start pattern: continuation lines join the record before them; bounded by max_lines', () => {
  const j = new MultilineJoiner(MultilineSchema.parse({ start_pattern: '^\\d{4}-', max_lines: 3 }));
  const out: Line[] = [];
  const add = (text: string, end: number): void => j.add({ text, end, truncated: false }, 0, out);
  add('2024-01-01 boom', 10);
  add('  at a()', 20);
  add('  at b()', 30);
  add('  at c()', 40);
  add('2024-01-02 ok', 50);
  assert.deepEqual(out.map((l) => [l.text, l.end]), [
    ['2024-01-01 boom\n  at a()\n  at b()', 30],
    ['  at c()', 40],
  ]);
  j.flush(500, false, out);
  assert.equal(out.length, 2, 'not yet timed out');
  j.flush(1000, false, out);
  assert.deepEqual(out[2], { text: '2024-01-02 ok', end: 50, truncated: false });
});

test('multiline by continuation pattern', () => {
  const j = new MultilineJoiner(MultilineSchema.parse({ continuation_pattern: '^\\s' }));
  const out: Line[] = [];
  for (const [i, t] of ['Traceback:', '  File x', 'Error: y', 'next'].entries()) j.add({ text: t, end: i + 1, truncated: false }, 0, out);
  j.flush(0, true, out);
  assert.deepEqual(out.map((l) => l.text), ['Traceback:\n  File x', 'Error: y', 'next']);
});

test('multiline config: exactly one pattern, and no catastrophic backtracking', () => {
  assert.throws(() => MultilineSchema.parse({}), /exactly one/);
  assert.throws(() => MultilineSchema.parse({ start_pattern: '^(a+)+$' }), /backtrack/);
});
