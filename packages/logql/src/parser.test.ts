// Parser unit tests: AST shapes, precedence and associativity, contextual
// keywords, positions, errors, and the input caps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BinaryOp, Expr, LabelPredicate, LogQuery, MetricExpr, RangeAggregation, VectorAggregation } from './ast.js';
import { ParseError } from './errors.js';
import { DEFAULT_MAX_QUERY_BYTES, MAX_NESTING, parse, parseLogQuery, parseMetricQuery, parseSelector } from './parser.js';
import { print } from './printer.js';
import { withoutPositions } from './walk.js';

const ast = (q: string): Expr => withoutPositions(parse(q));
const parseError = (q: string, opts?: { maxLength?: number }): ParseError => {
  try {
    parse(q, opts);
  } catch (err) {
    assert.ok(err instanceof ParseError, `expected ParseError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(q)} to fail`);
};

/** Shape of a metric expression with parentheses made explicit: `(a + (b * c))`. */
function shape(e: MetricExpr): string {
  switch (e.kind) {
    case 'BinaryOp':
      return `(${shape(e.left)} ${e.op} ${shape(e.right)})`;
    case 'NumberLiteral':
      return String(e.value);
    case 'RangeAggregation':
      return e.logRange.query.selector.matchers[0]?.value ?? '?';
    default:
      return e.kind;
  }
}
const sel = (name: string): string => `rate({x="${name}"}[1m])`;
function metricShape(q: string): string {
  const e = parse(q);
  assert.ok(e.kind !== 'LogQuery');
  return shape(e);
}
function filterShape(p: LabelPredicate): string {
  return p.kind === 'LabelFilterBinary' ? `(${filterShape(p.left)} ${p.op} ${filterShape(p.right)})` : p.name;
}
function labelFilterShape(q: string): string {
  const e = parse(q) as LogQuery;
  const stage = e.pipeline.at(-1);
  assert.ok(stage?.kind === 'LabelFilter');
  return filterShape(stage.filter);
}

describe('log query AST', () => {
  it('builds the selector and the line filters the server reads', () => {
    assert.deepStrictEqual(ast('{a="b", c!="d", e=~"re", f!~`r\\e`} |= "x" or "y" != ip("10.0.0.1") |~ "a" !~ "b"'), {
      kind: 'LogQuery',
      selector: {
        kind: 'StreamSelector',
        matchers: [
          { name: 'a', op: '=', value: 'b' },
          { name: 'c', op: '!=', value: 'd' },
          { name: 'e', op: '=~', value: 're' },
          { name: 'f', op: '!~', value: 'r\\e' },
        ],
      },
      pipeline: [
        { kind: 'LineFilter', op: '|=', value: 'x', or: [{ value: 'y' }] },
        { kind: 'LineFilter', op: '!=', value: '10.0.0.1', or: [], ip: true },
        { kind: 'LineFilter', op: '|~', value: 'a', or: [] },
        { kind: 'LineFilter', op: '!~', value: 'b', or: [] },
      ],
    });
  });

  it('builds every pipeline stage', () => {
    const q = parse(
      '{a="b"} | json x="y.z", w | logfmt --keep-empty --strict k | regexp "(?P<n>.)" | pattern "<p> x" | unpack | decolorize' +
        ' | line_format "{{.a}}" | label_format a=b, c="{{.d}}" | drop a, b="c" | keep d, e=~"f"',
    ) as LogQuery;
    assert.deepStrictEqual(withoutPositions(q.pipeline), [
      {
        kind: 'JsonParser',
        params: [
          { label: 'x', expression: 'y.z' },
          { label: 'w', expression: 'w' },
        ],
      },
      { kind: 'LogfmtParser', strict: true, keepEmpty: true, params: [{ label: 'k', expression: 'k' }] },
      { kind: 'RegexpParser', regex: '(?P<n>.)' },
      { kind: 'PatternParser', pattern: '<p> x' },
      { kind: 'Unpack' },
      { kind: 'Decolorize' },
      { kind: 'LineFormat', template: '{{.a}}' },
      {
        kind: 'LabelFormat',
        ops: [
          { dst: 'a', mode: 'rename', value: 'b' },
          { dst: 'c', mode: 'template', value: '{{.d}}' },
        ],
      },
      { kind: 'Drop', labels: [{ name: 'a' }, { name: 'b', op: '=', value: 'c' }] },
      { kind: 'Keep', labels: [{ name: 'd' }, { name: 'e', op: '=~', value: 'f' }] },
    ]);
  });

  it('types label filter values: string, number, duration, bytes, ip', () => {
    const q = parse('{a="b"} | s="x" | n = 5 | n2 >= -1.5 | d > 1m30s | b <= 1KiB | i != ip("::1")') as LogQuery;
    assert.deepStrictEqual(
      withoutPositions(q.pipeline.map((s) => (s.kind === 'LabelFilter' ? s.filter : s))),
      [
        { kind: 'LabelMatchFilter', name: 's', op: '=', value: 'x' },
        { kind: 'NumberFilter', name: 'n', op: '==', value: 5 },
        { kind: 'NumberFilter', name: 'n2', op: '>=', value: -1.5 },
        { kind: 'DurationFilter', name: 'd', op: '>', durationMs: 90_000 },
        { kind: 'BytesFilter', name: 'b', op: '<=', bytes: 1024 },
        { kind: 'IpFilter', name: 'i', op: '!=', pattern: '::1' },
      ],
    );
  });

  it('treats __error__ like any label', () => {
    const q = parse('{a="b"} | json | __error__ != "" | drop __error__') as LogQuery;
    assert.deepStrictEqual(withoutPositions(q.pipeline.slice(1)), [
      { kind: 'LabelFilter', filter: { kind: 'LabelMatchFilter', name: '__error__', op: '!=', value: '' } },
      { kind: 'Drop', labels: [{ name: '__error__' }] },
    ]);
  });

  it('accepts the empty selector syntactically (validation rejects it)', () => {
    assert.deepStrictEqual(ast('{}'), { kind: 'LogQuery', selector: { kind: 'StreamSelector', matchers: [] }, pipeline: [] });
  });
});

describe('label filter precedence', () => {
  it('binds and tighter than or, left to right', () => {
    assert.equal(labelFilterShape('{a="b"} | a="1" or b="1" and c="1"'), '(a or (b and c))');
    assert.equal(labelFilterShape('{a="b"} | a="1" and b="1" or c="1"'), '((a and b) or c)');
    assert.equal(labelFilterShape('{a="b"} | a="1" or b="1" or c="1"'), '((a or b) or c)');
    assert.equal(labelFilterShape('{a="b"} | (a="1" or b="1") and c="1"'), '((a or b) and c)');
  });

  it('reads "," and juxtaposition as and', () => {
    assert.equal(labelFilterShape('{a="b"} | a="1", b="1" c="1"'), '((a and b) and c)');
    assert.equal(labelFilterShape('{a="b"} | a="1" or b="1", c="1"'), '(a or (b and c))');
    assert.equal(labelFilterShape('{a="b"} | a="1" (b="1" or c="1")'), '(a and (b or c))');
  });

  it('keeps | separated filters as separate stages', () => {
    const q = parse('{a="b"} | a="1" or b="1" | c="1"') as LogQuery;
    assert.equal(q.pipeline.length, 2);
  });
});

describe('metric precedence and associativity (Prometheus rules)', () => {
  const [a, b, c] = [sel('a'), sel('b'), sel('c')];
  it('a + b * c', () => assert.equal(metricShape(`${a} + ${b} * ${c}`), '(a + (b * c))'));
  it('a * b + c', () => assert.equal(metricShape(`${a} * ${b} + ${c}`), '((a * b) + c)'));
  it('a - b - c is left-associative', () => assert.equal(metricShape(`${a} - ${b} - ${c}`), '((a - b) - c)'));
  it('a / b * c % 2', () => assert.equal(metricShape(`${a} / ${b} * ${c} % 2`), '(((a / b) * c) % 2)'));
  it('a ^ b ^ c is right-associative', () => assert.equal(metricShape(`${a} ^ ${b} ^ ${c}`), '(a ^ (b ^ c))'));
  it('a * b ^ c', () => assert.equal(metricShape(`${a} * ${b} ^ ${c}`), '(a * (b ^ c))'));
  it('a or b and c', () => assert.equal(metricShape(`${a} or ${b} and ${c}`), '(a or (b and c))'));
  it('a and b or c', () => assert.equal(metricShape(`${a} and ${b} or ${c}`), '((a and b) or c)'));
  it('a unless b and c (same level, left to right)', () => assert.equal(metricShape(`${a} unless ${b} and ${c}`), '((a unless b) and c)'));
  it('a > b + c', () => assert.equal(metricShape(`${a} > ${b} + ${c}`), '(a > (b + c))'));
  it('a == b > c', () => assert.equal(metricShape(`${a} == ${b} > ${c}`), '((a == b) > c)'));
  it('a and b > c', () => assert.equal(metricShape(`${a} and ${b} > ${c}`), '(a and (b > c))'));
  it('parentheses override', () => assert.equal(metricShape(`(${a} + ${b}) * ${c}`), '((a + b) * c)'));
  it('unary minus applies to the literal, as in Loki: -2 ^ 2 = (-2) ^ 2', () => assert.equal(metricShape('-2 ^ 2'), '(-2 ^ 2)'));
  it('binary minus before a negative literal', () => assert.equal(metricShape('1 - -1'), '(1 - -1)'));
  it('1 -1 is a subtraction', () => assert.equal(metricShape('1 -1'), '(1 - 1)'));
  it('keywords are case-insensitive', () => assert.equal(metricShape(`${a} OR ${b} AnD ${c}`), '(a or (b and c))'));
});

describe('metric query AST', () => {
  it('builds range aggregations with range, offset, unwrap and grouping', () => {
    const e = parse('quantile_over_time(0.99, {a="b"} | json | unwrap duration(latency) | __error__="" [5m] offset -1h) by (path)') as RangeAggregation;
    assert.deepStrictEqual(withoutPositions(e), {
      kind: 'RangeAggregation',
      op: 'quantile_over_time',
      param: 0.99,
      logRange: {
        kind: 'LogRange',
        rangeMs: 300_000,
        offsetMs: -3_600_000,
        query: {
          kind: 'LogQuery',
          selector: { kind: 'StreamSelector', matchers: [{ name: 'a', op: '=', value: 'b' }] },
          pipeline: [
            { kind: 'JsonParser', params: [] },
            { kind: 'Unwrap', label: 'latency', conversion: 'duration' },
            { kind: 'LabelFilter', filter: { kind: 'LabelMatchFilter', name: '__error__', op: '=', value: '' } },
          ],
        },
      },
      grouping: { without: false, labels: ['path'] },
    });
  });

  it('normalises where the range is written', () => {
    const canonical = ast('sum_over_time({a="b"} | json | unwrap x [5m] offset 1m)');
    for (const q of [
      'sum_over_time({a="b"}[5m] offset 1m | json | unwrap x)',
      'sum_over_time(({a="b"} | json | unwrap x)[5m] offset 1m)',
      'sum_over_time((({a="b"} | json | unwrap x))[5m] offset 1m)',
      'sum_over_time(({a="b"} | json | unwrap x [5m] offset 1m))',
    ]) {
      assert.deepStrictEqual(ast(q), canonical, q);
    }
  });

  it('normalises where by/without is written on vector aggregations', () => {
    const before = ast('sum by (a) (rate({a="b"}[1m]))');
    assert.deepStrictEqual(ast('sum(rate({a="b"}[1m])) by (a)'), before);
    assert.deepStrictEqual(ast('SUM BY(a)(RATE({a="b"}[1m]))'), before);
    const topk = ast('topk(5, rate({a="b"}[1m])) without (c)') as VectorAggregation;
    assert.deepStrictEqual([topk.op, topk.param, topk.grouping], ['topk', 5, { without: true, labels: ['c'] }]);
    assert.deepStrictEqual(ast('topk without (c) (5, rate({a="b"}[1m]))'), topk);
  });

  it('builds binary operations with bool and vector matching', () => {
    const e = parse('rate({a="b"}[1m]) > bool on(x, y) group_left(z) rate({c="d"}[1m])') as BinaryOp;
    assert.deepStrictEqual([e.op, e.returnBool, e.matching], ['>', true, { on: true, labels: ['x', 'y'], group: { side: 'left', labels: ['z'] } }]);
    const f = parse('rate({a="b"}[1m]) / ignoring() group_right rate({c="d"}[1m])') as BinaryOp;
    assert.deepStrictEqual([f.returnBool, f.matching], [undefined, { on: false, labels: [], group: { side: 'right', labels: [] } }]);
    const g = parse('rate({a="b"}[1m]) + rate({c="d"}[1m])') as BinaryOp;
    assert.ok(!('matching' in g) && !('returnBool' in g), 'absent modifiers are absent, not undefined');
  });

  it('builds label_replace, vector() and number literals', () => {
    assert.deepStrictEqual(ast('label_replace(vector(1), "dst", "$1", "src", "(.*)")'), {
      kind: 'LabelReplace',
      expr: { kind: 'VectorLiteral', value: 1 },
      dst: 'dst',
      replacement: '$1',
      src: 'src',
      regex: '(.*)',
    });
    assert.deepStrictEqual(ast('-0x10'), { kind: 'NumberLiteral', value: -16 });
    assert.ok(Object.is((parse('-0') as { value: number }).value, -0));
  });
});

describe('contextual keywords', () => {
  it('reads keywords as label names where a label is expected', () => {
    const q = parse('{by="1", json="2", or="3", offset="4"} | unwrap = "x" | and="y" and or="z"') as LogQuery;
    assert.deepStrictEqual(
      q.selector.matchers.map((m) => m.name),
      ['by', 'json', 'or', 'offset'],
    );
    assert.equal(print(q), '{by="1", json="2", or="3", offset="4"} | unwrap="x" | and="y" and or="z"');
  });

  it('reads function names as labels in grouping', () => {
    assert.deepStrictEqual((parse('sum by (rate, sum, by) (rate({a="b"}[1m]))') as VectorAggregation).grouping?.labels, ['rate', 'sum', 'by']);
  });

  it('reads a bare unwrap conversion name as a label', () => {
    const e = parse('sum_over_time({a="b"} | unwrap bytes [1m])') as RangeAggregation;
    assert.deepStrictEqual(withoutPositions(e.logRange.query.pipeline), [{ kind: 'Unwrap', label: 'bytes' }]);
  });
});

describe('positions', () => {
  it('records where each node starts', () => {
    const e = parse('sum by (a) (\n  rate({x="y"} |= "z" [1m])\n) > 2') as BinaryOp;
    assert.deepStrictEqual(e.pos, { offset: 43, line: 3, column: 3 }, 'a binary operation sits at its operator');
    const agg = e.left as VectorAggregation;
    assert.deepStrictEqual(agg.pos, { offset: 0, line: 1, column: 1 });
    const rate = agg.expr as RangeAggregation;
    assert.deepStrictEqual(rate.pos, { offset: 15, line: 2, column: 3 });
    assert.deepStrictEqual(rate.logRange.query.selector.pos, { offset: 20, line: 2, column: 8 });
    assert.deepStrictEqual(rate.logRange.query.selector.matchers[0]?.pos, { offset: 21, line: 2, column: 9 });
    assert.deepStrictEqual(rate.logRange.query.pipeline[0]?.pos, { offset: 28, line: 2, column: 16 });
    assert.deepStrictEqual((e.right as { pos: unknown }).pos, { offset: 45, line: 3, column: 5 });
  });
});

describe('errors', () => {
  it('says what was expected and what was found, Loki style', () => {
    const e = parseError('{app="foo", }');
    assert.equal(e.message, 'parse error at line 1, col 13: unexpected "}", expected label matcher');
    assert.deepStrictEqual([e.line, e.column, e.offset, e.reason], [1, 13, 12, 'unexpected "}", expected label matcher']);
    assert.equal(e.name, 'ParseError');
    assert.ok(e instanceof Error);
  });

  it('truncates long tokens in messages', () => {
    const e = parseError(`{a="b"} | x > "${'y'.repeat(100)}"`);
    assert.ok(e.message.length < 150, e.message);
  });

  it('parseLogQuery, parseMetricQuery and parseSelector check the kind', () => {
    assert.equal(parseLogQuery('{a="b"} |= "x"').kind, 'LogQuery');
    assert.throws(() => parseLogQuery('rate({a="b"}[1m])'), /expected a log query, found a metric query/);
    assert.equal(parseMetricQuery('rate({a="b"}[1m])').kind, 'RangeAggregation');
    assert.throws(() => parseMetricQuery('{a="b"}'), /expected a metric query/);
    assert.deepStrictEqual(withoutPositions(parseSelector(' {a="b"} ')), { kind: 'StreamSelector', matchers: [{ name: 'a', op: '=', value: 'b' }] });
    assert.throws(() => parseSelector('{a="b"} |= "x"'), /col 9: unexpected "\|=", expected end of input/);
    assert.throws(() => parseSelector('rate({a="b"}[1m])'), ParseError);
  });
});

describe('limits', () => {
  it('caps input size at 64 KiB of UTF-8 by default', () => {
    assert.equal(DEFAULT_MAX_QUERY_BYTES, 65_536);
    const base = '{a="b"} |= ""';
    const fits = base.slice(0, -1) + 'x'.repeat(DEFAULT_MAX_QUERY_BYTES - base.length) + '"';
    assert.equal(parse(fits).kind, 'LogQuery');
    const e = parseError(fits + ' ');
    assert.match(e.message, /query is too long: at least 65537 bytes, the limit is 65536 bytes/);
    assert.deepStrictEqual([e.line, e.column], [1, 1]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const q = '{a="' + 'é'.repeat(40) + '"}';
    assert.equal(parse(q, { maxLength: 86 }).kind, 'LogQuery');
    assert.match(parseError(q, { maxLength: 85 }).message, /86 bytes, the limit is 85 bytes/);
    assert.match(parseError('🚀🚀', { maxLength: 7 }).message, /8 bytes/);
  });

  it('caps nesting depth', () => {
    const ok = '('.repeat(MAX_NESTING) + '1' + ')'.repeat(MAX_NESTING);
    assert.equal(parse(ok).kind, 'NumberLiteral');
    const e = parseError('('.repeat(MAX_NESTING + 1) + '1' + ')'.repeat(MAX_NESTING + 1));
    assert.match(e.message, /nested too deeply/);
    assert.equal(e.offset, MAX_NESTING);
    assert.match(parseError('{a="b"} | ' + '('.repeat(300) + 'a="b"' + ')'.repeat(300)).message, /nested too deeply/);
    assert.match(parseError('sum('.repeat(300) + '1' + ')'.repeat(300)).message, /nested too deeply/);
  });

  it('caps the number of operators', () => {
    assert.match(parseError('1' + ' + 1'.repeat(1001)).message, /too many operators/);
    assert.match(parseError('{a="b"} | x="y"' + ' and x="y"'.repeat(1001)).message, /too many operators/);
    assert.equal(parse('1' + ' + 1'.repeat(999)).kind, 'BinaryOp');
  });
});
