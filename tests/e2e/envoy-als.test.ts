/**
 * Envoy's gRPC access log service end to end. Envoy itself cannot run on
 * this machine (no binary, no network to fetch one), so the client is what
 * Envoy is on the wire: a gRPC client built with @grpc/grpc-js and
 * @grpc/proto-loader from Envoy's ALS protos (envoy.service.accesslog.v3),
 * streaming StreamAccessLogsMessage the way Envoy does: the node identifier
 * (an Istio sidecar's) in the first message only, then batches of HTTP and
 * TCP entries, the stream left open across messages. Records are read back
 * through Loki's `query_range`; the query API returns lines, so the mapping
 * shows in the rendered Envoy-format line and in the stream labels taken
 * from the node (service_name, k8s_namespace_name, k8s_pod_name). The full
 * attribute mapping is unit-tested on decoded messages
 * (packages/components/src/sources/envoy_als/als-decode.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, alsType } from '@meshlog/components';
import { linesOf, lokiQueryRange, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ grpc: true });
});
after(async () => {
  await server.stop();
});

type AlsClient = grpc.Client & {
  StreamAccessLogs(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: unknown) => void): grpc.ClientWritableStream<unknown>;
};

function alsClient(): AlsClient {
  // keepCase: the messages below are written with Envoy's own (snake_case) field names.
  const def = protoLoader.loadSync('envoy/service/accesslog/v3/als.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { accesslog: { v3: { AccessLogService: grpc.ServiceClientConstructor } } } } };
  return new pkg.envoy.service.accesslog.v3.AccessLogService(server.grpcAddress!, grpc.credentials.createInsecure()) as never;
}

function authMetadata(): grpc.Metadata {
  // What Envoy's `grpc_service.initial_metadata` sends on every ALS stream.
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${server.token}`);
  return md;
}

/** A fresh Istio sidecar identity per test, so its stream labels select only this test's records. */
function istioNode(app: string, namespace: string): { node: Record<string, unknown>; pod: string } {
  const pod = `${app}-v1-7d79d5bd5d-${randomBytes(3).toString('hex').slice(0, 5)}`;
  return {
    pod,
    node: {
      id: `sidecar~10.1.2.3~${pod}.${namespace}~${namespace}.svc.cluster.local`,
      cluster: `${app}.${namespace}`,
      metadata: { fields: { NAMESPACE: { stringValue: namespace }, NAME: { stringValue: pod }, LABELS: { structValue: { fields: { app: { stringValue: app } } } } } },
    },
  };
}

const sock = (address: string, port_value: number): Record<string, unknown> => ({ socket_address: { address, port_value } });
const START_MS = Date.now() - 5_000;
const at = (offsetMs: number): Record<string, unknown> => ({ seconds: String(Math.floor((START_MS + offsetMs) / 1000)), nanos: ((START_MS + offsetMs) % 1000) * 1_000_000 });
const ms = (n: number): Record<string, unknown> => ({ seconds: String(Math.floor(n / 1000)), nanos: (n % 1000) * 1_000_000 });
const iso = (offsetMs: number): string => new Date(START_MS + offsetMs).toISOString();

function httpEntry(i: number, marker: string, status: number, flags: Record<string, boolean> = {}): Record<string, unknown> {
  return {
    common_properties: {
      start_time: at(i),
      downstream_remote_address: sock('10.1.9.7', 40000 + i),
      upstream_remote_address: sock('10.1.4.4', 9080),
      upstream_cluster: 'outbound|9080||ratings.bookinfo.svc.cluster.local',
      response_flags: flags,
      duration: ms(10 + i),
      tls_properties: { tls_version: 'TLSv1_3', peer_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/bookinfo/sa/productpage' }] } },
    },
    protocol_version: 'HTTP2',
    request: {
      request_method: 'GET',
      authority: 'ratings:9080',
      path: `/ratings/${i}?m=${marker}`,
      user_agent: 'Envoy/HC',
      request_id: `${marker}-${i}`,
      request_body_bytes: '0',
      request_headers: { traceparent: `00-${'ab'.repeat(16)}-${(i + 1).toString(16).padStart(16, '0')}-01` },
    },
    response: { response_code: { value: status }, response_body_bytes: String(100 + i), response_headers: { 'x-envoy-upstream-service-time': String(5 + i) } },
  };
}

function httpLine(i: number, marker: string, status: number, flags: string): string {
  return `[${iso(i)}] "GET /ratings/${i}?m=${marker} HTTP/2" ${status} ${flags} 0 ${100 + i} ${10 + i} ${5 + i} "-" "Envoy/HC" "${marker}-${i}" "ratings:9080" "10.1.4.4:9080"`;
}

function stream(client: AlsClient): { write(m: unknown): void; end(): Promise<{ err: grpc.ServiceError | null }> } {
  let settle!: (r: { err: grpc.ServiceError | null }) => void;
  const done = new Promise<{ err: grpc.ServiceError | null }>((r) => (settle = r));
  const call = client.StreamAccessLogs(authMetadata(), (err) => settle({ err }));
  return {
    write: (m) => call.write(m),
    end: () => {
      call.end();
      return done;
    },
  };
}

async function waitForLines(query: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await lokiQueryRange(server, query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const lines = linesOf(res.body);
    if (lines.length >= n || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('HTTP and TCP entries streamed like an Istio sidecar read back as Envoy-format lines under the node\'s stream labels', async () => {
  const client = alsClient();
  const marker = randomUUID();
  const { node, pod } = istioNode('reviews', 'bookinfo');
  const s = stream(client);
  s.write({ identifier: { node, log_name: 'meshlog-als' }, http_logs: { log_entry: [httpEntry(0, marker, 200), httpEntry(1, marker, 503, { upstream_connection_failure: true, upstream_retry_limit_exceeded: true })] } });
  s.write({ http_logs: { log_entry: [httpEntry(2, marker, 404, { no_route_found: true })] } });
  s.write({
    tcp_logs: {
      log_entry: [
        {
          common_properties: { start_time: at(3), upstream_remote_address: sock('10.1.7.7', 5432), upstream_cluster: 'outbound|5432||postgres.db.svc.cluster.local', duration: ms(1200) },
          connection_properties: { received_bytes: '2138', sent_bytes: '1346' },
        },
      ],
    },
  });
  // Envoy keeps the stream open; the messages above must already be stored while it is.
  const selector = `{service_name="reviews", k8s_namespace_name="bookinfo", k8s_pod_name="${pod}"}`;
  const whileOpen = await waitForLines(selector, 4);
  assert.equal(whileOpen.length, 4);
  const { err } = await s.end();
  assert.equal(err, null, 'the stream ends with OK');

  const lines = await waitForLines(selector, 4);
  assert.deepEqual([...lines].sort(), [
    httpLine(0, marker, 200, '-'),
    httpLine(1, marker, 503, 'UF,URX'),
    httpLine(2, marker, 404, 'NR'),
    `[${iso(3)}] "- - -" 0 - 2138 1346 1200 - "-" "-" "-" "-" "10.1.7.7:5432"`,
  ].sort());

  // Line filters work as on file-based Envoy logs.
  assert.deepEqual(linesOf((await lokiQueryRange(server, `${selector} |= " 503 UF,URX "`)).body), [httpLine(1, marker, 503, 'UF,URX')]);
  assert.deepEqual(linesOf((await lokiQueryRange(server, `{service_name="reviews"} |= "${marker}-2"`)).body), [httpLine(2, marker, 404, 'NR')]);
  client.close();
});

test('two Envoys stream at once; each stream keeps its own node identity', async () => {
  const client = alsClient();
  const marker = randomUUID();
  const a = istioNode('details', 'shop');
  const b = istioNode('cart', 'shop');
  const sa = stream(client);
  const sb = stream(client);
  sa.write({ identifier: { node: a.node, log_name: 'als' }, http_logs: { log_entry: [httpEntry(10, marker, 200)] } });
  sb.write({ identifier: { node: b.node, log_name: 'als' }, http_logs: { log_entry: [httpEntry(20, marker, 500)] } });
  sa.write({ http_logs: { log_entry: [httpEntry(11, marker, 201)] } });
  sb.write({ http_logs: { log_entry: [httpEntry(21, marker, 502)] } });
  assert.equal((await sa.end()).err, null);
  assert.equal((await sb.end()).err, null);
  const details = await waitForLines(`{service_name="details", k8s_pod_name="${a.pod}"} |= "${marker}"`, 2);
  const cart = await waitForLines(`{service_name="cart", k8s_pod_name="${b.pod}"} |= "${marker}"`, 2);
  assert.deepEqual(details.map((l) => / (\d{3}) - /.exec(l)?.[1]).sort(), ['200', '201']);
  assert.deepEqual(cart.map((l) => / (\d{3}) - /.exec(l)?.[1]).sort(), ['500', '502']);
  client.close();
});

test('a malformed message ends the stream with INVALID_ARGUMENT; the messages before it stay stored', async () => {
  const raw = new grpc.Client(server.grpcAddress!, grpc.credentials.createInsecure());
  const id = (x: Buffer): Buffer => x;
  const marker = randomUUID();
  const { node, pod } = istioNode('payments', 'bank');
  const T = alsType('StreamAccessLogsMessage');
  const first = Buffer.from(
    T.encode(
      T.fromObject({
        identifier: { node: { id: node['id'], cluster: node['cluster'] }, logName: 'als' },
        httpLogs: { logEntry: [{ request: { requestMethod: 'POST', path: `/pay?m=${marker}` }, response: { responseCode: { value: 200 } } }] },
      }),
    ).finish(),
  );
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = raw.makeClientStreamRequest('/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs', id, id, authMetadata(), {}, (e) => resolve(e));
    call.write(first);
    call.write(Buffer.from([0x12, 0x08, 0x0a, 0xff, 0xff]));
    call.write(first);
    call.end();
  });
  assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(err!.details, /message 1 of the stream is not a valid envoy\.service\.accesslog\.v3\.StreamAccessLogsMessage/);
  const lines = await waitForLines(`{service_name="payments", k8s_pod_name="${pod}"} |= "${marker}"`, 1);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /"POST \/pay\?m=[0-9a-f-]+ -" 200 - /);

  const anonymous = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = raw.makeClientStreamRequest('/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs', id, id, new grpc.Metadata(), {}, (e) => resolve(e));
    call.write(first);
    call.end();
  });
  assert.equal(anonymous?.code, grpc.status.UNAUTHENTICATED);
  raw.close();
});
