/**
 * Datadog log intake end to end over real sockets, against a `meshlog
 * server` child process, read back through Loki's `query_range`:
 *
 * - the Datadog Agent's request, byte for byte in its shape (the Agent is a
 *   Go binary, not an npm client): its `{}` connectivity check, then a
 *   gzip JSON array of `{message, status, timestamp, hostname, service,
 *   ddsource, ddtags}` (pkg/logs/processor/json.go) with the headers its
 *   HTTP destination sets (`DD-API-KEY`, `DD-PROTOCOL: agent-json`,
 *   `DD-EVP-ORIGIN`, `dd-message-timestamp`, ...), resent once as after a
 *   lost answer;
 * - @datadog/datadog-api-client, Datadog's official API client
 *   (`v2.LogsApi.submitLog`, gzip), pointed at Meshlog. Datadog publishes no
 *   separate Node.js library for log intake; this client is the one that
 *   posts to `/api/v2/logs`;
 * - the intake's limits and errors, and `/v1/input` text lines.
 *
 * A log tied to a trace by `dd.trace_id` is joined with its spans in
 * zipkin.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { client, v2 } from '@datadog/datadog-api-client';
import { linesOf, lokiQueryRange, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

function agentHeaders(): Record<string, string> {
  const now = String(Date.now());
  return {
    'DD-API-KEY': server.token,
    'Content-Type': 'application/json',
    'Content-Encoding': 'gzip',
    'User-Agent': 'datadog-agent/7.52.0',
    'DD-PROTOCOL': 'agent-json',
    'DD-EVP-ORIGIN': 'agent',
    'DD-EVP-ORIGIN-VERSION': '7.52.0',
    'dd-message-timestamp': now,
    'dd-current-timestamp': now,
  };
}

test('the Datadog Agent: connectivity check, then a gzip batch that reads back with its tags as stream labels', async () => {
  const check = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers: { ...agentHeaders(), 'Content-Encoding': '' }, body: '{}' });
  assert.equal(check.status, 202, 'the Agent checks connectivity with {} and needs a 2xx');

  const marker = randomUUID();
  // In the past: records stamped after the query's end (now) would not be in its range.
  const ts = Date.now() - 60_000;
  const batch = Array.from({ length: 50 }, (_, i) => ({
    message: `10.0.0.${i} - - "GET /pay/${i} HTTP/1.1" ${i % 10 === 0 ? 502 : 200} ${marker}`,
    status: i % 10 === 0 ? 'error' : 'info',
    timestamp: ts + i,
    hostname: 'i-0a1b2c3d',
    service: 'payments',
    ddsource: 'nginx',
    ddtags: 'env:prod,version:2.4.1,kube_namespace:shop,pod_name:payments-7c9,kube_container_name:nginx,filename:access.log',
  }));
  const body = gzipSync(JSON.stringify(batch));
  const r = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers: agentHeaders(), body });
  assert.deepEqual([r.status, await r.text()], [202, '{}']);
  // The Agent resends a payload whose answer it did not get; it is stored once.
  const again = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers: agentHeaders(), body });
  assert.equal(again.status, 202);

  const res = await lokiQueryRange(server, `{service_name="payments", deployment_environment_name="prod", k8s_namespace_name="shop", k8s_pod_name="payments-7c9", k8s_container_name="nginx"} |= "${marker}"`, { direction: 'forward' });
  assert.equal(res.status, 200);
  assert.deepEqual(linesOf(res.body), batch.map((l) => l.message));
  const errors = await lokiQueryRange(server, `{service_name="payments"} |= "${marker}" |= "502"`);
  assert.equal(linesOf(errors.body).length, 5);
});

test("Datadog's official API client (v2 LogsApi.submitLog, gzip) sends logs that read back", async () => {
  const marker = randomUUID();
  const configuration = client.createConfiguration({
    authMethods: { apiKeyAuth: server.token },
    baseServer: new client.BaseServerConfiguration(server.url, {}),
    enableRetry: false,
  });
  const api = new v2.LogsApi(configuration);
  const result = await api.submitLog({
    body: [
      { ddsource: 'nodejs', ddtags: 'env:staging,team:checkout', hostname: 'web-2', message: `checkout started ${marker}`, service: 'checkout' },
      { ddsource: 'nodejs', ddtags: 'env:staging,team:checkout', hostname: 'web-2', message: `checkout failed ${marker}`, service: 'checkout', additionalProperties: { status: 'error' } },
    ],
    contentEncoding: 'gzip',
  });
  assert.deepEqual(result, {});
  const res = await lokiQueryRange(server, `{service_name="checkout", deployment_environment_name="staging"} |= "${marker}"`);
  assert.deepEqual(linesOf(res.body).sort(), [`checkout failed ${marker}`, `checkout started ${marker}`]);

  const bad = new v2.LogsApi(client.createConfiguration({ authMethods: { apiKeyAuth: 'not-a-key' }, baseServer: new client.BaseServerConfiguration(server.url, {}), enableRetry: false }));
  await assert.rejects(bad.submitLog({ body: [{ message: 'x' }] }), (err: unknown) => (err as { code?: number }).code === 403);
});

test('limits and errors as the intake answers them; text lines on /v1/input', async () => {
  const headers = agentHeaders();
  const big = gzipSync(JSON.stringify([{ message: 'x'.repeat(5 * 1024 * 1024) }]));
  const tooBig = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers, body: big });
  assert.equal(tooBig.status, 413, 'the 5 MB limit is on the uncompressed payload');
  assert.match(((await tooBig.json()) as { errors: string[] }).errors[0]!, /exceeds the limit of 5242880/);
  const malformed = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers, body: gzipSync('[{"message": "cut') });
  assert.equal(malformed.status, 400);
  const noKey = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[]' });
  assert.equal(noKey.status, 401);

  const marker = randomUUID();
  const text = await fetch(`${server.url}/v1/input?service=legacy&ddsource=bash&ddtags=env:ops`, { method: 'POST', headers: { 'DD-API-KEY': server.token, 'Content-Type': 'text/plain' }, body: `one ${marker}\ntwo ${marker}\n` });
  assert.equal(text.status, 202);
  assert.deepEqual(linesOf((await lokiQueryRange(server, `{service_name="legacy"} |= "${marker}"`)).body).sort(), [`one ${marker}`, `two ${marker}`]);
});
