/**
 * The pipeline engine: builds the graph a `PipelineSpec` describes, routes
 * each emitted batch through transforms to every sink downstream, and
 * resolves the source's `emit` only when all of those sinks have the batch
 * durable (end-to-end acknowledgement).
 *
 * Lifecycle: build -> start -> stop. Stop is idempotent and safe before start;
 * it stops sources first (no new input; while they stop they may still emit
 * what they had already read, e.g. a socket source's partly filled batch),
 * flushes what stateful transforms hold, drains every sink queue (in-flight
 * batches still get their
 * acknowledgement), then stops the sinks.
 */
import { batchSize, type Batch } from '../model/log-record.js';
import type { BuildContext, Component, EmitOptions, ServiceLookup, Sink, Source, Transform } from './component.js';
import type { PipelineSpec, ComponentSpec } from '../config/pipeline-config.js';
import { SinkQueue } from './sink-queue.js';
import { DiscardReason, retryableError } from './errors.js';
import type { ComponentMetrics, PipelineMetrics } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';
import { cloneBatch } from './clone.js';

interface Node {
  spec: ComponentSpec;
  component: Component;
  metrics: ComponentMetrics;
  queue?: SinkQueue;
  /** Components that take this one as input. */
  outputs: Node[];
}

export interface PipelineOptions {
  dataDir: string;
  logger: Logger;
  metrics: PipelineMetrics;
  services: ServiceLookup;
}

export class Pipeline {
  private readonly nodes = new Map<string, Node>();
  private state: 'built' | 'started' | 'stopping_sources' | 'stopping' | 'stopped' = 'built';
  private stopPromise: Promise<void> | undefined;
  private flushTimers: NodeJS.Timeout[] = [];

  private constructor(private readonly opts: PipelineOptions) {}

  static async build(spec: PipelineSpec, opts: PipelineOptions): Promise<Pipeline> {
    const p = new Pipeline(opts);
    // Sinks first, then transforms, then sources, so that nothing can emit into
    // a half-built graph.
    const order = ['sink', 'transform', 'source'] as const;
    for (const kind of order) {
      for (const c of spec.components.filter((x) => x.kind === kind)) {
        const metrics = opts.metrics.forComponent(c.id, c.kind, c.type);
        const logger = opts.logger.child({ component: c.id });
        const ctx: BuildContext = {
          id: c.id,
          dataDir: opts.dataDir,
          logger,
          metrics,
          services: opts.services,
          emit: (batch, emitOpts) => p.emitFrom(c.id, batch, emitOpts),
        };
        const component = await c.definition.build(c.config, ctx);
        if (component.kind !== c.kind) throw new Error(`component ${c.id}: built a ${component.kind}, expected a ${c.kind}`);
        const node: Node = { spec: c, component, metrics, outputs: [] };
        if (component.kind === 'sink') {
          node.queue = new SinkQueue(
            component,
            {
              maxRecords: c.buffer.max_records,
              whenFull: c.buffer.when_full,
              maxBatchRecords: c.buffer.max_batch_records,
              concurrency: c.buffer.concurrency,
              retry: { maxAttempts: c.buffer.max_attempts, initialBackoffMs: 100, maxBackoffMs: 10_000 },
            },
            metrics,
            logger,
          );
        }
        p.nodes.set(c.id, node);
      }
    }
    for (const node of p.nodes.values()) {
      for (const input of node.spec.inputs) p.nodes.get(input)?.outputs.push(node);
    }
    return p;
  }

  component<T extends Component>(id: string): T | undefined {
    return this.nodes.get(id)?.component as T | undefined;
  }

  get componentIds(): string[] {
    return [...this.nodes.keys()];
  }

  async start(): Promise<void> {
    if (this.state !== 'built') return;
    this.state = 'started';
    // Sinks before sources: a source that starts receiving must find its sinks ready.
    for (const kind of ['sink', 'source'] as const) {
      for (const node of this.nodes.values()) {
        if (node.component.kind === kind) await (node.component as Sink | Source).start();
      }
    }
    for (const node of this.nodes.values()) {
      const t = node.component;
      if (t.kind !== 'transform' || !t.flush || t.flushIntervalMs === undefined) continue;
      const timer = setInterval(() => void this.flushTransform(node, false), Math.max(10, t.flushIntervalMs));
      timer.unref();
      this.flushTimers.push(timer);
    }
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    const wasStarted = this.state === 'started';
    const all = [...this.nodes.values()];
    // Emits are still taken while sources stop, so they can hand over what they hold; none after.
    this.state = wasStarted ? 'stopping_sources' : 'stopping';
    await Promise.allSettled(all.filter((n) => n.component.kind === 'source').map((n) => (n.component as Source).stop()));
    this.state = 'stopping';
    for (const t of this.flushTimers.splice(0)) clearInterval(t);
    if (wasStarted) {
      // Upstream transforms first, so what they release passes through the ones downstream.
      for (const node of this.transformsInFlowOrder()) await this.flushTransform(node, true);
      await Promise.allSettled(all.filter((n) => n.queue).map((n) => n.queue!.drain()));
    }
    for (const n of all) n.queue?.close();
    await Promise.allSettled(all.filter((n) => n.component.kind === 'sink').map((n) => (n.component as Sink).stop()));
    this.state = 'stopped';
  }

  /**
   * Routes what a stateful transform releases. Its records were acknowledged
   * to their source already, so a failure here has nobody to answer to: it is
   * logged and counted, never thrown.
   */
  private async flushTransform(node: Node, final: boolean): Promise<void> {
    const t = node.component as Transform;
    let batches: Batch[];
    try {
      batches = t.flush?.(final) ?? [];
    } catch (err) {
      node.metrics.error('transform_flush_failed');
      this.opts.logger.warn('transform flush failed', { component: node.spec.id, error: String(err) });
      return;
    }
    const writes: Promise<void>[] = [];
    for (const b of batches) {
      const n = batchSize(b);
      if (n === 0) continue;
      node.metrics.sent(n);
      this.route(node, b, {}, writes);
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) {
      if (r.status === 'rejected') {
        node.metrics.error('flushed_delivery_failed');
        this.opts.logger.warn('records released by a transform were not delivered', { component: node.spec.id, error: String(r.reason) });
      }
    }
  }

  /** Transforms ordered so that each comes after every transform feeding it. */
  private transformsInFlowOrder(): Node[] {
    const order: Node[] = [];
    const seen = new Set<Node>();
    const visit = (n: Node): void => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const o of n.outputs) visit(o);
      if (n.component.kind === 'transform') order.push(n);
    };
    for (const n of this.nodes.values()) visit(n);
    return order.reverse();
  }

  /** The end-to-end acknowledged hand-off a source's `emit` is bound to. */
  private async emitFrom(sourceId: string, batch: Batch, opts: EmitOptions = {}): Promise<void> {
    const source = this.nodes.get(sourceId);
    if (!source) throw new Error(`unknown source ${sourceId}`);
    if (this.state !== 'started' && this.state !== 'stopping_sources') {
      throw retryableError('not_running', this.state === 'built' ? 'the pipeline is still starting; retry shortly' : 'the server is shutting down; retry later', 1000);
    }
    const size = batchSize(batch);
    const writes: Promise<void>[] = [];
    this.route(source, batch, opts, writes);
    if (writes.length === 0) {
      source.metrics.discarded(size, DiscardReason.Filtered, batch.tenant);
      return;
    }
    await Promise.all(writes);
    source.metrics.sent(size);
  }

  private route(from: Node, batch: Batch, opts: EmitOptions, writes: Promise<void>[]): void {
    const outs = from.outputs;
    for (let i = 0; i < outs.length; i++) {
      const node = outs[i]!;
      // Consumers may change records in place; each extra consumer gets its own copy.
      const b = i === outs.length - 1 ? batch : cloneBatch(batch);
      if (node.queue) {
        writes.push(node.queue.offer(b, opts.maxWaitMs));
        continue;
      }
      const t = node.component as Transform;
      const size = batchSize(b);
      node.metrics.received(size);
      let result: Batch | Batch[] | null;
      try {
        result = t.process(b);
      } catch (err) {
        // A transform bug must not take the process down or lose the batch silently.
        node.metrics.error('transform_failed');
        node.metrics.discarded(size, DiscardReason.Invalid, b.tenant);
        writes.push(Promise.reject(err instanceof Error ? err : new Error(String(err))));
        continue;
      }
      const results = result === null ? [] : Array.isArray(result) ? result : [result];
      let out = 0;
      for (const r of results) {
        out += batchSize(r);
        if (batchSize(r) > 0) this.route(node, r, opts, writes);
      }
      node.metrics.sent(out);
      const filtered = size - out - (t.selfAccounted?.() ?? 0);
      if (filtered > 0) node.metrics.discarded(filtered, DiscardReason.Filtered, b.tenant);
    }
  }
}
