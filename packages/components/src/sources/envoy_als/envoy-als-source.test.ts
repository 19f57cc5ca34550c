import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GRPC_INGEST_SERVICE,
  GrpcIngestError,
  GrpcStatus,
  ServiceMap,
  permanentError,
  retryableError,
  silentLogger,
  type Batch,
  type BuildContext,
  type ComponentMetrics,
  type GrpcCall,
  type GrpcClientStreamMethod,
  type GrpcIngestHost,
  type GrpcService,
  type Source,
} from '@meshlog/core';
import { envoyAlsSource } from './envoy-als-source.js';
import { alsType } from './als-proto.js';

/** A host that keeps what sources register, so a test can call handlers directly. */
class FakeGrpcHost implements GrpcIngestHost {
  services = new Map<string, GrpcService[]>();
  unregistered: string[] = [];
  register(owner: string, services: GrpcService[]): void {
    this.services.set(owner, services);
  }
  unregister(owner: string): void {
    this.unregistered.push(owner);
  }
  method(owner: string): GrpcClientStreamMethod {
    const m = this.services.get(owner)![0]!.methods[0]!;
    assert.equal(m.type, 'client_stream');
    return m as GrpcClientStreamMethod;
  }
}

interface Harness {
  host: FakeGrpcHost;
  source: Source;
  emitted: Batch[];
  discarded: { n: number; reason: string; tenant: string }[];
  /** What the next emits do: resolve, or reject with this error. */
  failNext: Error[];
}

async function harness(): Promise<Harness> {
  const host = new FakeGrpcHost();
  const h: Harness = { host, source: undefined as unknown as Source, emitted: [], discarded: [], failNext: [] };
  const metrics: ComponentMetrics = {
    received: () => undefined,
    sent: () => undefined,
    discarded: (n, reason, tenant) => h.discarded.push({ n, reason, tenant }),
    error: () => undefined,
    queueDepth: () => undefined,
  };
  const ctx: BuildContext = {
    id: 'envoy_als',
    dataDir: '/nonexistent',
    logger: silentLogger,
    metrics,
    services: new ServiceMap().set(GRPC_INGEST_SERVICE, host),
    emit: async (batch) => {
      const f = h.failNext.shift();
      if (f) throw f;
      h.emitted.push(batch);
    },
  };
  h.source = (await envoyAlsSource.build(envoyAlsSource.schema.parse({}), ctx)) as Source;
  await h.source.start();
  return h;
}

const call: GrpcCall = { tenant: 'acme', peer: 'ipv4:127.0.0.1:1', metadata: {}, signal: new AbortController().signal };

function msg(o: Record<string, unknown>): Buffer {
  const t = alsType('StreamAccessLogsMessage');
  return Buffer.from(t.encode(t.fromObject(o)).finish());
}

async function* stream(...messages: Buffer[]): AsyncGenerator<Buffer> {
  for (const m of messages) yield m;
}

const FIRST = msg({ identifier: { node: { id: 'sidecar~10.0.0.1~web-6d4b9c7f5-abcde.shop~shop.svc.cluster.local', cluster: 'web.shop' }, logName: 'als' }, httpLogs: { logEntry: [{ request: { path: '/1' } }] } });
const SECOND = msg({ tcpLogs: { logEntry: [{ connectionProperties: { sentBytes: 5 } }, { connectionProperties: { sentBytes: 6 } }] } });

test('registers StreamAccessLogs on the gRPC host; emits each message as its own batch, tenant from the call', async () => {
  const h = await harness();
  const services = h.host.services.get('envoy_als')!;
  assert.equal(services[0]!.name, 'envoy.service.accesslog.v3.AccessLogService');
  assert.equal(services[0]!.methods[0]!.name, 'StreamAccessLogs');
  const response = await h.host.method('envoy_als').handler(stream(FIRST, SECOND), call);
  assert.equal(response.length, 0, 'StreamAccessLogsResponse is empty');
  assert.deepEqual(
    h.emitted.map((b) => (b.kind === 'logs' ? b.records.length : -1)),
    [1, 2],
  );
  assert.ok(h.emitted.every((b) => b.tenant === 'acme' && b.source === 'envoy_als' && b.id === undefined));
  // The node of the first message is the resource of the later one's records too.
  const second = h.emitted[1]!;
  assert.equal(second.kind === 'logs' && second.records[0]!.resource['service.name'], 'web');
  await h.source.stop();
  await h.source.stop();
  assert.deepEqual(h.host.unregistered, ['envoy_als']);
});

test('a bad message ends the stream with INVALID_ARGUMENT; earlier messages stay emitted', async () => {
  const h = await harness();
  await assert.rejects(
    h.host.method('envoy_als').handler(stream(FIRST, Buffer.from([0x0a, 0x05, 0x01]), SECOND), call),
    (err: unknown) => err instanceof GrpcIngestError && err.code === GrpcStatus.INVALID_ARGUMENT && /message 1 of the stream/.test(err.message),
  );
  assert.equal(h.emitted.length, 1);
});

test('backpressure past max_wait_ms: UNAVAILABLE with a retry delay, and the message counted as discarded', async () => {
  const h = await harness();
  h.failNext.push(retryableError('queue_full', 'ingest queue is full', 1500));
  await assert.rejects(h.host.method('envoy_als').handler(stream(FIRST, SECOND), call), (err: unknown) => {
    assert.ok(err instanceof GrpcIngestError);
    assert.equal(err.code, GrpcStatus.UNAVAILABLE);
    assert.equal(err.retryAfterMs, 1500);
    return true;
  });
  assert.deepEqual(h.discarded, [{ n: 1, reason: 'queue_full', tenant: 'acme' }]);
  assert.equal(h.emitted.length, 0, 'nothing after the failed message is taken');

  const p = await harness();
  p.failNext.push(permanentError('invalid', 'bad batch'));
  await assert.rejects(p.host.method('envoy_als').handler(stream(FIRST), call), (err: unknown) => err instanceof GrpcIngestError && err.code === GrpcStatus.INVALID_ARGUMENT);
});

test('at most max_in_flight_messages await durability; the next message is read only when one settles', async () => {
  const host = new FakeGrpcHost();
  const gates: (() => void)[] = [];
  const ctx = {
    id: 'als',
    logger: silentLogger,
    metrics: { received: () => undefined, sent: () => undefined, discarded: () => undefined, error: () => undefined, queueDepth: () => undefined },
    services: new ServiceMap().set(GRPC_INGEST_SERVICE, host),
    emit: () => new Promise<void>((resolve) => gates.push(resolve)),
  } as unknown as BuildContext;
  const source = (await envoyAlsSource.build(envoyAlsSource.schema.parse({ max_in_flight_messages: 2 }), ctx)) as Source;
  await source.start();
  let pulled = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for (const m of [FIRST, SECOND, SECOND, SECOND]) {
      pulled++;
      yield m;
    }
  }
  const done = host.method('als').handler(counted(), call);
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  await settle();
  assert.equal(gates.length, 2);
  assert.equal(pulled, 2, 'the third message waits for room in the window');
  gates.shift()!();
  await settle();
  assert.equal(pulled, 3);
  assert.equal(gates.length, 2);
  let finished = false;
  void done.then(() => (finished = true));
  gates.shift()!();
  await settle();
  assert.equal(pulled, 4);
  // The stream has ended on the client side, but the answer waits for what is in flight.
  assert.equal(finished, false);
  for (const g of gates.splice(0)) g();
  await settle();
  for (const g of gates.splice(0)) g();
  assert.equal((await done).length, 0);
});

test('the source refuses to start without a gRPC listener', async () => {
  const ctx = { id: 'als', services: new ServiceMap() } as unknown as BuildContext;
  const s = (await envoyAlsSource.build(envoyAlsSource.schema.parse({}), ctx)) as Source;
  await assert.rejects(s.start(), /no gRPC listener.*grpc_port/);
});

test('config is strict', () => {
  assert.equal(envoyAlsSource.schema.parse({}).max_wait_ms, 30_000);
  assert.throws(() => envoyAlsSource.schema.parse({ max_wait: 1 }));
});
