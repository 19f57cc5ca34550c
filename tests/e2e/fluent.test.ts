/**
 * End to end with the client users run: the official Node client of the
 * Fluentd forward protocol (@fluent-org/logger) sends to a `meshlog server`
 * child process over a real socket, in each of its four event modes with
 * chunk acknowledgements on, and the records are read back through Loki's
 * `query_range`. Also: the shared-key handshake with the right and a wrong
 * key, and a server killed before it answered a chunk (the client resends;
 * the record is stored once), and a chunk resent after a restart as Fluent
 * Bit and Fluentd resend it (same chunk id) is not stored twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { EventTime, FluentClient, FluentSocketEvent, type FluentClientOptions } from '@fluent-org/logger';
import { encode, decode } from '@msgpack/msgpack';
import { freePort, linesOf, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';

type EventMode = NonNullable<FluentClientOptions['eventMode']>;

let server: ServerProcess;
let forwardPort: number;
before(async () => {
  forwardPort = await freePort();
  // The helper turns the forward listener off; a later flag wins.
  server = await startServerProcess({ args: ['--forward-port', String(forwardPort)] });
});
after(async () => {
  await server.stop();
});

function client(port: number, eventMode: EventMode, extra: Partial<FluentClientOptions> = {}): FluentClient {
  return new FluentClient('e2e', {
    eventMode,
    socket: { host: '127.0.0.1', port, timeout: -1, reconnect: { delay: 100, maxDelay: 500 } },
    // Chunk acknowledgements on: each emit resolves only when the server has answered its chunk.
    ack: { ackTimeout: 15_000 },
    ...extra,
  });
}

async function shutdown(c: FluentClient): Promise<void> {
  await c.shutdown().catch(() => undefined);
}

test('every event mode from @fluent-org/logger with chunk acks reads back with its mapping', async () => {
  const marker = randomUUID();
  const sec = Math.floor(Date.now() / 1000) - 5;
  for (const [i, mode] of (['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as EventMode[]).entries()) {
    const c = client(forwardPort, mode);
    const sent = Array.from({ length: 5 }, (_, j) =>
      c.emit(
        'checkout',
        {
          log: `${mode} line ${j} ${marker}\n`,
          level: j === 0 ? 'error' : 'info',
          stream: 'stdout',
          trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
          kubernetes: { namespace_name: 'fluent-e2e', pod_name: 'checkout-6d5f', container_name: 'server', host: 'node-1', labels: { app: 'checkout-fluent' } },
          http: { status: 200 + j },
        },
        new EventTime(sec, i * 1_000_000 + j * 1000 + 7),
      ),
    );
    await Promise.all(sent);
    await shutdown(c);
  }

  const res = await lokiQueryRange(server, `{service_name="checkout-fluent", k8s_namespace_name="fluent-e2e"} |= "${marker}"`);
  assert.equal(res.status, 200);
  const lines = linesOf(res.body).sort();
  assert.equal(lines.length, 20);
  for (const mode of ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward']) {
    assert.deepEqual(lines.filter((l) => l.startsWith(`${mode} line`)).sort(), [0, 1, 2, 3, 4].map((j) => `${mode} line ${j} ${marker}`));
  }
  // EventTime keeps nanoseconds end to end.
  const stamps = res.body.data.result.flatMap((s) => s.values.map((v) => v[0])).sort();
  assert.equal(stamps[0], `${sec}000000007`);
  const stream = res.body.data.result[0]!.stream;
  assert.equal(stream['k8s_pod_name'], 'checkout-6d5f');
  assert.equal(stream['k8s_container_name'], 'server');
});

test('a server with a shared key: the right key is accepted, a wrong key gets PONG false and nothing is stored', async () => {
  const dir = tempDir();
  const keyFile = join(dir, 'fluent.key');
  writeFileSync(keyFile, 'e2e-shared-secret\n', { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    `sources:
  fluent:
    type: fluent
    port: ${port}
    security:
      self_hostname: meshlog-e2e
      shared_key_file: ${keyFile}
sinks:
  store:
    type: store
    inputs: [fluent]
`,
  );
  const secured = await startServerProcess({ dataDir: join(dir, 'data'), args: ['--config', config] });
  try {
    const marker = randomUUID();
    const good = client(port, 'Forward', { security: { clientHostname: 'node-a', sharedKey: 'e2e-shared-secret' } });
    await Promise.all([good.emit('auth', { message: `with key ${marker}`, app: 'auth-e2e' }), good.emit('auth', { message: `again ${marker}`, app: 'auth-e2e' })]);
    await shutdown(good);

    const authErrors: Error[] = [];
    const bad = client(port, 'Forward', { security: { clientHostname: 'node-b', sharedKey: 'guessed' }, ack: { ackTimeout: 1500 } });
    bad.socketOn(FluentSocketEvent.ERROR, (e: Error) => authErrors.push(e));
    const attempt = bad.emit('auth', { message: `wrong key ${marker}`, app: 'auth-e2e' }).then(
      () => 'stored',
      () => 'refused',
    );
    const deadline = Date.now() + 10_000;
    while (authErrors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(String(authErrors[0]), /Authentication failed: shared_key mismatch/);
    await shutdown(bad);
    assert.equal(await attempt, 'refused');

    const res = await lokiQueryRange(secured, `{service_name="auth-e2e"} |= "${marker}"`);
    assert.deepEqual(linesOf(res.body).sort(), [`again ${marker}`, `with key ${marker}`]);
    assert.match(secured.output(), /"reason":"auth_failed".*shared_key mismatch/);
  } finally {
    await secured.stop();
  }
});

test('a chunk the server never answered (killed first) is resent by the client and stored once', async () => {
  const dir = tempDir();
  const port = await freePort();
  const httpPort = await freePort();
  const dataDir = join(dir, 'data');
  const args = ['--forward-port', String(port)];
  let s = await startServerProcess({ dataDir, port: httpPort, args });
  // Whatever fails below, no frozen or orphaned server may outlive the test.
  const reap = (): void => {
    if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
  };
  const marker = randomUUID();
  const resends: string[] = [];
  const c = client(port, 'PackedForward', {
    ack: { ackTimeout: 4000 },
    // The client's resend policy: a chunk without an ack is sent again.
    eventRetry: { attempts: 120, delay: 250, backoff: 1, minDelay: 250, maxDelay: 500, onError: (e) => resends.push(e.name) },
  });
  try {
    await c.emit('kill', { log: `warm-up ${marker}`, app: 'kill-e2e' });
    // Freeze the server so it cannot answer, let the chunk reach its socket, then kill it.
    s.proc.kill('SIGSTOP');
    const pending = c.emit('kill', { log: `in flight ${marker}`, app: 'kill-e2e' });
    await new Promise((r) => setTimeout(r, 300));
    await s.kill9();
    s = await startServerProcess({ dataDir, port: httpPort, args });
    await pending;
    assert.ok(resends.length > 0, 'the chunk sent to the frozen server was never acknowledged and had to be resent');
    const res = await lokiQueryRange(s, `{service_name="kill-e2e"} |= "${marker}"`);
    assert.deepEqual(linesOf(res.body).sort(), [`in flight ${marker}`, `warm-up ${marker}`]);
  } catch (err) {
    reap();
    throw err;
  } finally {
    await shutdown(c);
  }

  // Fluent Bit and Fluentd resend the same chunk id when an ack went missing;
  // a chunk that was stored before the restart is acknowledged, not stored again.
  const chunk = Buffer.from(encode(['dedup.tag', [[Math.floor(Date.now() / 1000), { log: `chunk ${marker}`, app: 'kill-e2e' }]], { chunk: `fixed-${marker}`, size: 1 }]));
  const sendRaw = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port }, () => sock.write(chunk));
      sock.once('data', (d) => {
        sock.destroy();
        resolve(decode(d));
      });
      sock.once('error', reject);
    });
  try {
    assert.deepEqual(await sendRaw(), { ack: `fixed-${marker}` });
    await s.kill9();
    s = await startServerProcess({ dataDir, port: httpPort, args });
    assert.deepEqual(await sendRaw(), { ack: `fixed-${marker}` });
    const res = await lokiQueryRange(s, `{service_name="kill-e2e"} |= "chunk ${marker}"`);
    assert.deepEqual(linesOf(res.body), [`chunk ${marker}`]);
  } finally {
    await s.stop();
  }
});
