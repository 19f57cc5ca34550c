// RE2 checking: what Go's regexp accepts must compile, what it refuses must not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRe2, matchesEmpty, translateRe2 } from './regex.js';

describe('compileRe2', () => {
  it('accepts RE2 syntax JavaScript spells differently', () => {
    const cases: Array<[string, string, boolean]> = [
      ['(?i)error', 'ERROR', true],
      ['(?i)(?s)a.b', 'A\nB', true],
      ['(?is)a.b', 'A\nB', true],
      ['(?P<method>\\w+) (?P<path>\\S+)', 'GET /x', true],
      ['(?<name>x)', 'x', true],
      ['(?P<1st>x)', 'x', true],
      ['a(?i:b)c', 'abc', true],
      ['a(?i)b', 'ab', true],
      ['^x\\z', 'x', true],
      ['\\Ax', 'x', true],
      ['\\Q.*+\\E', '.*+', true],
      ['\\Q.*+\\E', 'abc', false],
      ['[[:alpha:]]+', 'abc', true],
      ['[[:digit:][:upper:]]+', 'A1', true],
      ['[^[:space:]]', ' ', false],
      ['\\pL+', 'é', true],
      ['\\p{Greek}', 'λ', true],
      ['\\PN', 'a', true],
      ['\\p{^Greek}', 'a', true],
      ['\\x{1F600}', '😀', true],
      ['\\x41', 'A', true],
      ['\\101', 'A', true],
      ['\\0', '\0', true],
      ['\\a', '\x07', true],
      ['a{,3}', 'a{,3}', true],
      ['a{2', 'a{2', true],
      ['}', '}', true],
      [']', ']', true],
      ['[]a]', ']', true],
      ['\\:\\#\\<\\"\\-', ':#<"-', true],
      ['[\\-a]', '-', true],
      ['a{1000}', 'a'.repeat(1000), true],
      ['\\C', 'x', true],
      ['x*?y+?z??', 'yz', true],
      ['', 'anything', true],
    ];
    for (const [pattern, input, expected] of cases) {
      const re = compileRe2(pattern);
      assert.equal(re.test(input), expected, `${pattern} on ${JSON.stringify(input)}`);
    }
  });

  it('rejects what RE2 refuses, even where JavaScript would accept it', () => {
    for (const pattern of [
      '(?=x)',
      '(?!x)',
      '(?<=x)',
      '(?<!x)',
      '(a)\\1',
      '(?P<n>a)(?P=n)',
      'a{1001}',
      'a{2,1001}',
      '(?x)a',
      '(?>a)',
      '\\y',
      '\\8',
      '\\é',
      '[a',
      '(',
      ')',
      '*a',
      'a**',
      'x{2,1}',
      '(?P<n>a)(?P<n>b)',
      '[[:foo:]]',
      '\\p{NoSuchScript}',
      '\\x{110000}',
      '[\\b]',
      'a\\',
    ]) {
      assert.throws(() => compileRe2(pattern), Error, pattern);
    }
  });

  it('lists named groups', () => {
    assert.deepStrictEqual(translateRe2('(?P<a>x)(y)(?<b>z)').groupNames, ['a', 'b']);
  });

  it('tells which patterns match the empty string when anchored', () => {
    assert.equal(matchesEmpty('.*'), true);
    assert.equal(matchesEmpty('.+'), false);
    assert.equal(matchesEmpty('a|'), true);
    assert.equal(matchesEmpty('(?i)a?'), true);
    assert.equal(matchesEmpty('^$'), true);
    assert.equal(matchesEmpty('api'), false);
  });
});
