import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress } from 'snappyjs';
import { streamLabelsOf, formatLabels } from '@meshlog/core';
import { LOKI_DISCOVER_SERVICE_NAME } from './config.js';
import { LabelParser } from './loki-labels.js';
import { LokiDecodeError, decodeLokiPush, lokiEncodingOf, lokiStreamsToRecords, type LokiEncoding } from './loki-push-decode.js';
import { lokiType } from './loki-proto.js';

const NOW = 1_700_000_000_000_000_000n;
const LIMITS = { maxLabelNamesPerSeries: 15, maxLabelNameLength: 1024, maxLabelValueLength: 2048 };

function protoBody(obj: object): Buffer {
  const t = lokiType('PushRequest');
  return compress(Buffer.from(t.encode(t.fromObject(obj)).finish()));
}

function decode(body: Buffer, encoding: LokiEncoding, opts: { maxLineBytes?: number; snappyEncoded?: boolean; maxBodyBytes?: number } = {}) {
  const streams = decodeLokiPush(body, encoding, { maxBodyBytes: opts.maxBodyBytes ?? 1 << 20, snappyEncoded: opts.snappyEncoded ?? false });
  return lokiStreamsToRecords(streams, { labels: new LabelParser(LIMITS), discoverServiceName: LOKI_DISCOVER_SERVICE_NAME, maxLineBytes: opts.maxLineBytes ?? 0, now: NOW });
}

function decodeError(fn: () => unknown): LokiDecodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LokiDecodeError, `expected a LokiDecodeError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a LokiDecodeError');
}

test('content types: JSON when it says so, protobuf otherwise (as Loki)', () => {
  assert.equal(lokiEncodingOf('application/json; charset=utf-8'), 'json');
  assert.equal(lokiEncodingOf('application/x-protobuf'), 'protobuf');
  assert.equal(lokiEncodingOf(''), 'protobuf');
});

test('protobuf + snappy: labels become loki.label.* resource attributes that read back as the same stream labels', () => {
  const body = protoBody({
    streams: [
      {
        labels: '{app="cart", namespace="shop", pod="cart-7d9", level="warn"}',
        entries: [
          {
            timestamp: { seconds: 1_700_000_001, nanos: 123_456_789 },
            line: 'payment declined',
            structuredMetadata: [
              { name: 'trace_id', value: '0AF7651916CD43DD8448EB211C80319C' },
              { name: 'span_id', value: 'b7ad6b7169203331' },
              { name: 'user', value: 'u-42' },
            ],
          },
          { line: 'no timestamp: takes the receive time' },
        ],
      },
    ],
  });
  const d = decode(body, 'protobuf');
  assert.equal(d.rejected, 0);
  assert.deepEqual(d.problems, []);
  const [a, b] = d.records;
  assert.equal(a!.timeUnixNano, 1_700_000_001_123_456_789n);
  assert.equal(a!.observedTimeUnixNano, NOW);
  assert.equal(a!.body, 'payment declined');
  assert.deepEqual(a!.attributes, { trace_id: '0AF7651916CD43DD8448EB211C80319C', span_id: 'b7ad6b7169203331', user: 'u-42' });
  assert.equal(a!.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(a!.spanId, 'b7ad6b7169203331');
  // winston-loki sends the level as a stream label.
  assert.equal(a!.severityText, 'warn');
  assert.equal(a!.severityNumber, 13);
  assert.deepEqual(a!.resource, {
    'loki.label.app': 'cart',
    'loki.label.namespace': 'shop',
    'loki.label.pod': 'cart-7d9',
    'loki.label.level': 'warn',
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'cart-7d9',
    'service.name': 'cart',
  });
  assert.equal(formatLabels(streamLabelsOf(a!.resource)), '{app="cart", level="warn", namespace="shop", pod="cart-7d9", service_name="cart"}');
  assert.equal(b!.timeUnixNano, NOW);
  // One resource object per stream of a request.
  assert.equal(a!.resource, b!.resource);
});

test('service_name follows Loki: the service_name label, else the first discovery label, else unknown_service', () => {
  const body = Buffer.from(
    JSON.stringify({
      streams: [
        { stream: { service_name: 'api', app: 'x' }, values: [['1', 'a']] },
        { stream: { job: 'batch', app: 'web' }, values: [['1', 'b']] },
        { stream: { job: 'varlogs/syslog' }, values: [['1', 'c']] },
        { stream: { filename: '/var/log/x.log' }, values: [['1', 'd']] },
      ],
    }),
  );
  const names = decode(body, 'json').records.map((r) => r.resource['service.name']);
  assert.deepEqual(names, ['api', 'web', 'varlogs/syslog', 'unknown_service']);
});

test('JSON: values with structured metadata; gzip is the host\'s, snappy as Content-Encoding is undone here', () => {
  const json = JSON.stringify({ streams: [{ stream: { app: 'x' }, values: [['1700000000000000001', 'hello', { level: 'error', trace_id: 'nothex' }]] }] });
  for (const [body, snappyEncoded] of [
    [Buffer.from(json), false],
    [compress(Buffer.from(json)), true],
  ] as const) {
    const d = decode(body, 'json', { snappyEncoded });
    assert.equal(d.records.length, 1);
    const r = d.records[0]!;
    assert.equal(r.timeUnixNano, 1_700_000_000_000_000_001n);
    assert.equal(r.severityNumber, 17);
    // A trace id that is not 32 hex digits stays an attribute only.
    assert.equal(r.traceId, '');
    assert.deepEqual(r.attributes, { level: 'error', trace_id: 'nothex' });
  }
});

test('a body that is not the protocol is refused whole, naming the spot', () => {
  assert.match(decodeError(() => decode(Buffer.from('not snappy at all'), 'protobuf')).message, /invalid snappy-compressed body.*send Content-Type: application\/json for JSON/);
  assert.match(decodeError(() => decode(compress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), 'protobuf')).message, /invalid protobuf PushRequest/);
  const big = decodeError(() => decode(compress(Buffer.alloc(5000, 'a')), 'protobuf', { maxBodyBytes: 1000 }));
  assert.equal(big.status, 413);
  assert.match(big.message, /past the 1000-byte request limit/);
  assert.match(decodeError(() => decode(Buffer.from('{"streams": ['), 'json')).message, /invalid JSON/);
  assert.match(decodeError(() => decode(Buffer.from('{"stream": []}'), 'json')).message, /"streams" must be an array/);
  const numberTs = decodeError(() => decode(Buffer.from('{"streams":[{"stream":{"a":"b"},"values":[["1","ok"],[1700000000000000000,"x"]]}]}'), 'json'));
  assert.match(numberTs.message, /^streams\[0\]\.values\[1\]\[0\]: the timestamp must be a string of Unix epoch nanoseconds.*\(a number\)/);
  assert.match(decodeError(() => decode(Buffer.from('{"streams":[{"stream":{"a":"b"},"values":[["soon","x"]]}]}'), 'json')).message, /values\[0\]\[0\]: the timestamp must be/);
  assert.match(decodeError(() => decode(Buffer.from('{"streams":[{"stream":{"a":1},"values":[]}]}'), 'json')).message, /streams\[0\]\.stream\.a: label values must be strings, got a number/);
  assert.match(decodeError(() => decode(Buffer.from('{"streams":[{"stream":{"a":"b"},"values":[["1",{"x":1}]]}]}'), 'json')).message, /values\[0\]\[1\]: the log line must be a string/);
  assert.match(decodeError(() => decode(Buffer.from('{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":2}]]}]}'), 'json')).message, /values\[0\]\[2\]\.k: structured metadata values must be strings/);
  const badNanos = protoBody({ streams: [{ labels: '{a="b"}', entries: [{ timestamp: { seconds: 1, nanos: 2_000_000_000 }, line: 'x' }] }] });
  assert.match(decodeError(() => decode(badNanos, 'protobuf')).message, /streams\[0\]\.entries\[0\]\.timestamp: nanos 2000000000 is out of range/);
});

test('bad labels reject their stream only, named; long lines reject their entry only', () => {
  const body = protoBody({
    streams: [
      { labels: '{app="ok"}', entries: [{ line: 'kept 1' }, { line: 'x'.repeat(100) }] },
      { labels: '{app="x",}', entries: [{ line: 'parse error' }] },
      { labels: '{app=~"x"}', entries: [{ line: 'regex' }] },
      { labels: '{a="1", a="2"}', entries: [{ line: 'dup' }] },
      { labels: '{}', entries: [{ line: 'empty' }, { line: 'empty 2' }] },
      { labels: `{${Array.from({ length: 16 }, (_, i) => `l${i}="v"`).join(', ')}}`, entries: [{ line: 'too many' }] },
      { labels: '{app="ok2"}', entries: [{ line: 'kept 2' }] },
      { labels: '{app="none"}', entries: [] },
    ],
  });
  const d = decode(body, 'protobuf', { maxLineBytes: 50 });
  assert.deepEqual(
    d.records.map((r) => r.body),
    ['kept 1', 'kept 2'],
  );
  assert.equal(d.rejected, 7);
  assert.equal(d.problems.length, 6);
  assert.match(d.problems[0]!, /^stream \{app="ok"\} entry 1: line of 100 bytes exceeds max_line_size 50$/);
  assert.match(d.problems[1]!, /^error parsing labels \{app="x",\}: parse error at line 1, col 10: unexpected "\}", expected label matcher$/);
  assert.match(d.problems[2]!, /label "app" uses =~; a stream's labels are name="value" pairs/);
  assert.match(d.problems[3]!, /duplicate label name "a"/);
  assert.match(d.problems[4]!, /^stream \{\}: at least one label pair/);
  assert.match(d.problems[5]!, /has 16 label names; limit 15 \(max_label_names_per_series\)/);
});

test('the label parser caches texts and bounds what it quotes', () => {
  const p = new LabelParser(LIMITS);
  const a = p.parseText('{app="x"}');
  assert.equal(p.parseText('{app="x"}'), a);
  assert.deepEqual(a.pairs, [['app', 'x']]);
  const huge = p.parseText(`{a="${'x'.repeat(100_000)}"`);
  assert.ok(huge.problem !== undefined && huge.problem.length < 400, 'a huge bad label text is not echoed back whole');
  assert.match(p.fromObject({ 'bad-name': 'x' }).problem!, /invalid label name "bad-name"/);
  assert.deepEqual(p.fromObject({ a: 'x', empty: '' }).pairs, [['a', 'x']]);
});

test('fuzz: random and mutated bodies only ever raise LokiDecodeError', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const valid = [
    protoBody({ streams: [{ labels: '{app="x", env="prod"}', entries: [{ timestamp: { seconds: 5, nanos: 6 }, line: 'hello world', structuredMetadata: [{ name: 'k', value: 'v' }] }] }] }),
    Buffer.from(JSON.stringify({ streams: [{ stream: { app: 'x' }, values: [['17', 'line', { a: 'b' }]] }] })),
  ];
  for (let i = 0; i < 3000; i++) {
    const encoding: LokiEncoding = i % 2 === 0 ? 'protobuf' : 'json';
    let body: Buffer;
    if (i % 3 === 0) {
      body = Buffer.from(Array.from({ length: rnd(64) }, () => rnd(256)));
    } else {
      body = Buffer.from(valid[i % 2]!);
      for (let m = 0; m <= rnd(4); m++) if (body.length > 0) body[rnd(body.length)] = rnd(256);
    }
    try {
      const d = decode(body, encoding, { maxLineBytes: 10 });
      assert.ok(d.records.length + d.rejected >= 0);
    } catch (err) {
      assert.ok(err instanceof LokiDecodeError, `body ${body.toString('hex')} (${encoding}) threw ${String(err)}`);
    }
  }
});
