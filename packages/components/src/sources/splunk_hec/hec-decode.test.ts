import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Severity } from '@meshlog/core';
import { HecDecodeError, HecStatus, decodeHecEvents, decodeHecRaw, parseHecTime } from './hec-decode.js';

const NOW = 1_700_000_999_000_000_000n;
const body = (s: string): Buffer => Buffer.from(s);

function rejects(s: string, hec: (typeof HecStatus)[keyof typeof HecStatus], eventNumber: number | undefined, detail?: RegExp): void {
  assert.throws(
    () => decodeHecEvents(body(s), NOW),
    (err: unknown) => {
      assert.ok(err instanceof HecDecodeError, String(err));
      assert.equal(err.hec.code, hec.code, err.message);
      assert.equal(err.eventNumber, eventNumber);
      if (detail) assert.match(err.message, detail);
      return true;
    },
  );
}

test('time: epoch seconds as number or string, decimals kept to the nanosecond', () => {
  assert.equal(parseHecTime(1700000000.123), 1_700_000_000_123_000_000n);
  assert.equal(parseHecTime('1700000000.123456789'), 1_700_000_000_123_456_789n);
  assert.equal(parseHecTime(1700000000), 1_700_000_000_000_000_000n);
  assert.equal(parseHecTime('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseHecTime('soon'), undefined);
  assert.equal(parseHecTime(-1), undefined);
  assert.equal(parseHecTime(true), undefined);
});

test('concatenated events as the Splunk OpenTelemetry Collector sends them: fields split into resource, attributes, severity and trace context', () => {
  // splunk_hec exporter: one object per log, no separator, fields carry resource and log attributes.
  const payload =
    '{"time":1700000000.123,"host":"node-7","source":"otel","sourcetype":"otel","index":"main","event":"GET /cart 503","fields":{"service.name":"checkout","k8s.namespace.name":"payments","k8s.pod.name":"checkout-7d9","otel.log.severity.number":17,"otel.log.severity.text":"ERROR","trace_id":"0AF7651916CD43DD8448EB211C80319C","span_id":"b7ad6b7169203331","http.response.status_code":503,"tags":["a","b"]}}' +
    '{"time":"1700000001.5","host":"node-7","event":{"message":"retrying","level":"warn","attempt":2,"upstream":{"cluster":"cart"}},"fields":{"service":"cart-worker"}}';
  const { records: [a, b], untimed } = decodeHecEvents(body(payload), NOW);
  assert.equal(untimed, 0);
  assert.ok(a && b);
  assert.equal(a.body, 'GET /cart 503');
  assert.equal(a.timeUnixNano, 1_700_000_000_123_000_000n);
  assert.equal(a.observedTimeUnixNano, NOW);
  assert.deepEqual(a.resource, { 'host.name': 'node-7', 'service.name': 'checkout', 'k8s.namespace.name': 'payments', 'k8s.pod.name': 'checkout-7d9' });
  assert.deepEqual(a.attributes, { 'splunk.source': 'otel', 'splunk.sourcetype': 'otel', 'splunk.index': 'main', 'http.response.status_code': 503, tags: '["a","b"]' });
  assert.equal(a.severityNumber, 17);
  assert.equal(a.severityText, 'ERROR');
  assert.equal(a.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(a.spanId, 'b7ad6b7169203331');

  assert.equal(b.body, 'retrying');
  assert.equal(b.timeUnixNano, 1_700_000_001_500_000_000n);
  assert.equal(b.severityText, 'warn');
  assert.equal(b.severityNumber, Severity.WARN);
  assert.deepEqual(b.attributes, { attempt: 2, 'upstream.cluster': 'cart' });
  assert.deepEqual(b.resource, { 'host.name': 'node-7', 'service.name': 'cart-worker' });
});

test('newline-separated events (Fluent Bit, Vector), a top-level array, and object events without a message', () => {
  const { records, untimed } = decodeHecEvents(body('{"event":"one","sourcetype":"nginx"}\n\n  {"event":{"status":200,"path":"/"}}\r\n[{"event":"three"},{"event":"four"}]\n'), NOW);
  assert.deepEqual(
    records.map((r) => r.body),
    ['one', '{"status":200,"path":"/"}', 'three', 'four'],
  );
  assert.equal(records[0]!.timeUnixNano, NOW, 'no time: the time it arrived');
  assert.equal(untimed, 4);
  assert.deepEqual(records[0]!.resource, { 'service.name': 'nginx' }, 'sourcetype names the service when fields do not');
  assert.deepEqual(records[1]!.attributes, {}, 'a structured event without message/log stays whole in the body');
});

test('events with equal resources share one resource object (the store encodes it once)', () => {
  const { records } = decodeHecEvents(body('{"event":"a","host":"h","fields":{"service.name":"s"}}{"event":"b","host":"h","fields":{"service.name":"s"}}{"event":"c","host":"other"}'), NOW);
  assert.equal(records[0]!.resource, records[1]!.resource);
  assert.notEqual(records[0]!.resource, records[2]!.resource);
});

test("bad events fail the whole request with Splunk's code and the zero-based event number", () => {
  rejects('{"event":"ok"}{"event":"ok"}{"event":', HecStatus.InvalidDataFormat, 2, /unterminated/);
  rejects('{"event":"ok"} garbage', HecStatus.InvalidDataFormat, 1, /expected a JSON object/);
  rejects('{"event":"ok"}{"event":"x",}', HecStatus.InvalidDataFormat, 1, /invalid JSON/);
  rejects('{"event":"ok"}{"host":"h"}', HecStatus.EventRequired, 1);
  rejects('{"event":""}', HecStatus.EventBlank, 0);
  rejects('{"event":"ok"}{"event":"  "}', HecStatus.EventBlank, 1);
  rejects('{"event":{}}', HecStatus.EventBlank, 0);
  rejects('{"event":null}', HecStatus.EventBlank, 0);
  rejects('{"event":"ok","time":"yesterday"}', HecStatus.InvalidDataFormat, 0, /"time" must be epoch seconds/);
  rejects('{"event":"ok","host":42}', HecStatus.InvalidDataFormat, 0, /"host" must be a string/);
  rejects('{"event":"ok","fields":{"nested":{"a":1}}}', HecStatus.IndexedFields, 0, /fields\.nested is nested/);
  rejects('{"event":"ok","fields":[1]}', HecStatus.InvalidDataFormat, 0);
  rejects('[1]', HecStatus.InvalidDataFormat, 0, /expected a JSON object/);
  rejects('', HecStatus.NoData, undefined);
  rejects('  \n ', HecStatus.NoData, undefined);
  rejects('[]', HecStatus.NoData, undefined);
});

test('a quote or brace inside a string does not split events', () => {
  const { records } = decodeHecEvents(body('{"event":"a } { \\" ] ["}{"event":"b"}'), NOW);
  assert.deepEqual(
    records.map((r) => r.body),
    ['a } { " ] [', 'b'],
  );
});

test('raw: one event per non-blank line, metadata from the query', () => {
  const records = decodeHecRaw(body('first line\r\n\nsecond line\n'), NOW, { host: 'h1', sourcetype: 'access_combined', source: '/var/log/x', index: 'web', timeUnixNano: 5n });
  assert.deepEqual(
    records.map((r) => r.body),
    ['first line', 'second line'],
  );
  assert.deepEqual(records[0]!.resource, { 'host.name': 'h1', 'service.name': 'access_combined' });
  assert.deepEqual(records[1]!.attributes, { 'splunk.source': '/var/log/x', 'splunk.sourcetype': 'access_combined', 'splunk.index': 'web' });
  assert.equal(records[0]!.timeUnixNano, 5n);
  assert.throws(() => decodeHecRaw(body('\n \n'), NOW, {}), (err: unknown) => err instanceof HecDecodeError && err.hec.code === 5);
});
