// Fuzz test over the HTTP intake decoders (Splunk HEC, Datadog logs,
// Zipkin JSON and protobuf): deterministic random mutations of realistic
// payloads. A decoder may only ever reject with its own typed error (which
// the source turns into the protocol's 4xx), must finish quickly, and
// whatever it accepts must be well-formed model data; accepted Zipkin spans
// must also render back to Zipkin JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogRecord, Span } from '@meshlog/core';
import { HecDecodeError, decodeHecEvents, decodeHecRaw } from './splunk_hec/hec-decode.js';
import { DatadogDecodeError, decodeDatadogLogs } from './datadog_logs/datadog-decode.js';
import { ZipkinDecodeError, spanToZipkin, zipkinSpansToModel } from './zipkin/zipkin-model.js';
import { decodeZipkinProto, zipkinListOfSpans } from './zipkin/zipkin-proto.js';

/** mulberry32: small, fast, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = ['{', '}', '[', ']', '"', '\\', ':', ',', '\n', ' ', 'null', 'true', '-1', '1e999', '0', '"event"', '"time"', '"fields"', '{}', '[]',
  '"traceId"', '"id"', '"timestamp"', '"kind"', '"CLIENT"', '"message"', '"ddtags"', '"dd.trace_id"', '"18446744073709551616"', '\u0000', '\ud800', '日', '"a".repeat'];

function mutate(input: Buffer, random: () => number): Buffer {
  let s = input.toString('latin1');
  const rounds = 1 + Math.floor(random() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(random() * (s.length + 1));
    switch (Math.floor(random() * 5)) {
      case 0:
        s = s.slice(0, at) + FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]! + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(random() * 8));
        break;
      case 2:
        s = s.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + s.slice(at + 1);
        break;
      case 3:
        s = s.slice(0, at) + s.slice(Math.floor(random() * s.length), Math.floor(random() * s.length)) + s.slice(at);
        break;
      default:
        s = s.slice(0, at);
    }
  }
  return Buffer.from(s, 'latin1');
}

const NOW = 1_700_000_000_000_000_000n;

function checkRecord(r: LogRecord): void {
  assert.equal(typeof r.body, 'string');
  assert.equal(typeof r.timeUnixNano, 'bigint');
  assert.ok(r.traceId === '' || /^[0-9a-f]{32}$/.test(r.traceId), r.traceId);
  assert.ok(r.spanId === '' || /^[0-9a-f]{16}$/.test(r.spanId), r.spanId);
  assert.ok(r.severityNumber >= 0 && r.severityNumber <= 24);
  for (const v of [...Object.values(r.attributes), ...Object.values(r.resource)]) assert.ok(['string', 'number', 'boolean'].includes(typeof v));
}

function checkSpan(s: Span): void {
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.match(s.spanId, /^[0-9a-f]{16}$/);
  assert.ok(s.endTimeUnixNano >= s.startTimeUnixNano);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.attributes)) attributes[k] = String(v);
  spanToZipkin({ ...s, serviceName: s.resource['service.name'] === undefined ? undefined : String(s.resource['service.name']), attributes });
}

function fuzz(name: string, seeds: Buffer[], run: (b: Buffer) => void, allowed: (err: unknown) => boolean, iterations = 1500): void {
  test(`fuzz: ${name}`, () => {
    const random = rng(0x5eed ^ name.length);
    let accepted = 0;
    for (let i = 0; i < iterations; i++) {
      const input = mutate(seeds[i % seeds.length]!, random);
      const started = performance.now();
      try {
        run(input);
        accepted++;
      } catch (err) {
        if (!allowed(err)) assert.fail(`${name}: unexpected ${String(err)} for input ${JSON.stringify(input.toString('latin1').slice(0, 200))}`);
      }
      assert.ok(performance.now() - started < 250, `${name}: slow input ${JSON.stringify(input.toString('latin1').slice(0, 200))}`);
    }
    assert.ok(accepted > 0, 'some mutations still decode');
  });
}

const hecSeeds = [
  '{"time":1700000000.123,"host":"h","source":"s","sourcetype":"st","index":"main","event":"GET / 200","fields":{"service.name":"a","otel.log.severity.number":9,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","tags":["x"]}}{"event":{"message":"m","level":"warn","n":{"a":1}}}',
  '[{"event":"one"},{"event":{"log":"two","stream":"stdout"},"time":"1700000000"}]',
].map((s) => Buffer.from(s));
fuzz('splunk HEC events', hecSeeds, (b) => decodeHecEvents(b, NOW, {}).records.forEach(checkRecord), (e) => e instanceof HecDecodeError);
fuzz('splunk HEC raw', [Buffer.from('line one\r\nline two\n\n')], (b) => decodeHecRaw(b, NOW, { host: 'h' }).forEach(checkRecord), (e) => e instanceof HecDecodeError, 300);

const ddSeeds = [
  JSON.stringify([{ message: 'GET /', status: 'error', timestamp: 1700000000000, hostname: 'h', service: 's', ddsource: 'nginx', ddtags: 'env:prod,version:1,team:a', 'dd.trace_id': '9540127541294590284', http: { status: 500 } }]),
  JSON.stringify({ msg: 'x', date: '2023-11-14T22:13:20.123Z', dd: { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 5 } }),
].map((s) => Buffer.from(s));
const ddLimits = { maxLogBytes: 64, maxEntries: 50 };
fuzz('datadog logs', ddSeeds, (b) => decodeDatadogLogs(b, 'application/json', NOW, {}, ddLimits).records.forEach(checkRecord), (e) => e instanceof DatadogDecodeError);

const zipkinSeeds = [
  JSON.stringify([
    { traceId: '5af7183fb1d4cf5f', parentId: '6b221d5bc9e6496c', id: '352bff9a74ca9ad2', kind: 'CLIENT', name: 'get', timestamp: 1556604172355737, duration: 1431, localEndpoint: { serviceName: 'a', ipv4: '10.0.0.1', port: 80 }, remoteEndpoint: { serviceName: 'b', ipv6: '::1' }, annotations: [{ timestamp: 1556604172355800, value: 'ws' }], tags: { error: 'x' }, shared: true },
  ]),
].map((s) => Buffer.from(s));
fuzz(
  'zipkin JSON',
  zipkinSeeds,
  (b) => {
    let list: unknown;
    try {
      list = JSON.parse(b.toString('utf8'));
    } catch {
      return; // the source answers invalid JSON itself
    }
    zipkinSpansToModel(list, NOW).forEach(checkSpan);
  },
  (e) => e instanceof ZipkinDecodeError,
);

const t = zipkinListOfSpans();
const protoSeed = Buffer.from(
  t
    .encode(
      t.fromObject({
        spans: [{ traceId: Buffer.alloc(16, 1), id: Buffer.alloc(8, 2), kind: 2, name: 'n', timestamp: 1556604172355737, duration: 5, localEndpoint: { serviceName: 'a', ipv4: Buffer.from([10, 0, 0, 1]) }, tags: { a: 'b' }, annotations: [{ timestamp: 1, value: 'v' }] }],
      }),
    )
    .finish(),
);
fuzz('zipkin protobuf', [protoSeed], (b) => zipkinSpansToModel(decodeZipkinProto(b), NOW).forEach(checkSpan), (e) => e instanceof ZipkinDecodeError);
