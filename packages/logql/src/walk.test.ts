// Walker and helper tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node } from './ast.js';
import { parse } from './parser.js';
import { children, isLogQuery, isMetricQuery, logQueriesOf, selectorsOf, walk, withoutPositions } from './walk.js';

describe('walk', () => {
  it('visits every node pre-order in source order, with parents', () => {
    const expr = parse('sum(rate({a="b"} | x="1" or y="2" [1m])) / count_over_time({c="d"}[1m])');
    const seen: string[] = [];
    walk(expr, (node, parent) => {
      seen.push(`${node.kind}<${parent?.kind ?? ''}`);
    });
    assert.deepStrictEqual(seen, [
      'BinaryOp<',
      'VectorAggregation<BinaryOp',
      'RangeAggregation<VectorAggregation',
      'LogRange<RangeAggregation',
      'LogQuery<LogRange',
      'StreamSelector<LogQuery',
      'LabelFilter<LogQuery',
      'LabelFilterBinary<LabelFilter',
      'LabelMatchFilter<LabelFilterBinary',
      'LabelMatchFilter<LabelFilterBinary',
      'RangeAggregation<BinaryOp',
      'LogRange<RangeAggregation',
      'LogQuery<LogRange',
      'StreamSelector<LogQuery',
    ]);
  });

  it('skips children when the visitor returns false', () => {
    const kinds: string[] = [];
    walk(parse('label_replace(sum(rate({a="b"}[1m])), "a", "b", "c", "d")'), (node: Node) => {
      kinds.push(node.kind);
      return node.kind !== 'VectorAggregation';
    });
    assert.deepStrictEqual(kinds, ['LabelReplace', 'VectorAggregation']);
  });

  it('children of leaves are empty', () => {
    assert.deepStrictEqual(children(parse('1')), []);
    assert.deepStrictEqual(children(parse('vector(1)')), []);
  });
});

describe('query helpers', () => {
  it('tells log queries from metric queries', () => {
    const log = parse('{a="b"} |= "x"');
    const metric = parse('rate({a="b"}[1m])');
    assert.deepStrictEqual([isLogQuery(log), isMetricQuery(log), isLogQuery(metric), isMetricQuery(metric)], [true, false, false, true]);
  });

  it('lists selectors and log queries in source order', () => {
    const expr = parse('rate({a="1"}[1m]) + on(x) sum(count_over_time({b="2"}[1m])) or vector(0)');
    assert.deepStrictEqual(
      selectorsOf(expr).map((s) => s.matchers[0]?.value),
      ['1', '2'],
    );
    assert.equal(logQueriesOf(expr).length, 2);
    assert.deepStrictEqual(selectorsOf(parse('1 + 1')), []);
    assert.equal(selectorsOf(parse('{x="y"}')).length, 1);
  });

  it('withoutPositions drops every pos, deeply, without touching the original', () => {
    const expr = parse('{a="b"} |= "x" or "y" | json z');
    const bare = withoutPositions(expr);
    assert.ok(!JSON.stringify(bare).includes('"pos"'));
    assert.ok(JSON.stringify(expr).includes('"pos"'));
  });
});
