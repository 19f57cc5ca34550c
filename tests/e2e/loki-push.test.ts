/**
 * Loki push end to end with the client users run: winston-loki sends to a
 * `meshlog server` child process over a real socket, in protobuf (snappy)
 * and in JSON, with basic auth (the token as password); the lines come back
 * through Loki's query_range under the very labels the sender chose. Then
 * malformed pushes get Loki's 400 with a message naming the problem, and a
 * push with one bad stream stores the good ones (Loki's rule).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { compressSync } from 'snappy';
import { lokiType } from '@meshlog/components';
import { linesOf, lokiQueryRange, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  await server.stop();
});

interface WinstonLokiTransport extends LokiTransport {
  batcher: { contentType: string };
}

async function sendWithWinstonLoki(opts: { json: boolean; labels: Record<string, string>; lines: { message: string; meta?: Record<string, string> }[] }): Promise<string> {
  const errors: unknown[] = [];
  const transport = new LokiTransport({
    host: server.url,
    basicAuth: `meshlog:${server.token}`,
    labels: opts.labels,
    json: opts.json,
    interval: 0.1,
    gracefulShutdown: false,
    onConnectionError: (err: unknown) => errors.push(err),
  }) as WinstonLokiTransport;
  const logger = winston.createLogger({ level: 'debug', transports: [transport] });
  for (const l of opts.lines) logger.warn(l.message, l.meta ?? {});
  await new Promise((r) => setTimeout(r, 50));
  await transport.flush();
  await transport.close();
  logger.close();
  assert.deepEqual(errors, [], 'winston-loki reported errors');
  return transport.batcher.contentType;
}

test('winston-loki over protobuf + snappy: lines read back under the labels the sender chose', async () => {
  const marker = randomUUID();
  const lines = Array.from({ length: 20 }, (_, i) => `order ${i} payment declined ${marker}`);
  const contentType = await sendWithWinstonLoki({ json: false, labels: { app: 'cart', namespace: 'shop' }, lines: lines.map((message) => ({ message })) });
  // winston-loki falls back to JSON silently when snappy cannot load: make sure protobuf was what went out.
  assert.equal(contentType, 'application/x-protobuf');

  const res = await lokiQueryRange(server, `{app="cart", namespace="shop"} |= "${marker}"`);
  assert.equal(res.status, 200);
  // winston-loki's default line format appends the remaining metadata as JSON.
  assert.deepEqual(linesOf(res.body).sort(), lines.map((l) => `${l} {"level":"warn"}`).sort());
  assert.deepEqual(res.body.data.result[0]!.stream, { app: 'cart', level: 'warn', namespace: 'shop', service_name: 'cart' });
  // The Loki label is a label like any other for the label APIs.
  const values = await fetch(`${server.url}/loki/api/v1/label/app/values?since=1h`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.ok(((await values.json()) as { data: string[] }).data.includes('cart'));
});

test('winston-loki over JSON with structured metadata reads back; service_name follows Loki\'s discovery', async () => {
  const marker = randomUUID();
  const contentType = await sendWithWinstonLoki({
    json: true,
    labels: { job: 'billing-worker', env: 'prod' },
    lines: [
      { message: `invoice sent ${marker}`, meta: { user: 'u-42' } },
      { message: `invoice failed ${marker}`, meta: { trace_id: '0af7651916cd43dd8448eb211c80319c' } },
    ],
  });
  assert.equal(contentType, 'application/json');
  const res = await lokiQueryRange(server, `{service_name="billing-worker", env="prod"} |= "${marker}"`);
  assert.equal(res.status, 200);
  const got = linesOf(res.body).sort();
  assert.equal(got.length, 2);
  assert.match(got[0]!, new RegExp(`^invoice failed ${marker}`));
  assert.match(got[1]!, new RegExp(`^invoice sent ${marker}`));
  // Structured metadata is part of a result's labels, as Loki 3 answers: the line with a trace_id is a stream of its own.
  const streamOf = (line: string): Record<string, string> => res.body.data.result.find((s) => s.values.some((v) => v[1].startsWith(line)))!.stream;
  const base = { env: 'prod', job: 'billing-worker', level: 'warn', service_name: 'billing-worker' };
  assert.deepEqual(streamOf('invoice failed'), { ...base, trace_id: '0af7651916cd43dd8448eb211c80319c' });
  const sent = streamOf('invoice sent');
  assert.deepEqual(Object.fromEntries(Object.keys(base).map((k) => [k, sent[k]])), base);
  assert.equal(sent['trace_id'], undefined);
});

async function push(body: Buffer | string, headers: Record<string, string>, auth = `Bearer ${server.token}`): Promise<{ status: number; text: string }> {
  const r = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { authorization: auth, ...headers }, body });
  return { status: r.status, text: await r.text() };
}

test('JSON push with gzip and bearer auth answers 204; a bad stream is rejected by name while the good one is stored', async () => {
  const marker = randomUUID();
  const ns = `${BigInt(Date.now()) * 1_000_000n}`;
  const ok = await push(gzipSync(JSON.stringify({ streams: [{ stream: { app: 'gz' }, values: [[ns, `gzipped ${marker}`]] }] })), {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
  });
  assert.equal(ok.status, 204, ok.text);

  const mixed = await push(
    JSON.stringify({
      streams: [
        { stream: { 'bad-name': 'x' }, values: [[ns, `rejected ${marker}`]] },
        { stream: { app: 'mixed' }, values: [[ns, `kept ${marker}`]] },
      ],
    }),
    { 'content-type': 'application/json' },
  );
  assert.equal(mixed.status, 400);
  assert.match(mixed.text, /1 entries stored, 1 rejected:\nerror parsing labels \{bad-name="x"\}: invalid label name "bad-name"/);
  const res = await lokiQueryRange(server, `{service_name=~"gz|mixed"} |= "${marker}"`);
  assert.deepEqual(linesOf(res.body).sort(), [`gzipped ${marker}`, `kept ${marker}`]);
});

test('malformed pushes get 400 naming the problem, and the server keeps serving', async () => {
  const badSnappy = await push(Buffer.from('definitely not snappy'), { 'content-type': 'application/x-protobuf' });
  assert.equal(badSnappy.status, 400);
  assert.match(badSnappy.text, /invalid snappy-compressed body/);

  // A valid snappy frame around bytes that are not a PushRequest.
  const snappyOfGarbage = Buffer.from([0x06, 0x14, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  const badProto = await push(snappyOfGarbage, { 'content-type': 'application/x-protobuf' });
  assert.equal(badProto.status, 400);
  assert.match(badProto.text, /invalid protobuf PushRequest/);

  const badJson = await push('{"streams": [', { 'content-type': 'application/json' });
  assert.equal(badJson.status, 400);
  assert.match(badJson.text, /invalid JSON/);

  const numberTs = await push('{"streams":[{"stream":{"app":"x"},"values":[[1700000000000000000,"line"]]}]}', { 'content-type': 'application/json' });
  assert.equal(numberTs.status, 400);
  assert.match(numberTs.text, /streams\[0\]\.values\[0\]\[0\]: the timestamp must be a string of Unix epoch nanoseconds/);

  const badLabels = await push('{"streams":[{"stream":{},"values":[["1","line"]]}]}', { 'content-type': 'application/json' });
  assert.equal(badLabels.status, 400);
  assert.match(badLabels.text, /at least one label pair/);

  // Protobuf: a label text that does not parse rejects its stream, named with the position; the other stream is stored.
  const marker = randomUUID();
  const T = lokiType('PushRequest');
  const seconds = Math.floor(Date.now() / 1000);
  const proto = T.encode(
    T.fromObject({
      streams: [
        { labels: '{app="pb", env=prod}', entries: [{ timestamp: { seconds, nanos: 0 }, line: `bad labels ${marker}` }] },
        { labels: '{app="pb"}', entries: [{ timestamp: { seconds, nanos: 1 }, line: `good labels ${marker}` }] },
      ],
    }),
  ).finish();
  const badText = await push(compressSync(Buffer.from(proto)), { 'content-type': 'application/x-protobuf' });
  assert.equal(badText.status, 400);
  assert.match(badText.text, /^1 entries stored, 1 rejected:\nerror parsing labels \{app="pb", env=prod\}: parse error at line 1, col 16/);
  assert.deepEqual(linesOf((await lokiQueryRange(server, `{app="pb"} |= "${marker}"`)).body), [`good labels ${marker}`]);

  // A snappy body that says it would decompress past the request limit is refused before it is.
  const bomb = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x0f, 0x00]);
  const tooBig = await push(bomb, { 'content-type': 'application/x-protobuf' });
  assert.equal(tooBig.status, 413);
  assert.match(tooBig.text, /past the \d+-byte request limit/);

  // Credentials the way Loki clients send them: wrong ones are refused, basic auth with the token works.
  assert.equal((await push('{"streams":[]}', { 'content-type': 'application/json' }, 'Basic ' + Buffer.from('u:mlk_wrong').toString('base64'))).status, 401);
  assert.equal((await push('{"streams":[]}', { 'content-type': 'application/json' }, '')).status, 401);
  assert.equal((await push('{"streams":[]}', { 'content-type': 'application/json' }, 'Basic ' + Buffer.from(`u:${server.token}`).toString('base64'))).status, 204);

  const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
  assert.match(metrics, /meshlog_component_discarded_records_total\{component_id="loki_push"[^}]*reason="invalid"[^}]*\} [1-9]/);
  assert.match(metrics, /meshlog_component_errors_total\{component_id="loki_push"[^}]*\} [1-9]/);
});
