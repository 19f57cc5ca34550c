// Go reference-time layouts (time.Format / time.Parse) used by the date,
// toDate, toDateInZone and __timestamp__ template functions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoTime, ZERO_TIME, formatGoTime, goTimeString, loadLocation, parseGoTime, UTC } from './time.js';

const t = (iso: string, ns = 0n) => new GoTime(BigInt(Date.parse(iso)) * 1_000_000n + ns);

describe('formatGoTime', () => {
  const ts = t('2022-06-27T09:05:07Z', 123_400_000n);
  const cases: Array<[string, string]> = [
    ['2006-01-02', '2022-06-27'],
    ['2006-01-02T15:04:05.999999999Z07:00', '2022-06-27T09:05:07.1234Z'],
    ['2006-01-02T15:04:05.000Z', '2022-06-27T09:05:07.123Z'],
    ['Mon Jan _2 15:04:05 2006', 'Mon Jun 27 09:05:07 2022'],
    ['Monday, January 2, 2006 3:04PM', 'Monday, June 27, 2022 9:05AM'],
    ['02/01/06 03:04:05 pm -0700 MST', '27/06/22 09:05:07 am +0000 UTC'],
    ['002 __2', '178 178'],
    ['15h04', '09h05'],
    ['.9', '.1'],
    ['05.000000', '07.123400'],
  ];
  for (const [layout, want] of cases) {
    it(layout, () => assert.equal(formatGoTime(ts, layout), want));
  }
  it('drops an all-zero .999 fraction with its dot', () => {
    assert.equal(formatGoTime(t('2022-06-27T09:05:07Z'), '05.999'), '07');
  });
  it('writes Time.String() for __timestamp__', () => {
    assert.equal(goTimeString(t('2022-06-27T12:00:00Z')), '2022-06-27 12:00:00 +0000 UTC');
    assert.equal(goTimeString(ts), '2022-06-27 09:05:07.1234 +0000 UTC');
  });
  it('handles the zero time (year 1)', () => {
    assert.equal(goTimeString(ZERO_TIME), '0001-01-01 00:00:00 +0000 UTC');
    assert.equal(ZERO_TIME.unix(), -62135596800n);
  });
  it('formats in an IANA zone', () => {
    const paris = loadLocation('Europe/Paris');
    assert.ok(paris);
    assert.equal(formatGoTime(new GoTime(t('2023-07-01T10:00:00Z').unixNs, paris), '2006-01-02 15:04 -07:00'), '2023-07-01 12:00 +02:00');
  });
});

describe('parseGoTime', () => {
  it('parses the layouts of the template docs', () => {
    assert.equal(parseGoTime('2006-01-02', '2021-11-02', UTC)?.unix(), 1635811200n);
    assert.equal(parseGoTime('2006-01-02T15:04:05.999999999Z', '2023-03-10T01:32:40.340485723Z', UTC)?.unixNs, 1678411960340485723n);
    assert.equal(parseGoTime('2006-01-02T15:04:05Z07:00', '2023-03-10T02:32:40+01:00', UTC)?.unix(), 1678411960n);
    assert.equal(parseGoTime('Jan 2 2006 3:04pm', 'Mar 5 2023 1:07pm', UTC)?.unix(), BigInt(Date.parse('2023-03-05T13:07:00Z') / 1000));
    // A fractional second the layout does not spell out is accepted after seconds.
    assert.equal(parseGoTime('15:04:05', '01:02:03.5', UTC)?.nanosecond(), 500_000_000);
  });
  it('refuses values that do not fit the layout', () => {
    assert.equal(parseGoTime('2006-01-02', '2021-13-02', UTC), undefined);
    assert.equal(parseGoTime('2006-01-02', '2021-02-30', UTC), undefined);
    assert.equal(parseGoTime('2006-01-02', '2021-11-02 extra', UTC), undefined);
    assert.equal(parseGoTime('2006-01-02', 'nope', UTC), undefined);
  });
  it('interprets wall times in the given location', () => {
    const paris = loadLocation('Europe/Paris');
    assert.ok(paris);
    assert.equal(parseGoTime('2006-01-02 15:04', '2023-07-01 12:00', paris)?.unix(), 1688205600n);
    assert.equal(loadLocation('Not/AZone'), undefined);
  });
});
