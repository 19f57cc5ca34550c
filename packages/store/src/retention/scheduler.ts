/**
 * Runs retention enforcement on a schedule: once shortly after start, then
 * every interval, measured from the end of the previous run (so runs never
 * overlap however long one takes).
 *
 * Invariants: a failing run is logged and counted, never thrown: the
 * scheduler keeps going and the server keeps serving. `stop()` cancels the
 * next run and waits for a running one to finish; it is safe before
 * `start()` and safe twice.
 */
import type { Logger } from '@meshlog/core';

export interface RetentionSchedulerOptions {
  intervalMs: number;
  /** Delay of the first run after `start()`. */
  startDelayMs: number;
  /** One enforcement run; rejects, or resolves with `{ errors: [...] }` non-empty, on failure. */
  run: () => Promise<{ errors: readonly unknown[] }>;
  logger?: Logger;
  /** Told after every run (for metrics). */
  onRun?: (outcome: 'ok' | 'error', ms: number) => void;
}

export interface RetentionSchedulerStats {
  runs: number;
  failures: number;
  lastRunAt?: string;
  lastError?: string;
}

export class RetentionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;
  private started = false;
  private readonly counters: RetentionSchedulerStats = { runs: 0, failures: 0 };

  constructor(private readonly opts: RetentionSchedulerOptions) {}

  get stats(): Readonly<RetentionSchedulerStats> {
    return { ...this.counters };
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(this.opts.startDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.tick().finally(() => {
        this.current = undefined;
        this.schedule(this.opts.intervalMs);
      });
    }, delayMs);
    // A pending retention run alone never keeps the process alive.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const started = performance.now();
    let outcome: 'ok' | 'error' = 'ok';
    try {
      const r = await this.opts.run();
      if (r.errors.length > 0) {
        outcome = 'error';
        this.counters.lastError = `${r.errors.length} tenant table(s) failed`;
      }
    } catch (err) {
      outcome = 'error';
      this.counters.lastError = err instanceof Error ? err.message : String(err);
      this.opts.logger?.error('scheduled retention enforcement failed', { error: this.counters.lastError });
    }
    this.counters.runs++;
    if (outcome === 'error') this.counters.failures++;
    this.counters.lastRunAt = new Date().toISOString();
    this.opts.onRun?.(outcome, performance.now() - started);
  }
}
