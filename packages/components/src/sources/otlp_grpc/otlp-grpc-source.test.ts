import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GRPC_INGEST_SERVICE,
  GrpcIngestError,
  GrpcStatus,
  ServiceMap,
  retryableError,
  silentLogger,
  type Batch,
  type BuildContext,
  type ComponentMetrics,
  type GrpcCall,
  type GrpcIngestHost,
  type GrpcService,
  type GrpcUnaryMethod,
  type Source,
} from '@meshlog/core';
import { otlpGrpcSource } from './otlp-grpc-source.js';
import { otlpType } from '../otlp/otlp-proto.js';
import { otlpBatchId } from '../otlp/otlp-ingest.js';

class FakeGrpcHost implements GrpcIngestHost {
  services = new Map<string, GrpcService>();
  register(_owner: string, services: GrpcService[]): void {
    for (const s of services) this.services.set(s.name, s);
  }
  unregister(): void {}
  export(service: string): GrpcUnaryMethod['handler'] {
    const m = this.services.get(service)!.methods[0]!;
    assert.equal(m.type, 'unary');
    assert.equal(m.name, 'Export');
    return (m as GrpcUnaryMethod).handler;
  }
}

async function harness(config: Record<string, unknown> = {}): Promise<{ host: FakeGrpcHost; emitted: Batch[]; failNext: Error[]; discarded: number[] }> {
  const h = { host: new FakeGrpcHost(), emitted: [] as Batch[], failNext: [] as Error[], discarded: [] as number[] };
  const metrics: ComponentMetrics = { received: () => undefined, sent: () => undefined, discarded: (n) => h.discarded.push(n), error: () => undefined, queueDepth: () => undefined };
  const ctx: BuildContext = {
    id: 'otlp_grpc',
    dataDir: '/nonexistent',
    logger: silentLogger,
    metrics,
    services: new ServiceMap().set(GRPC_INGEST_SERVICE, h.host),
    emit: async (batch) => {
      const f = h.failNext.shift();
      if (f) throw f;
      h.emitted.push(batch);
    },
  };
  const source = (await otlpGrpcSource.build(otlpGrpcSource.schema.parse(config), ctx)) as Source;
  await source.start();
  return h;
}

const call: GrpcCall = { tenant: 't1', peer: 'ipv4:127.0.0.1:1', metadata: {}, signal: new AbortController().signal };
const LOGS = 'opentelemetry.proto.collector.logs.v1.LogsService';
const TRACES = 'opentelemetry.proto.collector.trace.v1.TraceService';

function logsRequest(records: Record<string, unknown>[]): Buffer {
  const t = otlpType('ExportLogsServiceRequest');
  return Buffer.from(t.encode(t.fromObject({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] }, scopeLogs: [{ logRecords: records }] }] })).finish());
}

test('LogsService/Export: durable first, then OK with an empty response; the idempotency key is the one OTLP/HTTP uses', async () => {
  const h = await harness();
  const body = logsRequest([{ body: { stringValue: 'one' } }, { body: { stringValue: 'two' } }]);
  const res = await h.host.export(LOGS)(body, call);
  assert.deepEqual(otlpType('ExportLogsServiceResponse').toObject(otlpType('ExportLogsServiceResponse').decode(res)), {});
  const batch = h.emitted[0]!;
  assert.equal(batch.kind, 'logs');
  assert.equal(batch.tenant, 't1');
  assert.equal(batch.id, otlpBatchId('t1', 'logs', body));
  assert.deepEqual(batch.kind === 'logs' && batch.records.map((r) => r.body), ['one', 'two']);
});

test('a bad record is rejected through partial_success; the rest is stored', async () => {
  const h = await harness();
  const res = await h.host.export(LOGS)(logsRequest([{ body: { stringValue: 'ok' } }, { traceId: Buffer.from('abc') }]), call);
  const o = otlpType('ExportLogsServiceResponse').toObject(otlpType('ExportLogsServiceResponse').decode(res), { longs: Number }) as { partialSuccess: { rejectedLogRecords: number; errorMessage: string } };
  assert.equal(o.partialSuccess.rejectedLogRecords, 1);
  assert.match(o.partialSuccess.errorMessage, /logRecords\[1\]\.traceId: expected 16 bytes/);
  assert.deepEqual(h.discarded, [1]);
  assert.equal(h.emitted.length, 1);
});

test('undecodable request: INVALID_ARGUMENT; full queue: RESOURCE_EXHAUSTED with a retry delay; store down: UNAVAILABLE', async () => {
  const h = await harness();
  await assert.rejects(h.host.export(TRACES)(Buffer.from([0x0a, 0xff]), call), (err: unknown) => err instanceof GrpcIngestError && err.code === GrpcStatus.INVALID_ARGUMENT && /invalid OTLP protobuf ExportTraceServiceRequest/.test(err.message));
  h.failNext.push(retryableError('queue_full', 'ingest queue is full', 1000));
  await assert.rejects(h.host.export(LOGS)(logsRequest([{ body: { stringValue: 'x' } }]), call), (err: unknown) => err instanceof GrpcIngestError && err.code === GrpcStatus.RESOURCE_EXHAUSTED && err.retryAfterMs === 1000);
  h.failNext.push(retryableError('unavailable', 'store is down', 5000));
  await assert.rejects(h.host.export(LOGS)(logsRequest([{ body: { stringValue: 'x' } }]), call), (err: unknown) => err instanceof GrpcIngestError && err.code === GrpcStatus.UNAVAILABLE && err.retryAfterMs === 5000);
});

test('logs or traces can be switched off', async () => {
  const h = await harness({ traces: false });
  assert.deepEqual([...h.host.services.keys()], [LOGS]);
  assert.throws(() => otlpGrpcSource.schema.parse({ trace: false }));
});
