/**
 * `GET /loki/api/v1/tail` over WebSocket, as Loki streams it: first the
 * last `limit` entries since `start` (default one hour ago), oldest first,
 * then new entries as they arrive, in messages of at most 100 entries
 * `{"streams": [...], "dropped_entries": [...]}`.
 *
 * The upgrade request is an ordinary authenticated request: the token in
 * the Authorization header (Bearer or Basic; browsers will use the session
 * cookie once identities land — no token in the query string), the
 * `logs:read` permission, the tenant-bound reader (so rows are masked for
 * readers without `logs:read_personal`). Bad parameters and a full tail
 * quota are refused with Loki's plain-text HTTP errors before the upgrade.
 *
 * New entries are found by polling the store through the reader (works
 * the same with the embedded store and a cluster of stateless servers):
 * every `pollMs`, entries with timestamps in [cursor - grace, now -
 * delay_for] are read page by page, the ones already sent skipped. The
 * store makes every acknowledged write visible to a read, so an entry is
 * tailed unless its timestamp is older than `grace + delay_for` when it is
 * acknowledged (slow senders: raise `delay_for`, up to 5 s as in Loki).
 *
 * A client that reads too slowly does not make the server buffer without
 * bound: entries that would be sent while more than `maxBufferedBytes` wait
 * in the socket are dropped and reported in the next message's
 * `dropped_entries` (labels and timestamp), as Loki does.
 *
 * Each identity may hold `max_concurrent_tail_requests` tails at once. One
 * audit record is written per tail session when it ends (close, error or
 * server shutdown), with the query, the entries sent and the entries dropped.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { Logger } from '@meshlog/core';
import type { LogQuery } from '@meshlog/logql';
import type { TenantReader } from '@meshlog/store';
import { ApiError } from './errors.js';
import { principalOf, readerOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { lokiRoute } from './loki-routes.js';
import { isoOfNs, type AuditTrail } from '../audit/audit-trail.js';
import { LokiParams, NS_PER_S, parseBounds, parseLimit, requireQuery } from '../query/loki-params.js';
import { nowNs } from '../query/time-params.js';
import { apiErrorOf, checkEntriesLimit, parseLogQL, pushedTraceId } from '../query/loki-query.js';
import { ReaderEntrySource, type LogEntry } from '../query/entry-source.js';
import { labelsKey, sortedLabels } from '../query/results.js';
import { compilePipeline, type LineFilter, type PipelineOutput } from '@meshlog/logql';

export interface TailOptions {
  maxEntriesLimit: number;
  maxTailsPerIdentity: number;
  audit: AuditTrail;
  logger: Logger;
  /** How often the store is asked for new entries. */
  pollMs?: number;
  /** Late arrivals tolerated beyond delay_for. */
  graceMs?: number;
}

/** Loki's bounds: at most 100 entries per message, delay_for at most 5 s, at most 1000 dropped entries reported at once. */
const MAX_ENTRIES_PER_MESSAGE = 100;
const MAX_DELAY_FOR_SECONDS = 5;
const MAX_DROPPED_REPORTED = 1000;
/** Above this much unsent data in the socket, new entries are dropped (and reported) instead of queued. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

interface TailRequest {
  text: string;
  query: LogQuery;
  /** Head line filters, run in ClickHouse. */
  lineFilters: LineFilter[];
  /** The query's whole pipeline, run on every entry read. */
  pipeline: (entry: LogEntry) => PipelineOutput | null;
  traceId?: string;
  limit: number;
  delayForNs: bigint;
  startNs: bigint;
}

declare module 'fastify' {
  interface FastifyRequest {
    tail?: TailRequest;
  }
}

export function registerTailRoute(app: FastifyInstance, opts: TailOptions): void {
  const open = new Map<string, number>();
  /** Sessions still running (with their audit records), awaited when the server closes. */
  const running = new Set<Promise<unknown>>();
  const pollMs = opts.pollMs ?? 500;
  const graceNs = BigInt(opts.graceMs ?? 2000) * 1_000_000n;

  // In a scope of its own: the WebSocket plugin's hooks then touch this route only.
  void app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024 } });
    // An upgrade refused with an HTTP answer (401 before the plugin's own hooks ran, 400, 429) leaves a
    // socket no HTTP parser owns any more: close it, rather than let it idle until the client goes.
    scope.addHook('onResponse', async (req) => {
      if (String(req.headers.upgrade ?? '').toLowerCase() === 'websocket') req.raw.socket?.destroy();
    });
    // The plugin closes every socket first (preClose); each session then ends and writes its audit record.
    scope.addHook('onClose', async () => {
      await Promise.allSettled([...running]);
    });
    scope.route({
      method: 'GET',
      url: '/loki/api/v1/tail',
      config: lokiRoute('logs.tail'),
      // Checked before the upgrade, so a refusal is an HTTP answer in Loki's shape.
      preValidation: async (req) => {
        req.tail = parseTail(req, opts.maxEntriesLimit);
        const held = open.get(principalOf(req).id) ?? 0;
        if (held >= opts.maxTailsPerIdentity) throw tooManyTails(held + 1, opts.maxTailsPerIdentity);
      },
      handler: async () => {
        throw new ApiError('bad_request', 'the tail endpoint streams over WebSocket: connect with an "Upgrade: websocket" request (e.g. logcli query --tail, meshlog query --tail)');
      },
      wsHandler: (socket: WebSocket, req: FastifyRequest) => {
        const principal = principalOf(req);
        const held = (open.get(principal.id) ?? 0) + 1;
        open.set(principal.id, held);
        const release = (): void => {
          const n = (open.get(principal.id) ?? 1) - 1;
          if (n <= 0) open.delete(principal.id);
          else open.set(principal.id, n);
        };
        if (held > opts.maxTailsPerIdentity) {
          // Lost a race with another upgrade of the same identity.
          release();
          socket.close(1008, tooManyTails(held, opts.maxTailsPerIdentity).message.slice(0, 120));
          void auditSession(req, opts, { sent: 0, dropped: 0, bytes: 0, endNs: nowNs(), outcome: 'denied', reason: 'max_concurrent_tail_requests' });
          return;
        }
        const session = new TailSession(socket, readerOf(req), req.tail!, { pollMs, graceNs, logger: opts.logger });
        const done = session.run().then(
          (result) => {
            release();
            return auditSession(req, opts, { ...result, endNs: nowNs(), outcome: result.error ? 'error' : 'success', ...(result.error ? { reason: result.error } : {}) });
          },
          (err: unknown) => {
            release();
            opts.logger.error('tail session failed', { request: req.id, error: err instanceof Error ? err.message : String(err) });
          },
        );
        running.add(done);
        void done.finally(() => running.delete(done));
      },
    });
  });
}

function tooManyTails(count: number, limit: number): ApiError {
  return new ApiError('limit_exceeded', `max concurrent tail requests limit exceeded, count > limit (${count} > ${limit}); close another tail of this identity first (limits.max_concurrent_tail_requests)`);
}

function parseTail(req: FastifyRequest, maxEntriesLimit: number): TailRequest {
  const p = LokiParams.of(req);
  const text = requireQuery(p);
  const expr = parseLogQL(text);
  if (expr.kind !== 'LogQuery') throw new ApiError('bad_query', 'tail needs a log query (a stream selector with a pipeline), not a metric query');
  const limit = parseLimit(p);
  checkEntriesLimit(limit, maxEntriesLimit);
  const delayText = p.get('delay_for');
  let delayFor = 0;
  if (delayText !== undefined) {
    if (!/^\d+$/.test(delayText)) throw new ApiError('bad_request', `invalid delay_for ${JSON.stringify(delayText)}: a whole number of seconds`);
    delayFor = Number(delayText);
  }
  if (delayFor > MAX_DELAY_FOR_SECONDS) throw new ApiError('bad_request', `delay_for can't be greater than ${MAX_DELAY_FOR_SECONDS}`);
  // Loki's bounds: start, else now - since (default 1h).
  const { startNs } = parseBounds(p);
  // Head line filters and the trace id run in ClickHouse; the whole pipeline then runs on each entry.
  const lineFilters: LineFilter[] = [];
  for (const stage of expr.pipeline) {
    if (stage.kind !== 'LineFilter') break;
    if (!stage.ip && !stage.or.some((t) => t.ip)) lineFilters.push(stage);
  }
  const traceId = pushedTraceId(expr);
  let pipeline: (entry: LogEntry) => PipelineOutput | null;
  try {
    pipeline = compilePipeline(expr.pipeline);
  } catch (err) {
    throw apiErrorOf(err);
  }
  const note = auditNote(req);
  note.query = { text, start: isoOfNs(startNs), end: isoOfNs(nowNs()), rows: 0, bytes: 0 };
  return { text, query: expr, lineFilters, pipeline, ...(traceId !== undefined ? { traceId } : {}), limit, delayForNs: BigInt(delayFor) * NS_PER_S, startNs };
}

interface SessionResult {
  sent: number;
  dropped: number;
  bytes: number;
  error?: string;
}

function auditSession(req: FastifyRequest, opts: TailOptions, r: SessionResult & { endNs: bigint; outcome: 'success' | 'denied' | 'error'; reason?: string }): Promise<void> {
  const note = auditNote(req);
  // The upgrade answered no HTTP response, so the audit hook wrote nothing: this is the session's one record.
  note.done = true;
  const userAgent = req.headers['user-agent'];
  const principal = req.principal;
  return opts.audit
    .record({
      timeNs: note.timeNs,
      requestId: req.id,
      tenant: principal!.tenant,
      action: 'logs.tail',
      target: 'GET /loki/api/v1/tail',
      outcome: r.outcome,
      status: 101,
      actor: principal,
      client: { address: req.ip, ...(typeof userAgent === 'string' ? { userAgent } : {}) },
      durationMs: Number(process.hrtime.bigint() - note.startedAt) / 1e6,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      query: { ...(note.query ?? { text: '', start: '', end: '' }), end: isoOfNs(r.endNs), rows: r.sent, bytes: r.bytes },
      detail: { dropped_entries: r.dropped },
    })
    .catch((err: unknown) => opts.logger.error('audit record of a tail session failed', { request: req.id, error: err instanceof Error ? err.message : String(err) }));
}

/** One tail: history, then polling, until the socket closes. */
class TailSession {
  private closed = false;
  private readonly abort = new AbortController();
  private sent = 0;
  private bytes = 0;
  private droppedTotal = 0;
  private dropped: { labels: Record<string, string>; timestamp: string }[] = [];
  /** Keys of entries sent with timestamps >= cursor - grace. */
  private seen = new Map<string, bigint>();
  private cursor: bigint;
  private wake: (() => void) | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly reader: TenantReader,
    private readonly req: TailRequest,
    private readonly opts: { pollMs: number; graceNs: bigint; logger: Logger },
  ) {
    this.cursor = req.startNs;
    socket.on('close', () => this.stop());
    socket.on('error', () => this.stop());
    // Anything the client sends is ignored (Loki's tail reads nothing either); pings are answered by ws.
  }

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.wake?.();
  }

  async run(): Promise<SessionResult> {
    const keepAlive = setInterval(() => {
      if (!this.closed) this.socket.ping();
    }, 30_000);
    try {
      await this.history();
      while (!this.closed) {
        await this.poll();
        await this.sleep(this.opts.pollMs);
      }
      return { sent: this.sent, dropped: this.droppedTotal, bytes: this.bytes };
    } catch (err) {
      if (this.closed) return { sent: this.sent, dropped: this.droppedTotal, bytes: this.bytes };
      const message = err instanceof Error ? err.message : String(err);
      // 1011: the server hit a condition it cannot continue with (Loki closes the same way).
      this.socket.close(1011, truncateUtf8(message, 120));
      this.closed = true;
      return { sent: this.sent, dropped: this.droppedTotal, bytes: this.bytes, error: message };
    } finally {
      clearInterval(keepAlive);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private source(): ReaderEntrySource {
    return new ReaderEntrySource(this.reader, this.req.traceId !== undefined ? { traceId: this.req.traceId } : {});
  }

  /** The last `limit` entries from start to now, sent oldest first (Loki reverses a backward read). */
  private async history(): Promise<void> {
    const upTo = nowNs() - this.req.delayForNs;
    const newest: LogEntry[] = [];
    for await (const page of this.source().entries({ selector: this.req.query.selector, lineFilters: this.req.lineFilters, startNs: this.req.startNs, endNs: upTo + 1n, direction: 'backward', limit: this.req.limit, signal: this.abort.signal })) {
      for (const e of page) {
        if (newest.length >= this.req.limit) break;
        // Keys of what was read (not of what the pipeline made of it): polls compare what they read.
        this.seen.set(entryKey(e), e.ts);
        const out = this.req.pipeline(e);
        if (out) newest.push({ ts: e.ts, line: out.line, labels: out.labels });
      }
      if (newest.length >= this.req.limit) break;
    }
    newest.reverse();
    this.deliver(newest);
    // When the limit cut the history, entries older than its oldest (within the grace window the first
    // poll reads again) were left out on purpose: mark them seen so the first poll sends only what is new.
    // Entries not older than that are sent if unseen: they arrived while the history was read.
    if (newest.length >= this.req.limit && newest.length > 0) {
      const oldest = newest[0]!.ts;
      const seedFrom = upTo - this.opts.graceNs > this.req.startNs ? upTo - this.opts.graceNs : this.req.startNs;
      if (oldest > seedFrom) {
        for await (const page of this.source().entries({ selector: this.req.query.selector, lineFilters: this.req.lineFilters, startNs: seedFrom, endNs: oldest, direction: 'forward', signal: this.abort.signal })) {
          for (const e of page) this.seen.set(entryKey(e), e.ts);
        }
      }
    }
    this.cursor = upTo;
  }

  private async poll(): Promise<void> {
    const upTo = nowNs() - this.req.delayForNs;
    const from = this.cursor - this.opts.graceNs > this.req.startNs ? this.cursor - this.opts.graceNs : this.req.startNs;
    if (upTo < from) return;
    const fresh: LogEntry[] = [];
    for await (const page of this.source().entries({ selector: this.req.query.selector, lineFilters: this.req.lineFilters, startNs: from, endNs: upTo + 1n, direction: 'forward', signal: this.abort.signal })) {
      for (const e of page) {
        const key = entryKey(e);
        if (this.seen.has(key)) continue;
        this.seen.set(key, e.ts);
        const out = this.req.pipeline(e);
        if (out) fresh.push({ ts: e.ts, line: out.line, labels: out.labels });
      }
      // Deliver as we go: a burst is sent in pieces, never held whole.
      if (fresh.length >= MAX_ENTRIES_PER_MESSAGE * 10) this.deliver(fresh.splice(0));
    }
    this.deliver(fresh);
    if (upTo > this.cursor) this.cursor = upTo;
    const keepFrom = this.cursor - this.opts.graceNs;
    for (const [key, ts] of this.seen) if (ts < keepFrom) this.seen.delete(key);
  }

  /** Sends entries in messages of at most 100; drops (and reports) what a slow client cannot take. */
  private deliver(entries: LogEntry[]): void {
    for (let i = 0; i < entries.length && !this.closed; i += MAX_ENTRIES_PER_MESSAGE) {
      const chunk = entries.slice(i, i + MAX_ENTRIES_PER_MESSAGE);
      if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        this.droppedTotal += chunk.length;
        for (const e of chunk) if (this.dropped.length < MAX_DROPPED_REPORTED) this.dropped.push({ labels: sortedLabels({ ...e.labels, ...e.metadata }), timestamp: e.ts.toString() });
        continue;
      }
      const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
      for (const e of chunk) {
        const labels = { ...e.labels, ...e.metadata };
        const key = labelsKey(labels);
        let s = streams.get(key);
        if (!s) {
          s = { stream: sortedLabels(labels), values: [] };
          streams.set(key, s);
        }
        s.values.push([e.ts.toString(), e.line]);
        this.bytes += Buffer.byteLength(e.line);
      }
      const message = { streams: [...streams.values()], ...(this.dropped.length > 0 ? { dropped_entries: this.dropped } : {}) };
      this.dropped = [];
      this.socket.send(JSON.stringify(message));
      this.sent += chunk.length;
    }
  }
}

function entryKey(e: LogEntry): string {
  return `${e.ts}\u0000${labelsKey({ ...e.labels, ...e.metadata })}\u0000${e.line}`;
}

/** A WebSocket close reason is at most 123 bytes. */
function truncateUtf8(s: string, max: number): string {
  let out = s;
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}
