/**
 * Elasticsearch bulk end to end with the client users run: the official
 * @elastic/elasticsearch v8 client (its product check, its ApiKey and basic
 * auth, gzip) and its bulk helper send ECS documents to a `meshlog server`
 * child process over a real socket; they come back through Loki's
 * query_range under OpenTelemetry stream labels. A batch with bad documents
 * is stored except for those (per-item 400s the helper hands to onDrop), and
 * a malformed body gets Elasticsearch's error shape.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { linesOf, lokiQueryRange, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

const apiKey = (): string => Buffer.from(`meshlog-key:${server.token}`).toString('base64');

test('the v8 client accepts the server (product check, GET /) and its bulk helper stores ECS documents that read back', async () => {
  const client = new Client({ node: server.url, auth: { apiKey: apiKey() }, compression: true });
  try {
    const info = await client.info();
    assert.equal(info.version.number, '8.11.0');
    assert.equal(info.tagline, 'You Know, for Search');

    const marker = randomUUID();
    const now = Date.now();
    const docs = Array.from({ length: 300 }, (_, i) => ({
      '@timestamp': new Date(now - 1000 + i).toISOString(),
      message: `GET /api/cart/${i} 200 ${marker}`,
      log: { level: i % 100 === 0 ? 'error' : 'info' },
      service: { name: 'cart-es', environment: 'prod' },
      kubernetes: { namespace: 'shop', pod: { name: 'cart-es-7d9' } },
      http: { request: { method: 'GET' }, response: { status_code: 200 } },
      url: { path: `/api/cart/${i}` },
    }));
    const dropped: unknown[] = [];
    const stats = await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ create: { _index: 'logs-cart-default' } }),
      onDrop: (d) => dropped.push(d),
      flushBytes: 20_000,
    });
    assert.deepEqual(dropped, []);
    assert.equal(stats.successful, 300);
    assert.equal(stats.failed, 0);

    const res = await lokiQueryRange(server, `{service_name="cart-es", k8s_namespace_name="shop"} |= "${marker}"`);
    assert.equal(res.status, 200);
    const got = linesOf(res.body);
    assert.equal(got.length, 300);
    assert.deepEqual([...got].sort(), docs.map((d) => d.message).sort());
    // The stream labels, and the documents' fields as structured metadata (part of a result's labels, as in Loki 3).
    const stream = res.body.data.result[0]!.stream;
    assert.deepEqual(
      Object.fromEntries(['deployment_environment_name', 'k8s_namespace_name', 'k8s_pod_name', 'service_name'].map((k) => [k, stream[k]])),
      { deployment_environment_name: 'prod', k8s_namespace_name: 'shop', k8s_pod_name: 'cart-es-7d9', service_name: 'cart-es' },
    );
    assert.equal(stream['http_request_method'], 'GET');
  } finally {
    await client.close();
  }
});

test('partial success: the helper gets per-item 400s for bad documents, the rest of the batch is stored', async () => {
  const client = new Client({ node: server.url, auth: { username: 'elastic', password: server.token } });
  try {
    const marker = randomUUID();
    const docs = [
      { '@timestamp': new Date().toISOString(), message: `good one ${marker}` },
      { '@timestamp': 'the day before yesterday', message: `bad time ${marker}` },
      { '@timestamp': new Date().toISOString(), message: `good two ${marker}` },
    ];
    const dropped: { status: number; error: { type: string; reason: string } | null; document: unknown }[] = [];
    const stats = await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ index: { _index: 'partial-2024.01.31' } }),
      onDrop: (d) => dropped.push(d as never),
      retries: 0,
    });
    assert.equal(stats.successful, 2);
    assert.equal(stats.failed, 1);
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0]!.status, 400);
    assert.equal(dropped[0]!.error!.type, 'mapper_parsing_exception');
    assert.match(dropped[0]!.error!.reason, /failed to parse field \[@timestamp\] of type \[date\]/);
    assert.deepEqual(dropped[0]!.document, docs[1]);

    // No service in the documents: the index, without its date, names it.
    const res = await lokiQueryRange(server, `{service_name="partial"} |= "${marker}"`);
    assert.deepEqual(linesOf(res.body).sort(), [`good one ${marker}`, `good two ${marker}`]);
  } finally {
    await client.close();
  }
});

async function rawBulk(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `ApiKey ${apiKey()}`, 'content-type': 'application/x-ndjson', ...headers },
    body,
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

test('a malformed source line fails its item only; malformed requests get Elasticsearch\'s error shape', async () => {
  const marker = randomUUID();
  const partial = await rawBulk(
    '/fluent-bit/_bulk',
    [
      JSON.stringify({ create: {} }),
      JSON.stringify({ '@timestamp': new Date().toISOString(), log: `fluent line one ${marker}`, kubernetes: { namespace_name: 'mesh', container_name: 'istio-proxy' } }),
      JSON.stringify({ create: {} }),
      '{"log": "unterminated',
      JSON.stringify({ delete: { _id: 'x' } }),
      JSON.stringify({ create: {} }),
      JSON.stringify({ '@timestamp': new Date().toISOString(), log: `fluent line two ${marker}`, kubernetes: { namespace_name: 'mesh', container_name: 'istio-proxy' } }),
      '',
    ].join('\n'),
  );
  assert.equal(partial.status, 200);
  assert.equal(partial.headers.get('x-elastic-product'), 'Elasticsearch');
  const items = partial.json['items'] as Record<string, { status: number; error?: { type: string } }>[];
  assert.equal(partial.json['errors'], true);
  assert.deepEqual(
    items.map((it) => Object.entries(it).map(([action, v]) => `${action} ${v.status} ${v.error?.type ?? ''}`.trim())[0]),
    ['create 201', 'create 400 mapper_parsing_exception', 'delete 400 illegal_argument_exception', 'create 201'],
  );
  const res = await lokiQueryRange(server, `{k8s_namespace_name="mesh", service_name="istio-proxy"} |= "${marker}"`);
  assert.deepEqual(linesOf(res.body).sort(), [`fluent line one ${marker}`, `fluent line two ${marker}`]);

  const bad = await rawBulk('/_bulk', '{"index": {"_index": "x"}\n{"message": "y"}\n');
  assert.equal(bad.status, 400);
  const error = bad.json['error'] as { root_cause: { type: string; reason: string }[]; type: string; reason: string };
  assert.equal(bad.json['status'], 400);
  assert.equal(error.type, 'illegal_argument_exception');
  assert.match(error.reason, /^Malformed action\/metadata line \[1\]/);
  assert.deepEqual(error.root_cause, [{ type: error.type, reason: error.reason }]);

  const empty = await rawBulk('/_bulk', '\n');
  assert.equal(empty.status, 400);
  assert.equal((empty.json['error'] as { type: string }).type, 'action_request_validation_exception');
});

test('GET / answers Elasticsearch clients only and leaves / to browsers; probes answer as shippers expect', async () => {
  const auth = { authorization: `Bearer ${server.token}` };
  const asClient = await fetch(`${server.url}/`, { headers: { ...auth, accept: 'application/json' } });
  assert.equal(asClient.status, 200);
  assert.equal(asClient.headers.get('x-elastic-product'), 'Elasticsearch');
  assert.equal(((await asClient.json()) as { version: { build_flavor: string } }).version.build_flavor, 'default');
  const head = await fetch(`${server.url}/`, { method: 'HEAD', headers: { ...auth, accept: 'application/json' } });
  assert.equal(head.status, 200);
  // A browser reaches the web UI's redirect instead (packages/server/src/http/ui-routes.ts).
  const asBrowser = await fetch(`${server.url}/`, { headers: { ...auth, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, redirect: 'manual' });
  assert.equal(asBrowser.status, 302, 'a browser asking for / does not get Elasticsearch JSON');
  assert.equal(asBrowser.headers.get('location'), '/ui/');
  assert.equal(asBrowser.headers.get('x-elastic-product'), null);
  await asBrowser.body?.cancel();
  const license = await fetch(`${server.url}/_license`, { headers: auth });
  assert.equal(((await license.json()) as { license: { status: string } }).license.status, 'active');
  const template = await fetch(`${server.url}/_index_template/filebeat-8.11.0`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"index_patterns":["filebeat-*"]}' });
  assert.deepEqual(await template.json(), { acknowledged: true });
  // Without credentials nothing is answered, Elasticsearch route or not.
  assert.equal((await fetch(`${server.url}/_license`)).status, 401);
});
