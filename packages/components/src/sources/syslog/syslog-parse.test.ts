import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSyslog, type SyslogMessage } from './syslog-parse.js';

const NOW = Date.UTC(2024, 5, 15, 12, 0, 0); // 2024-06-15T12:00:00Z

function ok(line: string, now = NOW): SyslogMessage {
  const r = parseSyslog(line, now);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(line)} to parse, got: ${r.error}`);
  return r.message;
}

function err(line: string): string {
  const r = parseSyslog(line, NOW);
  if (r.ok) assert.fail(`expected ${JSON.stringify(line)} to be rejected, got ${JSON.stringify(r.message)}`);
  return r.error;
}

const ns = (iso: string, fracNs = 0): bigint => BigInt(Date.parse(iso)) * 1_000_000n + BigInt(fracNs);

test('RFC 5424 example 1: BOM before MSG, NILVALUE PROCID and STRUCTURED-DATA', () => {
  const m = ok("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8");
  assert.equal(m.format, 'rfc5424');
  assert.equal(m.facility, 4);
  assert.equal(m.severity, 2);
  assert.equal(m.timeUnixNano, ns('2003-10-11T22:14:15.003Z'));
  assert.equal(m.hostname, 'mymachine.example.com');
  assert.equal(m.appName, 'su');
  assert.equal(m.procId, undefined);
  assert.equal(m.msgId, 'ID47');
  assert.deepEqual(m.structuredData, []);
  assert.equal(m.message, "'su root' failed for lonvick on /dev/pts/8");
});

test('RFC 5424 example 2: microseconds and a zone offset', () => {
  const m = ok("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
  assert.equal(m.facility, 20);
  assert.equal(m.severity, 5);
  assert.equal(m.timeUnixNano, ns('2003-08-24T12:14:15Z', 3000));
  assert.equal(m.procId, '8710');
  assert.equal(m.msgId, undefined);
  assert.equal(m.message, "%% It's time to make the do-nuts.");
});

test('RFC 5424 examples 3 and 4: one and two SD elements, no MSG', () => {
  const m = ok('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \uFEFFAn application event log entry...');
  assert.deepEqual(m.structuredData, [{ id: 'exampleSDID@32473', params: [['iut', '3'], ['eventSource', 'Application'], ['eventID', '1011']] }]);
  assert.equal(m.message, 'An application event log entry...');
  const m2 = ok('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
  assert.equal(m2.structuredData.length, 2);
  assert.deepEqual(m2.structuredData[1], { id: 'examplePriority@32473', params: [['class', 'high']] });
  assert.equal(m2.message, '');
});

test('RFC 5424: escaped \\" \\\\ \\] in PARAM-VALUE; other backslashes stay; ] inside quotes is content', () => {
  const m = ok('<13>1 2024-06-15T11:00:00Z h app 1 - [x@1 a="say \\"hi\\"" b="C:\\\\dir" c="[1\\]" d="\\n" e="a]b"] msg');
  assert.deepEqual(m.structuredData[0]!.params, [
    ['a', 'say "hi"'],
    ['b', 'C:\\dir'],
    ['c', '[1]'],
    ['d', '\\n'],
    ['e', 'a]b'],
  ]);
  assert.equal(m.message, 'msg');
});

test('RFC 5424: all NILVALUEs, element without params, nanoseconds, lowercase t and z', () => {
  const m = ok('<14>1 - - - - - [timeQuality]');
  assert.equal(m.timeUnixNano, undefined);
  assert.equal(m.hostname, undefined);
  assert.equal(m.appName, undefined);
  assert.deepEqual(m.structuredData, [{ id: 'timeQuality', params: [] }]);
  const m2 = ok('<14>1 2024-06-15t11:00:00.123456789z host app - - - x');
  assert.equal(m2.timeUnixNano, ns('2024-06-15T11:00:00Z', 123456789));
});

test('RFC 5424 as logger, rsyslog and syslog-ng send it', () => {
  // util-linux logger --rfc5424
  const l = ok('<13>1 2026-11-24T05:47:29.554557+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"] hello tcp');
  assert.equal(l.appName, 'myapp');
  assert.deepEqual(l.structuredData[0], { id: 'timeQuality', params: [['tzKnown', '1'], ['isSynced', '0']] });
  // rsyslog RSYSLOG_SyslogProtocol23Format keeps the space that preceded the message
  assert.equal(ok('<11>1 2026-11-24T05:47:38.787933+00:00 vm rsapp - - -  hello via rsyslog').message, ' hello via rsyslog');
  // syslog-ng syslog() driver
  const n = ok('<142>1 2026-11-24T05:48:09+00:00 vm ngapp - - [meta sequenceId="1"] hello via syslog-ng');
  assert.equal(n.facility, 17);
  assert.equal(n.severity, 6);
});

test('RFC 5424 violations are rejected naming the field', () => {
  assert.match(err('<13>1 2024-13-01T00:00:00Z h a p m - x'), /TIMESTAMP: no such date/);
  assert.match(err('<13>1 2024-02-30T00:00:00Z h a p m - x'), /TIMESTAMP: no such date/);
  assert.match(err('<13>1 2024-06-15T11:00:00 h a p m - x'), /TIMESTAMP: expected Z or ±hh:mm/);
  assert.match(err('<13>1 yesterday h a p m - x'), /TIMESTAMP: expected YYYY-MM-DD/);
  assert.match(err('<13>1 - h a p'), /expected a space before MSGID/);
  assert.match(err('<13>1 - h a p m'), /expected a space before STRUCTURED-DATA/);
  assert.match(err('<13>1 - h a  p m - x'), /PROCID: empty field/);
  assert.match(err('<13>1 - h a p m x'), /STRUCTURED-DATA: expected - or \[/);
  assert.match(err('<13>1 - h a p m [x a="1" msg'), /STRUCTURED-DATA: expected ="value" after msg in \[x/);
  assert.match(err('<13>1 - h a p m [x a="1"x] msg'), /STRUCTURED-DATA: unexpected "x" in \[x/);
  assert.match(err('<13>1 - h a p m [x a="1'), /unterminated value of a/);
  assert.match(err('<13>1 - h a p m [x a=1]'), /expected ="value" after a/);
  assert.match(err('<13>1 - h a p m []'), /empty SD-ID/);
  assert.match(err('<13>1 - h a p m [x]msg'), /expected a space before MSG/);
});

test('PRI: required, 1-3 digits, at most 191', () => {
  assert.match(err('hello'), /missing <PRI>/);
  assert.match(err(''), /missing <PRI>/);
  assert.match(err('<>x'), /expected digits/);
  assert.match(err('<192>x'), /out of range/);
  assert.match(err('<0013>x'), /out of range/);
  assert.match(err('<12345>x'), /expected 1 to 3 digits/);
  assert.match(err('<13 x'), /expected 1 to 3 digits/);
  const m = ok('<0>x');
  assert.equal(m.facility, 0);
  assert.equal(m.severity, 0);
  assert.equal(ok('<191>x').facility, 23);
});

test('RFC 3164 example: timestamp, hostname, tag', () => {
  const m = ok("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
  assert.equal(m.format, 'rfc3164');
  assert.equal(m.facility, 4);
  assert.equal(m.severity, 2);
  assert.equal(m.timeUnixNano, ns('2023-10-11T22:14:15Z'), 'read in June 2024, October is last year\'s: logs describe the past');
  assert.equal(m.hostname, 'mymachine');
  assert.equal(m.appName, 'su');
  assert.equal(m.message, "'su root' failed for lonvick on /dev/pts/8");
});

test('RFC 3164: tag[pid], space-padded day, no tag, no hostname', () => {
  const m = ok('<86>Jun  5 08:03:01 web-1 sshd[4121]: Accepted publickey for deploy');
  assert.equal(m.timeUnixNano, ns('2024-06-05T08:03:01Z'));
  assert.equal(m.hostname, 'web-1');
  assert.equal(m.appName, 'sshd');
  assert.equal(m.procId, '4121');
  assert.equal(m.message, 'Accepted publickey for deploy');
  const noTag = ok('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!');
  assert.equal(noTag.hostname, '10.0.0.99');
  assert.equal(noTag.appName, undefined);
  assert.equal(noTag.message, 'Use the BFG!');
  // Local senders (and some devices) leave the hostname out.
  const noHost = ok('<30>Jun 15 11:59:00 systemd[1]: Started Session 4 of user root.');
  assert.equal(noHost.hostname, undefined);
  assert.equal(noHost.appName, 'systemd');
  assert.equal(noHost.procId, '1');
  const noHost2 = ok('<30>Jun 15 11:59:00 cron: job done');
  assert.equal(noHost2.hostname, undefined);
  assert.equal(noHost2.appName, 'cron');
  assert.equal(noHost2.message, 'job done');
  // A colon that is part of the message is not a tag.
  const url = ok('<30>Jun 15 11:59:00 host http://example.com/ is down');
  assert.equal(url.appName, undefined);
  assert.equal(url.message, 'http://example.com/ is down');
  const slash = ok('<22>Jun 15 11:59:00 mx postfix/smtpd[991]: connect from unknown');
  assert.equal(slash.appName, 'postfix/smtpd');
  assert.equal(slash.procId, '991');
});

test('RFC 3164 timestamps: no year (nearest year, Dec -> Jan wrap), a year, fractions, ISO 8601', () => {
  const newYear = Date.UTC(2025, 0, 1, 0, 0, 5);
  assert.equal(ok('<13>Dec 31 23:59:58 h app: x', newYear).timeUnixNano, ns('2024-12-31T23:59:58Z'), 'December seen on January 1st is last year');
  const newYearsEve = Date.UTC(2024, 11, 31, 23, 59, 59);
  assert.equal(ok('<13>Jan  1 00:00:01 h app: x', newYearsEve).timeUnixNano, ns('2025-01-01T00:00:01Z'), 'a sender whose clock is ahead');
  assert.equal(ok('<13>Feb 29 10:00:00 h app: x', Date.UTC(2025, 0, 10)).timeUnixNano, ns('2024-02-29T10:00:00Z'), 'Feb 29 only exists in a leap year');
  assert.equal(ok('<13>Jun 15 2019 10:00:00 h app: x').timeUnixNano, ns('2019-06-15T10:00:00Z'));
  assert.equal(ok('<13>Jun 15 10:00:00.250 h app: x').timeUnixNano, ns('2024-06-15T10:00:00Z', 250_000_000));
  // rsyslog RSYSLOG_ForwardFormat: RFC 3339 timestamp in a BSD header
  const fwd = ok('<11>2026-11-24T05:47:38.787933+00:00 vm rsapp: hello via rsyslog');
  assert.equal(fwd.timeUnixNano, ns('2026-11-24T05:47:38Z', 787933000));
  assert.equal(fwd.hostname, 'vm');
  assert.equal(fwd.appName, 'rsapp');
  assert.equal(fwd.message, 'hello via rsyslog');
  assert.equal(ok('<11>2024-06-15T10:00:00+02:00 h a: m').timeUnixNano, ns('2024-06-15T08:00:00Z'));
  assert.equal(ok('<11>2024-06-15T10:00:00 h a: m').timeUnixNano, ns('2024-06-15T10:00:00Z'), 'no zone: UTC');
});

test('RFC 3164 leniency: after a valid PRI, whatever is not a header is message', () => {
  const bare = ok('<13>just a message');
  assert.equal(bare.timeUnixNano, undefined);
  assert.equal(bare.hostname, undefined);
  assert.equal(bare.message, 'just a message');
  const tagOnly = ok('<13>app[7]: hi');
  assert.equal(tagOnly.appName, 'app');
  assert.equal(tagOnly.procId, '7');
  assert.equal(tagOnly.message, 'hi');
  assert.equal(ok('<13>Jun 15 25:00:00 h a: x').message, 'Jun 15 25:00:00 h a: x', 'not a time: all message');
  assert.equal(ok('<13>5 errors occurred').message, '5 errors occurred', 'a version other than 1 is not RFC 5424');
  assert.equal(ok('<13>').message, '');
  assert.equal(ok('<13>Jun 15 10:00:00').message, '');
});
