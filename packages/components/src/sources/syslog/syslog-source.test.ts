/**
 * The syslog source in-process over real loopback sockets, with a pipeline
 * stand-in whose emit the test controls: batching, TCP flow control under a
 * slow or refusing pipeline, UDP drops under pressure, parse-error modes,
 * truncation, connection limits, idle timeout and the flush on stop.
 * (TLS, and real senders, are in tests/e2e/syslog.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { ServiceMap, retryableError, type BuildContext, type ComponentMetrics, type LogBatch, type Logger, type Source } from '@meshlog/core';
import { SyslogSourceConfigSchema } from './config.js';
import { syslogSource } from './syslog-source.js';

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => res(typeof a === 'object' && a ? a.port : 0));
      });
    });
    // The source binds TCP and UDP on the same number: make sure UDP is free too.
    const udpFree = await new Promise<boolean>((res) => {
      const u = createSocket('udp4');
      u.once('error', () => res(false));
      u.bind(port, '127.0.0.1', () => u.close(() => res(true)));
    });
    if (udpFree) return port;
  }
}

interface Harness {
  source: Source;
  port: number;
  batches: LogBatch[];
  /** Replaces how emit answers; default: accept at once. */
  onEmit: (batch: LogBatch) => Promise<void>;
  counts: { received: number; discarded: Record<string, number>; errors: Record<string, number> };
  warnings: string[];
  records(): number;
  bodies(): string[];
}

async function startSource(overrides: Record<string, unknown> = {}): Promise<Harness> {
  const port = await freePort();
  const counts = { received: 0, discarded: {} as Record<string, number>, errors: {} as Record<string, number> };
  const warnings: string[] = [];
  const metrics: ComponentMetrics = {
    received: (n) => void (counts.received += n),
    sent: () => {},
    discarded: (n, reason) => void (counts.discarded[reason] = (counts.discarded[reason] ?? 0) + n),
    error: (type) => void (counts.errors[type] = (counts.errors[type] ?? 0) + 1),
    queueDepth: () => {},
  };
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => void warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    error: (msg) => void warnings.push(msg),
    child: () => logger,
  };
  const h: Harness = {
    source: undefined as unknown as Source,
    port,
    batches: [],
    onEmit: async () => {},
    counts,
    warnings,
    records: () => h.batches.reduce((n, b) => n + b.records.length, 0),
    bodies: () => h.batches.flatMap((b) => b.records.map((r) => r.body)),
  };
  const ctx: BuildContext = {
    id: 'syslog',
    dataDir: '/nonexistent',
    logger,
    metrics,
    services: new ServiceMap(),
    emit: async (batch) => {
      await h.onEmit(batch as LogBatch);
      h.batches.push(batch as LogBatch);
    },
  };
  const config = SyslogSourceConfigSchema.parse({ port, ...overrides });
  h.source = (await syslogSource.build(config, ctx)) as Source;
  await h.source.start();
  return h;
}

async function tcp(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => s.once('connect', res).once('error', rej));
  return s;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('TCP: newline and octet-counted messages in one stream, batched per connection, in the configured tenant', async () => {
  const h = await startSource({ tenant: 'ops', batch_max_records: 3, batch_max_wait_ms: 50 });
  const s = await tcp(h.port);
  const counted = '<13>1 2024-06-15T10:00:00Z host app 42 m1 [x a="1"] counted';
  s.write(`<14>Jun 15 10:00:00 host app[7]: one\n${Buffer.byteLength(counted)} ${counted}<15>1 - - - - - - three\n<13>four`);
  s.end();
  await until('four records', () => h.records() === 4);
  assert.deepEqual(h.bodies(), ['one', 'counted', 'three', 'four']);
  assert.deepEqual(
    h.batches.map((b) => b.records.length),
    [3, 1],
    'batch_max_records, then the rest when the connection ends',
  );
  assert.ok(h.batches.every((b) => b.tenant === 'ops' && b.source === 'syslog'));
  const r = h.batches[0]!.records[1]!;
  assert.equal(r.attributes['syslog.sd.x.a'], '1');
  assert.equal(r.attributes['network.transport'], 'tcp');
  assert.equal(r.attributes['network.peer.address'], '127.0.0.1');
  assert.equal(r.resource['service.name'], 'app');
  assert.equal(h.counts.received, 4);
  await h.source.stop();
});

test('TCP: a partial batch is handed over after batch_max_wait_ms', async () => {
  const h = await startSource({ batch_max_wait_ms: 30 });
  const s = await tcp(h.port);
  s.write('<13>1 - h a - - - only one\n');
  await until('the timed flush', () => h.records() === 1, 2000);
  s.destroy();
  await h.source.stop();
});

test('UDP: one message per datagram, trailing newline removed', async () => {
  const h = await startSource({ batch_max_wait_ms: 20 });
  const u = createSocket('udp4');
  await new Promise<void>((res) => u.send('<190>1 2024-06-15T10:00:00Z host app - - - over udp\n', h.port, '127.0.0.1', () => res()));
  await new Promise<void>((res) => u.send('<190>Jun 15 10:00:00 host app: bsd over udp', h.port, '127.0.0.1', () => res()));
  await until('two records', () => h.records() === 2);
  u.close();
  assert.deepEqual(h.bodies().sort(), ['bsd over udp', 'over udp']);
  assert.equal(h.batches[0]!.records[0]!.attributes['network.transport'], 'udp');
  await h.source.stop();
});

test('TCP flow control: a slow pipeline pauses the connection, nothing is lost, and reading resumes', async () => {
  const h = await startSource({ batch_max_records: 100, batch_max_wait_ms: 10 });
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  let inFlight = 0;
  let maxInFlight = 0;
  h.onEmit = async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await gate;
    inFlight--;
  };
  const s = await tcp(h.port);
  const total = 200_000;
  const line = (i: number): string => `<13>1 - host app - - - message ${i} ${'p'.repeat(200)}\n`;
  let i = 0;
  let blocked = false;
  const writeMore = (): void => {
    while (i < total) {
      if (!s.write(line(i++))) {
        blocked = true;
        s.once('drain', writeMore);
        return;
      }
    }
    s.end();
  };
  writeMore();
  await until('the sender to be blocked by TCP flow control', () => blocked && inFlight >= 4, 10_000);
  const received = h.counts.received;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.counts.received, received, 'nothing more is read while the pipeline is stuck');
  // MAX_IN_FLIGHT (4), plus the batches of the one chunk being decoded when the limit was hit.
  assert.ok(maxInFlight >= 4 && maxInFlight <= 8, `batches waiting on the pipeline: ${maxInFlight}`);
  assert.ok(received < total, 'the sender could not write everything while the pipeline was stuck');
  release();
  gate = Promise.resolve();
  await until('every record', () => h.records() === total, 60_000);
  const seen = new Set(h.bodies().map((b) => Number(b.split(' ')[1])));
  assert.equal(seen.size, total);
  assert.deepEqual(h.counts.discarded, {});
  await h.source.stop();
});

test('TCP: batches the pipeline refuses for now are retried until taken', async () => {
  const h = await startSource({ batch_max_wait_ms: 10 });
  let refusals = 3;
  h.onEmit = async () => {
    if (refusals-- > 0) throw retryableError('queue_full', 'ingest queue is full', 20);
  };
  const s = await tcp(h.port);
  s.end('<13>1 - h a - - - survives refusals\n');
  await until('the record', () => h.records() === 1, 5000);
  assert.equal(h.counts.errors['retry_queue_full'], 3);
  assert.deepEqual(h.counts.discarded, {});
  await h.source.stop();
});

test('UDP under pressure drops whole batches and counts them as queue_full', async () => {
  const h = await startSource({ batch_max_records: 10, batch_max_wait_ms: 5 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  h.onEmit = () => gate;
  const u = createSocket('udp4');
  for (let i = 0; i < 200; i++) {
    await new Promise<void>((res) => u.send(`<13>1 - h a - - - dgram ${i}`, h.port, '127.0.0.1', () => res()));
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 15));
  }
  await until('drops to be counted', () => (h.counts.discarded['queue_full'] ?? 0) > 0);
  release();
  await until('in-flight batches to land', () => h.records() === 40, 5000);
  u.close();
  await h.source.stop();
  assert.equal(h.records() + (h.counts.discarded['queue_full'] ?? 0), h.counts.received, 'every datagram is stored or counted');
});

test('lines that are not syslog: kept with syslog.parse_error (default) or dropped and counted as invalid', async () => {
  const keep = await startSource({ batch_max_wait_ms: 10 });
  const s = await tcp(keep.port);
  s.end('this is not syslog\n<13>1 bad-timestamp h a - - - x\n<13>1 - h a - - - fine\n');
  await until('three records', () => keep.records() === 3);
  const [a, b] = keep.batches.flatMap((x) => x.records);
  assert.equal(a!.body, 'this is not syslog');
  assert.equal(a!.severityNumber, 0);
  assert.equal(a!.attributes['syslog.parse_error'], 'missing <PRI> at the start of the line');
  assert.match(String(b!.attributes['syslog.parse_error']), /RFC 5424 TIMESTAMP/);
  assert.equal(keep.counts.errors['syslog_parse_error'], 2);
  assert.deepEqual(keep.counts.discarded, {}, 'kept lines are not discarded');
  assert.ok(keep.warnings.some((w) => w.includes('a line is not syslog')));
  await keep.source.stop();

  const drop = await startSource({ batch_max_wait_ms: 10, on_parse_error: 'drop' });
  const s2 = await tcp(drop.port);
  s2.end('junk one\njunk two\n<13>1 - h a - - - fine\n');
  await until('one record', () => drop.records() === 1);
  await until('two discards', () => drop.counts.discarded['invalid'] === 2);
  assert.equal(drop.counts.received, 3);
  await drop.source.stop();
});

test('a message longer than max_message_bytes is cut, marked and counted; the stream stays in sync', async () => {
  const h = await startSource({ batch_max_wait_ms: 10, max_message_bytes: 1024 });
  const s = await tcp(h.port);
  s.end(`<13>1 - h a - - - ${'x'.repeat(5000)}\n<13>1 - h a - - - next\n`);
  await until('two records', () => h.records() === 2);
  const [long, next] = h.batches.flatMap((b) => b.records);
  assert.equal(Buffer.byteLength(long!.body) + '<13>1 - h a - - - '.length, 1024);
  assert.equal(long!.attributes['syslog.truncated_from_bytes'], 5018, 'the frame without its LF');
  assert.equal(next!.body, 'next');
  assert.equal(h.counts.errors['message_truncated'], 1);
  await h.source.stop();
});

test('max_connections refuses further connections (counted); idle connections are closed', async () => {
  const h = await startSource({ max_connections: 2, idle_timeout_ms: 1000 });
  const a = await tcp(h.port);
  const b = await tcp(h.port);
  const c = await tcp(h.port);
  const cClosed = new Promise<void>((res) => c.once('close', () => res()));
  c.on('error', () => {});
  await cClosed;
  await until('the refusal to be counted', () => h.counts.errors['too_many_connections'] === 1);
  const aClosed = new Promise<number>((res) => {
    const t = Date.now();
    a.once('close', () => res(Date.now() - t));
  });
  b.destroy();
  const idleFor = await aClosed;
  assert.ok(idleFor >= 800 && idleFor < 3000, `idle connection closed after ${idleFor} ms`);
  assert.ok((h.counts.errors['idle_timeout'] ?? 0) >= 1);
  await h.source.stop();
});

test('stop hands over what was read (a batch still filling), then closes connections', async () => {
  const h = await startSource({ batch_max_records: 1000, batch_max_wait_ms: 10_000 });
  const s = await tcp(h.port);
  s.on('error', () => {});
  const closed = new Promise<void>((res) => s.once('close', () => res()));
  s.write('<13>1 - h a - - - one\n<13>1 - h a - - - two\n');
  await until('the source to have read them', () => h.counts.received === 2);
  assert.equal(h.records(), 0, 'still in the filling batch');
  await h.source.stop();
  assert.equal(h.records(), 2);
  await closed;
  await h.source.stop();
});

test('a TLS port without a certificate stays off with a warning naming the key', async () => {
  const h = await startSource({ tls_port: await freePort() });
  assert.ok(h.warnings.some((w) => w.includes('syslog over TLS stays off') && w.includes('tls.cert_file')), h.warnings.join('\n'));
  await h.source.stop();
});

test('config: cert and key go together, client_auth needs a CA, unknown keys are rejected', () => {
  assert.throws(() => SyslogSourceConfigSchema.parse({ tls: { cert_file: 'c.pem' } }), /key_file is required/);
  assert.throws(() => SyslogSourceConfigSchema.parse({ tls: { cert_file: 'c.pem', key_file: 'k.pem', client_auth: 'required' } }), /needs ca_file/);
  assert.throws(() => SyslogSourceConfigSchema.parse({ prot: 1 }), /prot/);
  assert.throws(() => SyslogSourceConfigSchema.parse({ tenant: '../x' }), /letters, digits/);
});
