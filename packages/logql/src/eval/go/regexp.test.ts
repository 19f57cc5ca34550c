// Go regexp iteration and replacement rules on top of the JS engine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoRegexp } from './regexp.js';

describe('GoRegexp', () => {
  it('replaceAll skips an empty match right after a match (Go), unlike String.replace', () => {
    assert.equal(new GoRegexp('a*').replaceAll('baaac', 'X', true), 'XbXcX');
    assert.equal(new GoRegexp('').replaceAll('ab', '-', true), '-a-b-');
  });
  it('expands $1, ${1}, $name and $$ as Go does', () => {
    const re = new GoRegexp('(?P<k>\\w+)=(\\w+)');
    assert.equal(re.replaceAll('a=1 b=2', '$2:${k}', false), '1:a 2:b');
    // $1x is the group named "1x", which does not exist.
    assert.equal(re.replaceAll('a=1', '$1x|${1}x|$$', false), '|ax|$');
    assert.equal(new GoRegexp('(a*)bc').replaceAll('xaabcx', '${1}a', false), 'xaaax');
  });
  it('replaceAllLiteral does not expand', () => {
    assert.equal(new GoRegexp('(p)').replaceAll('BLIp', '${1}', true), 'BLI${1}');
  });
  it('counts matches like len(FindAllStringIndex)', () => {
    assert.equal(new GoRegexp('a|b').countAll('abab'), 4);
    assert.equal(new GoRegexp('o').countAll('foo'), 2);
    assert.equal(new GoRegexp('x*').countAll('axa'), 3);
  });
  it('names groups by number', () => {
    const re = new GoRegexp('(a)(?P<b>b)(?:c)(?<d>d)');
    assert.deepEqual(re.groupNames, [undefined, undefined, 'b', 'd']);
    assert.deepEqual(re.findSubmatch('abcd'), ['abcd', 'a', 'b', 'd']);
  });
  it("uses RE2's . and \\s", () => {
    assert.ok(new GoRegexp('a.b').test('a\rb'));
    assert.ok(!new GoRegexp('a.b').test('a\nb'));
    assert.ok(new GoRegexp('(?s)a.b').test('a\nb'));
    assert.ok(!new GoRegexp('a\\sb').test('a\u00a0b'));
  });
  it('anchors label matchers', () => {
    assert.ok(new GoRegexp('foo.*', true).test('foobar'));
    assert.ok(!new GoRegexp('foo.*', true).test('xfoobar'));
  });
});
