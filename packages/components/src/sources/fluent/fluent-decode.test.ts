import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { EventTime, encodeValue } from './fluent-codec.js';
import { ForwardDecodeError, decodeEntryStream, decodeMessageEntry, parseForwardMessage, timeOf, type EventsMessage } from './fluent-decode.js';

const NOW = 1_800_000_000_000_000_000n;
const T = 1_700_000_000;

function events(frame: Buffer): EventsMessage {
  const m = parseForwardMessage(frame);
  assert.equal(m.type, 'events');
  return m as EventsMessage;
}

function decode(m: EventsMessage) {
  if (m.mode === 'message') return decodeMessageEntry(m.tag, m.message!, NOW);
  return decodeEntryStream(m.tag, m.entries!, NOW, m.mode === 'forward' ? m.declaredEntries : m.option.size);
}

/** A PackedForward message whose entries travel in a msgpack *str* (as Fluentd's out_forward sends them). */
function packedAsStr(tag: string, entries: Buffer, option: object): Buffer {
  const len = Buffer.alloc(5);
  len[0] = 0xdb;
  len.writeUInt32BE(entries.length, 1);
  return Buffer.concat([Buffer.from([0x93]), encodeValue(tag), len, entries, encodeValue(option)]);
}

test('Message mode with an integer time and an option', () => {
  const m = events(encodeValue(['app', T, { log: 'hello' }, { chunk: 'c1' }]));
  assert.equal(m.mode, 'message');
  assert.equal(m.option.chunk, 'c1');
  const d = decode(m);
  assert.equal(d.rejected, 0);
  assert.equal(d.records[0]!.timeUnixNano, BigInt(T) * 1_000_000_000n);
  assert.equal(d.records[0]!.body, 'hello');
  assert.equal(d.records[0]!.attributes['fluent.tag'], 'app');
});

test('Forward mode with EventTime keeps nanoseconds; entries are decoded one by one', () => {
  const m = events(encodeValue(['app', [[new EventTime(T, 123_456_789), { log: 'a' }], [T, { log: 'b' }]], { size: 2 }]));
  assert.equal(m.mode, 'forward');
  assert.equal(m.declaredEntries, 2);
  const d = decode(m);
  assert.deepEqual(d.records.map((r) => r.body), ['a', 'b']);
  assert.equal(d.records[0]!.timeUnixNano, BigInt(T) * 1_000_000_000n + 123_456_789n);
});

test('PackedForward in bin (fluent-logger, Fluent Bit) and in str holding raw bytes (Fluentd)', () => {
  const entries = Buffer.concat([encodeValue([new EventTime(T, 1), { log: 'é ✓' }]), encodeValue([T, { message: 'two' }])]);
  for (const frame of [encodeValue(['app', entries, { size: 2 }]), packedAsStr('app', entries, { size: 2, chunk: 'k' })]) {
    const m = events(frame);
    assert.equal(m.mode, 'packed_forward');
    const d = decode(m);
    assert.equal(d.rejected, 0);
    assert.deepEqual(d.records.map((r) => r.body), ['é ✓', 'two']);
    assert.equal(d.records[0]!.timeUnixNano, BigInt(T) * 1_000_000_000n + 1n);
  }
});

test('CompressedPackedForward: the option names gzip and the entries stay compressed until the source inflates them', () => {
  const entries = encodeValue([T, { log: 'z' }]);
  const m = events(encodeValue(['app', gzipSync(entries), { compressed: 'gzip', size: 1 }]));
  assert.equal(m.mode, 'compressed_packed_forward');
  assert.equal(m.option.compressed, 'gzip');
  // "text" is the spec's name for uncompressed.
  assert.equal(events(encodeValue(['app', entries, { compressed: 'text' }])).mode, 'packed_forward');
});

test('Fluent Bit entries with metadata ([[time, metadata], record]) and fluent_signal', () => {
  const m = events(encodeValue(['app', [[[new EventTime(T, 0), { otlp: { x: 1 } }], { log: 'm' }]], { fluent_signal: 0 }]));
  assert.equal(m.option.fluentSignal, 0);
  const d = decode(m);
  assert.equal(d.records[0]!.attributes['fluent.metadata.otlp.x'], 1);
  assert.equal(events(encodeValue(['app', [], { fluent_signal: 1 }])).option.fluentSignal, 1);
});

test("Fluent Bit's group markers (time -1/-2 in the metadata form) frame records and are skipped", () => {
  const entries = Buffer.concat([
    encodeValue([[-1, { resource: { a: 1 } }], { scope: 'x' }]),
    encodeValue([[new EventTime(T, 0), {}], { log: 'inside' }]),
    encodeValue([[new EventTime(0xfffffffe, 0), {}], {}]),
  ]);
  const d = decodeEntryStream('t', entries, NOW, 3);
  assert.deepEqual(d.records.map((r) => r.body), ['inside']);
  assert.equal(d.rejected, 0);
  assert.equal(d.skipped, 2);
});

test('bad entries are rejected one by one and the rest kept', () => {
  const m = events(
    encodeValue([
      'app',
      [
        [T, { log: 'good 1' }],
        [T, 'not a map'],
        ['yesterday', { log: 'bad time' }],
        [-5, { log: 'negative time' }],
        [T],
        42,
        [T, { log: 'good 2' }],
      ],
    ]),
  );
  const d = decode(m);
  assert.deepEqual(d.records.map((r) => r.body), ['good 1', 'good 2']);
  assert.equal(d.rejected, 5);
  assert.match(d.firstError!, /entry 1: record must be a map, got string/);
});

test('a bad EventTime ext and a map with a __proto__ key reject only their entry', () => {
  const badExt = Buffer.from([0x92, 0xd6, 0x00, 0, 0, 0, 1, 0x80]); // fixext 4 of type 0: EventTime must be 8 bytes
  const proto = Buffer.concat([Buffer.from([0x92]), encodeValue(T), Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), encodeValue(1)]);
  const good = encodeValue([T, { log: 'ok' }]);
  const d = decodeEntryStream('t', Buffer.concat([badExt, proto, good]), NOW);
  assert.equal(d.records.length, 1);
  assert.equal(d.rejected, 2);
});

test('a packed stream cut short counts what cannot be delimited', () => {
  const entries = Buffer.concat([encodeValue([T, { log: 'a' }]), encodeValue([T, { log: 'b' }]), encodeValue([T, { log: 'c' }])]);
  const d = decodeEntryStream('t', entries.subarray(0, entries.length - 3), NOW, 3);
  assert.deepEqual(d.records.map((r) => r.body), ['a', 'b']);
  assert.equal(d.rejected, 1);
  assert.equal(decodeEntryStream('t', entries.subarray(0, 4), NOW, 3).rejected, 3);
});

test('time: 0 and nil mean now; fractional seconds; out-of-range is an error', () => {
  assert.equal(timeOf(0, NOW), NOW);
  assert.equal(timeOf(null, NOW), NOW);
  assert.equal(timeOf(new EventTime(0, 0), NOW), NOW);
  assert.equal(timeOf(1.25, NOW), 1_250_000_000n);
  assert.throws(() => timeOf(1e12, NOW), RangeError);
  assert.throws(() => timeOf(Number.NaN, NOW), RangeError);
  assert.throws(() => timeOf('1', NOW), TypeError);
});

test('PING is recognized with raw-byte salts; malformed messages name the problem', () => {
  const salt = Buffer.from([0xff, 0xfe, 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  // Fluent Bit sends the salt as a str of raw bytes: it must not be UTF-8 decoded.
  const saltStr = Buffer.concat([Buffer.from([0xb0]), salt]);
  const ping = Buffer.concat([Buffer.from([0x96]), encodeValue('PING'), encodeValue('client'), saltStr, encodeValue('ab'.repeat(64)), encodeValue(''), encodeValue('')]);
  const m = parseForwardMessage(ping);
  assert.equal(m.type, 'ping');
  if (m.type === 'ping') {
    assert.deepEqual(Buffer.from(m.salt), salt);
    assert.equal(m.hostname, 'client');
  }

  const bad = (value: unknown, re: RegExp): void => {
    assert.throws(() => parseForwardMessage(encodeValue(value)), (e: unknown) => e instanceof ForwardDecodeError && re.test(e.message));
  };
  bad({ a: 1 }, /expected a msgpack array at the top/);
  bad(['only'], /array of 2 to 4 elements/);
  bad([1, [], {}], /tag \(element 0\) must be a string/);
  bad(['t', T], /Message mode message is \[tag, time, record, option\?\]/);
  bad(['t', [], 'not a map'], /option must be a map/);
  bad(['t', [], { chunk: 5 }], /option.chunk must be a string/);
  // A bad tag with a readable option still yields the chunk, so the caller can answer it.
  assert.throws(
    () => parseForwardMessage(encodeValue([7, [], { chunk: 'c9' }])),
    (e: unknown) => e instanceof ForwardDecodeError && e.option?.chunk === 'c9',
  );
});

test('records of one message with equal resources share one resource object (the store encodes it once)', () => {
  const k8s = { namespace_name: 'shop', pod_name: 'p-1', container_name: 'c' };
  const entries = Buffer.concat([
    encodeValue([T, { log: 'a', kubernetes: k8s }]),
    encodeValue([T, { log: 'b', kubernetes: k8s }]),
    encodeValue([T, { log: 'c', kubernetes: { ...k8s, pod_name: 'p-2' } }]),
  ]);
  const [a, b, c] = decodeEntryStream('t', entries, NOW).records;
  assert.equal(a!.resource, b!.resource);
  assert.notEqual(a!.resource, c!.resource);
  assert.equal(c!.resource['k8s.pod.name'], 'p-2');
});
