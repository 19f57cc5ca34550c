/**
 * Splunk HEC end to end over real sockets, against a `meshlog server` child
 * process, read back through Loki's `query_range`:
 *
 * - splunk-logging, Splunk's official Node.js HEC library (0.11, pure JS,
 *   works on Node 20): batched events, string `time`, `Authorization:
 *   Splunk`, and the form-urlencoded content type it always sends;
 * - bodies exactly as the agents build them, sent with `fetch`: the Splunk
 *   OpenTelemetry Collector's `splunk_hec` exporter (events concatenated
 *   without a separator, resource and log attributes in `fields`, gzip),
 *   Fluent Bit's `splunk` output (the record map as `event`, `log` in it,
 *   gzip) and Vector's `splunk_hec_logs` sink (newline-free concatenation,
 *   indexed fields, a request channel), and the `/raw` endpoint as the
 *   Collector's `export_raw` sends it;
 * - a batch with one bad event: Splunk's answer, and nothing of it stored.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import SplunkLogging from 'splunk-logging';
import { linesOf, lokiQueryRange, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

async function hec(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Splunk ${server.token}`, ...headers }, body });
  return { status: r.status, body: await r.text() };
}

test('splunk-logging (Splunk\'s Node.js library) sends a batch that reads back', async () => {
  const marker = randomUUID();
  const logger = new SplunkLogging.Logger({ token: server.token, url: server.url, maxBatchCount: 0 });
  const errors: Error[] = [];
  logger.error = (err) => errors.push(err);
  for (let i = 0; i < 5; i++) {
    logger.send({ message: `order ${i} shipped ${marker}`, severity: i === 4 ? 'error' : 'info', metadata: { host: 'web-1', source: 'orders.js', sourcetype: 'orders-svc' } });
  }
  const { status, body } = await new Promise<{ status: number | undefined; body: unknown }>((resolve, reject) =>
    logger.flush((err, resp, b) => (err ? reject(err) : resolve({ status: resp?.statusCode, body: b }))),
  );
  assert.deepEqual(errors, []);
  assert.equal(status, 200);
  assert.deepEqual(typeof body === 'string' ? JSON.parse(body) : body, { text: 'Success', code: 0 });

  const res = await lokiQueryRange(server, `{service_name="orders-svc"} |= "${marker}"`);
  assert.equal(res.status, 200);
  assert.deepEqual(linesOf(res.body).sort(), Array.from({ length: 5 }, (_, i) => `order ${i} shipped ${marker}`).sort());
});

test('the Splunk OpenTelemetry Collector\'s HEC payload (concatenated, gzip) lands with its resource as stream labels', async () => {
  const marker = randomUUID();
  // In the past: records stamped after the query's end (now) would not be in its range.
  const t = Date.now() / 1000 - 60;
  const events = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({
      host: 'node-3',
      source: 'otel',
      sourcetype: 'otel',
      index: 'main',
      event: `GET /api/cart/${i} 200 ${marker}`,
      fields: {
        'service.name': 'cart',
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'cart-6d5f',
        'otel.log.severity.number': 9,
        'otel.log.severity.text': 'INFO',
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        span_id: '00f067aa0ba902b7',
        'http.response.status_code': 200,
      },
      time: Math.round((t + i / 1000) * 1000) / 1000,
    }),
  ).join('');
  const r = await hec('/services/collector/event', gzipSync(events), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.deepEqual([r.status, r.body], [200, '{"text":"Success","code":0}']);
  const res = await lokiQueryRange(server, `{service_name="cart", k8s_namespace_name="shop", k8s_pod_name="cart-6d5f"} |= "${marker}"`, { direction: 'forward' });
  assert.deepEqual(linesOf(res.body), Array.from({ length: 20 }, (_, i) => `GET /api/cart/${i} 200 ${marker}`), 'every event, in time order');

  const raw = await hec('/services/collector/raw', gzipSync(`raw a ${marker}\nraw b ${marker}\n`), { 'content-encoding': 'gzip' });
  assert.equal(raw.status, 200, raw.body);
  const rawRes = await lokiQueryRange(server, `{service_name=~".+"} |= "raw" |= "${marker}"`);
  assert.deepEqual(linesOf(rawRes.body).sort(), [`raw a ${marker}`, `raw b ${marker}`]);
});

test("Fluent Bit's splunk output and Vector's splunk_hec_logs sink", async () => {
  const marker = randomUUID();
  const now = Date.now() / 1000;
  // Fluent Bit: {"time": <float>, "event": <record>} per record, `event_field` entries as fields, gzip.
  const fluentBit = [0, 1, 2]
    .map((i) =>
      JSON.stringify({
        time: now + i / 1e6,
        sourcetype: 'fluentbit',
        event: { log: `fluent bit line ${i} ${marker}`, stream: 'stdout', kubernetes: { namespace_name: 'shop', pod_name: 'web-7' } },
        fields: { service: 'web' },
      }),
    )
    .join('');
  const fb = await hec('/services/collector/event', gzipSync(fluentBit), { 'content-type': 'application/json', 'content-encoding': 'gzip', 'user-agent': 'Fluent-Bit' });
  assert.deepEqual([fb.status, fb.body], [200, '{"text":"Success","code":0}']);

  // Vector: indexed fields, host/source/sourcetype per event, a request channel (for its acknowledgements).
  const vector = [0, 1]
    .map((i) => JSON.stringify({ event: `vector line ${i} ${marker}`, fields: { env: 'prod' }, time: now + i / 1e3, host: 'vec-1', source: '/var/log/app.log', sourcetype: 'vector-app' }))
    .join('');
  const v = await hec('/services/collector/event', vector, { 'content-type': 'application/json', 'x-splunk-request-channel': randomUUID() });
  assert.deepEqual([v.status, v.body], [200, '{"text":"Success","code":0}']);

  assert.deepEqual(linesOf((await lokiQueryRange(server, `{service_name="web"} |= "${marker}"`)).body).sort(), [0, 1, 2].map((i) => `fluent bit line ${i} ${marker}`));
  assert.deepEqual(linesOf((await lokiQueryRange(server, `{service_name="vector-app"} |= "${marker}"`)).body).sort(), [0, 1].map((i) => `vector line ${i} ${marker}`));
});

test('a batch with one bad event is refused whole, as Splunk does, and nothing of it is stored', async () => {
  const marker = randomUUID();
  const body = [`{"event":"good ${marker}","sourcetype":"allornothing"}`, `{"event":"good too ${marker}","sourcetype":"allornothing"}`, '{"sourcetype":"allornothing"}'].join('\n');
  const r = await hec('/services/collector/event', gzipSync(body), { 'content-encoding': 'gzip' });
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.body), { text: 'Event field is required', code: 12, 'invalid-event-number': 2 });
  const res = await lokiQueryRange(server, `{service_name="allornothing"} |= "${marker}"`);
  assert.deepEqual(linesOf(res.body), []);
  const noToken = await fetch(`${server.url}/services/collector/event`, { method: 'POST', body });
  assert.deepEqual([noToken.status, await noToken.json()], [401, { text: 'Token is required', code: 2 }]);
});
