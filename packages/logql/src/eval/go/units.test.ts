// time.ParseDuration and go-humanize ParseBytes as label values are converted
// by duration/bytes label filters and unwrap; cases from the Go and humanize docs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationSeconds, parseGoDuration, parseHumanBytes } from './units.js';

describe('parseGoDuration (time.ParseDuration)', () => {
  const ns = (s: string) => {
    const r = parseGoDuration(s);
    return r.ok ? r.ns : r.error;
  };
  it('parses the documented forms', () => {
    assert.equal(ns('300ms'), 300_000_000n);
    assert.equal(ns('-1.5h'), -5_400_000_000_000n);
    assert.equal(ns('2h45m'), 9_900_000_000_000n);
    assert.equal(ns('1µs'), 1000n);
    assert.equal(ns('1us'), 1000n);
    assert.equal(ns('0.10ms'), 100_000n);
    assert.equal(ns('0'), 0n);
    assert.equal(ns('24s30ms'), 24_030_000_000n);
  });
  it("refuses what Go refuses, with Go's messages", () => {
    assert.equal(ns('1d'), 'time: unknown unit "d" in duration "1d"');
    assert.equal(ns('1'), 'time: missing unit in duration "1"');
    assert.equal(ns(''), 'time: invalid duration ""');
    assert.equal(ns('abc'), 'time: invalid duration "abc"');
    assert.equal(ns('.s'), 'time: invalid duration ".s"');
  });
  it('converts to seconds like Duration.Seconds', () => {
    assert.equal(durationSeconds(190_000_000_000n), 190);
    assert.equal(durationSeconds(3_000_000n), 0.003);
  });
});

describe('parseHumanBytes (humanize.ParseBytes)', () => {
  const b = (s: string) => {
    const r = parseHumanBytes(s);
    return r.ok ? r.bytes : r.error;
  };
  it('parses decimal and binary units, case-insensitively, with spaces and commas', () => {
    assert.equal(b('42MB'), 42_000_000);
    assert.equal(b('1.5KiB'), 1536);
    assert.equal(b('20B'), 20);
    assert.equal(b('3 kB'), 3000);
    assert.equal(b('5 MiB'), 5 * 2 ** 20);
    assert.equal(b('3k'), 3000);
    assert.equal(b('1G'), 1e9);
    assert.equal(b('1,024 KB'), 1_024_000);
    assert.equal(b('100'), 100);
  });
  it('reports unknown units and bad numbers', () => {
    assert.equal(b('3 zz'), 'unhandled size name: zz');
    assert.equal(b('MB'), 'strconv.ParseFloat: parsing "": invalid syntax');
  });
});
