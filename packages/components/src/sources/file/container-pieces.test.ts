import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerPieceJoiner } from './container-pieces.js';
import type { Line } from './line-framing.js';

/** Lines as the splitter gives them: each with the offset just past its newline. */
function lines(texts: string[], start = 0): Line[] {
  let at = start;
  return texts.map((text) => {
    at += Buffer.byteLength(text) + 1;
    return { text, end: at, truncated: false };
  });
}

function run(j: ContainerPieceJoiner, input: Line[]): Line[] {
  const out: Line[] = [];
  for (const l of input) j.add(l, 0, out);
  return out;
}

test('CRI pieces of one stream become one F line with the first piece\'s time', () => {
  const input = lines(['2024-01-01T00:00:00.1Z stdout P abc', '2024-01-01T00:00:00.2Z stdout P def', '2024-01-01T00:00:00.3Z stdout F ghi', '2024-01-01T00:00:01Z stdout F whole']);
  const out = run(new ContainerPieceJoiner('cri', 1 << 20, 5000, 0), input);
  assert.deepEqual(
    out.map((l) => l.text),
    ['2024-01-01T00:00:00.1Z stdout F abcdefghi', '2024-01-01T00:00:01Z stdout F whole'],
  );
  assert.equal(out[0]!.end, input[2]!.end, 'the joined line ends where its last piece ends');
  assert.equal(out[1]!.end, input[3]!.end);
});

test('a line of the other stream while pieces are held may move the checkpoint only to the first held piece', () => {
  const input = lines(['t0 stdout F before', 't1 stdout P big-', 't2 stderr F other', 't3 stdout F end']);
  const out = run(new ContainerPieceJoiner('cri', 1 << 20, 5000, 0), input);
  assert.deepEqual(
    out.map((l) => l.text),
    ['t0 stdout F before', 't2 stderr F other', 't1 stdout F big-end'],
  );
  assert.equal(out[1]!.end, input[0]!.end, 'the stderr line ends, for the checkpoint, where the held stdout piece starts');
  assert.equal(out[2]!.end, input[3]!.end);
  for (let i = 1; i < out.length; i++) assert.ok(out[i]!.end >= out[i - 1]!.end, 'checkpoint offsets never go back');
});

test('Docker json-file splits are joined on log lacking its newline; other fields kept', () => {
  const input = lines([
    JSON.stringify({ log: 'part one ', stream: 'stdout', time: '2024-01-01T00:00:00Z', attrs: { a: 1 } }),
    JSON.stringify({ log: 'part two\n', stream: 'stdout', time: '2024-01-01T00:00:01Z' }),
    JSON.stringify({ log: 'single\n', stream: 'stderr', time: '2024-01-01T00:00:02Z' }),
  ]);
  const out = run(new ContainerPieceJoiner('docker', 1 << 20, 5000, 0), input);
  assert.deepEqual(JSON.parse(out[0]!.text), { log: 'part one part two\n', stream: 'stdout', time: '2024-01-01T00:00:00Z', attrs: { a: 1 } });
  assert.equal(out[1]!.text, input[2]!.text, 'a whole line passes as it is');
});

test('not pieces pass through; oversize and overdue pieces go out still marked as pieces', () => {
  const j = new ContainerPieceJoiner('cri', 8, 5000, 0);
  const out = run(j, lines(['not a cri line', 't1 stdout P 12345', 't2 stdout P 6789', 't3 stdout F x']));
  assert.deepEqual(
    out.map((l) => l.text),
    ['not a cri line', 't1 stdout P 123456789', 't3 stdout F x'],
  );
  const k = new ContainerPieceJoiner('cri', 1 << 20, 5000, 0);
  const held: Line[] = [];
  k.add(lines(['t1 stdout P waiting'])[0]!, 1000, held);
  assert.equal(held.length, 0);
  assert.ok(k.holding);
  k.flush(5999, false, held);
  assert.equal(held.length, 0, 'not yet overdue');
  k.flush(6000, false, held);
  assert.deepEqual(
    held.map((l) => l.text),
    ['t1 stdout P waiting'],
  );
  assert.equal(k.holding, false);
});
