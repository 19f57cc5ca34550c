import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Pipeline } from './pipeline.js';
import { ServiceMap } from './services.js';
import { PipelineMetrics } from '../telemetry/metrics.js';
import { silentLogger } from '../telemetry/logger.js';
import { buildPipelineSpec } from '../config/pipeline-config.js';
import { ConfigSource } from '../config/config-file.js';
import { emptyLogRecord, type Batch, type LogBatch } from '../model/log-record.js';
import type { BuildContext, ComponentDefinition, ComponentRegistry, Emit, Sink } from './component.js';
import { permanentError, retryableError, PipelineError } from './errors.js';

/** A sink whose writes the test controls: each write waits for `release()` unless auto. */
class ControlledSink implements Sink {
  readonly kind = 'sink' as const;
  written: Batch[][] = [];
  failures: Error[] = [];
  auto = true;
  private gates: (() => void)[] = [];
  started = false;
  stopped = 0;
  async start(): Promise<void> {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped++;
  }
  async write(batches: Batch[]): Promise<void> {
    if (!this.auto) await new Promise<void>((r) => this.gates.push(r));
    const f = this.failures.shift();
    if (f) throw f;
    this.written.push(batches);
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
  get records(): number {
    return this.written.flat().reduce((n, b) => n + (b.kind === 'logs' ? b.records.length : 0), 0);
  }
}

function harness() {
  const sinks = new Map<string, ControlledSink>();
  let emitters = new Map<string, Emit>();
  const registry: ComponentRegistry = {
    sources: {
      test: {
        kind: 'source',
        type: 'test',
        description: 'test source',
        schema: z.object({}).strict(),
        build: (_c: unknown, ctx: BuildContext) => {
          emitters.set(ctx.id, ctx.emit);
          return { kind: 'source', start: async () => {}, stop: async () => {} };
        },
      } satisfies ComponentDefinition<unknown>,
      // Holds records until it stops, then hands them over (as a socket source flushes its batch).
      flush_on_stop: {
        kind: 'source',
        type: 'flush_on_stop',
        description: 'emits 3 records from stop()',
        schema: z.object({}).strict(),
        build: (_c: unknown, ctx: BuildContext) => ({ kind: 'source', start: async () => {}, stop: () => ctx.emit(logs(3)) }),
      } satisfies ComponentDefinition<unknown>,
    },
    transforms: {
      drop_debug: {
        kind: 'transform',
        type: 'drop_debug',
        description: 'drops severity < 9',
        schema: z.object({}).strict(),
        build: () => ({
          kind: 'transform',
          process: (b: Batch) => (b.kind === 'logs' ? { ...b, records: b.records.filter((r) => r.severityNumber >= 9) } : b),
        }),
      },
      hold_last: {
        kind: 'transform',
        type: 'hold_last',
        description: 'holds the last record of each batch until the next batch, a timer or stop (like line reassembly)',
        schema: z.object({ interval_ms: z.number().optional() }).strict(),
        build: (c: { interval_ms?: number }) => {
          let held: LogBatch | null = null;
          let accounted = 0;
          return {
            kind: 'transform',
            ...(c.interval_ms !== undefined ? { flushIntervalMs: c.interval_ms } : {}),
            process: (b: Batch) => {
              if (b.kind !== 'logs') return b;
              const out = [...(held?.records ?? []), ...b.records];
              const last = out.pop();
              held = last ? { ...b, records: [last] } : null;
              accounted = last ? 1 : 0;
              return { ...b, records: out };
            },
            selfAccounted: () => accounted,
            flush: () => {
              const h = held;
              held = null;
              return h ? [h] : [];
            },
          };
        },
      },
      explode: {
        kind: 'transform',
        type: 'explode',
        description: 'throws',
        schema: z.object({}).strict(),
        build: () => ({
          kind: 'transform',
          process: () => {
            throw new Error('bug in transform');
          },
        }),
      },
    },
    sinks: {
      controlled: {
        kind: 'sink',
        type: 'controlled',
        description: 'test sink',
        schema: z.object({}).strict(),
        build: (_c: unknown, ctx: BuildContext) => {
          const s = new ControlledSink();
          sinks.set(ctx.id, s);
          return s;
        },
      },
    },
  };
  return {
    sinks,
    emit: (id: string) => emitters.get(id)!,
    async build(yaml: string) {
      emitters = new Map();
      const src = ConfigSource.fromText(yaml);
      const spec = buildPipelineSpec(src, src.value as Record<string, unknown>, registry);
      const metrics = new PipelineMetrics();
      const p = await Pipeline.build(spec, { dataDir: '/nonexistent', logger: silentLogger, metrics, services: new ServiceMap() });
      return { pipeline: p, metrics };
    },
  };
}

function logs(n: number, severity = 9): LogBatch {
  return { kind: 'logs', tenant: 't1', source: 'in', records: Array.from({ length: n }, () => ({ ...emptyLogRecord(), severityNumber: severity })) };
}

test('emit resolves only after every downstream sink wrote the batch', async () => {
  const h = harness();
  const { pipeline } = await h.build(`
sources: { in: { type: test } }
sinks:
  a: { type: controlled, inputs: [in] }
  b: { type: controlled, inputs: [in] }
`);
  await pipeline.start();
  const a = h.sinks.get('a')!;
  const b = h.sinks.get('b')!;
  b.auto = false;
  let done = false;
  const p = h.emit('in')(logs(3)).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.records, 3);
  assert.equal(done, false, 'not acknowledged while one sink is still writing');
  b.release();
  await p;
  assert.equal(done, true);
  assert.equal(b.records, 3);
  // Fan-out gives each sink its own copy of the records.
  assert.notEqual((a.written[0]![0] as LogBatch).records[0], (b.written[0]![0] as LogBatch).records[0]);
  await pipeline.stop();
});

test('a permanent sink error rejects the emit; a retryable one is retried', async () => {
  const h = harness();
  const { pipeline } = await h.build(`
sources: { in: { type: test } }
sinks: { out: { type: controlled, inputs: [in], buffer: { max_attempts: 3 } } }
`);
  await pipeline.start();
  const out = h.sinks.get('out')!;
  out.failures.push(retryableError('flaky', 'try again', 1));
  await h.emit('in')(logs(2));
  assert.equal(out.records, 2);
  out.failures.push(permanentError('bad', 'never works'));
  await assert.rejects(h.emit('in')(logs(1)), (e: unknown) => e instanceof PipelineError && !e.retryable);
  await pipeline.stop();
});

test('queued batches are handed to the sink together (group commit)', async () => {
  const h = harness();
  const { pipeline } = await h.build(`
sources: { in: { type: test } }
sinks: { out: { type: controlled, inputs: [in] } }
`);
  await pipeline.start();
  const out = h.sinks.get('out')!;
  out.auto = false;
  const first = h.emit('in')(logs(1));
  await new Promise((r) => setTimeout(r, 5));
  const rest = [h.emit('in')(logs(1)), h.emit('in')(logs(1)), h.emit('in')(logs(1))];
  out.release();
  await new Promise((r) => setTimeout(r, 5));
  out.release();
  await Promise.all([first, ...rest]);
  assert.equal(out.written.length, 2, 'first write alone, the three waiting batches in one write');
  assert.equal(out.written[1]!.length, 3);
  await pipeline.stop();
});

test('when_full: drop_newest discards and counts; block waits then fails with a retryable error', async () => {
  const h = harness();
  const { pipeline, metrics } = await h.build(`
sources: { in: { type: test } }
sinks:
  dropper: { type: controlled, inputs: [in], buffer: { max_records: 2, when_full: drop_newest } }
`);
  await pipeline.start();
  const s = h.sinks.get('dropper')!;
  s.auto = false;
  const first = h.emit('in')(logs(2));
  await h.emit('in')(logs(5)); // dropped at once: the queue holds 2
  s.release();
  await first;
  assert.equal(s.records, 2);
  assert.match(await metrics.text(), /meshlog_component_discarded_records_total\{component_id="dropper",component_kind="sink",component_type="controlled",reason="queue_full",tenant="t1"\} 5/);
  await pipeline.stop();

  const h2 = harness();
  const b = await h2.build(`
sources: { in: { type: test } }
sinks:
  blocker: { type: controlled, inputs: [in], buffer: { max_records: 2, when_full: block } }
`);
  await b.pipeline.start();
  const blocker = h2.sinks.get('blocker')!;
  blocker.auto = false;
  const held = h2.emit('in')(logs(2));
  await assert.rejects(h2.emit('in')(logs(1), { maxWaitMs: 30 }), (e: unknown) => e instanceof PipelineError && e.retryable && e.reason === 'queue_full');
  const waiting = h2.emit('in')(logs(1), { maxWaitMs: 5_000 });
  blocker.release();
  await held;
  await new Promise((r) => setTimeout(r, 5));
  blocker.release();
  await waiting;
  assert.equal(blocker.records, 3);
  await b.pipeline.stop();
});

test('transforms filter (counted) and a throwing transform fails the emit without crashing', async () => {
  const h = harness();
  const { pipeline, metrics } = await h.build(`
sources: { in: { type: test } }
transforms:
  filter: { type: drop_debug, inputs: [in] }
  broken: { type: explode, inputs: [in] }
sinks:
  out: { type: controlled, inputs: [filter] }
`);
  await pipeline.start();
  const batch = logs(4);
  batch.records[0]!.severityNumber = 5;
  await assert.rejects(h.emit('in')(batch), /bug in transform/);
  assert.equal(h.sinks.get('out')!.records, 3);
  const text = await metrics.text();
  assert.match(text, /discarded_records_total\{component_id="filter".*reason="filtered".*\} 1/);
  assert.match(text, /errors_total\{component_id="broken".*error_type="transform_failed"\} 1/);
  await pipeline.stop();
});

test('a stateful transform: held records are not counted as filtered, are released by its timer, and flushed on stop', async () => {
  const h = harness();
  const { pipeline, metrics } = await h.build(`
sources: { in: { type: test } }
transforms:
  hold: { type: hold_last, inputs: [in] }
  timed: { type: hold_last, inputs: [in], interval_ms: 20 }
sinks:
  out: { type: controlled, inputs: [hold] }
  timed_out: { type: controlled, inputs: [timed] }
`);
  await pipeline.start();
  await h.emit('in')(logs(3));
  assert.equal(h.sinks.get('out')!.records, 2, 'the last record waits for the next batch');
  await h.emit('in')(logs(2));
  assert.equal(h.sinks.get('out')!.records, 4);
  for (let i = 0; i < 50 && h.sinks.get('timed_out')!.records < 5; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.sinks.get('timed_out')!.records, 5, 'the timer released the held record');
  const text = await metrics.text();
  assert.doesNotMatch(text, /discarded_records_total\{component_id="hold"/, 'a held record is not a discarded one');
  await pipeline.stop();
  assert.equal(h.sinks.get('out')!.records, 5, 'stop flushed the held record through to the sink');
});

test('stop is safe before start and twice; stop drains in-flight batches; emit after stop is retryable', async () => {
  const h = harness();
  const { pipeline } = await h.build(`
sources: { in: { type: test } }
sinks: { out: { type: controlled, inputs: [in] } }
`);
  await pipeline.stop();
  await pipeline.stop();
  const h2 = harness();
  const b = await h2.build(`
sources: { in: { type: test } }
sinks: { out: { type: controlled, inputs: [in] } }
`);
  await b.pipeline.start();
  const out = h2.sinks.get('out')!;
  out.auto = false;
  const inflight = h2.emit('in')(logs(2));
  const stopping = b.pipeline.stop();
  setTimeout(() => out.release(), 10);
  await stopping;
  await inflight;
  assert.equal(out.records, 2, 'in-flight batch written before the sink stopped');
  assert.equal(out.stopped, 1);
  await assert.rejects(h2.emit('in')(logs(1)), (e: unknown) => e instanceof PipelineError && e.retryable);
});

test('a source may still emit while it stops; the batch is written before the sinks stop', async () => {
  const h = harness();
  const { pipeline } = await h.build(`
sources: { in: { type: flush_on_stop } }
sinks: { out: { type: controlled, inputs: [in] } }
`);
  await pipeline.start();
  await pipeline.stop();
  const out = h.sinks.get('out')!;
  assert.equal(out.records, 3);
  assert.equal(out.stopped, 1);
});

test('graph errors name the component and the line', () => {
  const h = harness();
  return assert.rejects(
    h.build(`sources:
  in: { type: test }
sinks:
  out:
    type: controlled
    inputs: [nowhere]
`),
    /sinks\.out\.inputs\[0\]: unknown input "nowhere" \(line 6/,
  );
});
