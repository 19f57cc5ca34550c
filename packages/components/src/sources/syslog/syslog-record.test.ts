import { test } from 'node:test';
import assert from 'node:assert/strict';
import { severityFromText } from '@meshlog/core';
import { parseSyslog } from './syslog-parse.js';
import { ResourceCache, SYSLOG_SEVERITIES, syslogRecord, unparsedRecord } from './syslog-record.js';

const NOW_MS = Date.UTC(2024, 5, 15, 12);
const OBSERVED = BigInt(NOW_MS) * 1_000_000n;
const TCP = { peerAddress: '10.0.0.7', transport: 'tcp' as const };

function record(line: string, resources = new ResourceCache(), arrival: Parameters<typeof syslogRecord>[2] = TCP) {
  const p = parseSyslog(line, NOW_MS);
  if (!p.ok) assert.fail(p.error);
  return syslogRecord(p.message, OBSERVED, arrival, resources);
}

test('RFC 5424 fields land where docs/schema.md says', () => {
  const r = record('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][examplePriority@32473 class="high"][origin] \uFEFFAn application event');
  assert.equal(r.timeUnixNano, BigInt(Date.parse('2003-10-11T22:14:15.003Z')) * 1_000_000n);
  assert.equal(r.observedTimeUnixNano, OBSERVED);
  assert.equal(r.severityNumber, 10);
  assert.equal(r.severityText, 'notice');
  assert.equal(r.body, 'An application event');
  assert.deepEqual(r.resource, { 'host.name': 'mymachine.example.com', 'service.name': 'evntslog' });
  assert.deepEqual(r.attributes, {
    'syslog.facility': 'local4',
    'syslog.facility.code': 20,
    'syslog.format': 'rfc5424',
    'process.pid': 8710,
    'syslog.msgid': 'ID47',
    'syslog.sd.exampleSDID@32473.iut': '3',
    'syslog.sd.exampleSDID@32473.eventSource': 'Application',
    'syslog.sd.examplePriority@32473.class': 'high',
    'syslog.sd.origin': true,
    'network.peer.address': '10.0.0.7',
    'network.transport': 'tcp',
  });
});

test('non-numeric PROCID, repeated PARAM-NAME, no time, TLS arrival', () => {
  const r = record('<13>1 - host app worker-3 - [x a="1" a="2" a="3"] m', new ResourceCache(), { peerAddress: '::1', transport: 'tls', tlsVersion: '1.3' });
  assert.equal(r.timeUnixNano, OBSERVED, 'no TIMESTAMP: the observed time');
  assert.equal(r.attributes['syslog.procid'], 'worker-3');
  assert.equal(r.attributes['process.pid'], undefined);
  assert.equal(r.attributes['syslog.sd.x.a'], '["1","2","3"]');
  assert.equal(r.attributes['network.transport'], 'tcp');
  assert.equal(r.attributes['tls.protocol.version'], '1.3');
});

test('service.name falls back to the host; no host and no app leaves the resource empty', () => {
  assert.deepEqual(record('<13>Jun 15 10:00:00 web-1 just text').resource, { 'host.name': 'web-1', 'service.name': 'web-1' });
  assert.deepEqual(record('<13>app: no host').resource, { 'service.name': 'app' });
  assert.deepEqual(record('<13>bare').resource, {});
  const r = record('<86>Jun  5 08:03:01 web-1 sshd[4121]: Accepted');
  assert.equal(r.attributes['syslog.format'], 'rfc3164');
  assert.equal(r.attributes['syslog.facility'], 'authpriv');
  assert.equal(r.attributes['process.pid'], 4121);
});

test('records of one host and app share one frozen resource object', () => {
  const cache = new ResourceCache(3);
  const a = record('<13>1 - h1 app - - - x', cache);
  const b = record('<13>1 - h1 app - - - y', cache);
  const c = record('<13>1 - h2 app - - - z', cache);
  assert.equal(a.resource, b.resource);
  assert.notEqual(a.resource, c.resource);
  assert.ok(Object.isFrozen(a.resource));
  for (let i = 0; i < 10; i++) record(`<13>1 - h${i} app - - - x`, cache);
  assert.deepEqual(record('<13>1 - h1 app - - - x', cache).resource, a.resource, 'a bounded cache still gives the same content');
});

test('the severity table agrees with the level words every other source uses', () => {
  const table = SYSLOG_SEVERITIES.map((s) => [s.keyword, s.otel]);
  assert.deepEqual(table, [
    ['emerg', 21],
    ['alert', 19],
    ['crit', 18],
    ['err', 17],
    ['warning', 13],
    ['notice', 10],
    ['info', 9],
    ['debug', 5],
  ]);
  for (const s of SYSLOG_SEVERITIES) assert.equal(severityFromText(s.keyword), s.otel, s.keyword);
});

test('an unparsed line keeps its text, no severity, and the reason', () => {
  const r = unparsedRecord('garbage here', 'missing <PRI> at the start of the line', OBSERVED, { peerAddress: '10.0.0.9', transport: 'udp' });
  assert.equal(r.body, 'garbage here');
  assert.equal(r.severityNumber, 0);
  assert.equal(r.timeUnixNano, OBSERVED);
  assert.deepEqual(r.attributes, { 'syslog.parse_error': 'missing <PRI> at the start of the line', 'network.peer.address': '10.0.0.9', 'network.transport': 'udp' });
});
