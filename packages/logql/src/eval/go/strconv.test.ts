// Go strconv compatibility: the number parsing behind numeric label filters
// and unwrap, and the number formatting of sample values and template output.
// Expected values are Go's documented behaviour (strconv package docs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoFloat, formatSampleValue, goQuote, parseGoFloat, parseGoInt } from './strconv.js';

describe('parseGoFloat (strconv.ParseFloat)', () => {
  const ok: Array<[string, number]> = [
    ['1', 1],
    ['-2.5', -2.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['+3', 3],
    ['1_000', 1000],
    ['0x1p-2', 0.25],
    ['0x1.8p1', 3],
    ['Inf', Infinity],
    ['-infinity', -Infinity],
    ['NaN', NaN],
  ];
  for (const [s, v] of ok) {
    it(`parses ${s}`, () => {
      const r = parseGoFloat(s);
      assert.ok(r.ok);
      assert.ok(Object.is(r.value, v) || (Number.isNaN(v) && Number.isNaN(r.value)), `${s} -> ${r.value}`);
    });
  }
  for (const s of ['', 'abc', '1.2.3', '0x10', '1_', '_1', '1__0', '1e', ' 1', '1 ', '--1', '1ms']) {
    it(`refuses ${JSON.stringify(s)} with Go's message`, () => {
      const r = parseGoFloat(s);
      assert.ok(!r.ok);
      assert.equal(r.error, `strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
    });
  }
  it('reports out of range', () => {
    const r = parseGoFloat('1e400');
    assert.ok(!r.ok);
    assert.equal(r.error, 'strconv.ParseFloat: parsing "1e400": value out of range');
  });
});

describe('parseGoInt (strconv.ParseInt base 0)', () => {
  it('understands prefixes, octal and underscores', () => {
    const v = (s: string) => {
      const r = parseGoInt(s);
      return r.ok ? r.value : r.error;
    };
    assert.equal(v('42'), 42n);
    assert.equal(v('-0x1f'), -31n);
    assert.equal(v('010'), 8n);
    assert.equal(v('0o17'), 15n);
    assert.equal(v('0b101'), 5n);
    assert.equal(v('1_000'), 1000n);
    assert.equal(v('3.5'), 'strconv.ParseInt: parsing "3.5": invalid syntax');
    assert.equal(v('9223372036854775808'), 'strconv.ParseInt: parsing "9223372036854775808": value out of range');
  });
  it('base 10 refuses prefixes', () => {
    assert.ok(!parseGoInt('0x10', 10).ok);
  });
});

describe('formatGoFloat', () => {
  it("'f', -1 is what Loki writes sample values with", () => {
    assert.equal(formatSampleValue(1), '1');
    assert.equal(formatSampleValue(0.1), '0.1');
    assert.equal(formatSampleValue(1 / 60), '0.016666666666666666');
    assert.equal(formatSampleValue(1e21), '1000000000000000000000');
    assert.equal(formatSampleValue(1.5e-7), '0.00000015');
    assert.equal(formatSampleValue(-3), '-3');
    assert.equal(formatSampleValue(Infinity), '+Inf');
    assert.equal(formatSampleValue(-Infinity), '-Inf');
    assert.equal(formatSampleValue(NaN), 'NaN');
  });
  it("'g', -1 switches to an exponent at 1e+06 and below 1e-04 (fmt's %v)", () => {
    assert.equal(formatGoFloat(3e6, 'g', -1), '3e+06');
    assert.equal(formatGoFloat(123456, 'g', -1), '123456');
    assert.equal(formatGoFloat(1234567, 'g', -1), '1.234567e+06');
    assert.equal(formatGoFloat(0.0001, 'g', -1), '0.0001');
    assert.equal(formatGoFloat(0.00001, 'g', -1), '1e-05');
    assert.equal(formatGoFloat(3.8476190476190477, 'g', -1), '3.8476190476190477');
    assert.equal(formatGoFloat(0, 'g', -1), '0');
  });
  it('rounds half to even on the exact binary value, as Go does', () => {
    assert.equal(formatGoFloat(0.125, 'f', 2), '0.12');
    assert.equal(formatGoFloat(0.375, 'f', 2), '0.38');
    assert.equal(formatGoFloat(2.5, 'f', 0), '2');
    assert.equal(formatGoFloat(3.14159, 'f', 2), '3.14');
    assert.equal(formatGoFloat(0.009, 'f', 2), '0.01');
    assert.equal(formatGoFloat(1234.5678, 'e', 3), '1.235e+03');
    assert.equal(formatGoFloat(1.5, 'g', 5), '1.5');
    assert.equal(formatGoFloat(123456789, 'g', 4), '1.235e+08');
  });
});

describe('goQuote (strconv.Quote)', () => {
  it('escapes quotes, backslashes and control characters, keeps printable Unicode', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('x\ny\tz\u0001'), '"x\\ny\\tz\\x01"');
    assert.equal(goQuote('héllo 世界'), '"héllo 世界"');
  });
});
