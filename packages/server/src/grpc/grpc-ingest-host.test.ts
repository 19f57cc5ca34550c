import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcIngestError, GrpcStatus, silentLogger, type GrpcCall } from '@meshlog/core';
import { decodeRetryDelayMs } from '@meshlog/components';
import { GrpcJsIngestHost, bearerTokenAuthenticator, type GrpcIngestHostOptions } from './grpc-ingest-host.js';
import { AuditTrail } from '../audit/audit-trail.js';
import type { Principal } from '../auth/principal.js';

const TOKEN = 'mlk_test-token';
const VIEWER_TOKEN = 'mlk_viewer-token';
const INGESTER: Principal = { id: 'tok_ingester', kind: 'token', name: 'ingester', tenant: 'acme', roles: ['ingester'], method: 'token' };
const VIEWER: Principal = { id: 'tok_viewer', kind: 'token', name: 'viewer', tenant: 'acme', roles: ['viewer'], method: 'token' };
interface AuditBody {
  tenant: string;
  outcome: string;
  status: string;
  action: string;
  actor: { id: string } | null;
}
const audited: AuditBody[] = [];
const MAX = 64 * 1024;

function options(overrides: Partial<GrpcIngestHostOptions> = {}): GrpcIngestHostOptions {
  return {
    listenAddress: '127.0.0.1',
    port: 0,
    maxReceiveMessageBytes: MAX,
    maxConcurrentStreams: 10,
    keepaliveTimeMs: 60_000,
    keepaliveTimeoutMs: 20_000,
    maxConnectionIdleMs: 300_000,
    shutdownGraceMs: 5_000,
    maxConnections: 100,
    authenticate: bearerTokenAuthenticator((t) => (t === TOKEN ? INGESTER : t === VIEWER_TOKEN ? VIEWER : undefined)),
    audit: new AuditTrail({ insertAudit: async (batches) => void audited.push(...batches.flatMap((b) => b.records.map((r) => JSON.parse(r.body) as AuditBody))) }, silentLogger),
    operatorTenant: 'default',
    ...overrides,
  };
}

const seen: { request: Buffer; call: GrpcCall }[] = [];
let behaviour: (req: Buffer) => Promise<Buffer> = async (req) => Buffer.from(`echo:${req.length}`);
const streamed: Buffer[][] = [];
let streamHandlersSettled = 0;

let host: GrpcJsIngestHost;
let address: string;

before(async () => {
  host = new GrpcJsIngestHost(options(), silentLogger);
  host.register('test_source', [
    {
      name: 'test.v1.Ingest',
      permission: 'ingest',
      methods: [
        {
          type: 'unary',
          name: 'Put',
          handler: async (request, call) => {
            seen.push({ request, call });
            return behaviour(request);
          },
        },
        {
          type: 'client_stream',
          name: 'Stream',
          handler: async (messages) => {
            const got: Buffer[] = [];
            streamed.push(got);
            try {
              for await (const m of messages) got.push(m);
              return Buffer.from(`got:${got.length}`);
            } finally {
              streamHandlersSettled++;
            }
          },
        },
      ],
    },
  ]);
  address = `127.0.0.1:${await host.listen()}`;
});

after(async () => {
  await host.close();
});

const raw = (b: Buffer): Buffer => b;

function client(channelOptions: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions);
}

function auth(token = TOKEN): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

function put(c: grpc.Client, body: Buffer, md = auth(), method = '/test.v1.Ingest/Put'): Promise<{ err: grpc.ServiceError | null; res: Buffer | undefined }> {
  return new Promise((resolve) => c.makeUnaryRequest(method, raw, raw, body, md, {}, (err, res) => resolve({ err, res })));
}

test('an authenticated unary call reaches the handler with the tenant of the token; credentials are not passed on', async () => {
  const c = client();
  const md = auth();
  md.set('x-scope-orgid', 'someone-else');
  const { err, res } = await put(c, Buffer.from('hello'), md);
  assert.equal(err, null);
  assert.equal(res!.toString(), 'echo:5');
  const last = seen.at(-1)!;
  assert.equal(last.request.toString(), 'hello');
  assert.equal(last.call.tenant, 'acme', 'the tenant comes from the token, not from metadata');
  assert.equal(last.call.metadata['authorization'], undefined);
  assert.deepEqual(last.call.metadata['x-scope-orgid'], ['someone-else']);
  assert.match(last.call.peer, /127\.0\.0\.1/);
  c.close();
});

test('no token or a wrong one: UNAUTHENTICATED, and the handler never runs', async () => {
  const c = client();
  const before = seen.length;
  const none = await put(c, Buffer.from('x'), new grpc.Metadata());
  assert.equal(none.err?.code, grpc.status.UNAUTHENTICATED);
  assert.match(none.err!.details, /authorization: Bearer <token>/);
  const wrong = await put(c, Buffer.from('x'), auth('mlk_nope'));
  assert.equal(wrong.err?.code, grpc.status.UNAUTHENTICATED);
  assert.match(wrong.err!.details, /invalid, expired or revoked/);
  const stream = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = c.makeClientStreamRequest('/test.v1.Ingest/Stream', raw, raw, new grpc.Metadata(), {}, (e) => resolve(e));
    call.write(Buffer.from('a'));
    call.end();
  });
  assert.equal(stream?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(seen.length, before);
  c.close();
});

test('a token without logs:write (a viewer) gets PERMISSION_DENIED naming the permission; the handler never runs', async () => {
  const c = client();
  const before = seen.length;
  const { err } = await put(c, Buffer.from('x'), auth(VIEWER_TOKEN));
  assert.equal(err?.code, grpc.status.PERMISSION_DENIED);
  assert.match(err!.details, /needs the "logs:write" permission.*this identity has viewer/);
  assert.equal(seen.length, before);
  c.close();
});

test('every call leaves exactly one audit record, with its actor, tenant and outcome, before its status is sent', async () => {
  const c = client();
  const before = audited.length;
  await put(c, Buffer.from('ok'));
  await put(c, Buffer.from('x'), auth('mlk_nope'));
  await put(c, Buffer.from('x'), auth(VIEWER_TOKEN));
  const records = audited.slice(before);
  assert.equal(records.length, 3, 'one record per call, each written before the client saw the answer');
  assert.deepEqual(
    records.map((r) => [r.outcome, r.status, r.tenant, r.actor?.id ?? null, r.action]),
    [
      ['success', 'OK', 'acme', 'tok_ingester', 'ingest.test_source'],
      ['unauthenticated', 'UNAUTHENTICATED', 'default', null, 'ingest.test_source'],
      ['denied', 'PERMISSION_DENIED', 'acme', 'tok_viewer', 'ingest.test_source'],
    ],
  );
  c.close();
});

test('a call whose audit record cannot be written is answered UNAVAILABLE (fail closed)', async () => {
  const failing = new GrpcJsIngestHost(options({ audit: new AuditTrail({ insertAudit: () => Promise.reject(new Error('disk full')) }, silentLogger) }), silentLogger);
  failing.register('failing_source', [{ name: 'test.v1.Failing', permission: 'ingest', methods: [{ type: 'unary', name: 'Put', handler: async () => Buffer.from('served') }] }]);
  const port = await failing.listen();
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const { err } = await put(c, Buffer.from('x'), auth(), '/test.v1.Failing/Put');
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
    assert.match(err!.details, /audit trail cannot be written/);
  } finally {
    c.close();
    await failing.close();
  }
});

test('over its rate limit, a call gets RESOURCE_EXHAUSTED with a RetryInfo delay, and the handler never runs', async () => {
  const limited = new GrpcJsIngestHost(options({ rateLimit: (p, bytes) => (p.id === 'tok_ingester' && bytes === 3 ? 2.2 : 0) }), silentLogger);
  let ran = 0;
  limited.register('limited_source', [{ name: 'test.v1.Limited', permission: 'ingest', methods: [{ type: 'unary', name: 'Put', handler: async () => (ran++, Buffer.from('ok')) }] }]);
  const port = await limited.listen();
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const { err } = await put(c, Buffer.from('abc'), auth(), '/test.v1.Limited/Put');
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(err!.details, /over its request rate or ingest quota \(limits\.rate\); retry in 3 s/);
    assert.equal(decodeRetryDelayMs(err!.metadata.get('grpc-status-details-bin')[0] as Buffer), 3000);
    assert.equal(ran, 0);
    assert.equal((await put(c, Buffer.from('abcd'), auth(), '/test.v1.Limited/Put')).err, null);
  } finally {
    c.close();
    await limited.close();
  }
});

test('a GrpcIngestError with a delay becomes its status plus a google.rpc.RetryInfo trailer', async () => {
  const c = client();
  behaviour = async () => {
    throw new GrpcIngestError(GrpcStatus.RESOURCE_EXHAUSTED, 'ingest queue is full', { retryAfterMs: 1500 });
  };
  const { err } = await put(c, Buffer.from('x'));
  assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(err?.details, 'ingest queue is full');
  const details = err!.metadata.get('grpc-status-details-bin')[0];
  assert.ok(Buffer.isBuffer(details));
  assert.equal(decodeRetryDelayMs(details), 1500);
  behaviour = async () => {
    throw new GrpcIngestError(GrpcStatus.INVALID_ARGUMENT, 'resourceLogs[0]: bad');
  };
  const bad = await put(c, Buffer.from('x'));
  assert.equal(bad.err?.code, grpc.status.INVALID_ARGUMENT);
  assert.deepEqual(bad.err?.metadata.get('grpc-status-details-bin'), []);
  c.close();
});

test('an unexpected handler error is INTERNAL without its details', async () => {
  const c = client();
  behaviour = async () => {
    throw new Error('connection string postgres://secret@db');
  };
  const { err } = await put(c, Buffer.from('x'));
  assert.equal(err?.code, grpc.status.INTERNAL);
  assert.doesNotMatch(err!.details, /secret/);
  behaviour = async (req) => Buffer.from(`echo:${req.length}`);
  c.close();
});

test('messages over max_receive_message_bytes get RESOURCE_EXHAUSTED, also when they only grow that big once decompressed', async () => {
  const c = client();
  const before = seen.length;
  const big = await put(c, Buffer.alloc(MAX + 1, 1));
  assert.equal(big.err?.code, grpc.status.RESOURCE_EXHAUSTED);
  const gz = client({ 'grpc.default_compression_algorithm': 2 });
  // Compresses to a few hundred bytes, decompresses past the limit.
  const bomb = await put(gz, Buffer.alloc(MAX * 4, 0));
  assert.equal(bomb.err?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(seen.length, before);
  // Within the limit, gzip is undone before the handler sees the bytes.
  const ok = await put(gz, Buffer.alloc(1000, 7));
  assert.equal(ok.err, null);
  assert.equal(seen.at(-1)!.request.length, 1000);
  c.close();
  gz.close();
});

test('an oversized message in a client stream ends it with RESOURCE_EXHAUSTED, and the handler does not hang', async () => {
  const c = client();
  const settledBefore = streamHandlersSettled;
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = c.makeClientStreamRequest('/test.v1.Ingest/Stream', raw, raw, auth(), {}, (e) => resolve(e));
    call.write(Buffer.from('small'));
    call.write(Buffer.alloc(MAX + 10, 2));
    call.write(Buffer.from('never'));
  });
  assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
  const deadline = Date.now() + 5_000;
  while (streamHandlersSettled === settledBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(streamHandlersSettled, settledBefore + 1);
  assert.deepEqual(streamed.at(-1)!.map((b) => b.toString()), ['small']);
  c.close();
});

test('client streams deliver their messages in order; unknown methods are UNIMPLEMENTED', async () => {
  const c = client();
  const result = await new Promise<{ err: grpc.ServiceError | null; res: Buffer | undefined }>((resolve) => {
    const call = c.makeClientStreamRequest('/test.v1.Ingest/Stream', raw, raw, auth(), {}, (err, res) => resolve({ err, res }));
    for (let i = 0; i < 50; i++) call.write(Buffer.from(`m${i}`));
    call.end();
  });
  assert.equal(result.err, null);
  assert.equal(result.res!.toString(), 'got:50');
  assert.deepEqual(
    streamed.at(-1)!.map((b) => b.toString()),
    Array.from({ length: 50 }, (_, i) => `m${i}`),
  );
  const unknown = await put(c, Buffer.from('x'), auth(), '/test.v1.Ingest/Nope');
  assert.equal(unknown.err?.code, grpc.status.UNIMPLEMENTED);
  c.close();
});

test('services must be registered before the listener starts', () => {
  assert.throws(() => host.register('late', [{ name: 'late.v1.S', permission: 'ingest', methods: [] }]), /before the listener starts/);
});

test('shutdown: an unregistered owner answers UNAVAILABLE; an open stream ends at a message boundary and close() does not wait out the grace period', async () => {
  const h = new GrpcJsIngestHost(options({ shutdownGraceMs: 20_000 }), silentLogger);
  const received: string[] = [];
  h.register('als', [
    {
      name: 'test.v1.Ingest',
      permission: 'ingest',
      methods: [
        {
          type: 'client_stream',
          name: 'Stream',
          handler: async (messages) => {
            for await (const m of messages) received.push(m.toString());
            return Buffer.from('drained');
          },
        },
        { type: 'unary', name: 'Put', handler: async () => Buffer.from('ok') },
      ],
    },
  ]);
  const port = await h.listen();
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const ended = new Promise<{ err: grpc.ServiceError | null; res: Buffer | undefined }>((resolve) => {
    const call = c.makeClientStreamRequest('/test.v1.Ingest/Stream', raw, raw, auth(), {}, (err, res) => resolve({ err, res }));
    call.write(Buffer.from('first'));
    // Never half-closes, like Envoy.
  });
  while (received.length === 0) await new Promise((r) => setTimeout(r, 10));
  h.unregister('als');
  const refused = await new Promise<grpc.ServiceError | null>((resolve) => c.makeUnaryRequest('/test.v1.Ingest/Put', raw, raw, Buffer.from('x'), auth(), {}, (e) => resolve(e)));
  assert.equal(refused?.code, grpc.status.UNAVAILABLE);
  const t0 = Date.now();
  await h.close();
  assert.ok(Date.now() - t0 < 5_000, `close took ${Date.now() - t0} ms`);
  const { err, res } = await ended;
  assert.equal(err, null);
  assert.equal(res!.toString(), 'drained');
  assert.deepEqual(received, ['first']);
  await h.close();
  c.close();
});

test('insecure opt-out: a service may accept calls without credentials as a fixed tenant; wrong credentials are still refused', async () => {
  const h = new GrpcJsIngestHost(options(), silentLogger);
  const tenants: string[] = [];
  const handler = async (_req: Buffer, call: GrpcCall): Promise<Buffer> => {
    tenants.push(call.tenant);
    return Buffer.alloc(0);
  };
  h.register('als', [
    { name: 'open.v1.S', permission: 'ingest', insecureUnauthenticatedTenant: 'mesh', methods: [{ type: 'unary', name: 'Put', handler }] },
    { name: 'closed.v1.S', permission: 'ingest', methods: [{ type: 'unary', name: 'Put', handler }] },
  ]);
  const port = await h.listen();
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (method: string, md: grpc.Metadata): Promise<grpc.ServiceError | null> =>
    new Promise((resolve) => c.makeUnaryRequest(method, raw, raw, Buffer.alloc(0), md, {}, (e) => resolve(e)));
  assert.equal(await call('/open.v1.S/Put', new grpc.Metadata()), null);
  assert.equal(await call('/open.v1.S/Put', auth()), null);
  assert.equal((await call('/open.v1.S/Put', auth('mlk_wrong')))?.code, grpc.status.UNAUTHENTICATED);
  assert.equal((await call('/closed.v1.S/Put', new grpc.Metadata()))?.code, grpc.status.UNAUTHENTICATED);
  assert.deepEqual(tenants, ['mesh', 'acme']);
  c.close();
  await h.close();
});

test('max_connections: a connection beyond the limit is refused at accept; when one closes there is room again; close waits for none of them', async () => {
  const limited = new GrpcJsIngestHost(options({ maxConnections: 1 }), silentLogger);
  limited.register('limited_source', [{ name: 'test.v1.Limited', permission: 'ingest', methods: [{ type: 'unary', name: 'Put', handler: async () => Buffer.from('served') }] }]);
  const port = await limited.listen();
  // Separate subchannel pools: each client opens a connection of its own.
  const first = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  assert.equal((await put(first, Buffer.from('x'), auth(), '/test.v1.Limited/Put')).err, null);
  const second = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const refused = await new Promise<grpc.ServiceError | null>((resolve) =>
    second.makeUnaryRequest('/test.v1.Limited/Put', raw, raw, Buffer.from('x'), auth(), { deadline: Date.now() + 1500 }, (err) => resolve(err)),
  );
  assert.ok(refused && (refused.code === grpc.status.UNAVAILABLE || refused.code === grpc.status.DEADLINE_EXCEEDED), `refused: ${refused?.code} ${refused?.details}`);
  second.close();
  first.close();
  await new Promise((r) => setTimeout(r, 200));
  const third = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  assert.equal((await put(third, Buffer.from('x'), auth(), '/test.v1.Limited/Put')).err, null);
  // An open connection does not hold shutdown past the grace period.
  await limited.close();
  third.close();
});
