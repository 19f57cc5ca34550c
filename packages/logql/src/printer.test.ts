// Printer unit tests: canonical forms, quoting, minimal parentheses, and
// trees built by hand (the compiler and UI build ASTs too).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BinaryOp, Expr, LogQuery, MetricExpr, NumberLiteral } from './ast.js';
import { parse } from './parser.js';
import { formatNumber, print, printNode, quoteString } from './printer.js';
import { withoutPositions } from './walk.js';

const canonical = (q: string): string => print(parse(q));

describe('canonical text', () => {
  const cases: Array<[string, string]> = [
    ['{ app = "a" ,env!~"b" }', '{app="a", env!~"b"}'],
    ['{a="b"}|="x"or"y"|json|LOGFMT   --strict', '{a="b"} |= "x" or "y" | json | logfmt --strict'],
    ['{a="b"} | logfmt --keep-empty --strict --keep-empty', '{a="b"} | logfmt --strict --keep-empty'],
    ['{a="b"} | json a="a", b="c"', '{a="b"} | json a, b="c"'],
    ['{a="b"} | x = 5, y="z" z>1m', '{a="b"} | x == 5 and y="z" and z > 1m'],
    ['{a="b"} | ((x="1"))', '{a="b"} | x="1"'],
    ['{a="b"} | x="1" and (y="1" and z="1")', '{a="b"} | x="1" and (y="1" and z="1")'],
    ['{a="b"} | (x="1" and y="1") and z="1"', '{a="b"} | x="1" and y="1" and z="1"'],
    ['{a="b"} | (x="1" or y="1") and z="1"', '{a="b"} | (x="1" or y="1") and z="1"'],
    ['{a="b"} | x="1" or (y="1" and z="1")', '{a="b"} | x="1" or y="1" and z="1"'],
    ['{a="b"} | size > 1048576B', '{a="b"} | size > 1MiB'],
    ['{a="b"} | d > 90s', '{a="b"} | d > 1m30s'],
    ['{a="b"} | d > 1.5s', '{a="b"} | d > 1s500ms'],
    ['count_over_time({a="b"}[60m])', 'count_over_time({a="b"}[1h])'],
    ['count_over_time({a="b"}[5m] |= "x")', 'count_over_time({a="b"} |= "x" [5m])'],
    ['count_over_time(({a="b"})[5m] OFFSET 300s)', 'count_over_time({a="b"}[5m] offset 5m)'],
    ['sum(rate({a="b"}[1m])) BY (x,y)', 'sum by (x, y) (rate({a="b"}[1m]))'],
    ['topk(5,rate({a="b"}[1m]))', 'topk(5, rate({a="b"}[1m]))'],
    ['avg_over_time({a="b"} | unwrap x [1m])by(y)', 'avg_over_time({a="b"} | unwrap x [1m]) by (y)'],
    ['((1 + 2))', '1 + 2'],
    ['(1 + 2) + 3', '1 + 2 + 3'],
    ['1 + (2 + 3)', '1 + (2 + 3)'],
    ['(1 * 2) + (3 * 4)', '1 * 2 + 3 * 4'],
    ['(1 + 2) * (3 + 4)', '(1 + 2) * (3 + 4)'],
    ['2 ^ (3 ^ 4)', '2 ^ 3 ^ 4'],
    ['(2 ^ 3) ^ 4', '(2 ^ 3) ^ 4'],
    ['1 - -1', '1 - -1'],
    ['+5', '5'],
    ['0x10', '16'],
    ['1e21', '1e+21'],
    ['vector(1) > BOOL ON ( a ) GROUP_LEFT vector(2)', 'vector(1) > bool on(a) group_left() vector(2)'],
    ['vector(1) * ignoring(a) group_right(b, c) vector(2)', 'vector(1) * ignoring(a) group_right(b, c) vector(2)'],
    ['label_replace(vector(1),"a","b","c","d")', 'label_replace(vector(1), "a", "b", "c", "d")'],
    ['{a="b"} # comment', '{a="b"}'],
  ];
  for (const [input, expected] of cases) {
    it(`prints ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => assert.equal(canonical(input), expected));
  }
});

describe('quoteString', () => {
  it('uses backticks when they avoid escapes', () => {
    assert.equal(quoteString('\\d+'), '`\\d+`');
    assert.equal(quoteString('say "hi"'), '`say "hi"`');
    assert.equal(quoteString('plain'), '"plain"');
  });

  it('falls back to double quotes with Go escapes', () => {
    assert.equal(quoteString('a`b\\c'), '"a`b\\\\c"');
    assert.equal(quoteString('tab\there\n"'), '"tab\\there\\n\\""');
    assert.equal(quoteString('\x00\x1b\x7f\r'), '"\\x00\\x1b\\x7f\\r"');
    assert.equal(quoteString('日本 🚀'), '"日本 🚀"');
  });

  it('round-trips through the lexer', () => {
    for (const s of ['', '\\', '`', '"', '\\"`', 'a\nb\\c', '\u2028', '\x01', '{{ .a | printf "%s" }}', '\\`\n']) {
      const e = parse(`{a=${quoteString(s)}}`) as LogQuery;
      assert.equal(e.selector.matchers[0]?.value, s, JSON.stringify(s));
    }
  });
});

describe('formatNumber', () => {
  it('keeps -0 and shortest round-trip digits', () => {
    assert.equal(formatNumber(-0), '-0');
    assert.equal(formatNumber(0.1 + 0.2), '0.30000000000000004');
    assert.equal(formatNumber(1e-7), '1e-7');
    assert.throws(() => formatNumber(Infinity), RangeError);
  });
});

describe('printing trees built by hand', () => {
  const lit = (value: number): NumberLiteral => ({ kind: 'NumberLiteral', value });
  const bin = (op: BinaryOp['op'], left: MetricExpr, right: MetricExpr): BinaryOp => ({ kind: 'BinaryOp', op, left, right });

  it('adds exactly the parentheses precedence needs', () => {
    const trees: Expr[] = [
      bin('*', bin('+', lit(1), lit(2)), lit(3)),
      bin('-', lit(1), bin('-', lit(2), lit(3))),
      bin('^', bin('^', lit(1), lit(2)), lit(3)),
      bin('or', lit(1), bin('and', lit(2), bin('unless', lit(3), lit(4)))),
      bin('==', bin('>', lit(1), lit(2)), bin('<', lit(3), lit(4))),
      bin('/', lit(-1), bin('%', lit(-0), lit(2))),
    ];
    for (const tree of trees) {
      assert.deepStrictEqual(withoutPositions(parse(print(tree))), tree, print(tree));
    }
    assert.equal(print(trees[0] as Expr), '(1 + 2) * 3');
    assert.equal(print(trees[4] as Expr), '1 > 2 == (3 < 4)');
  });

  it('prints any node with printNode', () => {
    const q = parse('{a="b"} |= "x" | json | y > 2') as LogQuery;
    assert.deepStrictEqual(q.pipeline.map(printNode), ['|= "x"', '| json', '| y > 2']);
    assert.equal(printNode(q.selector), '{a="b"}');
  });

  it('never reads pos', () => {
    const a = parse('sum(rate({a="b"}[1m]))');
    const b = withoutPositions(a);
    assert.equal(print(b), print(a));
  });
});
