// Validator tests: each rule fires with its code and position, and the
// things Loki accepts (RE2 flags, unwrapped rate, ...) do not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationCode, ValidationError } from './errors.js';
import { ipPatternError } from './ip.js';
import { parse } from './parser.js';
import { assertValid, patternError, validate } from './validate.js';

const codes = (q: string): string[] => validate(parse(q)).map((e) => e.code);
const first = (q: string): ValidationError => {
  const [e] = validate(parse(q));
  assert.ok(e, `expected ${q} to be invalid`);
  return e;
};

describe('validate', () => {
  const cases: Array<[string, ValidationCode[]]> = [
    // Selectors need a matcher that rejects the empty string.
    ['{a=~".*"}', [ValidationCode.SelectorNeedsMatcher]],
    ['{}', [ValidationCode.SelectorNeedsMatcher]],
    ['{a=""}', [ValidationCode.SelectorNeedsMatcher]],
    ['{a!="x"}', [ValidationCode.SelectorNeedsMatcher]],
    ['{a!~"x", b=~"y?"}', [ValidationCode.SelectorNeedsMatcher]],
    ['{a=~"(?i)"}', [ValidationCode.SelectorNeedsMatcher]],
    ['{a=~"x|"}', [ValidationCode.SelectorNeedsMatcher]],
    ['{a=~".+"}', []],
    ['{a=~".*", b="x"}', []],
    ['{a=~"(?i)api"}', []],
    // Regexes are RE2.
    ['{a=~"(", b="x"}', [ValidationCode.InvalidRegex]],
    ['{a=~"(?=x)y"}', [ValidationCode.InvalidRegex, ValidationCode.SelectorNeedsMatcher]],
    ['{a="b"} |~ "(a)\\\\1"', [ValidationCode.InvalidRegex]],
    ['{a="b"} |~ "a{1001}"', [ValidationCode.InvalidRegex]],
    ['{a="b"} |~ "x" or "[z"', [ValidationCode.InvalidRegex]],
    ['{a="b"} |= "[z"', []],
    ['{a="b"} | x=~"*"', [ValidationCode.InvalidRegex]],
    ['{a="b"} | drop x=~"(?<!a)b"', [ValidationCode.InvalidRegex]],
    ['{a="b"} | keep x!~"\\\\y"', [ValidationCode.InvalidRegex]],
    ['label_replace(vector(1), "dst", "", "src", "[")', [ValidationCode.InvalidRegex]],
    ['label_replace(vector(1), "0dst", "", "src", ".*")', [ValidationCode.InvalidLabelName]],
    // Parsers.
    ['{a="b"} | regexp "(\\\\w+)"', [ValidationCode.RegexpNeedsNamedGroup]],
    ['{a="b"} | regexp "(?P<x>"', [ValidationCode.InvalidRegex]],
    ['{a="b"} | pattern "<_> foo"', [ValidationCode.InvalidPattern]],
    ['{a="b"} | pattern "<a><b>"', [ValidationCode.InvalidPattern]],
    ['{a="b"} | pattern "<a> <a>"', [ValidationCode.InvalidPattern]],
    ['{a="b"} | pattern "<a> <b>"', []],
    ['{a="b"} | label_format a=b, a="x"', [ValidationCode.DuplicateLabelFormat]],
    // IP filters.
    ['{a="b"} |= ip("300.0.0.1")', [ValidationCode.InvalidIp]],
    ['{a="b"} |~ ip("10.0.0.1")', [ValidationCode.IpFilterOperator]],
    ['{a="b"} |= "x" or ip("nope")', [ValidationCode.InvalidIp]],
    ['{a="b"} | addr = ip("10.0.0.0/33")', [ValidationCode.InvalidIp]],
    ['{a="b"} | addr = ip("::1-10.0.0.1")', [ValidationCode.InvalidIp]],
    // Range aggregations.
    ['sum_over_time({a="b"}[5m])', [ValidationCode.UnwrapRequired]],
    ['rate_counter({a="b"}[5m])', [ValidationCode.UnwrapRequired]],
    ['count_over_time({a="b"} | unwrap x [5m])', [ValidationCode.UnwrapNotAllowed]],
    ['bytes_rate({a="b"} | unwrap x [5m])', [ValidationCode.UnwrapNotAllowed]],
    ['rate({a="b"} | unwrap x [5m])', []],
    ['rate({a="b"}[5m])', []],
    ['count_over_time({a="b"}[5m]) by (x)', [ValidationCode.GroupingNotAllowed]],
    ['sum_over_time({a="b"} | unwrap x [5m]) by (x)', [ValidationCode.GroupingNotAllowed]],
    ['max_over_time({a="b"} | unwrap x [5m]) by (x)', []],
    ['quantile_over_time({a="b"} | unwrap x [5m])', [ValidationCode.ParameterRequired]],
    ['quantile_over_time(1.5, {a="b"} | unwrap x [5m])', [ValidationCode.QuantileOutOfRange]],
    ['quantile_over_time(-0.1, {a="b"} | unwrap x [5m])', [ValidationCode.QuantileOutOfRange]],
    ['rate(5, {a="b"}[5m])', [ValidationCode.ParameterNotAllowed]],
    ['rate({a="b"}[0s])', [ValidationCode.InvalidRange]],
    // Vector aggregations.
    ['topk(rate({a="b"}[5m]))', [ValidationCode.ParameterRequired]],
    ['topk(0, rate({a="b"}[5m]))', [ValidationCode.InvalidTopK]],
    ['bottomk(-1, rate({a="b"}[5m]))', [ValidationCode.InvalidTopK]],
    ['topk(1.5, rate({a="b"}[5m]))', [ValidationCode.InvalidTopK]],
    ['sum(5, rate({a="b"}[5m]))', [ValidationCode.ParameterNotAllowed]],
    // Binary operations.
    ['rate({a="b"}[5m]) + bool 1', [ValidationCode.BoolNotComparison]],
    ['rate({a="b"}[5m]) and 1', [ValidationCode.SetOperatorOnScalar]],
    ['(1 + 2) or rate({a="b"}[5m])', [ValidationCode.SetOperatorOnScalar]],
    ['vector(1) or rate({a="b"}[5m])', []],
    ['rate({a="b"}[5m]) + on(x) 1', [ValidationCode.MatchingOnScalar]],
    ['rate({a="b"}[5m]) and on(x) group_left rate({a="b"}[5m])', [ValidationCode.GroupingOnSetOperator]],
    ['rate({a="b"}[5m]) * on(x) group_left rate({a="b"}[5m])', []],
  ];
  for (const [query, expected] of cases) {
    it(`${JSON.stringify(query)} -> ${expected.join(', ') || 'valid'}`, () => assert.deepStrictEqual(codes(query), expected));
  }

  it('reports every problem, in source order, with positions', () => {
    const errors = validate(parse('sum_over_time({a=~".*"} | regexp "x" [5m])\n  + bool topk(0, rate({b="c"}[1m]))'));
    assert.deepStrictEqual(
      errors.map((e) => [e.code, e.line, e.column]),
      [
        [ValidationCode.BoolNotComparison, 2, 3],
        [ValidationCode.UnwrapRequired, 1, 1],
        [ValidationCode.SelectorNeedsMatcher, 1, 15],
        [ValidationCode.RegexpNeedsNamedGroup, 1, 25],
        [ValidationCode.InvalidTopK, 2, 10],
      ],
    );
  });

  it('points at the offending matcher, term or stage', () => {
    assert.deepStrictEqual([first('{a="b",\n c=~"("}').line, first('{a="b",\n c=~"("}').column], [2, 2]);
    const e = first('{a="b"} |~ "ok" or "(" ');
    assert.deepStrictEqual([e.column, e.offset], [20, 19]);
    assert.equal(first('sum_over_time({a="b"} | json | unwrap x [5m]) + count_over_time({a="b"} | unwrap y [1m])').column, 73);
  });

  it('formats messages with the position, or without one for hand-built trees', () => {
    assert.match(first('{}').message, /^validation error at line 1, col 1: queries require at least one regexp or equality matcher/);
    const [e] = validate({ kind: 'LogQuery', selector: { kind: 'StreamSelector', matchers: [] }, pipeline: [] });
    assert.ok(e);
    assert.match(e.message, /^validation error: queries require/);
    assert.equal(e.line, undefined);
  });

  it('never throws on regexes at the engine limits, and keeps messages short', () => {
    for (const pattern of ['('.repeat(20_000) + ')'.repeat(20_000), '{'.repeat(60_000), '(?:a*)*'.repeat(3_000)]) {
      const errors = validate(parse(`{a=~"${pattern}"}`));
      for (const e of errors) assert.ok(e.message.length < 400, e.message.slice(0, 100));
    }
    assert.deepStrictEqual(codes('{a=~"' + '('.repeat(20_000) + ')'.repeat(20_000) + '"}'), [ValidationCode.InvalidRegex, ValidationCode.SelectorNeedsMatcher]);
  });

  it('assertValid throws the first error', () => {
    assert.throws(() => assertValid(parse('{}')), (err: unknown) => err instanceof ValidationError && err.code === ValidationCode.SelectorNeedsMatcher);
    assert.doesNotThrow(() => assertValid(parse('{a="b"}')));
  });

  it('every code is documented in the README', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.values(ValidationCode)) assert.ok(readme.includes('`' + code + '`'), `README lacks ${code}`);
  });
});

describe('patternError', () => {
  it('accepts Loki documentation patterns', () => {
    assert.equal(patternError('<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>'), undefined);
    assert.equal(patternError('<_> msg="<method> <path> (<status>) <latency>"'), undefined);
    assert.equal(patternError('<a>'), undefined);
  });
  it('rejects patterns without named captures or with touching captures', () => {
    assert.match(patternError('no captures') ?? '', /named capture/);
    assert.match(patternError('<_>') ?? '', /named capture/);
    assert.match(patternError('<a><_>') ?? '', /consecutive/);
  });
});

describe('ipPatternError', () => {
  it('accepts addresses, ranges and CIDRs of both families', () => {
    for (const ok of [
      '192.168.0.1',
      '0.0.0.0',
      '::',
      '::1',
      '2001:db8::8a2e:370:7334',
      '::ffff:192.0.2.1',
      'fe80::1%eth0',
      '192.168.0.1-192.189.10.12',
      '2001:db8::1-2001:db8::8',
      '192.51.100.0/24',
      '192.168.4.5/16',
      '2001:db8::/32',
      '1:2:3:4:5:6:7:8',
    ]) {
      assert.equal(ipPatternError(ok), undefined, ok);
    }
  });
  it('rejects the rest', () => {
    for (const bad of [
      '',
      '1.2.3',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3.4.5',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      '10.0.0.2-10.0.0.1',
      '10.0.0.1-::1',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      'fe80::1%',
      'localhost',
    ]) {
      assert.notEqual(ipPatternError(bad), undefined, bad);
    }
  });
});
