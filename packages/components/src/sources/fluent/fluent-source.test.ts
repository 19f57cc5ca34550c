/**
 * The `fluent` source in-process, over real TCP sockets with a raw client,
 * against a pipeline stand-in whose `emit` the tests control (to see that
 * acks wait for durability and what happens when the pipeline refuses).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ServiceMap, permanentError, retryableError, silentLogger, type BuildContext, type Emit, type LogBatch } from '@meshlog/core';
import { EventTime, decodeValue, encodeValue } from './fluent-codec.js';
import { FluentSourceConfigSchema } from './config.js';
import { FluentSource, loadHandshakeConfig } from './fluent-source.js';
import { sha512Hex } from './fluent-handshake.js';
import { MessageFramer } from './msgpack-framing.js';

const T = 1_700_000_000;
const dir = mkdtempSync(join(tmpdir(), 'meshlog-fluent-'));
const sources: FluentSource[] = [];
after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
});

interface Harness {
  source: FluentSource;
  batches: LogBatch[];
  discarded: { n: number; reason: string; tenant: string }[];
  errors: string[];
  received: number[];
}

async function start(config: Record<string, unknown> = {}, emit?: (b: LogBatch) => Promise<void>): Promise<Harness> {
  const h = { batches: [], discarded: [], errors: [], received: [] } as unknown as Harness;
  const ctx: BuildContext = {
    id: 'fluent',
    dataDir: dir,
    logger: silentLogger,
    services: new ServiceMap(),
    metrics: {
      received: (n) => h.received.push(n),
      sent: () => undefined,
      discarded: (n, reason, tenant) => h.discarded.push({ n, reason, tenant }),
      error: (t) => h.errors.push(t),
      queueDepth: () => undefined,
    },
    emit: (async (batch) => {
      if (batch.kind !== 'logs') throw new Error('spans?');
      if (emit) await emit(batch);
      h.batches.push(batch);
    }) as Emit,
  };
  const cfg = FluentSourceConfigSchema.parse({ port: 0, ...config });
  h.source = new FluentSource(cfg, ctx, loadHandshakeConfig(cfg, ctx));
  sources.push(h.source);
  await h.source.start();
  return h;
}

/** A bare forward-protocol client: writes bytes, reads decoded replies. */
class RawClient {
  private readonly framer = new MessageFramer(1 << 20);
  private readonly replies: unknown[] = [];
  private wake: (() => void) | undefined;
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.framer.push(d);
      for (let f = this.framer.next(); f; f = this.framer.next()) this.replies.push(decodeValue(f));
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(value: unknown): void {
    this.socket.write(Buffer.isBuffer(value) ? value : encodeValue(value));
  }

  /** The next reply, or undefined when none comes within `ms` (or the server closed). */
  async reply(ms = 3000): Promise<unknown> {
    const deadline = Date.now() + ms;
    while (this.replies.length === 0 && !this.isClosed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
    }
    return this.replies.shift();
  }

  async closedWithin(ms: number): Promise<boolean> {
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, ms))]);
    return this.isClosed;
  }

  end(): void {
    this.socket.destroy();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('all four event modes are stored; each chunk is acknowledged only after emit resolved', async () => {
  const gate = deferred();
  const h = await start({}, () => gate.promise);
  const c = await RawClient.connect(h.source.port);
  const entries = Buffer.concat([encodeValue([new EventTime(T, 7), { log: 'packed 1' }]), encodeValue([T, { log: 'packed 2' }])]);
  // Fluent Bit appends one gzip member per flush: several members make one payload.
  const gz = Buffer.concat([gzipSync(encodeValue([T, { log: 'gz 1' }])), gzipSync(encodeValue([T, { log: 'gz 2' }]))]);
  c.send(['app.message', T, { log: 'message' }, { chunk: 'c-message' }]);
  c.send(['app.forward', [[T, { log: 'fwd 1' }], [T, { log: 'fwd 2' }]], { chunk: 'c-forward', size: 2 }]);
  c.send(['app.packed', entries, { chunk: 'c-packed', size: 2 }]);
  c.send(['app.gzip', gz, { chunk: 'c-gzip', size: 2, compressed: 'gzip' }]);
  assert.equal(await c.reply(300), undefined, 'no ack before the batch is durable');
  gate.resolve();
  const acks = [];
  for (let i = 0; i < 4; i++) acks.push(await c.reply());
  assert.deepEqual(acks.map((a) => (a as { ack: string }).ack).sort(), ['c-forward', 'c-gzip', 'c-message', 'c-packed']);
  const bodies = h.batches.flatMap((b) => b.records.map((r) => r.body)).sort();
  assert.deepEqual(bodies, ['fwd 1', 'fwd 2', 'gz 1', 'gz 2', 'message', 'packed 1', 'packed 2']);
  const packed = h.batches.find((b) => b.records[0]!.body === 'packed 1')!;
  assert.equal(packed.records[0]!.timeUnixNano, BigInt(T) * 1_000_000_000n + 7n);
  assert.equal(packed.tenant, 'default');
  assert.match(packed.id!, /^[A-Za-z0-9_-]{32}$/);
  c.end();
});

test('the idempotency key follows tenant + chunk id: a resent chunk gets the same key, unacked messages none', async () => {
  const h = await start();
  const c = await RawClient.connect(h.source.port);
  c.send(['t', T, { log: 'a' }, { chunk: 'same' }]);
  await c.reply();
  const d = await RawClient.connect(h.source.port);
  d.send(['t', T, { log: 'a' }, { chunk: 'same' }]);
  await d.reply();
  d.send(['t', T, { log: 'no ack wanted' }]);
  d.send(['t', T, { log: 'other' }, { chunk: 'different' }]);
  assert.deepEqual(await d.reply(), { ack: 'different' });
  assert.equal(h.batches[0]!.id, h.batches[1]!.id);
  const plain = h.batches.find((b) => b.records[0]!.body === 'no ack wanted')!;
  assert.equal(plain.id, undefined);
  assert.notEqual(h.batches.find((b) => b.records[0]!.body === 'other')!.id, h.batches[0]!.id);
  c.end();
  d.end();
});

test('a message arriving one byte per read is reassembled', async () => {
  const h = await start();
  const c = await RawClient.connect(h.source.port);
  const bytes = encodeValue(['slow', [[T, { log: 'x'.repeat(200) }], [T, { log: 'y' }]], { chunk: 'bytewise' }]);
  for (const b of bytes) {
    c.socket.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await c.reply(), { ack: 'bytewise' });
  assert.deepEqual(h.batches[0]!.records.map((r) => r.body), ['x'.repeat(200), 'y']);
  c.end();
});

test('a retryable pipeline failure sends no ack and closes the connection; a permanent one is answered', async () => {
  let mode: 'retry' | 'permanent' | 'ok' = 'retry';
  const h = await start({ max_wait_ms: 50 }, async () => {
    if (mode === 'retry') throw retryableError('queue_full', 'ingest queue is full', 1000);
    if (mode === 'permanent') throw permanentError('bad', 'the sink refuses this batch');
  });
  const c = await RawClient.connect(h.source.port);
  c.send(['t', T, { log: 'x' }, { chunk: 'will-retry' }]);
  assert.equal(await c.reply(500), undefined);
  assert.ok(await c.closedWithin(3000), 'connection closed so the client resends');
  assert.ok(h.errors.includes('pipeline_unavailable'));
  assert.deepEqual(h.discarded, [], 'an unacked chunk is not a loss: the client still has it');

  // Without a chunk the client cannot resend: the loss is counted.
  const d = await RawClient.connect(h.source.port);
  d.send(['t', T, { log: 'lost' }]);
  assert.ok(await d.closedWithin(3000));
  assert.deepEqual(h.discarded, [{ n: 1, reason: 'queue_full', tenant: 'default' }]);

  mode = 'permanent';
  const e = await RawClient.connect(h.source.port);
  e.send(['t', T, { log: 'x' }, { chunk: 'perm' }]);
  assert.deepEqual(await e.reply(), { ack: 'perm' });
  e.end();
});

test('a malformed msgpack stream closes the connection, counted; the messages before it are kept', async () => {
  const h = await start();
  const c = await RawClient.connect(h.source.port);
  c.socket.write(Buffer.concat([encodeValue(['t', T, { log: 'before' }, { chunk: 'k1' }]), Buffer.from([0x93, 0xc1, 0x00])]));
  assert.deepEqual(await c.reply(), { ack: 'k1' });
  assert.ok(await c.closedWithin(3000));
  assert.ok(h.errors.includes('malformed'));
  assert.deepEqual(h.discarded, [{ n: 1, reason: 'invalid', tenant: 'default' }]);
  assert.equal(h.batches[0]!.records[0]!.body, 'before');
});

test('JSON or any stream whose messages are not arrays is out of step: closed, counted', async () => {
  const h = await start();
  const c = await RawClient.connect(h.source.port);
  c.socket.write('["tag", 1700000000, {"log": "json is not accepted"}]');
  assert.ok(await c.closedWithin(3000));
  assert.deepEqual(h.errors, ['malformed']);
  assert.deepEqual(h.discarded, [{ n: 1, reason: 'invalid', tenant: 'default' }]);
  assert.equal(h.batches.length, 0);
});

test('a message over max_message_bytes closes the connection before it is buffered', async () => {
  const h = await start({ max_message_bytes: 4096 });
  const c = await RawClient.connect(h.source.port);
  const header = Buffer.from([0x93, 0xa1, 0x74, 0xc6, 0x10, 0x00, 0x00, 0x00]); // ['t', bin32 of 256 MiB ...
  c.socket.write(header);
  assert.ok(await c.closedWithin(3000));
  assert.ok(h.errors.includes('message_too_large'));
});

test('incomplete messages of all connections share one byte budget', async () => {
  const h = await start({ max_message_bytes: 8192, max_buffered_bytes: 10_000 });
  const partial = encodeValue(['t', T, { log: 'x'.repeat(7000) }]).subarray(0, 6000);
  const a = await RawClient.connect(h.source.port);
  a.socket.write(partial);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.source.bufferedBytes, 6000);
  const b = await RawClient.connect(h.source.port);
  b.socket.write(partial);
  assert.ok(await b.closedWithin(3000));
  assert.ok(h.errors.includes('server_busy'));
  a.end();
  await a.closed;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.source.bufferedBytes, 0, 'a closed connection gives its share back');
  const c = await RawClient.connect(h.source.port);
  c.send(['t', T, { log: 'fits again' }, { chunk: 'ok' }]);
  assert.deepEqual(await c.reply(), { ack: 'ok' });
  c.end();
});

test('a well-formed message that is no forward message is counted and answered; the stream goes on', async () => {
  const h = await start();
  const c = await RawClient.connect(h.source.port);
  c.send([42, T, { log: 'bad tag' }, { chunk: 'bad-tag' }]);
  assert.deepEqual(await c.reply(), { ack: 'bad-tag' });
  c.send(['t', [[T, { log: 'good' }], [T, 'bad record'], ['noon', { log: 'bad time' }]], { chunk: 'partial', size: 3 }]);
  assert.deepEqual(await c.reply(), { ack: 'partial' });
  assert.deepEqual(h.batches.flatMap((b) => b.records.map((r) => r.body)), ['good']);
  assert.deepEqual(h.discarded, [
    { n: 1, reason: 'invalid', tenant: 'default' },
    { n: 2, reason: 'invalid', tenant: 'default' },
  ]);
  // Fluent Bit metrics/traces on the same output: answered, counted, not stored.
  c.send(['metrics', new Uint8Array([1, 2, 3]), { chunk: 'metrics', fluent_signal: 1, size: 1 }]);
  assert.deepEqual(await c.reply(), { ack: 'metrics' });
  assert.equal(h.batches.length, 1);
  assert.equal(c.isClosed, false);
  c.end();
});

test('compression: corrupt gzip is rejected and answered; unknown compression and gzip bombs close unacknowledged', async () => {
  const h = await start({ max_decompressed_bytes: 64 * 1024 });
  const c = await RawClient.connect(h.source.port);
  c.send(['t', Buffer.from('not gzip at all'), { chunk: 'corrupt', compressed: 'gzip', size: 4 }]);
  assert.deepEqual(await c.reply(), { ack: 'corrupt' });
  assert.deepEqual(h.discarded, [{ n: 4, reason: 'invalid', tenant: 'default' }]);

  c.send(['t', Buffer.from([1, 2, 3]), { chunk: 'zstd', compressed: 'zstd' }]);
  assert.equal(await c.reply(500), undefined);
  assert.ok(await c.closedWithin(3000));
  assert.ok(h.errors.includes('unsupported_compression'));

  const d = await RawClient.connect(h.source.port);
  d.send(['t', gzipSync(Buffer.alloc(1024 * 1024)), { chunk: 'bomb', compressed: 'gzip' }]);
  assert.equal(await d.reply(500), undefined);
  assert.ok(await d.closedWithin(3000));
  assert.ok(h.errors.includes('decompressed_too_large'));
});

test('idle connections, half-sent messages and connections over the limit are closed', async () => {
  const h = await start({ idle_timeout_ms: 200, message_timeout_ms: 300, max_connections: 2 });
  const idle = await RawClient.connect(h.source.port);
  assert.ok(await idle.closedWithin(3000));
  assert.ok(h.errors.includes('idle_timeout'));

  const slow = await RawClient.connect(h.source.port);
  const bytes = encodeValue(['t', T, { log: 'never finished' }]);
  // Trickle bytes faster than the idle timeout, never finishing the message.
  const trickle = setInterval(() => slow.socket.write(bytes.subarray(0, 1)), 100);
  slow.socket.write(bytes.subarray(0, 5));
  assert.ok(await slow.closedWithin(3000));
  clearInterval(trickle);
  assert.ok(h.errors.includes('message_timeout'));

  const a = await RawClient.connect(h.source.port);
  const b = await RawClient.connect(h.source.port);
  await new Promise((r) => setTimeout(r, 50));
  const third = await RawClient.connect(h.source.port);
  assert.ok(await third.closedWithin(3000));
  assert.ok(h.errors.includes('too_many_connections'));
  a.end();
  b.end();
});

function keyFile(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content + '\n', { mode: 0o600 });
  return p;
}

function pingFor(helo: unknown, key: string, hostname = 'fluent-bit-node'): { ping: unknown[]; salt: Buffer } {
  const nonce = Buffer.from((helo as [string, { nonce: Uint8Array }])[1].nonce);
  const salt = randomBytes(16);
  return { ping: ['PING', hostname, salt, sha512Hex(salt, hostname, nonce, key), '', ''], salt };
}

test('shared key: HELO first, the right key gets PONG and its tenant, a wrong key gets the reason and a closed socket', async () => {
  const h = await start({
    security: {
      self_hostname: 'meshlog',
      shared_key_file: keyFile('main.key', 'main-secret'),
      shared_keys: [{ key_file: keyFile('team.key', 'team-secret'), tenant: 'team-a' }],
    },
  });
  const ok = await RawClient.connect(h.source.port);
  const hello = (await ok.reply()) as [string, { nonce: Uint8Array; auth: string; keepalive: boolean }];
  assert.equal(hello[0], 'HELO');
  assert.equal(hello[1].nonce.length, 16);
  assert.equal(hello[1].auth, '');
  const { ping, salt } = pingFor(hello, 'team-secret');
  ok.send(ping);
  const pong = (await ok.reply()) as unknown[];
  assert.deepEqual(pong, ['PONG', true, '', 'meshlog', sha512Hex(salt, 'meshlog', Buffer.from(hello[1].nonce), 'team-secret')]);
  ok.send(['t', T, { log: 'authenticated' }, { chunk: 'a1' }]);
  assert.deepEqual(await ok.reply(), { ack: 'a1' });
  assert.equal(h.batches[0]!.tenant, 'team-a');

  const bad = await RawClient.connect(h.source.port);
  const hello2 = await bad.reply();
  bad.send(pingFor(hello2, 'guessed').ping);
  assert.deepEqual(await bad.reply(), ['PONG', false, 'shared_key mismatch', '', '']);
  assert.ok(await bad.closedWithin(3000));
  assert.ok(h.errors.includes('auth_failed'));

  // Events before the handshake are refused.
  const rude = await RawClient.connect(h.source.port);
  await rude.reply();
  rude.send(['t', T, { log: 'sneaky' }, { chunk: 's' }]);
  assert.ok(await rude.closedWithin(3000));
  assert.ok(h.errors.includes('handshake_required'));
  assert.equal(h.batches.length, 1);
  ok.end();
});

test('user auth and the handshake timeout', async () => {
  const h = await start({
    handshake_timeout_ms: 300,
    security: {
      self_hostname: 'meshlog',
      shared_key_file: keyFile('k.key', 'k'),
      user_auth: true,
      users: [{ username: 'fb', password_file: keyFile('fb.pw', 'pw') }],
    },
  });
  const c = await RawClient.connect(h.source.port);
  const hello = (await c.reply()) as [string, { nonce: Uint8Array; auth: Uint8Array }];
  const authSalt = Buffer.from(hello[1].auth);
  assert.equal(authSalt.length, 16);
  const { ping } = pingFor(hello, 'k');
  ping[4] = 'fb';
  ping[5] = sha512Hex(authSalt, 'fb', 'pw');
  c.send(ping);
  assert.equal((await c.reply() as unknown[])[1], true);
  c.end();

  const silent = await RawClient.connect(h.source.port);
  await silent.reply();
  assert.ok(await silent.closedWithin(3000));
  assert.ok(h.errors.includes('handshake_timeout'));
});

test('stop lets a round in flight finish and acknowledge before closing', async () => {
  const gate = deferred();
  const h = await start({}, () => gate.promise);
  const c = await RawClient.connect(h.source.port);
  c.send(['t', T, { log: 'in flight' }, { chunk: 'last' }]);
  await new Promise((r) => setTimeout(r, 100));
  const stopped = h.source.stop();
  setTimeout(() => gate.resolve(), 200);
  assert.deepEqual(await c.reply(), { ack: 'last' });
  await stopped;
  assert.ok(await c.closedWithin(3000));
  await assert.rejects(RawClient.connect(h.source.port));
});

test('UDP heartbeat answers one byte when enabled', async () => {
  const h = await start({ udp_heartbeat: true });
  const udp = createSocket('udp4');
  const answer = new Promise<Buffer>((resolve) => udp.once('message', (m) => resolve(m)));
  udp.send(Buffer.from([0]), h.source.port, '127.0.0.1');
  assert.deepEqual([...(await answer)], [0]);
  udp.close();
});

test('config: a non-loopback listener needs a shared key; literal secrets are refused', () => {
  const problems = (c: unknown): string => {
    const r = FluentSourceConfigSchema.safeParse(c);
    assert.equal(r.success, false);
    return JSON.stringify(r.error!.issues);
  };
  assert.match(problems({ listen_address: '0.0.0.0' }), /listen_address.*needs security.shared_key_file/);
  assert.ok(FluentSourceConfigSchema.safeParse({ listen_address: '0.0.0.0', insecure_allow_unauthenticated: true }).success);
  assert.ok(FluentSourceConfigSchema.safeParse({ listen_address: '0.0.0.0', security: { shared_key_file: '/k' } }).success);
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(FluentSourceConfigSchema.safeParse({ listen_address: a }).success, a);
  assert.match(problems({ security: { shared_key: 'plain' } }), /literal shared key is not accepted/);
  assert.match(problems({ security: {} }), /security needs shared_key_file or shared_keys/);
  assert.match(problems({ security: { shared_key_file: '/k', user_auth: true } }), /user_auth: true needs at least one entry in users/);
  assert.match(problems({ prot: 1 }), /prot/);
  assert.match(problems({ max_message_bytes: 4096, max_buffered_bytes: 2048 }), /max_buffered_bytes.*at least max_message_bytes/);
});

test('a port in use fails the start naming the address and the way out', async () => {
  const h = await start();
  const cfg = FluentSourceConfigSchema.parse({ port: h.source.port });
  const clash = new FluentSource(cfg, { ...({} as BuildContext), id: 'fluent2', logger: silentLogger, services: new ServiceMap() }, undefined);
  await assert.rejects(clash.start(), /source fluent2: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); choose another port/);
  await clash.stop();
});

test('a key file that cannot be read fails the build naming the key', () => {
  const cfg = FluentSourceConfigSchema.parse({ security: { shared_key_file: join(dir, 'missing.key') } });
  assert.throws(() => loadHandshakeConfig(cfg, { id: 'fluent', logger: silentLogger }), /security.shared_key_file: cannot read .*missing.key \(ENOENT\)/);
});
