/**
 * The one piece of shared delivery plumbing (what the OpenTelemetry
 * Collector calls exporterhelper): a bounded queue in front of a sink, a
 * driver that hands the sink everything pending in one `write` call (group
 * commit: while one write is in flight the next one fills up), retries with
 * exponential backoff and jitter for retryable errors, and settles every
 * waiting emitter with the outcome.
 *
 * Invariants:
 * - the queue never holds more than `maxRecords` records (a single batch
 *   larger than the limit is admitted alone into an empty queue, so it cannot
 *   deadlock);
 * - every offered batch is settled exactly once: written, discarded with a
 *   counted reason, or failed;
 * - `drain()` resolves once nothing is queued or in flight.
 */
import { batchSize, type Batch } from '../model/log-record.js';
import type { Sink } from './component.js';
import type { ComponentMetrics } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';
import { DiscardReason, PipelineError, isRetryable, retryableError } from './errors.js';

export type WhenFull = 'block' | 'drop_newest';

export interface SinkQueueOptions {
  maxRecords: number;
  whenFull: WhenFull;
  /** Most records handed to one `write`. */
  maxBatchRecords: number;
  concurrency: number;
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
}

interface Pending {
  batch: Batch;
  size: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Waiter {
  size: number;
  wake: () => void;
}

export class SinkQueue {
  private readonly items: Pending[] = [];
  private queuedRecords = 0;
  private inFlight = 0;
  private readonly spaceWaiters: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly sink: Sink,
    private readonly opts: SinkQueueOptions,
    private readonly metrics: ComponentMetrics,
    private readonly logger: Logger,
  ) {}

  get depth(): number {
    return this.queuedRecords;
  }

  /**
   * Queues a batch and resolves when the sink has written it. When the queue
   * is full: `drop_newest` discards it (counted) and resolves; `block` waits
   * for space up to `maxWaitMs`, then rejects with a retryable error.
   */
  async offer(batch: Batch, maxWaitMs = Infinity): Promise<void> {
    const size = batchSize(batch);
    if (size === 0) return;
    this.metrics.received(size);
    if (this.closed) throw retryableError('shutting_down', 'the server is shutting down; retry against another instance or later', 1000);
    if (!this.hasSpace(size)) {
      if (this.opts.whenFull === 'drop_newest') {
        this.metrics.discarded(size, DiscardReason.QueueFull, batch.tenant);
        return;
      }
      await this.waitForSpace(size, maxWaitMs);
      if (this.closed) throw retryableError('shutting_down', 'the server is shutting down; retry later', 1000);
    }
    return new Promise<void>((resolve, reject) => {
      this.items.push({ batch, size, resolve, reject });
      this.queuedRecords += size;
      this.metrics.queueDepth(this.queuedRecords);
      this.pump();
    });
  }

  private hasSpace(size: number): boolean {
    return this.queuedRecords === 0 || this.queuedRecords + size <= this.opts.maxRecords;
  }

  private waitForSpace(size: number, maxWaitMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { size, wake: () => { clearTimeout(timer); resolve(); } };
      const timer = Number.isFinite(maxWaitMs)
        ? setTimeout(() => {
            const i = this.spaceWaiters.indexOf(waiter);
            if (i >= 0) this.spaceWaiters.splice(i, 1);
            this.metrics.error('queue_full');
            reject(retryableError(DiscardReason.QueueFull, `ingest queue is full (${this.opts.maxRecords} records); slow down and retry`, 1000));
          }, maxWaitMs)
        : undefined;
      this.spaceWaiters.push(waiter);
    });
  }

  private wakeWaiters(): void {
    while (this.spaceWaiters.length > 0) {
      const next = this.spaceWaiters[0]!;
      if (!this.hasSpace(next.size)) break;
      this.spaceWaiters.shift();
      // Reserve nothing: the woken offer re-checks nothing and enqueues at once,
      // so the queue may exceed its bound by at most one batch per waiter woken
      // in the same tick; bounded by the number of concurrent requests.
      next.wake();
    }
  }

  private pump(): void {
    while (this.inFlight < this.opts.concurrency && this.items.length > 0) {
      const take: Pending[] = [];
      let records = 0;
      while (this.items.length > 0) {
        const next = this.items[0]!;
        if (take.length > 0 && records + next.size > this.opts.maxBatchRecords) break;
        take.push(this.items.shift()!);
        records += next.size;
      }
      this.inFlight++;
      void this.deliver(take, records).finally(() => {
        this.inFlight--;
        this.queuedRecords -= records;
        this.metrics.queueDepth(this.queuedRecords);
        this.wakeWaiters();
        if (this.items.length > 0) this.pump();
        else if (this.inFlight === 0) this.notifyIdle();
      });
    }
  }

  private async deliver(take: Pending[], records: number): Promise<void> {
    const batches = take.map((p) => p.batch);
    let attempt = 0;
    let backoff = this.opts.retry.initialBackoffMs;
    for (;;) {
      attempt++;
      try {
        await this.sink.write(batches);
        this.metrics.sent(records);
        for (const p of take) p.resolve();
        return;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.metrics.error(e instanceof PipelineError ? e.reason : 'write_failed');
        // shutting_down: the sink refuses because the role is stopping; a retry here would only delay the stop (the sender retries later).
        if (!isRetryable(e) || attempt >= this.opts.retry.maxAttempts || this.closed || (e instanceof PipelineError && e.reason === 'shutting_down')) {
          this.logger.warn('sink write failed', { error: e.message, attempts: attempt, records });
          for (const p of take) {
            this.metrics.discarded(p.size, DiscardReason.DeliveryFailed, p.batch.tenant);
            p.reject(e);
          }
          return;
        }
        const wait = Math.min(this.opts.retry.maxBackoffMs, (e instanceof PipelineError && e.retryAfterMs) || backoff);
        await sleep(wait / 2 + Math.random() * (wait / 2));
        backoff = Math.min(this.opts.retry.maxBackoffMs, backoff * 2);
      }
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when everything queued so far has been settled. */
  drain(): Promise<void> {
    if (this.items.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new batches; queued ones still drain. */
  close(): void {
    this.closed = true;
    for (const w of this.spaceWaiters.splice(0)) w.wake();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
