/**
 * Fuzz over the forward-protocol decoder, deterministic (seeded PRNG), so a
 * failure names the case that reproduces it. Valid messages of every mode
 * are mutated (bit flips, random bytes, truncation, splices, length fields
 * pushed to extremes) and split at random read boundaries. The property:
 * framing, parsing and entry decoding only ever fail with their own error
 * types (FramingError, ForwardDecodeError) or count rejected entries; they
 * never throw anything else. A last pass sends mutated streams to a live
 * source over TCP and checks it still serves a good client afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ServiceMap, silentLogger, type BuildContext } from '@meshlog/core';
import { EventTime, decodeValue, encodeValue } from './fluent-codec.js';
import { FluentSourceConfigSchema } from './config.js';
import { ForwardDecodeError, decodeEntryStream, decodeMessageEntry, parseForwardMessage } from './fluent-decode.js';
import { FluentSource } from './fluent-source.js';
import { FramingError, MessageFramer } from './msgpack-framing.js';

const SEED = 0x5eed_f1d0;
const CASES = 20_000;

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T = 1_700_000_000;
const record = { log: 'GET /api 200', level: 'info', kubernetes: { pod_name: 'p', namespace_name: 'n', labels: { app: 'a' } }, trace_id: '0af7651916cd43dd8448eb211c80319c', n: [1, { x: null }] };
const entries = Buffer.concat([encodeValue([new EventTime(T, 5), record]), encodeValue([T, { message: 'two' }]), encodeValue([[new EventTime(T, 0), { m: 1 }], { msg: 'three' }])]);

function corpus(): Buffer[] {
  const strPacked = (() => {
    const len = Buffer.alloc(5);
    len[0] = 0xdb;
    len.writeUInt32BE(entries.length, 1);
    return Buffer.concat([Buffer.from([0x93]), encodeValue('fluentd'), len, entries, encodeValue({ size: 3, chunk: 'c' })]);
  })();
  return [
    encodeValue(['message', T, record, { chunk: 'c1' }]),
    encodeValue(['message', new EventTime(T, 9), { log: 'x' }]),
    encodeValue(['forward', [[T, record], [new EventTime(T, 1), { message: 'y' }]], { size: 2, chunk: 'c2' }]),
    encodeValue(['packed', entries, { size: 3 }]),
    strPacked,
    encodeValue(['gzip', Buffer.concat([gzipSync(entries), gzipSync(entries)]), { compressed: 'gzip', size: 6 }]),
    encodeValue(['PING', 'host', Buffer.alloc(16, 7), 'ab'.repeat(64), '', '']),
    encodeValue(['signal', entries, { fluent_signal: 1 }]),
  ];
}

function mutate(input: Buffer, rnd: () => number, pool: Buffer[]): Buffer {
  let b = Buffer.from(input);
  const ops = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(rnd() * Math.max(1, b.length));
    switch (Math.floor(rnd() * 7)) {
      case 0: // flip a bit
        if (b.length) b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
        break;
      case 1: // random byte
        if (b.length) b[at] = Math.floor(rnd() * 256);
        break;
      case 2: // truncate
        b = b.subarray(0, at);
        break;
      case 3: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256))), b.subarray(at)]);
        break;
      case 4: { // splice in part of another message
        const other = pool[Math.floor(rnd() * pool.length)]!;
        const from = Math.floor(rnd() * other.length);
        b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + 1 + Math.floor(rnd() * 64)), b.subarray(at)]);
        break;
      }
      case 5: // a length field to an extreme
        if (b.length > at + 4) b.writeUInt32BE(rnd() < 0.5 ? 0xffffffff : Math.floor(rnd() * 0x10000), at);
        break;
      default: // a type byte to a container or ext header
        if (b.length) b[at] = [0xdc, 0xdd, 0xde, 0xdf, 0xc7, 0xd7, 0xc1, 0x9f, 0x8f][Math.floor(rnd() * 9)]!;
    }
  }
  return b;
}

/** Everything the source does with a frame, synchronously. */
function consume(frame: Buffer): void {
  let msg;
  try {
    msg = parseForwardMessage(frame);
  } catch (err) {
    if (err instanceof ForwardDecodeError) return;
    throw err;
  }
  const now = 1n;
  if (msg.type === 'ping') return;
  if (msg.mode === 'message') decodeMessageEntry(msg.tag, msg.message!, now);
  else if (msg.mode === 'compressed_packed_forward') {
    let plain: Buffer;
    try {
      plain = gunzipSync(msg.entries!, { maxOutputLength: 1 << 20 });
    } catch {
      return; // the source answers corrupt gzip by rejecting the message
    }
    decodeEntryStream(msg.tag, plain, now, msg.option.size);
  } else decodeEntryStream(msg.tag, msg.entries!, now, msg.mode === 'forward' ? msg.declaredEntries : msg.option.size);
}

test(`decoder fuzz: ${CASES} mutated streams never throw anything but the protocol's own errors (seed ${SEED})`, () => {
  const rnd = prng(SEED);
  const pool = corpus();
  let frames = 0;
  let framingErrors = 0;
  for (let i = 0; i < CASES; i++) {
    const parts = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pool[Math.floor(rnd() * pool.length)]!);
    const stream = mutate(Buffer.concat(parts), rnd, pool);
    const framer = new MessageFramer(64 * 1024);
    try {
      for (let pos = 0; pos < stream.length; ) {
        const step = 1 + Math.floor(rnd() * 512);
        framer.push(stream.subarray(pos, pos + step));
        pos += step;
        for (let f = framer.next(); f; f = framer.next()) {
          frames++;
          consume(f);
        }
      }
    } catch (err) {
      if (err instanceof FramingError) {
        framingErrors++;
        continue;
      }
      assert.fail(`case ${i} (seed ${SEED}) threw ${(err as Error).stack}\nstream: ${stream.toString('hex').slice(0, 400)}`);
    }
  }
  // The mutations must exercise both paths, or the fuzz proves nothing.
  assert.ok(frames > CASES / 2, `only ${frames} frames decoded`);
  assert.ok(framingErrors > CASES / 20, `only ${framingErrors} framing errors`);
});

test('record mapping fuzz: random msgpack maps either map or are rejected as one entry', () => {
  const rnd = prng(SEED + 1);
  const leaf = (): unknown => {
    switch (Math.floor(rnd() * 9)) {
      case 0: return null;
      case 1: return rnd() < 0.5;
      case 2: return Math.floor(rnd() * 2 ** 40) - 2 ** 39;
      case 3: return rnd() * 1e6;
      case 4: return ['log', 'message', 'level', 'trace_id', 'stream', 'kubernetes', '', 'é'][Math.floor(rnd() * 8)];
      case 5: return new Uint8Array(Math.floor(rnd() * 8)).map(() => Math.floor(rnd() * 256));
      case 6: return new EventTime(Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 1e9));
      case 7: return 'x'.repeat(Math.floor(rnd() * 50));
      default: return 50;
    }
  };
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 12 || r < 0.5) return leaf();
    if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    const m: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--) m[String(leaf())] = value(depth + 1);
    return m;
  };
  let rejected = 0;
  let mapped = 0;
  for (let i = 0; i < 3000; i++) {
    const entry = encodeValue([rnd() < 0.9 ? T : leaf(), value(0)]);
    const d = decodeEntryStream('fuzz', entry, 1n);
    rejected += d.rejected;
    mapped += d.records.length;
    assert.equal(d.rejected + d.records.length, 1, `case ${i}`);
    for (const r of d.records) for (const v of Object.values(r.attributes)) assert.ok(['string', 'number', 'boolean'].includes(typeof v), `case ${i}: ${typeof v}`);
  }
  assert.ok(mapped > 100 && rejected > 100, `mapped ${mapped}, rejected ${rejected}`);
  // Deep nesting in a record: printing it must not take the process down.
  const deep = Buffer.concat([Buffer.from([0x92]), encodeValue(T), Buffer.from([0x81, 0xa1, 0x61]), Buffer.alloc(100_000, 0x91), Buffer.from([0x01])]);
  const d = decodeEntryStream('deep', deep, 1n);
  assert.equal(d.rejected, 1);
  assert.match(d.firstError!, /nested too deeply/);
  assert.doesNotThrow(() => decodeValue(deep));
});

test('live fuzz: mutated streams over TCP never take the source down', async () => {
  const ctx: BuildContext = {
    id: 'fluent',
    dataDir: '.',
    logger: silentLogger,
    services: new ServiceMap(),
    metrics: { received: () => undefined, sent: () => undefined, discarded: () => undefined, error: () => undefined, queueDepth: () => undefined },
    emit: async () => undefined,
  };
  const cfg = FluentSourceConfigSchema.parse({ port: 0, max_message_bytes: 64 * 1024, idle_timeout_ms: 1000, message_timeout_ms: 500 });
  const source = new FluentSource(cfg, ctx, undefined);
  await source.start();
  const rnd = prng(SEED + 2);
  const pool = corpus();
  const send = (bytes: Buffer): Promise<Buffer> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const s = connect({ host: '127.0.0.1', port: source.port }, () => {
        s.end(bytes);
      });
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks)));
      setTimeout(() => s.destroy(), 2000).unref();
    });
  for (let batch = 0; batch < 10; batch++) {
    await Promise.all(Array.from({ length: 20 }, () => send(mutate(Buffer.concat([pool[Math.floor(rnd() * pool.length)]!, pool[Math.floor(rnd() * pool.length)]!]), rnd, pool))));
  }
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: source.port }, () => s.write(encodeValue(['after', T, { log: 'still alive' }, { chunk: 'alive' }])));
    s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d);
    });
    s.once('error', reject);
  });
  assert.deepEqual(decodeValue(reply), { ack: 'alive' });
  await source.stop();
});
