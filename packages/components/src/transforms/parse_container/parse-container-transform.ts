/**
 * The `parse_container` transform: unwraps container runtime lines (CRI and
 * Docker json-file, container-line.ts) into the message, its stream
 * (`log.iostream`) and the runtime's timestamp, and joins lines the runtime
 * split (CRI `P` records, Docker's 16 KiB pieces) back into one record.
 *
 * State: one pending line per stream, keyed by tenant, `log.file.path` (or,
 * without it, the resource's identity attributes) and the stream name, so
 * stdout and stderr of one container, and different containers, never mix.
 * A pending line keeps the first piece's record (its time, resource and
 * attributes) and the text gathered so far.
 *
 * Bounds and delivery: a line longer than `max_line_length` is released as
 * it stands; a pending line older than `flush_timeout_ms` is released by the
 * engine's flush timer; over `max_streams` pending lines or
 * `max_buffered_bytes` of text, the oldest are released. Released-incomplete
 * lines carry `log.incomplete: true` and are counted
 * (`meshlog_component_errors_total{error_type="partial_line_flushed_incomplete"}`).
 * On pipeline stop everything pending is released. The pieces a line is made
 * of were acknowledged to their source with their own batches: a crash
 * loses what is pending, which these bounds keep to seconds and bytes. The
 * agent's file source avoids that by joining pieces itself, before its
 * checkpoint (`container_format`, sources/file/container-pieces.ts); what
 * reaches this transform from it is whole unless it was overdue or oversize.
 */
import { z } from 'zod';
import type { Batch, ComponentDefinition, ComponentMetrics, LogBatch, LogRecord, Transform } from '@meshlog/core';
import { WhenSchema, compileWhen } from '../when.js';
import { parseContainerLine, type ContainerLine } from './container-line.js';

export const ParseContainerConfigSchema = z
  .object({
    /** `auto` tells CRI and Docker lines apart per record. */
    format: z.enum(['auto', 'cri', 'docker']).default('auto'),
    /** A line split by the runtime is released unfinished after this long without its end. */
    flush_timeout_ms: z.number().int().min(10).max(600_000).default(5_000),
    /** Longest reassembled line, in characters; longer lines are released in pieces of this size. */
    max_line_length: z.number().int().positive().max(64 * 1024 * 1024).default(1024 * 1024),
    /** Most streams with a pending line at once. */
    max_streams: z.number().int().positive().max(1_000_000).default(10_000),
    /** Most pending text, in characters, over all streams. */
    max_buffered_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Only records matching these attributes/resource attributes are unwrapped. */
    when: WhenSchema.optional(),
  })
  .strict();
export type ParseContainerConfig = z.infer<typeof ParseContainerConfigSchema>;

interface Pending {
  tenant: string;
  source: string;
  record: LogRecord;
  parts: string[];
  length: number;
  startedMs: number;
}

/** Resource attributes that tell one container's stream from another's when no file path does. */
const IDENTITY_KEYS = ['k8s.pod.uid', 'k8s.namespace.name', 'k8s.pod.name', 'k8s.container.name', 'container.id', 'host.name', 'service.name', 'service.instance.id'];

function streamKey(tenant: string, r: LogRecord, stream: string): string {
  const path = r.attributes['log.file.path'];
  let key = tenant + '\u0000' + stream + '\u0000';
  if (typeof path === 'string') return key + path;
  for (const k of IDENTITY_KEYS) {
    const v = r.resource[k];
    if (v !== undefined) key += k + '=' + String(v) + '\u0001';
  }
  return key;
}

export class ParseContainerTransform implements Transform {
  readonly kind = 'transform' as const;
  readonly flushIntervalMs: number;
  private readonly pending = new Map<string, Pending>();
  /** Lines released out of turn (evicted), waiting for the next flush. */
  private ready: Pending[] = [];
  private bufferedBytes = 0;
  private accounted = 0;
  private readonly when: ((r: LogRecord) => boolean) | undefined;

  constructor(
    private readonly config: ParseContainerConfig,
    private readonly metrics?: ComponentMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.flushIntervalMs = Math.max(10, Math.min(1000, Math.floor(config.flush_timeout_ms / 2)));
    this.when = compileWhen(config.when);
  }

  /** Pending lines (for tests). */
  get pendingStreams(): number {
    return this.pending.size;
  }

  process(batch: Batch): Batch {
    this.accounted = 0;
    if (batch.kind !== 'logs') return batch;
    const out: LogRecord[] = [];
    // Whether `out` is anything but the input records in order (pieces held, joined or released).
    let reshaped = false;
    for (const r of batch.records) {
      if (this.when !== undefined && !this.when(r)) {
        out.push(r);
        continue;
      }
      const line = parseContainerLine(r.body, this.config.format);
      if (!line) {
        out.push(r);
        continue;
      }
      const key = streamKey(batch.tenant, r, line.stream);
      const p = this.pending.get(key);
      if (!line.partial) {
        if (p) {
          this.append(p, line.message);
          this.take(key, p);
          out.push(this.finish(p, false));
          reshaped = true;
        } else {
          out.push(this.unwrap(r, line));
        }
        continue;
      }
      // A piece of a longer line: keep it until its end arrives.
      this.accounted++;
      reshaped = true;
      if (p) {
        this.append(p, line.message);
        if (p.length >= this.config.max_line_length) {
          this.take(key, p);
          this.metrics?.error('partial_line_too_long');
          out.push(this.finish(p, true));
        }
      } else {
        this.unwrap(r, line);
        r.body = '';
        const fresh: Pending = { tenant: batch.tenant, source: batch.source, record: r, parts: [], length: 0, startedMs: this.now() };
        this.append(fresh, line.message);
        this.pending.set(key, fresh);
        this.enforceBounds();
      }
    }
    return reshaped ? { ...batch, records: out } : batch;
  }

  selfAccounted(): number {
    return this.accounted;
  }

  flush(final: boolean): Batch[] {
    const due: Pending[] = this.ready;
    this.ready = [];
    const now = this.now();
    for (const [key, p] of this.pending) {
      if (final || now - p.startedMs >= this.config.flush_timeout_ms) {
        this.take(key, p);
        due.push(p);
      }
    }
    if (due.length === 0) return [];
    const batches = new Map<string, LogBatch>();
    for (const p of due) {
      const k = p.tenant + '\u0000' + p.source;
      let b = batches.get(k);
      if (!b) {
        b = { kind: 'logs', tenant: p.tenant, source: p.source, records: [] };
        batches.set(k, b);
      }
      this.metrics?.error('partial_line_flushed_incomplete');
      b.records.push(this.finish(p, true));
    }
    return [...batches.values()];
  }

  private append(p: Pending, text: string): void {
    p.parts.push(text);
    p.length += text.length;
    this.bufferedBytes += text.length;
  }

  /** Releases the oldest pending lines while over `max_streams` or `max_buffered_bytes`. */
  private enforceBounds(): void {
    for (const [key, p] of this.pending) {
      if (this.pending.size <= this.config.max_streams && this.bufferedBytes <= this.config.max_buffered_bytes) return;
      this.take(key, p);
      this.metrics?.error('partial_line_evicted');
      this.ready.push(p);
    }
  }

  /** Removes a pending line from the state (and its text from the buffer budget). */
  private take(key: string, p: Pending): void {
    this.pending.delete(key);
    this.bufferedBytes -= p.length;
  }

  private unwrap(r: LogRecord, line: ContainerLine): LogRecord {
    r.body = line.message;
    r.timeUnixNano = line.timeUnixNano;
    r.attributes['log.iostream'] = line.stream;
    return r;
  }

  private finish(p: Pending, incomplete: boolean): LogRecord {
    const r = p.record;
    r.body = p.parts.length === 1 ? p.parts[0]! : p.parts.join('');
    if (incomplete) r.attributes['log.incomplete'] = true;
    return r;
  }
}

export const parseContainerTransform: ComponentDefinition<ParseContainerConfig> = {
  kind: 'transform',
  type: 'parse_container',
  description: 'unwraps CRI and Docker json-file container log lines (message, stream, time) and joins lines the runtime split',
  schema: ParseContainerConfigSchema,
  build: (config, ctx) => new ParseContainerTransform(config, ctx.metrics),
};
