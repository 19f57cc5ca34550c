// fmt.Sprintf / Sprint for template values (the printf template function).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sprint, sprintf } from './fmt.js';
import { GoInt } from './values.js';

describe('sprintf', () => {
  const i = (n: number) => new GoInt(n);
  it('formats the documented examples', () => {
    assert.equal(sprintf('The IP address was %s', ['129.168.1.1']), 'The IP address was 129.168.1.1');
    assert.equal(sprintf('%-40.40s|%-5.5s', ['/a/509965767/alternative-to-my-mtg.html', 'GET']), '/a/509965767/alternative-to-my-mtg.html |GET  ');
    assert.equal(sprintf('"|" %15.15s "|"', ['host']), '"|"            host "|"');
  });
  it('handles verbs, flags, width and precision', () => {
    assert.equal(sprintf('%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%U', [i(42), i(42), i(42), i(-42), i(42), i(255), i(255), i(8), i(5), i(65), i(0x1f600)]), '42|   42|42   |-0042|+42|ff|FF|10|101|A|U+1F600');
    assert.equal(sprintf('%f|%.2f|%8.3f|%e|%g|%v', [3.14159, 3.14159, 3.14159, 1234.5678, 1e21, 0.5]), '3.141590|3.14|   3.142|1.234568e+03|1e+21|0.5');
    assert.equal(sprintf('%q|%v|%t|%%|%T', ['a"b', true, false, 1.5]), '"a\\"b"|true|false|%|float64');
    assert.equal(sprintf('%*d|%.*f', [i(4), i(7), i(1), 2.25]), '   7|2.2');
  });
  it("prints Go's diagnostics for mismatches", () => {
    assert.equal(sprintf('%d', ['abc']), '%!d(string=abc)');
    assert.equal(sprintf('%s', [i(5)]), '%!s(int=5)');
    assert.equal(sprintf('%d %d', [i(1)]), '1 %!d(MISSING)');
    assert.equal(sprintf('%d', [i(1), 'x']), '1%!(EXTRA string=x)');
    assert.equal(sprintf('%', []), '%!(NOVERB)');
  });
});

describe('sprint', () => {
  it('adds spaces between operands when neither is a string', () => {
    assert.equal(sprint([new GoInt(1), new GoInt(2)]), '1 2');
    assert.equal(sprint(['a', new GoInt(1), 'b']), 'a1b');
    assert.equal(sprint([1.5, true]), '1.5 true');
  });
});
