import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Severity } from '@meshlog/core';
import { DatadogDecodeError, datadogId, datadogStatus, datadogTime, decodeDatadogLogs, truncateUtf8 } from './datadog-decode.js';

const NOW = 1_700_000_999_000_000_000n;
const LIMITS = { maxLogBytes: 1024 * 1024, maxEntries: 1000 };
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('the Datadog Agent payload (pkg/logs/processor/json.go) maps to the model', () => {
  const payload = [
    {
      message: 'GET /api/pay 502 upstream reset',
      status: 'error',
      timestamp: 1700000000123,
      hostname: 'i-0abc123',
      service: 'payments',
      ddsource: 'nginx',
      ddtags: 'env:prod,version:1.2.3,kube_namespace:shop,pod_name:payments-5f7,team:pay,team:core,canary',
    },
  ];
  const { records, truncated } = decodeDatadogLogs(json(payload), 'application/json', NOW, {}, LIMITS);
  assert.equal(truncated, 0);
  const r = records[0]!;
  assert.equal(r.body, 'GET /api/pay 502 upstream reset');
  assert.equal(r.timeUnixNano, 1_700_000_000_123_000_000n);
  assert.equal(r.observedTimeUnixNano, NOW);
  assert.equal(r.severityNumber, Severity.ERROR);
  assert.equal(r.severityText, 'error');
  assert.deepEqual(r.resource, {
    'service.name': 'payments',
    'host.name': 'i-0abc123',
    'deployment.environment.name': 'prod',
    'service.version': '1.2.3',
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'payments-5f7',
  });
  assert.deepEqual(r.attributes, { 'datadog.source': 'nginx', 'datadog.tag.team': 'pay,core', 'datadog.tag.canary': '' });
});

test('trace context: decimal 64-bit dd.trace_id becomes the low half of the W3C id; 128-bit hex is taken whole', () => {
  const { records } = decodeDatadogLogs(
    json([
      { message: 'a', 'dd.trace_id': '9540127541294590284', 'dd.span_id': '1234567890123456789' },
      { message: 'b', dd: { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 42, service: 'cart', env: 'staging', version: '9' } },
      { message: 'c', 'dd.trace_id': 'not-an-id' },
    ]),
    'application/json',
    NOW,
    {},
    LIMITS,
  );
  assert.equal(records[0]!.traceId, '0000000000000000' + (9540127541294590284n).toString(16).padStart(16, '0'));
  assert.equal(records[0]!.spanId, (1234567890123456789n).toString(16).padStart(16, '0'));
  assert.deepEqual(records[0]!.attributes, {});
  assert.equal(records[1]!.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(records[1]!.spanId, '000000000000002a');
  assert.deepEqual(records[1]!.resource, { 'service.name': 'cart', 'deployment.environment.name': 'staging', 'service.version': '9' });
  assert.equal(records[2]!.traceId, '');
  assert.deepEqual(records[2]!.attributes, { 'dd.trace_id': 'not-an-id' }, 'an unusable id stays visible as an attribute');
  assert.equal(datadogId(2 ** 60, 16), undefined, 'ids past 2^53 lose precision as JSON numbers: not trusted');
  assert.equal(datadogId('18446744073709551616', 32), undefined, 'above uint64');
  assert.equal(datadogId('0', 16), undefined);
});

test("status follows Datadog's status remapper", () => {
  const name = (v: unknown): string | undefined => datadogStatus(v)?.name;
  assert.equal(name('emerg'), 'emergency');
  assert.equal(name('FATAL'), 'emergency');
  assert.equal(name('Alert'), 'alert');
  assert.equal(name('crit'), 'critical');
  assert.equal(name('err'), 'error');
  assert.equal(name('WARNING'), 'warning');
  assert.equal(name('notice'), 'notice');
  assert.equal(name('informational'), 'info');
  assert.equal(name('trace'), 'debug');
  assert.equal(name('verbose'), 'debug');
  assert.equal(name('OK'), 'ok');
  assert.equal(name('success'), 'ok');
  assert.equal(name('whatever'), 'warning', 'w...: warning, per the remapper rules');
  assert.equal(name('banana'), 'info');
  assert.equal(name(3), 'error');
  assert.equal(name('7'), 'debug');
  // Through core's level words, which follow OpenTelemetry's syslog mapping (emergency = FATAL).
  assert.equal(datadogStatus('emergency')!.number, Severity.FATAL);
  assert.equal(datadogStatus('ok')!.number, Severity.INFO);
  // No status at all: Datadog's default, info.
  const { records } = decodeDatadogLogs(json({ message: 'x' }), 'application/json', NOW, {}, LIMITS);
  assert.equal(records[0]!.severityNumber, Severity.INFO);
});

test('timestamps: epoch ms or RFC 3339; unreadable ones stay as attributes and the log takes its arrival time', () => {
  assert.equal(datadogTime(1700000000123), 1_700_000_000_123_000_000n);
  assert.equal(datadogTime('1700000000123'), 1_700_000_000_123_000_000n);
  assert.equal(datadogTime('2023-11-14T22:13:20.123456789Z'), 1_700_000_000_123_456_789n);
  assert.equal(datadogTime('2023-11-14T23:13:20+01:00'), 1_700_000_000_000_000_000n);
  assert.equal(datadogTime('2023-11-14T23:13:20.5+0100'), 1_700_000_000_500_000_000n);
  const { records } = decodeDatadogLogs(json([{ message: 'x', timestamp: 'later' }]), 'application/json', NOW, {}, LIMITS);
  assert.equal(records[0]!.timeUnixNano, NOW);
  assert.equal(records[0]!.attributes['timestamp'], 'later');
});

test('other fields flatten into attributes; msg/log stand in for message; query defaults fill the rest', () => {
  const { records } = decodeDatadogLogs(
    json([{ msg: 'from msg', http: { status_code: 500, method: 'POST' }, usr: { id: 7 }, tags: ['x'] }, { log: { nested: true } }]),
    'application/json; charset=utf-8',
    NOW,
    { ddsource: 'python', ddtags: 'env:dev', hostname: 'h', service: 'svc' },
    LIMITS,
  );
  assert.equal(records[0]!.body, 'from msg');
  assert.deepEqual(records[0]!.attributes, { 'datadog.source': 'python', 'http.status_code': 500, 'http.method': 'POST', 'usr.id': 7, tags: '["x"]' });
  assert.deepEqual(records[0]!.resource, { 'deployment.environment.name': 'dev', 'service.name': 'svc', 'host.name': 'h' });
  assert.equal(records[1]!.body, '{"nested":true}');
});

test('text/plain: one log per line; {} is the Agent connectivity check and yields nothing', () => {
  const text = decodeDatadogLogs(Buffer.from('one\r\n\ntwo\n'), 'text/plain', NOW, { service: 's' }, LIMITS);
  assert.deepEqual(
    text.records.map((r) => r.body),
    ['one', 'two'],
  );
  assert.equal(decodeDatadogLogs(Buffer.from('{}'), 'application/json', NOW, {}, LIMITS).records.length, 0);
  assert.equal(decodeDatadogLogs(Buffer.from('[]'), 'application/json', NOW, {}, LIMITS).records.length, 0);
});

test('limits: over-long messages are cut at a character boundary and marked; too many entries or bad JSON fail', () => {
  const long = 'é'.repeat(600); // 1200 bytes
  const { records, truncated } = decodeDatadogLogs(json([{ message: long }, { message: 'short' }]), 'application/json', NOW, {}, { maxLogBytes: 1001, maxEntries: 10 });
  assert.equal(truncated, 1);
  assert.equal(Buffer.byteLength(records[0]!.body), 1000, 'cut before the split character');
  assert.equal(records[0]!.attributes['datadog.truncated'], true);
  assert.equal(records[1]!.attributes['datadog.truncated'], undefined);
  assert.equal(truncateUtf8('abc', 10), 'abc');

  const fails = (b: Buffer, status: number, re: RegExp): void =>
    assert.throws(
      () => decodeDatadogLogs(b, 'application/json', NOW, {}, { maxLogBytes: 100, maxEntries: 2 }),
      (err: unknown) => err instanceof DatadogDecodeError && err.status === status && re.test(err.message),
    );
  fails(json([{}, {}, {}]), 413, /3 logs in one request exceed the limit of 2/);
  fails(Buffer.from('[{"message": "x"'), 400, /invalid JSON/);
  fails(json([{ message: 'ok' }, 'nope']), 400, /\[1\]: expected a log object, got string/);
  fails(json(42), 400, /expected a JSON array/);
});
