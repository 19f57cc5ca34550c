/**
 * Zipkin end to end over real sockets:
 *
 * - zipkin-js (`zipkin`, the official Zipkin JS tracer, 0.22, works on
 *   Node 20) with `zipkin-transport-http`'s HttpLogger (JSON v2, the API
 *   token in its `headers`) records server, client and local spans with
 *   tags, annotations, endpoints and shared/debug flags; what it posted to
 *   `/api/v2/spans` comes back from `GET /api/v2/trace/{id}` field for
 *   field, for 128-bit and 64-bit trace ids.
 * - Spans and logs of one request join on the trace id: a Zipkin trace, an
 *   OTLP log, a Datadog log carrying the trace as `dd.trace_id` (decimal,
 *   64-bit) and a HEC event carrying it in `fields.trace_id` are all stored
 *   under the same 32-hex trace id. The query API has no trace-id filter
 *   yet, so this test runs the server in-process and reads the logs'
 *   `trace_id` column through the store's own API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Annotation, BatchRecorder, ExplicitContext, InetAddress, Tracer, jsonEncoder, type TraceId } from 'zipkin';
import { HttpLogger } from 'zipkin-transport-http';
import { createLogger } from '@meshlog/core';
import { loadServerConfig, serverRegistry, startServer } from '@meshlog/server';
import { freePort, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

type ZipkinSpan = Record<string, unknown> & { id: string; traceId: string };

/** A zipkin-js tracer reporting to `url` over HTTP; `sent` collects every span it posted, as posted. */
function zipkinTracer(url: string, token: string, opts: { traceId128Bit: boolean }): { tracer: Tracer; sent: ZipkinSpan[]; flushed: () => Promise<void> } {
  const sent: ZipkinSpan[] = [];
  const outcomes: { ok: boolean; detail: string }[] = [];
  const logger = new HttpLogger({
    endpoint: `${url}/api/v2/spans`,
    jsonEncoder: jsonEncoder.JSON_V2,
    headers: { Authorization: `Bearer ${token}` },
    httpInterval: 50,
    // The transport's own option (missing from its typings): record each body as it goes out.
    fetchImplementation: (u: string, init: { body: string }) => {
      sent.push(...(JSON.parse(init.body) as ZipkinSpan[]));
      return fetch(u, init as RequestInit);
    },
  } as ConstructorParameters<typeof HttpLogger>[0]);
  const events = logger as unknown as { on(e: string, f: (x: unknown) => void): void };
  events.on('success', () => outcomes.push({ ok: true, detail: '' }));
  events.on('error', (err) => outcomes.push({ ok: false, detail: String(err) }));
  const tracer = new Tracer({ ctxImpl: new ExplicitContext(), recorder: new BatchRecorder({ logger }), localServiceName: 'frontend', traceId128Bit: opts.traceId128Bit });
  const flushed = async (): Promise<void> => {
    for (let i = 0; i < 100 && outcomes.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      outcomes.filter((o) => !o.ok),
      [],
    );
    assert.ok(outcomes.length > 0, 'the transport reported its POST');
  };
  return { tracer, sent, flushed };
}

/** One request's spans: a server span, a client call with an error tag and a message annotation, a local span. */
function recordRequest(tracer: Tracer, marker: string): TraceId {
  const root = tracer.createRootId();
  tracer.letId(root, () => {
    tracer.recordServiceName('frontend');
    tracer.recordRpc('GET /checkout');
    tracer.recordAnnotation(new Annotation.ServerRecv());
    tracer.recordAnnotation(new Annotation.LocalAddr({ host: new InetAddress('10.1.2.3'), port: 8080 }));
    tracer.recordBinary('http.path', '/checkout');
    tracer.recordBinary('marker', marker);
  });
  const child = tracer.letId(root, () => tracer.createChildId());
  tracer.letId(child, () => {
    tracer.recordServiceName('frontend');
    tracer.recordRpc('POST /pay');
    tracer.recordAnnotation(new Annotation.ClientSend());
    tracer.recordAnnotation(new Annotation.ServerAddr({ serviceName: 'payments', host: new InetAddress('10.0.0.7'), port: 9000 }));
    tracer.recordBinary('http.status_code', '502');
    tracer.recordBinary('error', 'upstream reset');
    tracer.recordMessage('retrying once');
    tracer.recordAnnotation(new Annotation.ClientRecv());
  });
  tracer.letId(root, () => tracer.local('render cart', () => undefined));
  tracer.letId(root, () => tracer.recordAnnotation(new Annotation.ServerSend()));
  return root;
}

async function getTrace(url: string, token: string, id: string): Promise<{ status: number; spans: ZipkinSpan[] }> {
  const r = await fetch(`${url}/api/v2/trace/${id}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, spans: r.status === 200 ? ((await r.json()) as ZipkinSpan[]) : [] };
}

const byId = (a: ZipkinSpan, b: ZipkinSpan): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

for (const traceId128Bit of [true, false]) {
  test(`zipkin-js + zipkin-transport-http: spans come back field for field (${traceId128Bit ? '128' : '64'}-bit trace id)`, async () => {
    const { tracer, sent, flushed } = zipkinTracer(server.url, server.token, { traceId128Bit });
    const root = recordRequest(tracer, randomUUID());
    await flushed();
    assert.equal(sent.length, 3, 'server, client and local span');
    assert.equal(root.traceId.length, traceId128Bit ? 32 : 16);
    const client = sent.find((s) => s['kind'] === 'CLIENT')!;
    assert.deepEqual(client['remoteEndpoint'], { serviceName: 'payments', ipv4: '10.0.0.7', port: 9000 }, 'the client really sent a remote endpoint');
    assert.ok(Array.isArray(client['annotations']));

    const back = await getTrace(server.url, server.token, root.traceId);
    assert.equal(back.status, 200);
    assert.deepEqual([...back.spans].sort(byId), [...sent].sort(byId));
  });
}

test('spans and logs of one request join on the trace id across Zipkin, OTLP, Datadog and HEC', async () => {
  const dataDir = tempDir();
  const port = await freePort();
  const config = loadServerConfig(undefined, { dataDir, httpPort: port, grpcPort: 0, syslogPort: 0, syslogTlsPort: 0, forwardPort: 0 }, serverRegistry);
  const running = await startServer(config, createLogger({ write: () => undefined }));
  try {
    const url = running.httpUrl!;
    const token = readFileSync(running.adminTokenPath, 'utf8').trim();
    const marker = randomUUID();
    const { tracer, flushed } = zipkinTracer(url, token, { traceId128Bit: false });
    const root = recordRequest(tracer, marker);
    await flushed();
    const w3c = root.traceId.padStart(32, '0');
    const nowNs = BigInt(Date.now()) * 1_000_000n;

    const otlp = await fetch(`${url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'frontend' } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: String(nowNs), body: { stringValue: `otlp log ${marker}` }, traceId: w3c, spanId: root.spanId }] }] }],
      }),
    });
    assert.equal(otlp.status, 200, await otlp.text());
    const dd = await fetch(`${url}/api/v2/logs`, {
      method: 'POST',
      headers: { 'dd-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify([{ message: `datadog log ${marker}`, service: 'payments', timestamp: Date.now(), 'dd.trace_id': BigInt(`0x${root.traceId}`).toString(), 'dd.span_id': BigInt(`0x${root.spanId}`).toString() }]),
    });
    assert.equal(dd.status, 202, await dd.text());
    const hec = await fetch(`${url}/services/collector/event`, {
      method: 'POST',
      headers: { authorization: `Splunk ${token}` },
      body: JSON.stringify({ event: `hec log ${marker}`, time: Date.now() / 1000, fields: { 'service.name': 'cart', trace_id: w3c, span_id: root.spanId } }),
    });
    assert.equal(hec.status, 200, await hec.text());

    const trace = await getTrace(url, token, w3c);
    assert.equal(trace.spans.length, 3);
    const rows = await running.store.selectLogs({
      tenant: 'default',
      matchers: [{ name: 'service_name', op: '=~', value: '.+' }],
      lineFilters: [{ op: '|=', values: [marker] }],
      startNs: nowNs - 3_600_000_000_000n,
      endNs: nowNs + 3_600_000_000_000n,
      limit: 100,
      direction: 'forward',
    });
    assert.deepEqual(rows.rows.map((r) => r.body).sort(), [`datadog log ${marker}`, `hec log ${marker}`, `otlp log ${marker}`]);
    for (const r of rows.rows) {
      assert.equal(r.trace_id, w3c, `${r.body}: same trace id as the spans`);
      assert.equal(r.span_id, root.spanId, `${r.body}: the server span's id`);
    }
  } finally {
    await running.stop();
  }
});
