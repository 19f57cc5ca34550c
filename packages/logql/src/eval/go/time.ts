/**
 * Go's time.Time as the template functions see it (`__timestamp__`, `now`,
 * `date`, `toDate`, `toDateInZone`, `unixEpoch*`, `unixToTime`): an instant
 * in nanoseconds plus a location, Go's reference-time layouts
 * (`2006-01-02T15:04:05.999999999Z07:00`) for formatting and parsing, and
 * `Time.String()`.
 *
 * Invariants: the proleptic Gregorian calendar is computed with integer day
 * arithmetic, so year 1 (Go's zero time) and far dates are exact. Go's
 * "Local" location is UTC here, so results do not depend on the machine or
 * browser that evaluates the query. Named IANA zones use the platform's Intl
 * tables; abbreviations come from Intl and may differ from Go's for zones
 * without a common English abbreviation.
 */

export interface GoLocation {
  /** `UTC`, an IANA name, or a fixed zone's name (possibly empty). */
  readonly name: string;
  /** Set for fixed zones (parsed offsets): seconds east of UTC. */
  readonly fixedOffset?: number;
}

export const UTC: GoLocation = { name: 'UTC', fixedOffset: 0 };

export class GoTime {
  constructor(
    /** Nanoseconds since the Unix epoch. */
    readonly unixNs: bigint,
    readonly loc: GoLocation = UTC,
  ) {}

  /** t.Unix(): whole seconds, rounded down. */
  unix(): bigint {
    return floorDiv(this.unixNs, 1_000_000_000n);
  }

  unixMilli(): bigint {
    return floorDiv(this.unixNs, 1_000_000n);
  }

  nanosecond(): number {
    return Number(this.unixNs - this.unix() * 1_000_000_000n);
  }
}

/** Go's zero time, January 1, year 1, 00:00:00 UTC. */
export const ZERO_TIME = new GoTime(-62135596800n * 1_000_000_000n);

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

// ----------------------------------------------------------------- zones

const dtfCache = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(zone: string): Intl.DateTimeFormat | null {
  let f = dtfCache.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
        timeZoneName: 'short',
      });
    } catch {
      f = null;
    }
    dtfCache.set(zone, f);
  }
  return f;
}

/** time.LoadLocation: `UTC`, `Local` (UTC here), or an IANA name the platform knows. */
export function loadLocation(name: string): GoLocation | undefined {
  if (name === '' || name === 'UTC') return UTC;
  if (name === 'Local') return UTC;
  return formatterFor(name) ? { name } : undefined;
}

/** Offset (seconds east of UTC) and abbreviation of `loc` at `unixSec`. */
export function zoneAt(loc: GoLocation, unixSec: bigint): { offset: number; abbr: string } {
  if (loc.fixedOffset !== undefined) return { offset: loc.fixedOffset, abbr: loc.name };
  const f = formatterFor(loc.name);
  // Intl only covers about ±270,000 years; outside that (and for bad zones) UTC is the honest answer.
  const ms = Number(unixSec) * 1000;
  if (!f || Math.abs(ms) > 8.64e15) return { offset: 0, abbr: 'UTC' };
  const parts = f.formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  let year = Number(get('year'));
  if (get('era').startsWith('B')) year = 1 - year;
  const wall = Number(daysFromCivil(year, Number(get('month')), Number(get('day')))) * 86400 + Number(get('hour')) * 3600 + Number(get('minute')) * 60 + Number(get('second'));
  const offset = wall - Math.floor(ms / 1000);
  let abbr = get('timeZoneName');
  if (/^GMT[+-]/.test(abbr) || abbr === 'GMT' && offset !== 0) {
    // Go names zones without an abbreviation by their offset, e.g. "+0530".
    const m = Math.abs(offset) / 60;
    abbr = (offset < 0 ? '-' : '+') + String(Math.floor(m / 60)).padStart(2, '0') + (m % 60 ? String(m % 60).padStart(2, '0') : '');
  }
  return { offset, abbr };
}

// -------------------------------------------------------------- calendar

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
export function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z0: number): [number, number, number] {
  const z = z0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nsec: number;
  weekday: number;
  yday: number;
  offset: number;
  abbr: string;
}

function civil(t: GoTime): Civil {
  const sec = t.unix();
  const { offset, abbr } = zoneAt(t.loc, sec);
  const local = sec + BigInt(offset);
  const days = Number(floorDiv(local, 86400n));
  const rem = Number(local - BigInt(days) * 86400n);
  const [year, month, day] = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(rem / 3600),
    minute: Math.floor((rem % 3600) / 60),
    second: rem % 60,
    nsec: t.nanosecond(),
    weekday: (((days + 4) % 7) + 7) % 7,
    yday: days - daysFromCivil(year, 1, 1) + 1,
    offset,
    abbr,
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// ---------------------------------------------------------------- layouts

type Std =
  | 'LongMonth' | 'Month' | 'NumMonth' | 'ZeroMonth'
  | 'LongWeekDay' | 'WeekDay'
  | 'Day' | 'UnderDay' | 'ZeroDay' | 'UnderYearDay' | 'ZeroYearDay'
  | 'Hour' | 'Hour12' | 'ZeroHour12'
  | 'Minute' | 'ZeroMinute' | 'Second' | 'ZeroSecond'
  | 'LongYear' | 'Year' | 'PM' | 'pm'
  | 'ISO8601TZ' | 'ISO8601SecondsTZ' | 'ISO8601ShortTZ' | 'ISO8601ColonTZ' | 'ISO8601ColonSecondsTZ'
  | 'NumTZ' | 'NumSecondsTz' | 'NumShortTZ' | 'NumColonTZ' | 'NumColonSecondsTZ'
  | 'TZ' | 'Frac0' | 'Frac9';

interface Chunk {
  prefix: string;
  std?: Std;
  /** Digits of a fractional-second element; its separator (`.` or `,`). */
  digits?: number;
  sep?: string;
  suffix: string;
}

const isLower = (s: string) => s !== '' && (s[0] as string) >= 'a' && (s[0] as string) <= 'z';
const isDigitAt = (s: string, i: number) => i < s.length && (s[i] as string) >= '0' && (s[i] as string) <= '9';

/** Go's nextStdChunk. */
function nextChunk(layout: string): Chunk {
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const at = (s: string) => layout.startsWith(s, i);
    const hit = (std: Std, len: number): Chunk => ({ prefix: layout.slice(0, i), std, suffix: layout.slice(i + len) });
    switch (c) {
      case 'J':
        if (at('Jan')) {
          if (at('January')) return hit('LongMonth', 7);
          if (!isLower(layout.slice(i + 3))) return hit('Month', 3);
        }
        break;
      case 'M':
        if (at('Mon')) {
          if (at('Monday')) return hit('LongWeekDay', 6);
          if (!isLower(layout.slice(i + 3))) return hit('WeekDay', 3);
        }
        if (at('MST')) return hit('TZ', 3);
        break;
      case '0': {
        const n = layout[i + 1];
        if (n !== undefined && n >= '1' && n <= '6') {
          return hit((['ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond', 'Year'] as const)[Number(n) - 1] as Std, 2);
        }
        if (at('002')) return hit('ZeroYearDay', 3);
        break;
      }
      case '1':
        if (layout[i + 1] === '5') return hit('Hour', 2);
        return hit('NumMonth', 1);
      case '2':
        if (at('2006')) return hit('LongYear', 4);
        return hit('Day', 1);
      case '_':
        if (layout[i + 1] === '2') {
          if (layout.startsWith('2006', i + 1)) return { prefix: layout.slice(0, i + 1), std: 'LongYear', suffix: layout.slice(i + 5) };
          return hit('UnderDay', 2);
        }
        if (at('__2')) return hit('UnderYearDay', 3);
        break;
      case '3':
        return hit('Hour12', 1);
      case '4':
        return hit('Minute', 1);
      case '5':
        return hit('Second', 1);
      case 'P':
        if (layout[i + 1] === 'M') return hit('PM', 2);
        break;
      case 'p':
        if (layout[i + 1] === 'm') return hit('pm', 2);
        break;
      case '-':
        if (at('-070000')) return hit('NumSecondsTz', 7);
        if (at('-07:00:00')) return hit('NumColonSecondsTZ', 9);
        if (at('-0700')) return hit('NumTZ', 5);
        if (at('-07:00')) return hit('NumColonTZ', 6);
        if (at('-07')) return hit('NumShortTZ', 3);
        break;
      case 'Z':
        if (at('Z070000')) return hit('ISO8601SecondsTZ', 7);
        if (at('Z07:00:00')) return hit('ISO8601ColonSecondsTZ', 9);
        if (at('Z0700')) return hit('ISO8601TZ', 5);
        if (at('Z07:00')) return hit('ISO8601ColonTZ', 6);
        if (at('Z07')) return hit('ISO8601ShortTZ', 3);
        break;
      case '.':
      case ',': {
        const ch = layout[i + 1];
        if (ch === '0' || ch === '9') {
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigitAt(layout, j)) {
            return { prefix: layout.slice(0, i), std: ch === '0' ? 'Frac0' : 'Frac9', digits: j - (i + 1), sep: c, suffix: layout.slice(j) };
          }
        }
        break;
      }
    }
  }
  return { prefix: layout, suffix: '' };
}

const pad = (n: number, width: number) => {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? '-' + s : s;
};

function formatZone(offset: number, std: Std): string {
  if (std.startsWith('ISO8601') && offset === 0) return 'Z';
  const zone = Math.trunc(offset / 60);
  const abs = Math.abs(zone);
  let out = (zone < 0 || (zone === 0 && offset < 0) ? '-' : '+') + pad(Math.floor(abs / 60), 2);
  const colon = std.includes('Colon');
  if (std === 'ISO8601ShortTZ' || std === 'NumShortTZ') return out;
  out += (colon ? ':' : '') + pad(abs % 60, 2);
  if (std.includes('Seconds') || std === 'NumSecondsTz') out += (colon ? ':' : '') + pad(Math.abs(offset) % 60, 2);
  return out;
}

/** Time.Format(layout). */
export function formatGoTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let out = '';
  let rest = layout;
  while (rest !== '') {
    const ch = nextChunk(rest);
    out += ch.prefix;
    if (!ch.std) break;
    rest = ch.suffix;
    switch (ch.std) {
      case 'Year':
        out += pad(((c.year % 100) + 100) % 100, 2);
        break;
      case 'LongYear':
        out += pad(c.year, 4);
        break;
      case 'Month':
        out += (MONTHS[c.month - 1] as string).slice(0, 3);
        break;
      case 'LongMonth':
        out += MONTHS[c.month - 1];
        break;
      case 'NumMonth':
        out += c.month;
        break;
      case 'ZeroMonth':
        out += pad(c.month, 2);
        break;
      case 'WeekDay':
        out += (DAYS[c.weekday] as string).slice(0, 3);
        break;
      case 'LongWeekDay':
        out += DAYS[c.weekday];
        break;
      case 'Day':
        out += c.day;
        break;
      case 'UnderDay':
        out += (c.day < 10 ? ' ' : '') + c.day;
        break;
      case 'ZeroDay':
        out += pad(c.day, 2);
        break;
      case 'UnderYearDay':
        out += String(c.yday).padStart(3, ' ');
        break;
      case 'ZeroYearDay':
        out += pad(c.yday, 3);
        break;
      case 'Hour':
        out += pad(c.hour, 2);
        break;
      case 'Hour12':
        out += c.hour % 12 === 0 ? 12 : c.hour % 12;
        break;
      case 'ZeroHour12':
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
        break;
      case 'Minute':
        out += c.minute;
        break;
      case 'ZeroMinute':
        out += pad(c.minute, 2);
        break;
      case 'Second':
        out += c.second;
        break;
      case 'ZeroSecond':
        out += pad(c.second, 2);
        break;
      case 'PM':
        out += c.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += c.hour >= 12 ? 'pm' : 'am';
        break;
      case 'TZ':
        out += c.abbr !== '' ? c.abbr : formatZone(c.offset, 'NumTZ');
        break;
      case 'Frac0':
      case 'Frac9': {
        const digits = String(c.nsec).padStart(9, '0').slice(0, ch.digits);
        if (ch.std === 'Frac0') out += (ch.sep as string) + digits;
        else {
          const trimmed = digits.replace(/0+$/, '');
          if (trimmed !== '') out += (ch.sep as string) + trimmed;
        }
        break;
      }
      default:
        out += formatZone(c.offset, ch.std);
    }
  }
  return out;
}

/** Time.String(): `2006-01-02 15:04:05.999999999 -0700 MST`. */
export function goTimeString(t: GoTime): string {
  return formatGoTime(t, '2006-01-02 15:04:05.999999999 -0700 MST');
}

// ----------------------------------------------------------------- parsing

const cutspace = (s: string) => s.replace(/^ +/, '');

function skip(value: string, prefix: string): string | undefined {
  let v = value;
  let p = prefix;
  while (p !== '') {
    if (p[0] === ' ') {
      if (v !== '' && v[0] !== ' ') return undefined;
      p = cutspace(p);
      v = cutspace(v);
      continue;
    }
    if (v === '' || v[0] !== p[0]) return undefined;
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

function getnum(v: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(v, 0)) return undefined;
  if (!isDigitAt(v, 1)) return fixed ? undefined : [Number(v[0]), v.slice(1)];
  return [Number(v.slice(0, 2)), v.slice(2)];
}

function lookupName(names: string[], v: string, len?: number): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const name = len ? (names[i] as string).slice(0, len) : (names[i] as string);
    if (v.length >= name.length && v.slice(0, name.length).toLowerCase() === name.toLowerCase()) return [i, v.slice(name.length)];
  }
  return undefined;
}

/** Wall clock in `loc` to an instant (Go's Date with a location). */
function dateIn(y: number, mo: number, d: number, h: number, mi: number, s: number, ns: number, loc: GoLocation): GoTime {
  const wall = BigInt(daysFromCivil(y, mo, d)) * 86400n + BigInt(h * 3600 + mi * 60 + s);
  let unix = wall;
  // Two rounds find the offset in effect at the wall time (as Go's Date does, modulo DST gaps).
  for (let i = 0; i < 2; i++) unix = wall - BigInt(zoneAt(loc, unix).offset);
  return new GoTime(unix * 1_000_000_000n + BigInt(ns), loc);
}

/** time.ParseInLocation(layout, value, loc); undefined when `value` does not match the layout. */
export function parseGoTime(layout: string, value: string, loc: GoLocation): GoTime | undefined {
  let v = value;
  let rest = layout;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let pm = false;
  let am = false;
  let zoneOffset: number | undefined;
  let zoneName: string | undefined;
  let utc = false;
  for (;;) {
    const ch = nextChunk(rest);
    const skipped = skip(v, ch.prefix);
    if (skipped === undefined) return undefined;
    v = skipped;
    if (!ch.std) {
      if (v !== '') return undefined;
      break;
    }
    rest = ch.suffix;
    let r: [number, string] | undefined;
    switch (ch.std) {
      case 'Year':
        if (v.length < 2 || !isDigitAt(v, 0) || !isDigitAt(v, 1)) return undefined;
        year = Number(v.slice(0, 2));
        year += year >= 69 ? 1900 : 2000;
        v = v.slice(2);
        break;
      case 'LongYear':
        if (v.length < 4 || !/^[0-9]{4}/.test(v)) return undefined;
        year = Number(v.slice(0, 4));
        v = v.slice(4);
        break;
      case 'Month':
      case 'LongMonth':
        r = lookupName(MONTHS, v, ch.std === 'Month' ? 3 : undefined);
        if (!r) return undefined;
        month = r[0] + 1;
        v = r[1];
        break;
      case 'NumMonth':
      case 'ZeroMonth':
        r = getnum(v, ch.std === 'ZeroMonth');
        if (!r || r[0] <= 0 || r[0] > 12) return undefined;
        [month, v] = r;
        break;
      case 'WeekDay':
      case 'LongWeekDay':
        r = lookupName(DAYS, v, ch.std === 'WeekDay' ? 3 : undefined);
        if (!r) return undefined;
        v = r[1];
        break;
      case 'Day':
      case 'UnderDay':
      case 'ZeroDay':
        if (ch.std === 'UnderDay' && v[0] === ' ') v = v.slice(1);
        r = getnum(v, ch.std === 'ZeroDay');
        if (!r) return undefined;
        [day, v] = r;
        break;
      case 'UnderYearDay':
      case 'ZeroYearDay': {
        if (ch.std === 'UnderYearDay') v = v.replace(/^ {1,2}/, '');
        const m = (ch.std === 'ZeroYearDay' ? /^[0-9]{3}/ : /^[0-9]{1,3}/).exec(v);
        if (!m) return undefined;
        yday = Number(m[0]);
        v = v.slice(m[0].length);
        break;
      }
      case 'Hour':
        r = getnum(v, false);
        if (!r || r[0] > 23) return undefined;
        [hour, v] = r;
        break;
      case 'Hour12':
      case 'ZeroHour12':
        r = getnum(v, ch.std === 'ZeroHour12');
        if (!r || r[0] > 12) return undefined;
        [hour, v] = r;
        break;
      case 'Minute':
      case 'ZeroMinute':
        r = getnum(v, ch.std === 'ZeroMinute');
        if (!r || r[0] > 59) return undefined;
        [min, v] = r;
        break;
      case 'Second':
      case 'ZeroSecond': {
        r = getnum(v, ch.std === 'ZeroSecond');
        if (!r || r[0] > 59) return undefined;
        [sec, v] = r;
        // A fractional second in the value that the layout does not spell out is accepted.
        const next = nextChunk(rest);
        if (v.length >= 2 && (v[0] === '.' || v[0] === ',') && isDigitAt(v, 1) && next.std !== 'Frac0' && next.std !== 'Frac9') {
          const m = /^[.,][0-9]+/.exec(v) as RegExpExecArray;
          nsec = Number(m[0].slice(1, 10).padEnd(9, '0'));
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const p = v.slice(0, 2);
        const want = ch.std === 'PM' ? ['PM', 'AM'] : ['pm', 'am'];
        if (p === want[0]) pm = true;
        else if (p === want[1]) am = true;
        else return undefined;
        v = v.slice(2);
        break;
      }
      case 'TZ': {
        if (v.startsWith('UTC')) {
          utc = true;
          v = v.slice(3);
          break;
        }
        const m = /^[A-Z]{3,5}/.exec(v);
        if (!m) return undefined;
        zoneName = m[0];
        v = v.slice(m[0].length);
        break;
      }
      case 'Frac0': {
        const n = 1 + (ch.digits as number);
        if (v.length < n || (v[0] !== '.' && v[0] !== ',') || !/^[0-9]+$/.test(v.slice(1, n))) return undefined;
        nsec = Number(v.slice(1, n).slice(0, 9).padEnd(9, '0'));
        v = v.slice(n);
        break;
      }
      case 'Frac9': {
        if (v.length < 2 || (v[0] !== '.' && v[0] !== ',') || !isDigitAt(v, 1)) break;
        const m = /^[.,][0-9]+/.exec(v) as RegExpExecArray;
        nsec = Number(m[0].slice(1, 10).padEnd(9, '0'));
        v = v.slice(m[0].length);
        break;
      }
      default: {
        // Numeric and ISO 8601 zones.
        if (ch.std.startsWith('ISO8601') && v[0] === 'Z') {
          v = v.slice(1);
          utc = true;
          break;
        }
        const colon = ch.std.includes('Colon');
        const short = ch.std.endsWith('ShortTZ');
        const seconds = ch.std.includes('Seconds');
        const re = short ? /^([+-])([0-9]{2})/ : colon ? (seconds ? /^([+-])([0-9]{2}):([0-9]{2}):([0-9]{2})/ : /^([+-])([0-9]{2}):([0-9]{2})/) : seconds ? /^([+-])([0-9]{2})([0-9]{2})([0-9]{2})/ : /^([+-])([0-9]{2})([0-9]{2})/;
        const m = re.exec(v);
        if (!m) return undefined;
        const off = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
        zoneOffset = m[1] === '-' ? -off : off;
        v = v.slice(m[0].length);
      }
    }
  }
  if (pm && hour < 12) hour += 12;
  else if (am && hour === 12) hour = 0;
  if (yday >= 0) {
    const days = daysFromCivil(year, 1, 1) + yday - 1;
    const [, m, d] = civilFromDays(days);
    month = m;
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  // Day must exist in the month.
  const [, cm, cd] = civilFromDays(daysFromCivil(year, month, day));
  if (cm !== month || cd !== day) return undefined;
  if (utc) return dateIn(year, month, day, hour, min, sec, nsec, UTC);
  if (zoneOffset !== undefined) {
    const t = dateIn(year, month, day, hour, min, sec, nsec, UTC);
    const unix = t.unixNs - BigInt(zoneOffset) * 1_000_000_000n;
    const local = zoneAt(loc, floorDiv(unix, 1_000_000_000n));
    return new GoTime(unix, local.offset === zoneOffset ? loc : { name: zoneName ?? '', fixedOffset: zoneOffset });
  }
  if (zoneName !== undefined) {
    // Known abbreviation of the location: its offset; otherwise a fabricated zone at offset 0.
    const guess = dateIn(year, month, day, hour, min, sec, nsec, loc);
    const z = zoneAt(loc, guess.unix());
    if (z.abbr === zoneName) return guess;
    return dateIn(year, month, day, hour, min, sec, nsec, { name: zoneName, fixedOffset: 0 });
  }
  return dateIn(year, month, day, hour, min, sec, nsec, loc);
}
