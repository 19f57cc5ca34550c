import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigSource, Pipeline, PipelineMetrics, ServiceMap, buildPipelineSpec, emptyLogRecord, silentLogger, type Batch, type BuildContext, type ComponentRegistry, type Emit, type LogBatch, type LogRecord, type Sink } from '@meshlog/core';
import { ParseContainerConfigSchema, ParseContainerTransform, parseContainerTransform } from './parse-container-transform.js';
import { parseCriLine, parseDockerLine } from './container-line.js';

const T = '2024-05-01T12:00:00.123456789Z';
const T_NS = BigInt(Date.parse('2024-05-01T12:00:00Z')) * 1_000_000n + 123_456_789n;

function rec(body: string, path = '/var/log/pods/shop_cart-1_uid/cart/0.log'): LogRecord {
  return { ...emptyLogRecord(), body, attributes: { 'log.file.path': path } };
}

function batch(...records: LogRecord[]): LogBatch {
  return { kind: 'logs', tenant: 't1', source: 'files', records };
}

function bodies(b: Batch | Batch[]): string[] {
  return (Array.isArray(b) ? b : [b]).flatMap((x) => (x.kind === 'logs' ? x.records.map((r) => r.body) : []));
}

test('CRI and Docker lines', () => {
  assert.deepEqual(parseCriLine(`${T} stdout F hello world`), { timeUnixNano: T_NS, stream: 'stdout', message: 'hello world', partial: false });
  assert.deepEqual(parseCriLine(`${T} stderr P part`), { timeUnixNano: T_NS, stream: 'stderr', message: 'part', partial: true });
  assert.equal(parseCriLine(`${T} stdout F:x tagged`)?.message, 'tagged', 'more tags after ":"');
  assert.equal(parseCriLine(`${T} stdout F`)?.message, '', 'an empty line');
  for (const bad of ['hello', `${T} stdin F x`, `${T} stdout X x`, `nottime stdout F x`, `${T} stdout FF x`]) assert.equal(parseCriLine(bad), undefined, bad);
  assert.deepEqual(parseDockerLine(`{"log":"hello\\n","stream":"stdout","time":"${T}"}`), { timeUnixNano: T_NS, stream: 'stdout', message: 'hello', partial: false });
  assert.equal(parseDockerLine(`{"log":"no newline","stream":"stderr","time":"${T}"}`)?.partial, true);
  assert.equal(parseDockerLine('{"log":1}'), undefined);
  assert.equal(parseDockerLine('{"msg":"x"}'), undefined);
});

test('CRI P/F pieces join across batch boundaries; streams never mix', () => {
  const t = new ParseContainerTransform(ParseContainerConfigSchema.parse({}));
  const first = t.process(batch(rec(`${T} stdout P {"level":"info",`), rec(`${T} stderr F an error line`), rec(`2024-05-01T12:00:00.2Z stdout P "msg":`)));
  assert.deepEqual(bodies(first), ['an error line'], 'the stderr line passes; the stdout pieces wait');
  assert.equal(t.selfAccounted(), 2);
  assert.equal(t.pendingStreams, 1);
  const second = t.process(batch(rec(`2024-05-01T12:00:00.3Z stdout F "done"}`), rec(`${T} stdout F next`)));
  assert.deepEqual(bodies(second), ['{"level":"info","msg":"done"}', 'next']);
  const joined = (second as LogBatch).records[0]!;
  assert.equal(joined.timeUnixNano, T_NS, "the first piece's time");
  assert.equal(joined.attributes['log.iostream'], 'stdout');
  assert.equal(joined.attributes['log.incomplete'], undefined);
  assert.equal(t.pendingStreams, 0);
  // Another file is another stream.
  t.process(batch(rec(`${T} stdout P a`, '/var/log/pods/x_a_1/c/0.log')));
  const other = t.process(batch(rec(`${T} stdout F b`, '/var/log/pods/x_b_2/c/0.log')));
  assert.deepEqual(bodies(other), ['b']);
  assert.equal(t.pendingStreams, 1);
});

test('Docker json-file 16 KiB splits are joined', () => {
  const t = new ParseContainerTransform(ParseContainerConfigSchema.parse({ format: 'docker' }));
  const big = 'x'.repeat(16 * 1024);
  const out1 = t.process(batch(rec(JSON.stringify({ log: big, stream: 'stdout', time: T }))));
  assert.deepEqual(bodies(out1), []);
  const out2 = t.process(batch(rec(JSON.stringify({ log: big, stream: 'stdout', time: T })), rec(JSON.stringify({ log: 'end\n', stream: 'stdout', time: T }))));
  assert.deepEqual(bodies(out2), [big + big + 'end']);
  assert.equal((out2 as LogBatch).records[0]!.timeUnixNano, T_NS);
});

test('bounds: a too-long line is released in pieces; the timeout and stop release pending lines marked incomplete', () => {
  const errors: string[] = [];
  const metrics = { received() {}, sent() {}, discarded() {}, error: (e: string) => errors.push(e), queueDepth() {} };
  let now = 1000;
  const t = new ParseContainerTransform(ParseContainerConfigSchema.parse({ max_line_length: 10, flush_timeout_ms: 100 }), metrics, () => now);
  const out = t.process(batch(rec(`${T} stdout P 123456`), rec(`${T} stdout P 7890AB`), rec(`${T} stdout F end`)));
  assert.deepEqual(bodies(out), ['1234567890AB', 'end']);
  assert.equal((out as LogBatch).records[0]!.attributes['log.incomplete'], true);
  assert.deepEqual(errors, ['partial_line_too_long']);

  t.process(batch(rec(`${T} stdout P waiting`)));
  assert.deepEqual(t.flush(false), [], 'not yet due');
  now += 150;
  const due = t.flush(false);
  assert.deepEqual(bodies(due), ['waiting']);
  assert.equal((due[0] as LogBatch).tenant, 't1');
  assert.equal((due[0] as LogBatch).records[0]!.attributes['log.incomplete'], true);
  assert.equal(errors.at(-1), 'partial_line_flushed_incomplete');

  t.process(batch(rec(`${T} stdout P at-stop`)));
  assert.deepEqual(bodies(t.flush(true)), ['at-stop']);
  assert.equal(t.pendingStreams, 0);
});

test('bounds: too many pending streams or bytes release the oldest', () => {
  const t = new ParseContainerTransform(ParseContainerConfigSchema.parse({ max_streams: 2 }));
  for (const p of ['a', 'b', 'c']) t.process(batch(rec(`${T} stdout P ${p}`, `/var/log/pods/x_${p}_1/c/0.log`)));
  assert.equal(t.pendingStreams, 2);
  assert.deepEqual(bodies(t.flush(false)), ['a'], 'the evicted stream goes out with the next flush');
  const bytes = new ParseContainerTransform(ParseContainerConfigSchema.parse({ max_buffered_bytes: 5 }));
  bytes.process(batch(rec(`${T} stdout P 1234`, '/a/0.log')));
  bytes.process(batch(rec(`${T} stdout P 5678`, '/b/0.log')));
  assert.equal(bytes.pendingStreams, 1);
});

test('in a pipeline: pieces are not counted as discarded, and stop flushes what is pending to the sink', async () => {
  let emit: Emit | undefined;
  const written: LogRecord[] = [];
  const registry: ComponentRegistry = {
    sources: {
      test: {
        kind: 'source',
        type: 'test',
        description: '',
        schema: z.object({}).strict(),
        build: (_c: unknown, ctx: BuildContext) => {
          emit = ctx.emit;
          return { kind: 'source', start: async () => {}, stop: async () => {} };
        },
      },
    },
    transforms: { parse_container: parseContainerTransform },
    sinks: {
      mem: {
        kind: 'sink',
        type: 'mem',
        description: '',
        schema: z.object({}).strict(),
        build: (): Sink => ({
          kind: 'sink',
          start: async () => {},
          stop: async () => {},
          write: async (bs: Batch[]) => {
            for (const b of bs) if (b.kind === 'logs') written.push(...b.records);
          },
        }),
      },
    },
  };
  const src = ConfigSource.fromText('sources: { in: { type: test } }\ntransforms: { unwrap: { type: parse_container, inputs: [in] } }\nsinks: { out: { type: mem, inputs: [unwrap] } }\n');
  const spec = buildPipelineSpec(src, src.value as Record<string, unknown>, registry);
  const metrics = new PipelineMetrics();
  const p = await Pipeline.build(spec, { dataDir: '/nonexistent', logger: silentLogger, metrics, services: new ServiceMap() });
  await p.start();
  await emit!(batch(rec(`${T} stdout P one `), rec(`${T} stdout F two`), rec(`${T} stdout P three`)));
  assert.deepEqual(written.map((r) => r.body), ['one two']);
  assert.doesNotMatch(await metrics.text(), /discarded_records_total\{component_id="unwrap"/);
  await p.stop();
  assert.deepEqual(written.map((r) => r.body), ['one two', 'three']);
  assert.equal(written[1]!.attributes['log.incomplete'], true);
});
