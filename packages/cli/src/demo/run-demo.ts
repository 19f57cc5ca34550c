/**
 * The live demo loop behind `meshlog demo` and `meshlog server --demo`:
 * generates mesh traffic in real time and ships it to a server over
 * OTLP/HTTP JSON.
 *
 * Invariants:
 * - Records carry the wall-clock time at which they happen. A request's
 *   records are held until its last record would have been written (its
 *   end), as a node collector only sees lines once they exist.
 * - Batches go out every 250 ms, or as soon as 1000 records or spans have
 *   accumulated, one resource per pod and container inside each.
 * - A failed send never escapes the loop (see otlp-http-sender.ts); only
 *   invalid options reject. A rejected token (401/403) ends the run early,
 *   reported through `onError`; the promise still resolves with the stats.
 * - On stop held requests are flushed and the queue drained for at most
 *   5 s when the duration is reached, 1 s when the signal aborted.
 */

import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshTrafficGenerator } from './generator.js';
import type { DemoLogRecord, DemoSpan } from './otlp-json.js';
import { buildLogsRequest, buildTracesRequest } from './otlp-json.js';
import { OtlpHttpSender } from './otlp-http-sender.js';
import type { RequestTelemetry } from './traffic.js';

export interface DemoOptions {
  /** Server base URL, e.g. http://127.0.0.1:3100. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Visitor requests per second through the mesh (the CLI's default is 50); each yields ~12 log records and ~14 spans. */
  rate: number;
  /** Stop after this long; undefined runs until `signal` aborts. */
  durationSec?: number;
  signal?: AbortSignal;
  /** Fixes the cluster (pod names, addresses) and the traffic; random when absent. */
  seed?: number;
  /** Every failed send, drop, and the fatal auth error are reported here, never thrown. */
  onError?: (err: Error) => void;
  /** Compress request bodies (`content-encoding: gzip`); default true. */
  gzip?: boolean;
  /** Called about once a second with the running totals. */
  onProgress?: (stats: DemoStats) => void;
}

export interface DemoStats {
  /** Visitor requests generated. */
  requests: number;
  /** Log records the server acknowledged. */
  logRecords: number;
  /** Spans the server acknowledged. */
  spans: number;
  /** Batches the server acknowledged. */
  batchesSent: number;
  /** Failed send attempts (most are retried). */
  batchesFailed: number;
  /** Batches given up on: queue overflow, out of retries, rejected, or unsent at stop. */
  batchesDropped: number;
  /** Log records and spans in dropped batches or rejected by the server. */
  recordsDropped: number;
  /** The seed used, so a run can be replayed. */
  seed: number;
}

const TICK_MS = 250;
const MAX_BATCH_ITEMS = 1000;
/** Past this lag (a suspended laptop, a stalled event loop) the generator skips ahead. */
const MAX_CATCH_UP_MS = 5_000;
const DRAIN_TIMEOUT_MS = 5_000;
const ABORT_DRAIN_TIMEOUT_MS = 1_000;
const MAX_RATE = 100_000;

/** Rejects options that cannot work, with a message naming the option. */
export function validateDemoOptions(opts: DemoOptions): void {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new TypeError(`demo: url must be an absolute http(s) URL, got ${JSON.stringify(opts.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`demo: url must use http or https, got ${url.protocol}`);
  if (typeof opts.token !== 'string' || opts.token.trim() === '') throw new TypeError('demo: token must be a non-empty string');
  if (typeof opts.rate !== 'number' || !Number.isFinite(opts.rate) || opts.rate <= 0 || opts.rate > MAX_RATE) {
    throw new RangeError(`demo: rate must be a number in (0, ${MAX_RATE}] requests per second, got ${String(opts.rate)}`);
  }
  if (opts.durationSec !== undefined && (!Number.isFinite(opts.durationSec) || opts.durationSec < 0)) {
    throw new RangeError(`demo: durationSec must be a non-negative number, got ${String(opts.durationSec)}`);
  }
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) throw new TypeError(`demo: seed must be an integer, got ${String(opts.seed)}`);
}

/** Accumulates records and hands the sender payloads of at most `maxItems`. */
class OtlpBatcher {
  private logs: DemoLogRecord[] = [];
  private spans: DemoSpan[] = [];

  constructor(
    private readonly sender: OtlpHttpSender,
    private readonly maxItems: number,
  ) {}

  addRequest(request: RequestTelemetry): void {
    this.addLogs(request.logs);
    for (const span of request.spans) {
      this.spans.push(span);
      if (this.spans.length >= this.maxItems) this.flushSpans();
    }
  }

  addLogs(records: readonly DemoLogRecord[]): void {
    for (const record of records) {
      this.logs.push(record);
      if (this.logs.length >= this.maxItems) this.flushLogs();
    }
  }

  flush(): void {
    this.flushLogs();
    this.flushSpans();
  }

  private flushLogs(): void {
    if (this.logs.length === 0) return;
    const records = this.logs;
    this.logs = [];
    this.sender.enqueue('logs', buildLogsRequest(records), records.length);
  }

  private flushSpans(): void {
    if (this.spans.length === 0) return;
    const spans = this.spans;
    this.spans = [];
    this.sender.enqueue('traces', buildTracesRequest(spans), spans.length);
  }
}

/**
 * Runs the demo until `durationSec` elapses or `signal` aborts, and resolves
 * with what was sent. Rejects only for invalid options.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoStats> {
  validateDemoOptions(opts);
  const seed = opts.seed ?? randomInt(0, 2 ** 31 - 1);
  const startedAt = Date.now();
  const endAt = opts.durationSec === undefined ? Number.POSITIVE_INFINITY : startedAt + opts.durationSec * 1000;
  const generator = new MeshTrafficGenerator({ seed, startTimeMs: startedAt, rate: opts.rate });
  const sender = new OtlpHttpSender({
    url: opts.url,
    token: opts.token,
    gzip: opts.gzip ?? true,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  const batcher = new OtlpBatcher(sender, MAX_BATCH_ITEMS);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  let requests = 0;
  const stats = (): DemoStats => ({
    requests,
    logRecords: sender.stats.logRecordsSent,
    spans: sender.stats.spansSent,
    batchesSent: sender.stats.batchesSent,
    batchesFailed: sender.stats.batchesFailed,
    batchesDropped: sender.stats.batchesDropped,
    recordsDropped: sender.stats.recordsDropped,
    seed,
  });

  let held: RequestTelemetry[] = [];
  let lastProgress = startedAt;
  try {
    while (!stop.signal.aborted && sender.fatalError === undefined) {
      const now = Math.min(Date.now(), endAt);
      if (now - generator.nextArrivalMs > MAX_CATCH_UP_MS) generator.skipTo(now - TICK_MS);
      for (const request of generator.requestsBefore(now)) {
        held.push(request);
        requests++;
      }
      batcher.addLogs(generator.backgroundBefore(now));
      const finishing = now >= endAt;
      const stillRunning: RequestTelemetry[] = [];
      for (const request of held) {
        if (finishing || request.endMs <= now) batcher.addRequest(request);
        else stillRunning.push(request);
      }
      held = stillRunning;
      batcher.flush();
      if (opts.onProgress && now - lastProgress >= 1000) {
        lastProgress = now;
        opts.onProgress(stats());
      }
      if (finishing) break;
      try {
        await sleep(Math.max(1, Math.min(TICK_MS, endAt - Date.now())), undefined, { signal: stop.signal });
      } catch {
        // Aborted: fall through to the final flush.
      }
    }

    if (sender.fatalError === undefined) {
      for (const request of held) batcher.addRequest(request);
      batcher.flush();
      // Someone pressing Ctrl-C wants out soon; and a server never reached
      // will not be reached in the next seconds either.
      const unreachable = sender.stats.batchesSent === 0 && sender.stats.batchesFailed > 0;
      await sender.drain(unreachable ? 0 : stop.signal.aborted ? ABORT_DRAIN_TIMEOUT_MS : DRAIN_TIMEOUT_MS);
    }
  } finally {
    sender.close();
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const final = stats();
  opts.onProgress?.(final);
  return final;
}
