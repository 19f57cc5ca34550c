// Durations and byte sizes: parsing, formatting, and the exact round trip
// the printer depends on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, parseBytes } from './bytes.js';
import { formatDuration, isDuration, parseDuration, parsePrometheusDuration } from './durations.js';

describe('parseDuration', () => {
  it('parses Prometheus-style durations', () => {
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('1w'), 604_800_000);
    assert.equal(parseDuration('1y'), 31_536_000_000);
    assert.equal(parseDuration('1y2w3d4h5m6s7ms'), 31_536_000_000 + 2 * 604_800_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6_000 + 7);
    assert.equal(parseDuration('0'), 0);
  });

  it('falls back to Go-style durations', () => {
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('2h45m'), 9_900_000);
    assert.equal(parseDuration('300ms'), 300);
    assert.equal(parseDuration('250us'), 0.25);
    assert.equal(parseDuration('250µs'), 0.25);
    assert.equal(parseDuration('250μs'), 0.25);
    assert.equal(parseDuration('1ns'), 0.000001);
    assert.equal(parseDuration('-1.5h'), -5_400_000);
    assert.equal(parseDuration('+5s'), 5_000);
    assert.equal(parseDuration('1m1h'), 3_660_000, 'Go allows any unit order');
    assert.equal(parseDuration('.5s'), 500);
  });

  it('rejects what neither style accepts', () => {
    for (const bad of ['', '5', 'm', '5x', '1d1.5h', '-1d', '5 m', '1.5', '1e3s', '9999999999999y']) {
      assert.throws(() => parseDuration(bad), /invalid duration/, bad);
      assert.equal(isDuration(bad), false, bad);
    }
  });

  it('ranges accept only the Prometheus style', () => {
    assert.equal(parsePrometheusDuration('1h30m'), 5_400_000);
    for (const bad of ['1.5h', '250us', '1m1h', '-5m', '', '5m5m']) assert.throws(() => parsePrometheusDuration(bad), /invalid duration/, bad);
  });
});

describe('formatDuration', () => {
  it('uses Prometheus units for whole milliseconds', () => {
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(86_400_000), '1d');
    assert.equal(formatDuration(8 * 86_400_000), '1w1d');
    assert.equal(formatDuration(31_536_000_000), '1y');
    assert.equal(formatDuration(1_500), '1s500ms');
    assert.equal(formatDuration(0), '0s');
  });

  it('uses Go units for fractions and negatives', () => {
    assert.equal(formatDuration(0.25), '250us');
    assert.equal(formatDuration(1.5), '1ms500us');
    assert.equal(formatDuration(0.000001), '1ns');
    assert.equal(formatDuration(-300_000), '-5m');
    assert.equal(formatDuration(-86_400_000), '-24h');
  });

  it('refuses non-finite values', () => {
    assert.throws(() => formatDuration(Infinity), RangeError);
    assert.throws(() => formatDuration(NaN), RangeError);
  });

  it('round-trips every value parseDuration produces', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const units = ['h', 'm', 's', 'ms', 'us', 'ns'];
    for (let i = 0; i < 3000; i++) {
      let text = random() < 0.2 ? '-' : '';
      const parts = 1 + Math.floor(random() * 4);
      for (let p = 0; p < parts; p++) {
        const digits = Math.floor(random() * 10 ** (1 + Math.floor(random() * 7)));
        const frac = random() < 0.3 ? '.' + Math.floor(random() * 1e6) : '';
        text += `${digits}${frac}${units[Math.floor(random() * units.length)]}`;
      }
      let ms: number;
      try {
        ms = parseDuration(text);
      } catch {
        continue; // beyond Go's int64 nanoseconds
      }
      const formatted = formatDuration(ms);
      assert.equal(parseDuration(formatted), Object.is(ms, -0) ? 0 : ms, `${text} -> ${ms} -> ${formatted}`);
    }
  });
});

describe('bytes', () => {
  it('parses decimal and binary units, case-insensitively, as go-humanize does', () => {
    assert.equal(parseBytes('10KB'), 10_000);
    assert.equal(parseBytes('10kb'), 10_000);
    assert.equal(parseBytes('1.5KiB'), 1536);
    assert.equal(parseBytes('1.5MiB'), 1_572_864);
    assert.equal(parseBytes('5 MiB'), 5 * 2 ** 20);
    assert.equal(parseBytes('3k'), 3000);
    assert.equal(parseBytes('1G'), 1e9);
    assert.equal(parseBytes('20B'), 20);
    assert.equal(parseBytes('20'), 20);
    assert.equal(parseBytes('1.1KB'), 1100, 'fractions are truncated to whole bytes');
  });

  it('rejects unknown units and values beyond 2^53', () => {
    for (const bad of ['', 'KB', '10XB', '1EB', '-5KB', '1,5KB', '99999PB']) assert.throws(() => parseBytes(bad), bad);
  });

  it('formats with the largest exact unit', () => {
    assert.equal(formatBytes(0), '0B');
    assert.equal(formatBytes(20), '20B');
    assert.equal(formatBytes(1536), '1536B');
    assert.equal(formatBytes(2048), '2KiB');
    assert.equal(formatBytes(20_000), '20KB');
    assert.equal(formatBytes(1_572_864), '1536KiB');
    assert.equal(formatBytes(3 * 2 ** 30), '3GiB');
    assert.equal(formatBytes(1e15), '1PB');
    assert.throws(() => formatBytes(1.5), RangeError);
    assert.throws(() => formatBytes(-1), RangeError);
  });

  it('round-trips', () => {
    for (const n of [0, 1, 999, 1000, 1023, 1024, 1_000_000, 1_048_576, 123_456_789, 2 ** 50, 3e15, Number.MAX_SAFE_INTEGER]) {
      assert.equal(parseBytes(formatBytes(n)), n, String(n));
    }
  });
});
