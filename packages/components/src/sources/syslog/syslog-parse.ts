/**
 * Syslog message parsers: RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME
 * PROCID MSGID STRUCTURED-DATA [MSG]`) and RFC 3164 / BSD syslog
 * (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`) with the variants real
 * senders produce: no hostname, an ISO 8601 timestamp (rsyslog's
 * RSYSLOG_ForwardFormat), a year in the timestamp, fractional seconds, no
 * timestamp at all.
 *
 * Invariants:
 * - `parseSyslog` never throws, on any input: it returns a message or a
 *   reason the line is not syslog (a fuzz test holds it to that);
 * - only the PRI is mandatory. Without one a line is not syslog. After a
 *   valid PRI, a line that does not start `1 ` is read as RFC 3164, which is
 *   lenient by definition (whatever is not a header is message); a line that
 *   announces RFC 5424 must follow it, or it is rejected naming the field;
 * - RFC 3164 timestamps carry neither year nor zone: the zone is taken as
 *   UTC and the year as the latest that does not put the time more than a
 *   week after the receive time (a December line received on January 1st
 *   is last year's).
 */

export interface SdElement {
  id: string;
  params: [name: string, value: string][];
}

export interface SyslogMessage {
  format: 'rfc5424' | 'rfc3164';
  facility: number;
  severity: number;
  /** Event time in ns since the epoch; undefined when the line had none (NILVALUE or no timestamp). */
  timeUnixNano: bigint | undefined;
  hostname: string | undefined;
  /** RFC 5424 APP-NAME, or the RFC 3164 TAG's name. */
  appName: string | undefined;
  /** RFC 5424 PROCID, or the PID in an RFC 3164 `tag[pid]:`. */
  procId: string | undefined;
  msgId: string | undefined;
  structuredData: SdElement[];
  message: string;
}

export type SyslogParseResult = { ok: true; message: SyslogMessage } | { ok: false; error: string };

const SP = 0x20;
const NS_PER_MS = 1_000_000n;

function fail(error: string): SyslogParseResult {
  return { ok: false, error };
}

/**
 * Parses one syslog message (one frame, trailing newline already removed).
 * `nowMs` is the receive time, used to complete RFC 3164 timestamps.
 */
export function parseSyslog(line: string, nowMs: number): SyslogParseResult {
  try {
    return parseUnsafe(line, nowMs);
  } catch (err) {
    // Defensive: every path above returns a result; a bug must not take a listener down.
    return fail(`parser error: ${(err as Error).message}`);
  }
}

function parseUnsafe(line: string, nowMs: number): SyslogParseResult {
  if (line.charCodeAt(0) !== 0x3c /* < */) return fail('missing <PRI> at the start of the line');
  let i = 1;
  let pri = 0;
  while (i < line.length && i <= 4 && isDigit(line.charCodeAt(i))) pri = pri * 10 + (line.charCodeAt(i++) - 0x30);
  if (i === 1) return fail('PRI: expected digits after <');
  if (line.charCodeAt(i) !== 0x3e /* > */) return fail('PRI: expected 1 to 3 digits and >');
  if (i - 1 > 3 || pri > 191) return fail(`PRI: ${line.slice(1, i)} is out of range 0..191`);
  i++;
  const facility = pri >> 3;
  const severity = pri & 7;
  if (line.charCodeAt(i) === 0x31 /* 1 */ && line.charCodeAt(i + 1) === SP) return parse5424(line, i + 2, facility, severity);
  return { ok: true, message: parse3164(line, i, facility, severity, nowMs) };
}

// ---------------------------------------------------------------- RFC 5424

function parse5424(line: string, start: number, facility: number, severity: number): SyslogParseResult {
  let i = start;
  let time: bigint | undefined;
  if (line.charCodeAt(i) === 0x2d /* - */ && (i + 1 === line.length || line.charCodeAt(i + 1) === SP)) {
    i++;
  } else {
    const ts = parseIsoTimestamp(line, i, true);
    if (typeof ts === 'string') return fail(`RFC 5424 TIMESTAMP: ${ts}`);
    time = ts.ns;
    i = ts.end;
  }
  const fields: (string | undefined)[] = [];
  for (const name of ['HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID']) {
    if (line.charCodeAt(i) !== SP) return fail(`RFC 5424: expected a space before ${name} at column ${i + 1}`);
    i++;
    const end = tokenEnd(line, i);
    if (end === i) return fail(`RFC 5424 ${name}: empty field at column ${i + 1} (use - for none)`);
    const token = line.slice(i, end);
    fields.push(token === '-' ? undefined : token);
    i = end;
  }
  if (line.charCodeAt(i) !== SP) return fail(`RFC 5424: expected a space before STRUCTURED-DATA at column ${i + 1}`);
  i++;
  const structuredData: SdElement[] = [];
  if (line.charCodeAt(i) === 0x2d /* - */) {
    i++;
  } else if (line.charCodeAt(i) === 0x5b /* [ */) {
    while (line.charCodeAt(i) === 0x5b) {
      const el = parseSdElement(line, i);
      if (typeof el === 'string') return fail(`RFC 5424 STRUCTURED-DATA: ${el}`);
      structuredData.push(el.element);
      i = el.end;
    }
  } else {
    return fail(`RFC 5424 STRUCTURED-DATA: expected - or [ at column ${i + 1}`);
  }
  let message = '';
  if (i < line.length) {
    if (line.charCodeAt(i) !== SP) return fail(`RFC 5424: expected a space before MSG at column ${i + 1}`);
    message = line.slice(i + 1);
    // MSG-UTF8 starts with a BOM; it announces the encoding and is not content.
    if (message.charCodeAt(0) === 0xfeff) message = message.slice(1);
  }
  return {
    ok: true,
    message: { format: 'rfc5424', facility, severity, timeUnixNano: time, hostname: fields[0], appName: fields[1], procId: fields[2], msgId: fields[3], structuredData, message },
  };
}

function tokenEnd(line: string, i: number): number {
  const sp = line.indexOf(' ', i);
  return sp < 0 ? line.length : sp;
}

/** `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]` starting at `[`; values unescape `\"`, `\\` and `\]`. */
function parseSdElement(line: string, start: number): { element: SdElement; end: number } | string {
  let i = start + 1;
  const idStart = i;
  while (i < line.length && !isSdNameStop(line.charCodeAt(i))) i++;
  if (i === idStart) return `empty SD-ID at column ${i + 1}`;
  const element: SdElement = { id: line.slice(idStart, i), params: [] };
  for (;;) {
    const c = line.charCodeAt(i);
    if (c === 0x5d /* ] */) return { element, end: i + 1 };
    if (c !== SP) return i >= line.length ? `unterminated element [${element.id}` : `unexpected ${JSON.stringify(line[i])} in [${element.id} at column ${i + 1}`;
    while (line.charCodeAt(i) === SP) i++;
    if (line.charCodeAt(i) === 0x5d) return { element, end: i + 1 };
    const nameStart = i;
    while (i < line.length && !isSdNameStop(line.charCodeAt(i))) i++;
    if (i === nameStart) return `empty PARAM-NAME in [${element.id} at column ${i + 1}`;
    const name = line.slice(nameStart, i);
    if (line.charCodeAt(i) !== 0x3d /* = */ || line.charCodeAt(i + 1) !== 0x22 /* " */) return `expected ="value" after ${name} in [${element.id} at column ${i + 1}`;
    i += 2;
    let value = '';
    let chunkStart = i;
    for (;;) {
      if (i >= line.length) return `unterminated value of ${name} in [${element.id}`;
      const v = line.charCodeAt(i);
      if (v === 0x22 /* " */) break;
      if (v === 0x5c /* \ */) {
        const next = line.charCodeAt(i + 1);
        if (next === 0x22 || next === 0x5c || next === 0x5d) {
          value += line.slice(chunkStart, i);
          chunkStart = i + 1;
          i += 2;
          continue;
        }
      }
      i++;
    }
    value += line.slice(chunkStart, i);
    element.params.push([name, value]);
    i++;
  }
}

/** SD-NAME is printable US-ASCII except `=`, SP, `]` and `"`. */
function isSdNameStop(c: number): boolean {
  return c === 0x3d || c === SP || c === 0x5d || c === 0x22 || c < 0x21 || c > 0x7e;
}

// ---------------------------------------------------------------- RFC 3164

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

function parse3164(line: string, start: number, facility: number, severity: number, nowMs: number): SyslogMessage {
  const msg: SyslogMessage = { format: 'rfc3164', facility, severity, timeUnixNano: undefined, hostname: undefined, appName: undefined, procId: undefined, msgId: undefined, structuredData: [], message: '' };
  let i = start;
  const bsd = parseBsdTimestamp(line, i, nowMs);
  const iso = bsd ? undefined : isDigit(line.charCodeAt(i)) ? parseIsoTimestamp(line, i, false) : undefined;
  let hasHeader = false;
  if (bsd) {
    msg.timeUnixNano = bsd.ns;
    i = bsd.end;
    hasHeader = true;
  } else if (iso !== undefined && typeof iso !== 'string') {
    msg.timeUnixNano = iso.ns;
    i = iso.end;
    hasHeader = true;
  }
  if (hasHeader) {
    // The timestamp ends the line or is followed by one space.
    if (i >= line.length) return msg;
    if (line.charCodeAt(i) !== SP) {
      msg.message = line.slice(i);
      return msg;
    }
    while (line.charCodeAt(i) === SP) i++;
    // HOSTNAME, unless the sender left it out and this word is already the TAG.
    const end = tokenEnd(line, i);
    const word = line.slice(i, end);
    if (word !== '' && !word.endsWith(':') && !word.includes('[')) {
      msg.hostname = word;
      i = end;
      if (line.charCodeAt(i) === SP) i++;
    }
  }
  i = parseTag(line, i, msg);
  msg.message = line.slice(i);
  return msg;
}

/**
 * TAG as senders write it: `name[pid]: ` or `name: ` (also `name[pid] `).
 * A colon counts only when a space or the end follows, so that a message
 * like `http://x` is not read as the tag `http`. Returns where MSG starts.
 */
function parseTag(line: string, start: number, msg: SyslogMessage): number {
  let i = start;
  const limit = Math.min(line.length, start + 128);
  while (i < limit) {
    const c = line.charCodeAt(i);
    if (c === SP || c === 0x3a /* : */ || c === 0x5b /* [ */) break;
    i++;
  }
  if (i === start || i >= line.length) return start;
  const name = line.slice(start, i);
  const c = line.charCodeAt(i);
  if (c === 0x5b) {
    const close = line.indexOf(']', i + 1);
    if (close < 0 || close - i > 130) return start;
    const pid = line.slice(i + 1, close);
    if (pid.includes(' ')) return start;
    let j = close + 1;
    if (line.charCodeAt(j) === 0x3a) j++;
    else if (j < line.length && line.charCodeAt(j) !== SP) return start;
    if (line.charCodeAt(j) === SP) j++;
    msg.appName = name;
    if (pid !== '') msg.procId = pid;
    return j;
  }
  if (c === 0x3a && (i + 1 === line.length || line.charCodeAt(i + 1) === SP)) {
    msg.appName = name;
    return i + 1 === line.length ? i + 1 : i + 2;
  }
  return start;
}

/** `Mmm dd hh:mm:ss` with an optional fraction and an optional year (`Mmm dd yyyy hh:mm:ss`). */
function parseBsdTimestamp(line: string, i: number, nowMs: number): { ns: bigint; end: number } | undefined {
  const month = MONTHS[line.slice(i, i + 3).toLowerCase()];
  if (month === undefined || line.charCodeAt(i + 3) !== SP) return undefined;
  let j = i + 4;
  if (line.charCodeAt(j) === SP) j++; // day padded with a space: "Jan  5"
  let day = 0;
  const dayStart = j;
  while (j < dayStart + 2 && isDigit(line.charCodeAt(j))) day = day * 10 + (line.charCodeAt(j++) - 0x30);
  if (j === dayStart || day < 1 || day > 31 || line.charCodeAt(j) !== SP) return undefined;
  j++;
  let year: number | undefined;
  if (isDigits(line, j, 4) && line.charCodeAt(j + 4) === SP) {
    year = num(line, j, 4);
    j += 5;
  }
  const t = parseClock(line, j);
  if (!t) return undefined;
  j = t.end;
  const ms = year !== undefined ? utcMs(year, month, day, t) : nearestYearMs(month, day, t, nowMs);
  if (ms === undefined) return undefined;
  return { ns: BigInt(ms) * NS_PER_MS + BigInt(t.fracNs), end: j };
}

interface Clock {
  h: number;
  m: number;
  s: number;
  fracNs: number;
  end: number;
}

/** `hh:mm:ss` with an optional `.f` (1-9 digits). */
function parseClock(line: string, j: number): Clock | undefined {
  if (!isDigits(line, j, 2) || line.charCodeAt(j + 2) !== 0x3a || !isDigits(line, j + 3, 2) || line.charCodeAt(j + 5) !== 0x3a || !isDigits(line, j + 6, 2)) return undefined;
  const h = num(line, j, 2);
  const m = num(line, j + 3, 2);
  let s = num(line, j + 6, 2);
  if (h > 23 || m > 59 || s > 60) return undefined;
  if (s === 60) s = 59; // a leap second: keep the order, lose the second
  let end = j + 8;
  let fracNs = 0;
  if (line.charCodeAt(end) === 0x2e /* . */ || line.charCodeAt(end) === 0x2c /* , */) {
    const fs = end + 1;
    let k = fs;
    while (isDigit(line.charCodeAt(k))) k++;
    if (k === fs) return undefined;
    const digits = line.slice(fs, Math.min(k, fs + 9)).padEnd(9, '0');
    fracNs = Number(digits);
    end = k;
  }
  return { h, m, s, fracNs, end };
}

/**
 * RFC 3339 / ISO 8601 `YYYY-MM-DDThh:mm:ss[.f](Z|±hh:mm)`. RFC 5424 requires
 * the zone; the RFC 3164 variants may omit it (then UTC). A space instead of
 * `T` is not accepted: in a header it would be ambiguous with the next field.
 */
function parseIsoTimestamp(line: string, i: number, zoneRequired: boolean): { ns: bigint; end: number } | string {
  if (!isDigits(line, i, 4) || line.charCodeAt(i + 4) !== 0x2d || !isDigits(line, i + 5, 2) || line.charCodeAt(i + 7) !== 0x2d || !isDigits(line, i + 8, 2)) {
    return `expected YYYY-MM-DD at column ${i + 1}`;
  }
  const tc = line.charCodeAt(i + 10);
  if (tc !== 0x54 /* T */ && tc !== 0x74 /* t */) return `expected T after the date at column ${i + 11}`;
  const year = num(line, i, 4);
  const month = num(line, i + 5, 2) - 1;
  const day = num(line, i + 8, 2);
  const t = parseClock(line, i + 11);
  if (!t) return `expected hh:mm:ss at column ${i + 12}`;
  let j = t.end;
  let offsetMin = 0;
  const z = line.charCodeAt(j);
  if (z === 0x5a /* Z */ || z === 0x7a /* z */) {
    j++;
  } else if (z === 0x2b /* + */ || z === 0x2d /* - */) {
    if (!isDigits(line, j + 1, 2) || line.charCodeAt(j + 3) !== 0x3a || !isDigits(line, j + 4, 2)) return `bad zone offset at column ${j + 1} (expected ±hh:mm)`;
    const oh = num(line, j + 1, 2);
    const om = num(line, j + 4, 2);
    if (oh > 23 || om > 59) return `bad zone offset at column ${j + 1}`;
    offsetMin = (z === 0x2d ? -1 : 1) * (oh * 60 + om);
    j += 6;
  } else if (zoneRequired) {
    return `expected Z or ±hh:mm at column ${j + 1}`;
  }
  if (j < line.length && line.charCodeAt(j) !== SP) return `unexpected ${JSON.stringify(line[j])} after the timestamp at column ${j + 1}`;
  const ms = utcMs(year, month, day, t);
  if (ms === undefined) return `no such date ${line.slice(i, i + 10)}`;
  return { ns: BigInt(ms - offsetMin * 60_000) * NS_PER_MS + BigInt(t.fracNs), end: j };
}

function utcMs(year: number, month: number, day: number, t: Clock): number | undefined {
  if (month < 0 || month > 11 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return Date.UTC(year, month, day, t.h, t.m, t.s);
}

/**
 * The year of a yearless timestamp: the latest (next, this or last) that
 * puts it at most FUTURE_SLACK_MS after the receive time. Logs describe the
 * past, so December read on January 1st is last year's, and a sender whose
 * clock runs a little ahead on New Year's Eve is already in next year.
 */
const FUTURE_SLACK_MS = 7 * 24 * 3600 * 1000;
function nearestYearMs(month: number, day: number, t: Clock, nowMs: number): number | undefined {
  const y = new Date(nowMs).getUTCFullYear();
  for (const year of [y + 1, y, y - 1, y - 2, y - 3, y - 4]) {
    const ms = utcMs(year, month, day, t);
    if (ms !== undefined && ms <= nowMs + FUTURE_SLACK_MS) return ms;
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isDigits(s: string, i: number, n: number): boolean {
  for (let k = i; k < i + n; k++) if (!isDigit(s.charCodeAt(k))) return false;
  return true;
}

function num(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) v = v * 10 + (s.charCodeAt(k) - 0x30);
  return v;
}
