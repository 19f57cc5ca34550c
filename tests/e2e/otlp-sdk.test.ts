/**
 * End to end with the real client users run: the OpenTelemetry JS SDK's
 * OTLP log exporters (HTTP/protobuf and HTTP/JSON) send to a `meshlog
 * server` child process; the records are read back through Loki's
 * `query_range` and through `meshlog query`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as OTLPProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as OTLPJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { linesOf, lokiQueryRange, runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

async function sendWithSdk(exporter: OTLPProtoExporter | OTLPJsonExporter, service: string, lines: string[]): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'k8s.namespace.name': 'payments' }),
    processors: [new BatchLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('e2e', '1.0.0');
  for (const line of lines) {
    logger.emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: line,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 503 },
      context: undefined,
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

test('OTLP/HTTP protobuf from the OpenTelemetry SDK reads back through query_range and meshlog query', async () => {
  const marker = randomUUID();
  const lines = Array.from({ length: 25 }, (_, i) => `GET /api/orders/${i} 503 upstream connect error ${marker}`);
  const exporter = new OTLPProtoExporter({ url: `${server.url}/v1/logs`, headers: { Authorization: `Bearer ${server.token}` } });
  await sendWithSdk(exporter, 'checkout', lines);

  const res = await lokiQueryRange(server, `{service_name="checkout", k8s_namespace_name="payments"} |= "${marker}"`);
  assert.equal(res.status, 200);
  const got = linesOf(res.body);
  assert.deepEqual([...got].sort(), [...lines].sort());
  const stream = res.body.data.result[0]!.stream;
  assert.equal(stream['service_name'], 'checkout');
  assert.equal(stream['k8s_namespace_name'], 'payments');

  const cli = await runCli(['query', `{service_name="checkout"} |= "${marker}" != "/api/orders/3 "`, '--since', '5m', '--server', server.url, '--limit', '1000'], { MESHLOG_TOKEN: server.token });
  assert.equal(cli.code, 0, cli.stderr);
  const printed = cli.stdout.trim().split('\n');
  assert.equal(printed.length, 24);
  assert.ok(!printed.some((l) => l.includes('/api/orders/3 ')));
  // The SDK stamps records with millisecond clocks, so lines of one flush can tie: compare as sets.
  assert.deepEqual([...printed].sort(), lines.filter((l) => !l.includes('/api/orders/3 ')).sort());

  const table = await runCli(['query', `{service_name="checkout"} |= "${marker}"`, '--output', 'jsonl', '--limit', '3', '--server', server.url, '--token', server.token]);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: string; labels: Record<string, string>; timestamp: string });
  assert.equal(rows.length, 3);
  assert.equal(rows[0]!.labels['service_name'], 'checkout');
});

test('OTLP/HTTP JSON from the OpenTelemetry SDK reads back with regex matchers and filters', async () => {
  const marker = randomUUID();
  const lines = [`alpha ${marker}`, `beta ${marker}`, `gamma ${marker}`];
  const exporter = new OTLPJsonExporter({ url: `${server.url}/v1/logs`, headers: { Authorization: `Bearer ${server.token}` } });
  await sendWithSdk(exporter, 'catalog-json', lines);
  const res = await lokiQueryRange(server, `{service_name=~"catalog-.*"} |~ "(alpha|gamma) ${marker}"`);
  assert.equal(res.status, 200);
  assert.deepEqual(linesOf(res.body).sort(), [`alpha ${marker}`, `gamma ${marker}`]);
  // Loki semantics: label regexes are anchored, so a partial name matches nothing.
  const none = await lokiQueryRange(server, `{service_name=~"catalog"} |= "${marker}"`);
  assert.equal(linesOf(none.body).length, 0);
});
