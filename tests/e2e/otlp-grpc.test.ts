/**
 * OTLP/gRPC end to end with the clients users run: the OpenTelemetry JS
 * SDK's gRPC exporters (logs and traces, gzip) send to a `meshlog server`
 * child process on its gRPC port; logs are read back through Loki's
 * `query_range`, the trace through `/api/v2/trace/{id}`. A plain grpc-js
 * client built from the OTLP .proto files covers what the SDK cannot be made
 * to send: a retry of the same request, a partially bad request, garbage,
 * and a missing token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { TracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { SpanKind, trace, context } from '@opentelemetry/api';
import { PROTO_DIR, otlpType } from '@meshlog/components';
import { linesOf, lokiQueryRange, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ grpc: true });
});
after(async () => {
  await server.stop();
});

// The exporters type `compression` as an enum of a transitive package (otlp-exporter-base); the value is the string.
const GZIP = 'gzip' as never;

function authMetadata(token = server.token): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

test('the SDK gRPC log exporter (gzip) lands in the store; query_range reads it back by stream labels', async () => {
  const marker = randomUUID();
  const exporter = new OTLPLogExporter({ url: `http://${server.grpcAddress}`, metadata: authMetadata(), compression: GZIP });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout-grpc', 'k8s.namespace.name': 'payments' }),
    processors: [new BatchLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('e2e-grpc', '1.0.0');
  const lines = Array.from({ length: 30 }, (_, i) => `POST /api/pay/${i} 502 upstream reset ${marker}`);
  for (const line of lines) logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: line, attributes: { 'http.response.status_code': 502 } });
  await provider.forceFlush();
  await provider.shutdown();

  const res = await lokiQueryRange(server, `{service_name="checkout-grpc", k8s_namespace_name="payments"} |= "${marker}"`);
  assert.equal(res.status, 200);
  assert.deepEqual(linesOf(res.body).sort(), [...lines].sort());
});

test('the SDK gRPC trace exporter: the trace reads back through /api/v2/trace/{id}', async () => {
  const exporter = new OTLPTraceExporter({ url: `http://${server.grpcAddress}`, metadata: authMetadata(), compression: GZIP });
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'orders-grpc' }), spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('e2e-grpc');
  const root = tracer.startSpan('GET /orders/{id}', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } });
  const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root));
  child.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();

  const traceId = root.spanContext().traceId;
  const r = await fetch(`${server.url}/api/v2/trace/${traceId}`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(r.status, 200);
  const spans = (await r.json()) as { id: string; parentId?: string; name: string; kind?: string; localEndpoint: { serviceName: string } }[];
  assert.equal(spans.length, 2);
  const byName = new Map(spans.map((s) => [s.name, s]));
  assert.equal(byName.get('GET /orders/{id}')!.kind, 'SERVER');
  assert.equal(byName.get('SELECT orders')!.parentId, root.spanContext().spanId);
  assert.ok(spans.every((s) => s.localEndpoint.serviceName === 'orders-grpc'));
});

/** A generic client from the OTLP .proto files, as any OTLP/gRPC implementation is built. */
function logsClient(): grpc.Client & { Export: (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void } {
  const def = protoLoader.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: Number, defaults: false });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { opentelemetry: { proto: { collector: { logs: { v1: { LogsService: grpc.ServiceClientConstructor } } } } } };
  return new pkg.opentelemetry.proto.collector.logs.v1.LogsService(server.grpcAddress!, grpc.credentials.createInsecure()) as never;
}

function exportLogs(client: ReturnType<typeof logsClient>, request: unknown, md = authMetadata()): Promise<{ err: grpc.ServiceError | null; res: { partial_success?: { rejected_log_records: number; error_message: string } } | undefined }> {
  return new Promise((resolve) => client.Export(request, md, (err, res) => resolve({ err, res: res as never })));
}

function request(service: string, bodies: string[], extra: Record<string, unknown>[] = []): unknown {
  const now = Date.now() * 1_000_000;
  return {
    resource_logs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { string_value: service } }] },
        scope_logs: [{ log_records: [...bodies.map((b, i) => ({ time_unix_nano: now + i, severity_number: 9, body: { string_value: b } })), ...extra] }],
      },
    ],
  };
}

test('a resent request is stored once; a bad record is reported through partial_success', async () => {
  const client = logsClient();
  const marker = randomUUID();
  const req = request('retry-grpc', [`first ${marker}`, `second ${marker}`]);
  const a = await exportLogs(client, req);
  assert.equal(a.err, null);
  // The exporter lost the answer and sends the same bytes again.
  const b = await exportLogs(client, req);
  assert.equal(b.err, null);
  const res = await lokiQueryRange(server, `{service_name="retry-grpc"} |= "${marker}"`);
  assert.deepEqual(linesOf(res.body).sort(), [`first ${marker}`, `second ${marker}`]);

  const partial = await exportLogs(client, request('retry-grpc', [`kept ${marker}`], [{ body: { string_value: `dropped ${marker}` }, trace_id: Buffer.from('short') }]));
  assert.equal(partial.err, null);
  assert.equal(partial.res?.partial_success?.rejected_log_records, 1);
  assert.match(partial.res!.partial_success!.error_message, /traceId: expected 16 bytes/);
  const after = await lokiQueryRange(server, `{service_name="retry-grpc"} |= "kept ${marker}"`);
  assert.deepEqual(linesOf(after.body), [`kept ${marker}`]);
  client.close();
});

test('garbage gets INVALID_ARGUMENT naming the problem; no token gets UNAUTHENTICATED', async () => {
  const raw = new grpc.Client(server.grpcAddress!, grpc.credentials.createInsecure());
  const id = (b: Buffer): Buffer => b;
  const call = (body: Buffer, md: grpc.Metadata): Promise<grpc.ServiceError | null> =>
    new Promise((resolve) => raw.makeUnaryRequest('/opentelemetry.proto.collector.logs.v1.LogsService/Export', id, id, body, md, {}, (err) => resolve(err)));
  const garbage = await call(Buffer.from([0x0a, 0xff, 0xff, 0x01]), authMetadata());
  assert.equal(garbage?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(garbage!.details, /invalid OTLP protobuf ExportLogsServiceRequest/);
  const t = otlpType('ExportLogsServiceRequest');
  const good = Buffer.from(t.encode(t.fromObject({ resourceLogs: [] })).finish());
  const anonymous = await call(good, new grpc.Metadata());
  assert.equal(anonymous?.code, grpc.status.UNAUTHENTICATED);
  const wrong = await call(good, authMetadata('mlk_not-a-token'));
  assert.equal(wrong?.code, grpc.status.UNAUTHENTICATED);
  raw.close();
});
