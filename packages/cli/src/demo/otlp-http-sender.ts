/**
 * Sends OTLP/HTTP JSON batches to a server, with retries and a bounded queue.
 *
 * Invariants:
 * - Never throws out of `enqueue` or the send loop: every failure goes to
 *   `onError` and into the counters.
 * - Memory is bounded: at most `maxPendingBatches` batches wait; past that the
 *   oldest waiting batch is dropped and counted (newest data is the most
 *   useful in a live demo).
 * - 429 and 503 are backpressure: the whole sender pauses for the server's
 *   `Retry-After` (seconds or HTTP date, capped), then retries the same batch.
 *   Other 5xx and network errors retry with exponential back-off. A batch is
 *   given up after `maxAttempts` tries.
 * - 401 and 403 are fatal: the token is wrong and retrying cannot help. The
 *   sender stops and reports one clear error; `fatalError` tells the caller.
 * - Other 4xx are permanent for that batch: it is dropped and counted.
 */

import { gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';

const gzip = promisify(gzipCallback);
const OVERFLOW_REPORT_INTERVAL_MS = 5_000;

export type OtlpSignal = 'logs' | 'traces';

export interface OtlpHttpSenderOptions {
  /** Server base URL; `/v1/logs` and `/v1/traces` are appended. */
  readonly url: string;
  readonly token: string;
  readonly gzip?: boolean;
  readonly maxPendingBatches?: number;
  readonly maxAttempts?: number;
  readonly maxInFlight?: number;
  readonly requestTimeoutMs?: number;
  /** Longest pause a Retry-After may impose. */
  readonly maxRetryAfterMs?: number;
  readonly onError?: (err: Error) => void;
  /** Injectable for tests. */
  readonly fetch?: typeof fetch;
}

export interface SenderStats {
  batchesSent: number;
  /** Failed attempts (each is retried unless the batch is then dropped). */
  batchesFailed: number;
  /** Batches given up on: over the queue bound, out of attempts, or rejected. */
  batchesDropped: number;
  logRecordsSent: number;
  spansSent: number;
  /** Log records and spans inside dropped batches, plus any the server said it rejected. */
  recordsDropped: number;
}

interface PendingBatch {
  readonly signal: OtlpSignal;
  readonly json: string;
  readonly items: number;
  attempts: number;
  notBefore: number;
}

/** Parses `Retry-After` (delta seconds or an HTTP date) to milliseconds from now. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export class OtlpHttpSender {
  readonly stats: SenderStats = { batchesSent: 0, batchesFailed: 0, batchesDropped: 0, logRecordsSent: 0, spansSent: 0, recordsDropped: 0 };
  private readonly pending: PendingBatch[] = [];
  private readonly baseUrl: string;
  private readonly useGzip: boolean;
  private readonly maxPending: number;
  private readonly maxAttempts: number;
  private readonly maxInFlight: number;
  private readonly requestTimeoutMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly abort = new AbortController();
  private inFlight = 0;
  private pausedUntil = 0;
  private lastOverflowReport = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private fatal: Error | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: OtlpHttpSenderOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.useGzip = options.gzip ?? true;
    this.maxPending = options.maxPendingBatches ?? 20;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The error that stopped the sender (401/403), if any. */
  get fatalError(): Error | undefined {
    return this.fatal;
  }

  /** Batches waiting or being sent. */
  get backlog(): number {
    return this.pending.length + this.inFlight;
  }

  /** Queues a payload; `items` is its record or span count, for the stats. */
  enqueue(signal: OtlpSignal, payload: unknown, items: number): void {
    if (this.fatal || this.closed || items === 0) return;
    this.pending.push({ signal, json: JSON.stringify(payload), items, attempts: 0, notBefore: 0 });
    while (this.pending.length > this.maxPending) {
      const dropped = this.pending.shift();
      if (!dropped) break;
      this.stats.batchesDropped++;
      this.stats.recordsDropped += dropped.items;
      // Overflow lasts as long as the server is slow: one report per few
      // seconds with running totals says as much as one per batch.
      const now = Date.now();
      if (now - this.lastOverflowReport >= OVERFLOW_REPORT_INTERVAL_MS) {
        this.lastOverflowReport = now;
        this.report(new Error(`demo: the server is not keeping up; dropping the oldest pending batches (${this.stats.batchesDropped} batches, ${this.stats.recordsDropped} items dropped so far)`));
      }
    }
    this.pump();
  }

  /**
   * Waits until nothing is pending or in flight, or `timeoutMs` passes.
   * Batches still waiting then are counted as dropped.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.backlog > 0 && !this.fatal && Date.now() < deadline) {
      this.pump();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now())));
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.close();
  }

  /** Stops sending; in-flight requests are aborted and waiting batches counted as dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const batch of this.pending.splice(0)) {
      this.stats.batchesDropped++;
      this.stats.recordsDropped += batch.items;
    }
    this.abort.abort();
  }

  private report(err: Error): void {
    try {
      this.options.onError?.(err);
    } catch {
      // A throwing callback must not take the sender down with it.
    }
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    if (this.closed || this.fatal) return;
    const now = Date.now();
    if (now < this.pausedUntil) return this.schedule(this.pausedUntil - now);
    while (this.inFlight < this.maxInFlight) {
      const index = this.pending.findIndex((b) => b.notBefore <= now);
      if (index < 0) break;
      const [batch] = this.pending.splice(index, 1);
      if (!batch) break;
      this.inFlight++;
      void this.send(batch)
        .catch((err: unknown) => this.report(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.inFlight--;
          this.wakeIdle();
          this.pump();
        });
    }
    const next = this.pending.reduce((min, b) => Math.min(min, b.notBefore), Number.POSITIVE_INFINITY);
    if (Number.isFinite(next) && this.inFlight < this.maxInFlight) this.schedule(Math.max(1, next - now));
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
    // The demo loop keeps the process alive; a pending retry alone should not.
    this.timer.unref();
  }

  private retryLater(batch: PendingBatch, delayMs: number, why: string): void {
    this.stats.batchesFailed++;
    if (batch.attempts >= this.maxAttempts) {
      this.stats.batchesDropped++;
      this.stats.recordsDropped += batch.items;
      this.report(new Error(`demo: gave up on a ${batch.signal} batch of ${batch.items} after ${batch.attempts} attempts: ${why}`));
      return;
    }
    this.report(new Error(`demo: sending ${batch.signal} failed (${why}); retrying in ${Math.round(delayMs)} ms`));
    batch.notBefore = Date.now() + delayMs;
    // Oldest first, so a retried batch does not starve behind newer ones.
    this.pending.unshift(batch);
  }

  private backoffMs(attempts: number): number {
    const base = Math.min(10_000, 500 * 2 ** (attempts - 1));
    return base / 2 + Math.random() * (base / 2);
  }

  private async send(batch: PendingBatch): Promise<void> {
    batch.attempts++;
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${this.options.token}` };
    let body: string | Buffer = batch.json;
    if (this.useGzip) {
      body = await gzip(batch.json);
      headers['content-encoding'] = 'gzip';
    }
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}/v1/${batch.signal}`, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
      });
    } catch (err) {
      if (this.closed) {
        // Aborted by close(): the batch will never be sent.
        this.stats.batchesDropped++;
        this.stats.recordsDropped += batch.items;
        return;
      }
      const cause = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
      this.retryLater(batch, this.backoffMs(batch.attempts), cause);
      return;
    }
    const text = await response.text().catch(() => '');
    const status = response.status;
    if (status >= 200 && status < 300) {
      this.stats.batchesSent++;
      if (batch.signal === 'logs') this.stats.logRecordsSent += batch.items;
      else this.stats.spansSent += batch.items;
      this.notePartialSuccess(batch, text);
      return;
    }
    const snippet = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    if (status === 401 || status === 403) {
      this.fatal = new Error(
        status === 401
          ? `demo: the server rejected the token (401 Unauthorized) at ${this.baseUrl}; pass a valid admin token (--token or MESHLOG_TOKEN)`
          : `demo: the token may not ingest data (403 Forbidden) at ${this.baseUrl}; use a token whose role can write`,
      );
      this.stats.batchesFailed++;
      this.report(this.fatal);
      this.close();
      return;
    }
    if (status === 429 || status === 503) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      const delay = Math.min(this.maxRetryAfterMs, retryAfter ?? this.backoffMs(batch.attempts));
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delay);
      this.retryLater(batch, delay, `${status} ${response.statusText}`.trim());
      return;
    }
    if (status >= 500 || status === 408) {
      this.retryLater(batch, this.backoffMs(batch.attempts), `${status} ${snippet}`.trim());
      return;
    }
    this.stats.batchesFailed++;
    this.stats.batchesDropped++;
    this.stats.recordsDropped += batch.items;
    this.report(new Error(`demo: the server rejected a ${batch.signal} batch with ${status}: ${snippet}`));
  }

  /** OTLP partial success: a 2xx whose body counts rejected items. */
  private notePartialSuccess(batch: PendingBatch, text: string): void {
    if (text === '' || !text.includes('partialSuccess')) return;
    try {
      const parsed = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: string | number; rejectedSpans?: string | number; errorMessage?: string } };
      const rejected = Number(parsed.partialSuccess?.rejectedLogRecords ?? parsed.partialSuccess?.rejectedSpans ?? 0);
      if (rejected > 0) {
        this.stats.recordsDropped += rejected;
        this.report(new Error(`demo: the server rejected ${rejected} of ${batch.items} ${batch.signal} items: ${parsed.partialSuccess?.errorMessage ?? 'no reason given'}`));
      }
    } catch {
      // Not JSON: nothing to learn from it.
    }
  }
}
