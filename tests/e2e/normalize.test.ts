/**
 * Normalization end to end.
 *
 * 1. The demo generator (packages/cli/src/demo, which reproduces Istio's
 *    TEXT and JSON access logs field for field) is a second, independent
 *    source of samples: every line it writes parses, into exactly the values
 *    its own field-by-field regex (ISTIO_TEXT_LINE) and JSON keys give.
 * 2. A `meshlog server` child process with `parse` in its pipeline (a
 *    config file) receives Istio TEXT and Linkerd JSON access logs over
 *    OTLP/HTTP JSON; they are stored and found through the Loki API at the
 *    time their lines carry (not the time they were sent), which only the
 *    parse transform can have set.
 * 3. The agent role with `parse` into its stdout sink shows the rest of the
 *    record the query API does not return: attributes and the trace id taken
 *    from the line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyLogRecord, type LogRecord } from '@meshlog/core';
import { ParseConfigSchema, ParseTransform } from '@meshlog/components';
import { flattenLogs, formatIstioText, generateTraffic, ISTIO_TEXT_LINE, type AccessLogEntry } from 'meshlog/demo';
import { MESHLOG_BIN, REPO_ROOT, freePort, linesOf, lokiQueryRange, startServerProcess, tempDir } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

const dash = (v: string | undefined): string | undefined => (v === undefined || v === '-' ? undefined : v);

function hostPort(v: string | undefined): [string | undefined, number | undefined] {
  if (v === undefined) return [undefined, undefined];
  const i = v.lastIndexOf(':');
  return i > 0 ? [v.slice(0, i), Number(v.slice(i + 1))] : [v, undefined];
}

test('every Istio line of the demo traffic parses into the values of its own format definition', () => {
  const T0 = Date.parse('2024-05-01T12:00:00.000Z');
  const traffic = generateTraffic(7, T0, 400);
  const parse = new ParseTransform(ParseConfigSchema.parse({}));
  let text = 0;
  let json = 0;
  let app = 0;
  for (const { resource, record } of flattenLogs(traffic.logs)) {
    const attributes: Record<string, string> = {};
    for (const a of record.attributes) attributes[a.key] = String(a.value.stringValue ?? a.value.intValue ?? '');
    const r: LogRecord = { ...emptyLogRecord(), body: record.body.stringValue ?? '', attributes, resource, timeUnixNano: 1n };
    const outcome = parse.parseRecord(r);
    const format = attributes['log.format'];
    if (format === 'istio-text') {
      text++;
      assert.equal(outcome, 'ok', r.body);
      const m = ISTIO_TEXT_LINE.exec(r.body)!;
      assert.equal(r.timeUnixNano, BigInt(Date.parse(m[1]!)) * 1_000_000n);
      const expect: Record<string, string | number | undefined> = {
        'http.request.method': dash(m[2]),
        'url.path': dash(m[3])?.split('?')[0],
        'url.query': dash(m[3])?.split('?')[1],
        'http.response.status_code': Number(m[5]),
        'envoy.response_flags': dash(m[6]),
        'envoy.response_code_details': dash(m[7]),
        'envoy.connection_termination_details': dash(m[8]),
        'envoy.upstream_transport_failure_reason': dash(m[9]),
        'http.request.body.size': Number(m[10]),
        'http.response.body.size': Number(m[11]),
        'envoy.duration_ms': Number(m[12]),
        'envoy.upstream_service_time_ms': m[13] === '-' ? undefined : Number(m[13]),
        'http.request.header.x-forwarded-for': dash(m[14]),
        'user_agent.original': dash(m[15]),
        'http.request.header.x-request-id': dash(m[16]),
        'server.address': hostPort(dash(m[17]))[0],
        'server.port': hostPort(dash(m[17]))[1],
        'envoy.upstream_host': dash(m[18]),
        'envoy.upstream_cluster': dash(m[19]),
        'envoy.upstream_local_address': dash(m[20]),
        'envoy.downstream_local_address': dash(m[21]),
        'client.address': hostPort(dash(m[22]))[0],
        'client.port': hostPort(dash(m[22]))[1],
        'tls.client.server_name': dash(m[23]),
        'envoy.route_name': dash(m[24]),
      };
      for (const [k, v] of Object.entries(expect)) assert.equal(r.attributes[k], v, `${k} of ${r.body}`);
      const cluster = dash(m[19]) ?? '';
      if (cluster.startsWith('inbound|')) {
        assert.equal(r.attributes['mesh.direction'], 'inbound');
        assert.equal(r.attributes['mesh.mtls'], true, 'demo sidecars talk mTLS: the inbound SNI is Istio mesh SNI');
      } else if (cluster.startsWith('outbound|')) {
        assert.equal(r.attributes['mesh.direction'], 'outbound');
        assert.equal(r.attributes['destination.service.name'], cluster.split('|')[3]!.split('.')[0]);
      }
    } else if (format === 'istio-json') {
      json++;
      assert.equal(outcome, 'ok', r.body);
      const o = JSON.parse(r.body) as Record<string, string | number | null>;
      assert.equal(r.timeUnixNano, BigInt(Date.parse(String(o['start_time']))) * 1_000_000n);
      assert.equal(r.attributes['http.response.status_code'], o['response_code']);
      assert.equal(r.attributes['envoy.duration_ms'], o['duration']);
      assert.equal(r.attributes['envoy.upstream_cluster'], o['upstream_cluster'] ?? undefined);
      assert.equal(r.attributes['http.request.header.x-request-id'], o['request_id'] ?? undefined);
      if (typeof o['traceparent'] === 'string') assert.equal(r.traceId, o['traceparent'].split('-')[1], 'the trace id from traceparent');
    } else if (attributes['log.source'] === 'app') {
      app++;
      // Structured app logs (zap, pino, logrus logfmt, structlog) carry the request's trace id.
      if (outcome === 'ok' && record.traceId && /trace_id/.test(r.body)) assert.equal(r.traceId, record.traceId, r.body);
    }
  }
  assert.ok(text > 1000 && json > 300 && app > 100, `text ${text}, json ${json}, app ${app}`);
});

const ENTRY: AccessLogEntry = {
  startTimeMs: 0,
  method: 'GET',
  path: '/api/v1/cart',
  protocol: 'HTTP/1.1',
  responseCode: 503,
  responseFlags: 'UF',
  responseCodeDetails: 'upstream_reset_before_response_started{connection_failure}',
  connectionTerminationDetails: null,
  upstreamTransportFailureReason: null,
  bytesReceived: 0,
  bytesSent: 91,
  durationMs: 3,
  upstreamServiceTimeMs: null,
  xForwardedFor: null,
  userAgent: 'Go-http-client/1.1',
  requestId: 'req',
  authority: 'cart:8080',
  upstreamHost: '10.244.1.17:8080',
  upstreamCluster: 'outbound|8080||cart.shop.svc.cluster.local',
  upstreamLocalAddress: '10.244.2.5:41234',
  downstreamLocalAddress: '10.96.14.2:8080',
  downstreamRemoteAddress: '10.244.2.5:52000',
  requestedServerName: null,
  routeName: 'default',
  traceparent: null,
};

const PIPELINE = `sources:
  otlp: { type: otlp }
transforms:
  parse: { type: parse, inputs: [otlp] }
`;

test('a server with parse in its pipeline stores access logs at the time their lines carry', async () => {
  const dir = tempDir();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, `${PIPELINE}sinks:\n  store: { type: store, inputs: [parse] }\n`);
  const server = await startServerProcess({ args: ['--config', config] });
  try {
    const marker = randomUUID();
    const now = Date.now();
    // Access logs from 20 and 15 minutes ago, shipped late (the OTLP record time is "now").
    const istioStart = now - 20 * 60_000;
    const istio = Array.from({ length: 20 }, (_, i) => formatIstioText({ ...ENTRY, startTimeMs: istioStart + i * 1000, requestId: `${marker}-${i}` }));
    const linkerdStart = now - 15 * 60_000;
    const linkerd = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({
        'client.addr': '10.42.0.70:32996',
        'client.id': 'web.shop.serviceaccount.identity.linkerd.cluster.local',
        host: 'cart:7000',
        method: 'GET',
        processing_ns: '39826',
        request_bytes: '',
        response_bytes: '120',
        status: 200,
        timestamp: new Date(linkerdStart + i * 1000).toISOString(),
        total_ns: '14441135',
        trace_id: '',
        uri: `http://cart:7000/items/${i}?m=${marker}`,
        user_agent: 'Go-http-client/1.1',
        version: 'HTTP/2.0',
      }),
    );
    for (const [service, lines] of [['istio-e2e', istio], ['linkerd-e2e', linkerd]] as const) {
      const r = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: otlpJsonLogs(lines, { service }) });
      assert.equal(r.status, 200, await r.text());
    }
    const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

    // Found in the window of the lines' own timestamps ...
    const old = await lokiQueryRange(server, `{service_name="istio-e2e"} |= "${marker}"`, { start: ns(istioStart - 1000), end: ns(istioStart + 60_000), direction: 'forward' });
    assert.equal(old.status, 200);
    // Each line carries its own trace context (structured metadata), so each is a stream of its own, as in Loki 3: order by time across streams.
    const entries = old.body.data.result.flatMap((s) => s.values).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    assert.deepEqual(entries.map((v) => v[1]), istio, 'every line, in the order of their own timestamps');
    const stamps = entries.map((v) => v[0]);
    assert.deepEqual(stamps, istio.map((_, i) => ns(istioStart + i * 1000)), 'stored at %START_TIME%, to the millisecond');
    const lk = await lokiQueryRange(server, `{service_name="linkerd-e2e"} |= "${marker}"`, { start: ns(linkerdStart - 1000), end: ns(linkerdStart + 60_000) });
    assert.equal(linesOf(lk.body).length, 10);

    // ... and not at the time they were sent.
    const recent = await lokiQueryRange(server, `{service_name=~"istio-e2e|linkerd-e2e"} |= "${marker}"`, { start: ns(now - 60_000), end: ns(Date.now() + 60_000) });
    assert.equal(recent.status, 200);
    assert.deepEqual(linesOf(recent.body), []);
  } finally {
    await server.stop();
  }
});

test('the agent with parse writes the attributes and the trace id taken from the line', async () => {
  const dir = tempDir();
  const port = await freePort();
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `agent:\n  data_dir: ${join(dir, 'data')}\n  http: { port: ${port} }\n${PIPELINE}sinks:\n  out: { type: stdout, inputs: [parse] }\n`);
  const proc = spawn(process.execPath, [MESHLOG_BIN, 'agent', '--config', config], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  try {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const line = JSON.stringify({
      start_time: '2024-05-01T12:00:00.123Z',
      method: 'POST',
      path: '/api/v1/cart',
      protocol: 'HTTP/1.1',
      response_code: 503,
      response_flags: 'UF',
      bytes_received: 12,
      bytes_sent: 91,
      duration: 25,
      upstream_cluster: 'outbound|8080||cart.shop.svc.cluster.local',
      request_id: 'req-1',
      authority: 'cart:8080',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      try {
        const body = otlpJsonLogs([line], { service: 'frontend' }).replace('"severityNumber":9', '"severityNumber":0').replace('"severityText":"INFO"', '"severityText":""');
        status = (await fetch(`http://127.0.0.1:${port}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status;
      } catch {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    assert.equal(status, 200, stderr);
    for (let i = 0; i < 100 && !stdout.includes('\n'); i++) await new Promise((res) => setTimeout(res, 50));
    const record = JSON.parse(stdout.trim().split('\n')[0]!) as { traceId: string; spanId: string; timeUnixNano: string; severityNumber: number; attributes: Record<string, unknown> };
    assert.equal(record.traceId, traceId);
    assert.equal(record.spanId, '00f067aa0ba902b7');
    assert.equal(record.timeUnixNano, String(BigInt(Date.parse('2024-05-01T12:00:00.123Z')) * 1_000_000n));
    assert.equal(record.severityNumber, 17, 'no level in the record: the 5xx status gives ERROR');
    assert.equal(record.attributes['http.response.status_code'], 503);
    assert.equal(record.attributes['destination.service.name'], 'cart');
    assert.equal(record.attributes['http.request.header.x-request-id'], 'req-1');
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});
