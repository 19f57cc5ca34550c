import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HTTP_INGEST_SERVICE,
  ServiceMap,
  createLogger,
  retryableError,
  streamLabelsOf,
  type Batch,
  type BuildContext,
  type HttpIngestHost,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
  type LogBatch,
  type Source,
} from '@meshlog/core';
import { EsBulkRequestError, indexNameProblem, parseBulkBody } from './es-bulk-decode.js';
import { documentToRecord, parseDate, serviceFromIndex } from './ecs-mapping.js';
import { EsBulkSourceConfigSchema } from './config.js';
import { esBulkSource } from './es-bulk-source.js';
import { isElasticsearchClient } from './es-responses.js';

const NOW = 1_700_000_000_000_000_000n;
const ndjson = (...lines: unknown[]): Buffer => Buffer.from(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');

function requestError(fn: () => unknown): EsBulkRequestError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EsBulkRequestError, String(err));
    return err;
  }
  assert.fail('expected an EsBulkRequestError');
}

test('NDJSON: index/create carry a source line, delete none; update/delete and bad sources fail per item', () => {
  const ops = parseBulkBody(
    ndjson(
      { index: { _index: 'logs' } },
      { message: 'a' },
      { create: { _id: 'x1' } },
      { message: 'b' },
      { delete: { _index: 'logs', _id: 'gone' } },
      { update: { _index: 'logs', _id: 'u' } },
      { doc: { a: 1 } },
      { index: {} },
      '{"message": "truncated',
      { index: {} },
      '[1, 2]',
      { index: { _index: 'Logs' } },
      { message: 'c' },
    ),
    'default-index',
  );
  assert.deepEqual(
    ops.map((o) => [o.action, o.index, o.id, o.error?.error.type ?? 'ok']),
    [
      ['index', 'logs', undefined, 'ok'],
      ['create', 'default-index', 'x1', 'ok'],
      ['delete', 'logs', 'gone', 'illegal_argument_exception'],
      ['update', 'logs', 'u', 'illegal_argument_exception'],
      ['index', 'default-index', undefined, 'mapper_parsing_exception'],
      ['index', 'default-index', undefined, 'mapper_parsing_exception'],
      ['index', 'Logs', undefined, 'invalid_index_name_exception'],
    ],
  );
  assert.match(ops[2]!.error!.error.reason, /the \[delete\] action is not supported: Meshlog stores logs append-only/);
  assert.match(ops[4]!.error!.error.reason, /failed to parse the document on line \[9\]/);
  assert.equal(ops[4]!.error!.error.caused_by?.type, 'x_content_parse_exception');
  assert.match(ops[5]!.error!.error.reason, /expected a JSON object, found an array/);
  assert.equal(ops[6]!.error!.error.reason, 'Invalid index name [Logs], must be lowercase');
});

test('malformed requests are refused whole, in Elasticsearch\'s words, naming the line', () => {
  assert.match(requestError(() => parseBulkBody(ndjson('{"index": {"_index": "a"}', '{}'), undefined)).message, /^Malformed action\/metadata line \[1\], expected a JSON object/);
  const unknown = requestError(() => parseBulkBody(ndjson({ index: { _index: 'a' } }, {}, { upsert: {} }, {}), undefined));
  assert.equal(unknown.type, 'illegal_argument_exception');
  assert.equal(unknown.message, 'Malformed action/metadata line [3], expected one of [create, delete, index, update] but found [upsert]');
  assert.match(requestError(() => parseBulkBody(Buffer.from('{"index":{"_index":"a"}}\n'), undefined)).message, /the index action on line \[1\] has no source line/);
  const noIndex = requestError(() => parseBulkBody(ndjson({ index: {} }, {}), undefined));
  assert.equal(noIndex.type, 'action_request_validation_exception');
  assert.match(noIndex.message, /Validation Failed: 1: index is missing/);
  assert.equal(requestError(() => parseBulkBody(Buffer.from('\n\n'), 'a')).message, 'Validation Failed: 1: no requests added;');
  assert.match(requestError(() => parseBulkBody(ndjson({ index: { _index: 5 } }, {}), undefined)).message, /\[_index\] must be a string/);
});

test('index names follow Elasticsearch\'s rules', () => {
  assert.equal(indexNameProblem('filebeat-8.11.0'), undefined);
  assert.equal(indexNameProblem('.ds-logs'), undefined);
  assert.match(indexNameProblem('_bad')!, /must not start/);
  assert.match(indexNameProblem('a b')!, /must not contain/);
});

test('dates: ISO 8601 to the nanosecond with zones, epoch millis; impossible dates refused', () => {
  assert.equal(parseDate('2024-01-31T10:00:00.123456789Z'), 1706695200123456789n);
  assert.equal(parseDate('2024-01-31T12:00:00.5+02:00'), 1706695200500000000n);
  assert.equal(parseDate('2024-01-31'), 1706659200000000000n);
  assert.equal(parseDate(1706695200123), 1706695200123000000n);
  assert.equal(parseDate('1706695200123'), 1706695200123000000n);
  assert.equal(parseDate(1706695200123.5), 1706695200123500000n);
  assert.equal(parseDate('2024-02-31T00:00:00Z'), undefined);
  assert.equal(parseDate('yesterday'), undefined);
  assert.equal(parseDate(-5), undefined);
});

function mapDoc(doc: Record<string, unknown>, index = 'logs-2024.01.31', id?: string) {
  return documentToRecord(doc, { index, id, sourceText: JSON.stringify(doc), now: NOW, internResource: (r) => r });
}

test('ECS documents map to OpenTelemetry names: resource, severity, trace context, HTTP', () => {
  const r = mapDoc(
    {
      '@timestamp': '2024-01-31T10:00:00.000Z',
      message: 'GET /cart 503',
      log: { level: 'ERROR', logger: 'http.access' },
      service: { name: 'cart', version: '1.4.2', environment: 'prod' },
      host: { name: 'node-1', os: { type: 'linux' } },
      kubernetes: { namespace: 'shop', pod: { name: 'cart-1' }, container: { name: 'cart' }, labels: { app: 'cart' } },
      container: { id: 'abc' },
      'trace.id': '0AF7651916CD43DD8448EB211C80319C',
      span: { id: 'b7ad6b7169203331' },
      http: { request: { method: 'GET', bytes: 120 }, response: { status_code: 503 }, version: '1.1' },
      url: { path: '/cart' },
      source: { ip: '10.0.0.7', port: 51234 },
      error: { message: 'upstream reset' },
      tags: ['a', 'b'],
    },
    'logs-2024.01.31',
    'doc-1',
  );
  assert.ok(!('error' in r));
  assert.equal(r.timeUnixNano, 1706695200000000000n);
  assert.equal(r.body, 'GET /cart 503');
  assert.equal(r.severityText, 'ERROR');
  assert.equal(r.severityNumber, 17);
  assert.equal(r.scopeName, 'http.access');
  assert.equal(r.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(r.spanId, 'b7ad6b7169203331');
  assert.deepEqual(r.resource, {
    'service.name': 'cart',
    'service.version': '1.4.2',
    'deployment.environment.name': 'prod',
    'host.name': 'node-1',
    'os.type': 'linux',
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'cart-1',
    'k8s.container.name': 'cart',
    'container.id': 'abc',
  });
  assert.deepEqual(r.attributes, {
    'kubernetes.labels.app': 'cart',
    'http.request.method': 'GET',
    'http.request.size': 120,
    'http.response.status_code': 503,
    'network.protocol.version': '1.1',
    'url.path': '/cart',
    'source.address': '10.0.0.7',
    'source.port': 51234,
    'exception.message': 'upstream reset',
    tags: '["a","b"]',
    'elasticsearch.index': 'logs-2024.01.31',
    'elasticsearch.id': 'doc-1',
  });
  assert.deepEqual(streamLabelsOf(r.resource), [
    ['deployment_environment_name', 'prod'],
    ['k8s_container_name', 'cart'],
    ['k8s_namespace_name', 'shop'],
    ['k8s_pod_name', 'cart-1'],
    ['service_name', 'cart'],
  ]);
});

test('Fluent Bit documents: log as body, kubernetes.*_name fields, service from the container; else from the index', () => {
  const fb = mapDoc({ '@timestamp': 1706695200123, log: 'raw line\n', stream: 'stdout', kubernetes: { namespace_name: 'mesh', pod_name: 'p-1', container_name: 'istio-proxy', host: 'n1' } }, 'fluent-bit');
  assert.ok(!('error' in fb));
  assert.equal(fb.body, 'raw line\n');
  assert.deepEqual(fb.resource, { 'k8s.namespace.name': 'mesh', 'k8s.pod.name': 'p-1', 'k8s.node.name': 'n1', 'k8s.container.name': 'istio-proxy' });
  assert.equal(streamLabelsOf(fb.resource).find((l) => l[0] === 'service_name')![1], 'istio-proxy');

  // No message field: the document's source is the body; no service: the index without its date.
  const bare = mapDoc({ timestamp: 'not a date', count: 3 }, 'nginx-2024.01.31');
  assert.ok(!('error' in bare));
  assert.equal(bare.body, '{"timestamp":"not a date","count":3}');
  assert.equal(bare.timeUnixNano, NOW);
  assert.equal(bare.resource['service.name'], 'nginx');
  assert.equal(bare.attributes['timestamp'], 'not a date', 'a guessed time field that is no date stays an attribute');
  assert.equal(serviceFromIndex('app-2024-01-31'), 'app');
  assert.equal(serviceFromIndex('filebeat-8.11.0'), 'filebeat-8.11.0');

  const badTime = mapDoc({ '@timestamp': 'last tuesday', message: 'x' });
  assert.ok('error' in badTime);
  assert.equal(badTime.error.type, 'mapper_parsing_exception');
  assert.match(badTime.error.reason, /failed to parse field \[@timestamp\] of type \[date\]/);
});

test('GET / belongs to Elasticsearch clients only; browsers and bare curl fall through', () => {
  assert.equal(isElasticsearchClient({ accept: 'application/vnd.elasticsearch+json; compatible-with=8' }), true);
  assert.equal(isElasticsearchClient({ accept: 'application/json' }), true);
  assert.equal(isElasticsearchClient({}), true);
  assert.equal(isElasticsearchClient({ accept: '*/*', 'user-agent': 'Go-http-client/1.1 Filebeat/8.11.0' }), true);
  assert.equal(isElasticsearchClient({ accept: '*/*', 'x-elastic-client-meta': 'es=8.19.1' }), true);
  assert.equal(isElasticsearchClient({ accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'user-agent': 'Mozilla/5.0' }), false);
  assert.equal(isElasticsearchClient({ accept: '*/*', 'user-agent': 'curl/8.5.0' }), false);
});

class FakeHost implements HttpIngestHost {
  routes = new Map<string, IngestRoute>();
  mount(_owner: string, routes: IngestRoute[]): void {
    for (const r of routes) this.routes.set(`${r.method} ${r.path}`, r);
  }
  unmount(): void {}
  call(method: string, path: string, body: Buffer | string = '', params: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<IngestResponse> {
    const route = this.routes.get(`${method} ${path}`);
    assert.ok(route, `no route ${method} ${path}`);
    const req: IngestRequest = { body: Buffer.from(body), headers, contentType: 'application/x-ndjson', tenant: 't1', remoteAddress: '127.0.0.1', params, query: {} };
    return route.handler(req);
  }
}

async function startSource(emit: (b: Batch) => Promise<void>): Promise<{ host: FakeHost; source: Source }> {
  const host = new FakeHost();
  const ctx: BuildContext = {
    id: 'es_bulk',
    dataDir: '/nonexistent',
    logger: createLogger({ write: () => undefined }),
    metrics: { received: () => undefined, sent: () => undefined, discarded: () => undefined, error: () => undefined, queueDepth: () => undefined },
    services: new ServiceMap().set(HTTP_INGEST_SERVICE, host),
    emit: (b) => emit(b),
  };
  const source = (await esBulkSource.build(EsBulkSourceConfigSchema.parse({}), ctx)) as Source;
  await source.start();
  return { host, source };
}

interface BulkItem {
  _index: string;
  _id: string;
  status: number;
  result?: string;
  _seq_no?: number;
  error?: { type: string; reason: string };
}
function bulkBody(res: IngestResponse): { took: number; errors: boolean; items: Record<string, BulkItem>[] } {
  return JSON.parse(String(res.body)) as never;
}

test('bulk answers per item in Elasticsearch\'s shape; the good items of a batch are stored (partial success)', async () => {
  const emitted: LogBatch[] = [];
  const { host, source } = await startSource(async (b) => void emitted.push(b as LogBatch));
  const res = await host.call('POST', '/:index/_bulk', ndjson({ index: {} }, { message: 'one' }, { create: { _id: 'c-2' } }, { message: 'two' }, { index: {} }, '{"message": ', { delete: { _id: 'x' } }), { index: 'app-logs' }, { accept: 'application/vnd.elasticsearch+json; compatible-with=8' });
  assert.equal(res.status, 200);
  assert.equal(res.headers?.['x-elastic-product'], 'Elasticsearch');
  assert.equal(res.contentType, 'application/vnd.elasticsearch+json;compatible-with=8');
  const body = bulkBody(res);
  assert.equal(body.errors, true);
  assert.equal(typeof body.took, 'number');
  assert.deepEqual(Object.keys(body.items[0]!), ['index']);
  const first = body.items[0]!['index']!;
  assert.equal(first._id.length, 20);
  assert.deepEqual({ ...first, _id: 'generated' }, {
    _index: 'app-logs',
    _id: 'generated',
    _version: 1,
    result: 'created',
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: 0,
    _primary_term: 1,
    status: 201,
  });
  assert.equal(body.items[1]!['create']!._id, 'c-2');
  assert.equal(body.items[1]!['create']!._seq_no, 1);
  assert.equal(body.items[2]!['index']!.status, 400);
  assert.equal(body.items[2]!['index']!.error!.type, 'mapper_parsing_exception');
  assert.equal(body.items[3]!['delete']!.status, 400);
  assert.equal(emitted.length, 1);
  assert.deepEqual(
    emitted[0]!.records.map((r) => [r.body, r.attributes['elasticsearch.index']]),
    [
      ['one', 'app-logs'],
      ['two', 'app-logs'],
    ],
  );
  assert.equal(emitted[0]!.tenant, 't1');
  await source.stop();
});

test('a full queue makes each storable item 429 es_rejected_execution_exception (clients retry those); malformed bodies get the error shape', async () => {
  const { host, source } = await startSource(async () => {
    throw retryableError('queue_full', 'sink store queue is full', 2000);
  });
  const res = await host.call('POST', '/_bulk', ndjson({ index: { _index: 'a' } }, { message: 'x' }, { update: { _index: 'a', _id: '1' } }, { doc: {} }));
  const body = bulkBody(res);
  assert.equal(res.status, 200);
  assert.equal(res.headers?.['retry-after'], '2');
  assert.equal(body.items[0]!['index']!.status, 429);
  assert.equal(body.items[0]!['index']!.error!.type, 'es_rejected_execution_exception');
  assert.equal(body.items[1]!['update']!.status, 400);

  const bad = await host.call('POST', '/_bulk', 'not json\n{}\n');
  assert.equal(bad.status, 400);
  assert.equal(bad.headers?.['x-elastic-product'], 'Elasticsearch');
  const err = JSON.parse(String(bad.body)) as { error: { root_cause: { type: string; reason: string }[]; type: string; reason: string }; status: number };
  assert.equal(err.status, 400);
  assert.equal(err.error.type, 'illegal_argument_exception');
  assert.deepEqual(err.error.root_cause, [{ type: 'illegal_argument_exception', reason: err.error.reason }]);
  assert.match(err.error.reason, /Malformed action\/metadata line \[1\]/);
  await source.stop();
});

test('probe endpoints answer what shippers check at start', async () => {
  const { host, source } = await startSource(async () => undefined);
  const info = JSON.parse(String((await host.call('GET', '/')).body)) as { version: { number: string; build_flavor: string }; tagline: string };
  assert.equal(info.version.number, '8.11.0');
  assert.equal(info.version.build_flavor, 'default');
  assert.equal(info.tagline, 'You Know, for Search');
  assert.equal(host.routes.get('GET /')!.claims!({ accept: 'text/html' }), false);
  assert.equal(((JSON.parse(String((await host.call('GET', '/_license')).body)) as { license: { status: string } }).license.status), 'active');
  assert.equal(((JSON.parse(String((await host.call('GET', '/_xpack')).body)) as { features: { ilm: { enabled: boolean } } }).features.ilm.enabled), true);
  assert.equal((await host.call('GET', '/_ilm/policy/:name', '', { name: 'filebeat' })).status, 404);
  const put = await host.call('PUT', '/_index_template/:name', '{}', { name: 'filebeat-8.11.0' });
  assert.equal(put.status, 200);
  assert.equal(put.body, '{"acknowledged":true}');
  assert.equal((await host.call('HEAD', '/_index_template/:name', '', { name: 'x' })).status, 404);
  await source.stop();
});

test('fuzz: random and mutated bulk bodies only ever raise EsBulkRequestError, and every document maps or fails alone', () => {
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const valid = ndjson(
    { index: { _index: 'logs', _id: 'a' } },
    { '@timestamp': '2024-01-31T10:00:00Z', message: 'hi', log: { level: 'warn' }, service: { name: 's' }, trace: { id: '0af7651916cd43dd8448eb211c80319c' }, a: [1, { b: 2 }] },
    { create: {} },
    { msg: 'x', time: 1706695200000 },
  );
  const alphabet = '{}[]":,\n \\abc01@.-';
  for (let i = 0; i < 3000; i++) {
    let body: Buffer;
    if (i % 3 === 0) {
      body = Buffer.from(Array.from({ length: rnd(80) }, () => alphabet[rnd(alphabet.length)]).join(''));
    } else {
      body = Buffer.from(valid);
      for (let m = 0; m <= rnd(4); m++) body[rnd(body.length)] = alphabet.charCodeAt(rnd(alphabet.length));
    }
    try {
      for (const op of parseBulkBody(body, 'fallback')) {
        if (op.doc) documentToRecord(op.doc, { index: op.index, id: op.id, sourceText: op.sourceText ?? '', now: NOW, internResource: (r) => r });
      }
    } catch (err) {
      assert.ok(err instanceof EsBulkRequestError, `body ${JSON.stringify(body.toString())} threw ${String(err)}`);
    }
  }
});
