/**
 * What the shipping sinks share (the OpenTelemetry Collector's
 * exporterhelper, on disk): `write` cuts the batches into requests, encodes
 * and compresses each once, and appends them to the disk buffer (fsync'd)
 * before it returns, so the source's batch is acknowledged only when it
 * survives `kill -9` and power loss. Shippers (`concurrency` of them) read
 * the buffer in order and POST each request until the destination answers:
 *
 * - 2xx: delivered; the record leaves the buffer (partial-success answers
 *   name records the destination refused: counted as dead-lettered);
 * - 408, 429, 5xx, connection and TLS failures, timeouts: retried forever,
 *   exponential backoff with jitter, Retry-After honoured (the buffer holds
 *   the data; when it fills, the sources stop reading);
 * - any other 4xx: permanent, never retried: the request is dead-lettered
 *   (counted per status, logged with the answer) and leaves the buffer.
 *
 * A protocol (OTLP, Loki) supplies only its encoding, paths and how to read
 * partial success.
 */
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { retryableError, type Batch, type BuildContext, type LogRecord, type Sink, type Span } from '@meshlog/core';
import { BufferClosedError, DiskBuffer, type BufferedRecord } from '../../buffer/disk-buffer.js';
import { PushClient, PushTransportError, type PushResponse } from './push-client.js';
import type { ClientTlsConfig } from './push-config.js';

const gzip = promisify(gzipCb);
/** Output chunk of one request's gzip: large, so a request is compressed in a few thread-pool rounds rather than one per 16 KiB. */
const GZIP_CHUNK = 128 * 1024;

/** Service name under which a role hands its components an AbortSignal that fires when it starts shutting down. */
export const SHUTDOWN_SIGNAL_SERVICE = 'shutdown_signal';

const KIND_LOGS = 0x4c; // 'L'
const KIND_SPANS = 0x53; // 'S'

export interface PushProtocol {
  readonly name: string;
  readonly contentType: string;
  readonly logsPath: string;
  /** Undefined: spans are not carried (counted as discarded `unsupported`). */
  readonly spansPath?: string;
  encodeLogs(records: readonly LogRecord[]): Buffer;
  encodeSpans?(spans: readonly Span[]): Buffer;
  /** Records of a 2xx answer the destination refused (partial success), with its reason. */
  partialRejects?(kind: 'logs' | 'spans', res: PushResponse): { rejected: number; message: string } | undefined;
}

export interface BufferedPushConfig {
  endpoint: string;
  token_file?: string | undefined;
  token_env?: string | undefined;
  tls?: ClientTlsConfig | undefined;
  compression: 'gzip' | 'none';
  disk_buffer: { max_bytes: number; max_segment_bytes: number; when_full: 'block' | 'drop_newest' };
  request_max_records: number;
  request_max_bytes: number;
  concurrency: number;
  timeout_ms: number;
  initial_backoff_ms: number;
  max_backoff_ms: number;
  headers: Record<string, string>;
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** 408 and 429 are "later", other 4xx are "never"; 5xx are "later". */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export class BufferedPushSink implements Sink {
  readonly kind = 'sink' as const;
  private buffer: DiskBuffer | undefined;
  private readonly client: PushClient;
  private readonly stopping = new AbortController();
  private shippers: Promise<void>[] = [];
  private failing = false;
  private readonly shutdown: AbortSignal | undefined;
  private readonly delivered: (labels?: Record<string, string>, value?: number) => void;
  private readonly deadLettered: (labels?: Record<string, string>, value?: number) => void;
  private readonly retries: (labels?: Record<string, string>, value?: number) => void;
  private readonly damagedBytes: (labels?: Record<string, string>, value?: number) => void;
  private readonly damageEvents: (labels?: Record<string, string>, value?: number) => void;
  private readonly bufferBytes: (value: number) => void;
  private gaugeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: BufferedPushConfig,
    private readonly protocol: PushProtocol,
    private readonly ctx: BuildContext,
  ) {
    this.client = new PushClient({ endpoint: cfg.endpoint, tls: cfg.tls, tokenFile: cfg.token_file, tokenEnv: cfg.token_env, headers: cfg.headers, label: `sink ${ctx.id}`, logger: ctx.logger });
    this.shutdown = ctx.services.get<AbortSignal>(SHUTDOWN_SIGNAL_SERVICE);
    const m = ctx.metrics;
    const noop = (): void => undefined;
    this.delivered = m.counter?.('sink_delivered_records_total', 'Records the destination acknowledged (they left the disk buffer).') ?? noop;
    this.deadLettered = m.counter?.('sink_dead_letter_records_total', 'Records the destination refused for good (4xx other than 408/429, or partial success), by reason.', ['reason']) ?? noop;
    this.retries = m.counter?.('sink_retries_total', 'Requests retried, by cause.', ['cause']) ?? noop;
    this.damagedBytes = m.counter?.('buffer_damaged_bytes_total', 'Disk buffer bytes skipped because they were not an intact record.') ?? noop;
    this.damageEvents = m.counter?.('buffer_damage_events_total', 'Damaged stretches found in the disk buffer.') ?? noop;
    this.bufferBytes = m.gauge?.('buffer_bytes', 'Unacknowledged bytes in the disk buffer.') ?? noop;
  }

  get diskBuffer(): DiskBuffer | undefined {
    return this.buffer;
  }

  async start(): Promise<void> {
    if (this.buffer) return;
    const dir = join(this.ctx.dataDir, 'buffers', this.ctx.id);
    this.buffer = await DiskBuffer.open(dir, {
      maxBytes: this.cfg.disk_buffer.max_bytes,
      maxSegmentBytes: this.cfg.disk_buffer.max_segment_bytes,
      whenFull: this.cfg.disk_buffer.when_full,
      logger: this.ctx.logger,
      onDamage: (d) => {
        this.damagedBytes({}, d.bytes);
        this.damageEvents();
        this.ctx.metrics.error('buffer_damaged');
      },
    });
    if (this.buffer.bytes > 0) this.ctx.logger.info('disk buffer holds records from an earlier run; sending them first', { bytes: this.buffer.bytes });
    this.gaugeTimer = setInterval(() => this.bufferBytes(this.buffer?.bytes ?? 0), 1000);
    this.gaugeTimer.unref();
    for (let i = 0; i < this.cfg.concurrency; i++) this.shippers.push(this.ship(this.buffer));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.gaugeTimer);
    const buffer = this.buffer;
    if (buffer) {
      await buffer.close();
      await Promise.allSettled(this.shippers);
    }
    this.client.close();
  }

  async write(batches: Batch[]): Promise<void> {
    const buffer = this.buffer;
    if (!buffer) throw retryableError('not_running', 'the sink is not started', 1000);
    const items: { payload: Buffer; count: number }[] = [];
    const logs: LogRecord[] = [];
    const spans: Span[] = [];
    for (const b of batches) {
      if (b.kind === 'logs') logs.push(...b.records);
      else if (this.protocol.spansPath !== undefined && this.protocol.encodeSpans) spans.push(...b.spans);
      else this.ctx.metrics.discarded(b.spans.length, 'unsupported', b.tenant);
    }
    for (const chunk of this.chunks(logs)) items.push(await this.encode(KIND_LOGS, this.protocol.encodeLogs(chunk), chunk.length));
    for (const chunk of this.chunks(spans)) items.push(await this.encode(KIND_SPANS, this.protocol.encodeSpans!(chunk), chunk.length));
    let outcome: 'written' | 'dropped';
    try {
      outcome = await buffer.append(items, this.shutdown);
    } catch (err) {
      // Shutting down while the buffer is full: the source keeps its position and reads these again.
      if (err instanceof BufferClosedError) throw retryableError('shutting_down', 'shutting down with a full disk buffer; the records were not taken (send them again later)', 1000);
      throw retryableError('buffer_write_failed', `writing the disk buffer failed: ${(err as Error).message}`, 1000, err);
    }
    if (outcome === 'dropped') {
      const tenant = batches[0]?.tenant ?? 'default';
      this.ctx.metrics.discarded(logs.length + spans.length, 'queue_full', tenant);
    }
  }

  private *chunks<T extends LogRecord | Span>(items: T[]): Generator<T[]> {
    let start = 0;
    while (start < items.length) {
      let bytes = 0;
      let end = start;
      while (end < items.length && end - start < this.cfg.request_max_records) {
        const item = items[end]!;
        bytes += 'body' in item ? 96 + item.body.length * 1.2 : 200;
        end++;
        if (bytes >= this.cfg.request_max_bytes) break;
      }
      yield items.slice(start, end);
      start = end;
    }
  }

  private async encode(kind: number, body: Buffer, count: number): Promise<{ payload: Buffer; count: number }> {
    const data = this.cfg.compression === 'gzip' ? await gzip(body, { level: 1, chunkSize: GZIP_CHUNK }) : body;
    const payload = Buffer.allocUnsafe(1 + data.length);
    payload[0] = kind;
    data.copy(payload, 1);
    return { payload, count };
  }

  private async ship(buffer: DiskBuffer): Promise<void> {
    for (;;) {
      const rec = await buffer.next();
      if (!rec || this.stopping.signal.aborted) return;
      const ok = await this.deliver(rec);
      // Stopped mid-delivery: the record stays in the buffer for the next start.
      if (!ok) return;
      buffer.ack(rec);
      this.bufferBytes(buffer.bytes);
    }
  }

  /** True once the record is settled (delivered or dead-lettered); false when stopping first. */
  private async deliver(rec: BufferedRecord): Promise<boolean> {
    const kind = rec.payload[0] === KIND_SPANS ? 'spans' : 'logs';
    const path = kind === 'spans' ? this.protocol.spansPath! : this.protocol.logsPath;
    const body = rec.payload.subarray(1);
    const headers: Record<string, string> = { 'content-type': this.protocol.contentType };
    if (this.cfg.compression === 'gzip') headers['content-encoding'] = 'gzip';
    let backoff = this.cfg.initial_backoff_ms;
    for (;;) {
      if (this.stopping.signal.aborted) return false;
      let res: PushResponse | undefined;
      let failure: string;
      let wait: number | undefined;
      try {
        res = await this.client.post(path, body, headers, this.cfg.timeout_ms, this.stopping.signal);
      } catch (err) {
        if (this.stopping.signal.aborted) return false;
        // Connection, TLS, timeout, or a token file that went missing: the data stays, the request is tried again.
        failure = (err as Error).message;
        this.retries({ cause: err instanceof PushTransportError ? 'transport' : 'client' });
      }
      if (res) {
        if (res.status >= 200 && res.status < 300) {
          const partial = this.protocol.partialRejects?.(kind, res);
          if (partial && partial.rejected > 0) {
            this.deadLettered({ reason: 'partial_success' }, partial.rejected);
            this.ctx.metrics.discarded(partial.rejected, 'rejected', 'default');
            this.ctx.logger.warn('the destination refused some records of a request (partial success); they are not retried', { rejected: partial.rejected, reason: partial.message.slice(0, 500) });
          }
          this.delivered({}, rec.count - (partial?.rejected ?? 0));
          if (this.failing) {
            this.failing = false;
            this.ctx.logger.info('destination reachable again; sending what the disk buffer holds', { endpoint: this.cfg.endpoint });
          }
          return true;
        }
        if (isPermanentStatus(res.status)) {
          this.deadLettered({ reason: `http_${res.status}` }, rec.count);
          this.ctx.metrics.discarded(rec.count, 'rejected', 'default');
          this.ctx.metrics.error(`http_${res.status}`);
          this.ctx.logger.error('the destination refused a request for good; its records are dead-lettered (counted), not retried', {
            endpoint: this.cfg.endpoint,
            status: res.status,
            records: rec.count,
            answer: res.body.toString('utf8').slice(0, 500),
          });
          return true;
        }
        failure = `HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`;
        wait = retryAfterMs(res.headers['retry-after']);
        this.retries({ cause: `http_${res.status}` });
      }
      if (!this.failing) {
        this.failing = true;
        this.ctx.logger.warn('destination unavailable; records stay in the disk buffer and are retried', { endpoint: this.cfg.endpoint, error: failure! });
      }
      this.ctx.metrics.error('delivery_retry');
      const jittered = wait !== undefined ? Math.min(wait, 3_600_000) + Math.random() * 100 : backoff / 2 + Math.random() * (backoff / 2);
      backoff = Math.min(this.cfg.max_backoff_ms, backoff * 2);
      await abortableSleep(jittered, this.stopping.signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
