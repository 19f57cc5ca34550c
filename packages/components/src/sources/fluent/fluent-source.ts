/**
 * The `fluent` source: the Fluentd Forward Protocol v1 over TCP, as Fluent
 * Bit's and Fluentd's `forward` outputs, Docker's fluentd log driver and the
 * fluent-logger libraries speak it.
 *
 * Per connection: optional TLS (`tls`; a verified client certificate's
 * SPIFFE ID decides the tenant through the host, and every TLS connection,
 * accepted or refused, is audited: tls/tls-connection-admission.ts), an
 * optional shared-key handshake (HELO/PING/PONG) that must complete before
 * any event is accepted and that decides the tenant unless a certificate did;
 * then a stream of msgpack messages, split by `MessageFramer` (bounded by
 * `max_message_bytes`), decoded by `fluent-decode`, emitted, and, when the
 * message carries `option.chunk`, acknowledged with `{"ack": chunk}` only
 * after the pipeline has made it durable.
 *
 * Invariants:
 * - an ack is written only after `emit` resolved; a retryable failure sends
 *   no ack and closes the connection, so the client resends the chunk;
 * - a resent chunk is not stored twice: the batch's idempotency key is
 *   derived from tenant + chunk id;
 * - while a round of messages is being emitted the socket is paused, so a
 *   connection never buffers more than one message plus one read (TCP
 *   pushes back on the sender) and messages are emitted in order;
 * - bad input never throws out of a connection handler: a broken msgpack
 *   stream, an oversized message, a slow or idle peer close that connection
 *   with a logged and counted reason; a bad entry is rejected and counted
 *   while the rest of its message is stored.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { hostname as osHostname } from 'node:os';
import { promisify } from 'node:util';
import { gunzip, type InputType, type ZlibOptions } from 'node:zlib';
import {
  DiscardReason,
  PipelineError,
  TRANSPORT_SECURITY_SERVICE,
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type LogRecord,
  type Source,
  type TransportSecurity,
} from '@meshlog/core';
import { CertificateFileError, CertificateFiles } from '../../tls/certificate-files.js';
import { keepCertificateCurrent, tlsServerOptions } from '../../tls/listener-tls.js';
import { admitTlsConnection, recordFailedHandshake } from '../../tls/tls-connection-admission.js';
import { FluentSourceConfigSchema, type FluentSourceConfig } from './config.js';
import { encodeValue } from './fluent-codec.js';
import {
  ForwardDecodeError,
  ResourceInterner,
  decodeEntryStream,
  decodeMessageEntry,
  parseForwardMessage,
  type ChunkId,
  type DecodedEntries,
  type EventsMessage,
} from './fluent-decode.js';
import { helo, newSession, verifyPing, type HandshakeConfig, type HandshakeSession } from './fluent-handshake.js';
import { FramingError, MessageFramer } from './msgpack-framing.js';

const gunzipAsync = promisify<InputType, ZlibOptions, Buffer>(gunzip);

export const fluentSource: ComponentDefinition<FluentSourceConfig> = {
  kind: 'source',
  type: 'fluent',
  description: 'Fluentd Forward Protocol v1 over TCP (Message, Forward, PackedForward, CompressedPackedForward; chunk acks; shared-key handshake)',
  schema: FluentSourceConfigSchema,
  build: (config, ctx) => new FluentSource(config, ctx, loadHandshakeConfig(config, ctx), loadCertificates(config, ctx)),
};

/** Reads the TLS files named by `tls` (at build, so a bad file fails the start naming it). */
function loadCertificates(config: FluentSourceConfig, ctx: Pick<BuildContext, 'id' | 'logger'>): CertificateFiles | undefined {
  if (!config.tls) return undefined;
  try {
    return new CertificateFiles(config.tls, { label: `${ctx.id} tls`, logger: ctx.logger });
  } catch (err) {
    if (err instanceof CertificateFileError) throw new Error(`source ${ctx.id}: tls.${err.message}`, { cause: err });
    throw err;
  }
}

/** Reads the key and password files named by `security` (at build: validation stays pure). */
export function loadHandshakeConfig(config: FluentSourceConfig, ctx: Pick<BuildContext, 'id' | 'logger'>): HandshakeConfig | undefined {
  const s = config.security;
  if (!s) return undefined;
  const secret = (path: string, key: string): Buffer => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
      if ((statSync(path).mode & 0o077) !== 0) ctx.logger.warn('secret file is readable by group or others; chmod 600 it', { file: path, key });
    } catch (err) {
      throw new Error(`source ${ctx.id}: ${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new Error(`source ${ctx.id}: ${key}: ${path} is empty`);
    return Buffer.from(value, 'utf8');
  };
  const keys = [
    ...(s.shared_key_file !== undefined ? [{ key: secret(s.shared_key_file, 'security.shared_key_file'), tenant: config.tenant }] : []),
    ...(s.shared_keys ?? []).map((k, i) => ({ key: secret(k.key_file, `security.shared_keys[${i}].key_file`), tenant: k.tenant })),
  ];
  const users = s.user_auth ? new Map((s.users ?? []).map((u, i) => [u.username, secret(u.password_file, `security.users[${i}].password_file`)])) : undefined;
  return { selfHostname: s.self_hostname ?? osHostname(), keys, ...(users ? { users } : {}) };
}

/** Why a connection was closed: each is a metrics `error_type` and a log field. */
type CloseReason =
  | 'malformed'
  | 'message_too_large'
  | 'decompressed_too_large'
  | 'unsupported_compression'
  | 'idle_timeout'
  | 'message_timeout'
  | 'handshake_timeout'
  | 'auth_failed'
  | 'handshake_required'
  | 'pipeline_unavailable'
  | 'server_busy'
  | 'internal_error';

/** Thrown inside a round to stop the connection. */
class CloseConnection extends Error {
  constructor(
    readonly reason: CloseReason,
    message: string,
  ) {
    super(message);
  }
}

export class FluentSource implements Source {
  readonly kind = 'source' as const;
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private readonly connections = new Set<ForwardConnection>();
  private stopping: Promise<void> | undefined;
  private boundPort = 0;
  /** Bytes of incomplete messages held by all connections (bounded by max_buffered_bytes). */
  private buffered = 0;
  private readonly security: TransportSecurity | undefined;
  private stopWatchingCertificate: (() => void) | undefined;
  /** Accepted sockets still in the TLS handshake or its admission: stop must not wait on them. */
  private readonly pending = new Set<Socket>();

  constructor(
    readonly config: FluentSourceConfig,
    readonly ctx: BuildContext,
    readonly handshake: HandshakeConfig | undefined,
    private readonly certificates: CertificateFiles | undefined = undefined,
  ) {
    this.security = ctx.services.get<TransportSecurity>(TRANSPORT_SECURITY_SERVICE);
  }

  /** The TCP port actually bound (differs from the config when that says 0). */
  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    if (this.server || this.stopping) return;
    const tls = this.config.tls && this.certificates ? { config: this.config.tls, files: this.certificates } : undefined;
    const server = tls
      ? createTlsServer({ ...tlsServerOptions(tls.config, tls.files), noDelay: true }, (socket) => void this.admitTls(socket))
      : createServer({ pauseOnConnect: false, noDelay: true }, (socket) => this.accept(socket, this.config.tenant, false));
    this.server = server;
    if (tls) {
      // Refused at accept, before a handshake costs anything.
      server.maxConnections = this.config.max_connections;
      server.on('drop', (data?: { remoteAddress?: string }) => {
        this.ctx.metrics.error('too_many_connections');
        this.ctx.logger.warn('fluent connection refused: max_connections reached', { remote: data?.remoteAddress, max_connections: this.config.max_connections });
      });
      server.on('connection', (raw: Socket) => {
        this.pending.add(raw);
        raw.once('close', () => this.pending.delete(raw));
      });
      const admission = { security: this.security, source: this.ctx.id, protocol: 'fluent', logger: this.ctx.logger };
      server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        this.ctx.metrics.error(err.message.includes('timeout') ? 'tls_handshake_timeout' : 'tls_handshake_failed');
        this.ctx.logger.debug('fluent TLS handshake failed', { remote: socket.remoteAddress, error: err.message });
        socket.destroy();
        void recordFailedHandshake(err, socket, admission);
      });
    }
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException): void =>
        reject(
          new Error(
            `source ${this.ctx.id}: cannot listen on ${this.config.listen_address}:${this.config.port} (${err.code ?? err.message}); ` +
              'choose another port (server.forward_port or the source\'s port) or 0 to turn it off',
            { cause: err },
          ),
        );
      server.once('error', failed);
      server.listen({ host: this.config.listen_address, port: this.config.port }, () => {
        server.off('error', failed);
        resolve();
      });
    });
    server.on('error', (err) => this.ctx.logger.error('fluent listener error', { error: err }));
    if (tls) this.stopWatchingCertificate = keepCertificateCurrent(server as ReturnType<typeof createTlsServer>, tls.config, tls.files, { security: this.security });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.config.port;
    if (this.config.udp_heartbeat) await this.startHeartbeat();
    this.ctx.logger.info('fluent forward listening', {
      address: this.config.listen_address,
      port: this.boundPort,
      handshake: this.handshake ? 'shared key' : 'none',
      tls: tls ? (tls.config.client_auth === 'none' ? 'on' : `on, client certificates ${tls.config.client_auth}`) : 'off',
      udpHeartbeat: this.config.udp_heartbeat,
    });
  }

  private async startHeartbeat(): Promise<void> {
    // Fluentd v0.12's out_forward probes liveness with a UDP datagram and expects any reply; one byte answers.
    const udp = createSocket(isIPv6(this.config.listen_address) ? 'udp6' : 'udp4');
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      if (msg.length > 1024) return;
      udp.send(Buffer.from([0]), rinfo.port, rinfo.address, () => undefined);
    });
    udp.on('error', (err) => this.ctx.logger.warn('fluent UDP heartbeat error', { error: err }));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: this.config.listen_address, port: this.boundPort }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
  }

  /** A TLS connection whose handshake completed: its tenant is decided (and recorded) before anything is read. */
  private async admitTls(socket: TLSSocket): Promise<void> {
    socket.on('error', (err) => this.ctx.logger.debug('fluent socket error', { remote: remoteOf(socket), error: err }));
    const admitted = await admitTlsConnection(socket, { security: this.security, source: this.ctx.id, protocol: 'fluent', defaultTenant: this.config.tenant, logger: this.ctx.logger });
    if (!admitted) {
      this.ctx.metrics.error('tls_client_refused');
      return;
    }
    this.accept(socket, admitted.tenant, admitted.identity !== undefined);
  }

  private accept(socket: Socket, tenant: string, tenantFromCertificate: boolean): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.config.max_connections) {
      this.ctx.metrics.error('too_many_connections');
      this.ctx.logger.warn('fluent connection refused: max_connections reached', { remote: remoteOf(socket), max_connections: this.config.max_connections });
      socket.destroy();
      return;
    }
    const conn = new ForwardConnection(this, socket, tenant, tenantFromCertificate);
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopWatchingCertificate?.();
    const server = this.server;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (this.udp) {
      const udp = this.udp;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
    // In-flight rounds finish (their batches are emitted and acknowledged); then each connection closes.
    const conns = [...this.connections];
    const graceMs = this.config.max_wait_ms + 5_000;
    await Promise.race([Promise.allSettled(conns.map((c) => c.closeWhenIdle())), delay(graceMs)]);
    for (const c of this.connections) c.destroy();
    for (const raw of this.pending) raw.destroy();
    await closed;
  }

  // --- helpers the connections use ---

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Whether `more` bytes fit the shared buffer budget. */
  canBuffer(more: number): boolean {
    return this.buffered + more <= this.config.max_buffered_bytes;
  }

  adjustBuffered(delta: number): void {
    this.buffered += delta;
  }

  decodeFailure(tenant: string, count: number, message: string, remote: string, nth: number): void {
    this.ctx.metrics.error('invalid_message');
    this.ctx.metrics.discarded(count, DiscardReason.Invalid, tenant);
    if (worthLogging(nth)) this.ctx.logger.warn('fluent message rejected', { remote, error: message, records: count, rejected_on_connection: nth });
  }
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** A connection sending bad input all day logs its 1st, 10th, 100th... problem, not every one: the counters have the rest. */
function worthLogging(nth: number): boolean {
  return nth === 1 || (nth % 10 === 0 && worthLogging(nth / 10));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** What one message of a round produced. */
interface RoundItem {
  records: LogRecord[];
  chunk: ChunkId | undefined;
}

class ForwardConnection {
  private readonly framer: MessageFramer;
  private state: 'handshake' | 'established' | 'closed';
  private readonly session: HandshakeSession | undefined;
  private tenant: string;
  private readonly remote: string;
  private pumping = false;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private handshakeTimer: NodeJS.Timeout | undefined;
  private messageTimer: NodeJS.Timeout | undefined;
  private warnedSignal = false;
  /** Bad messages and entries seen on this connection (for log sampling). */
  private problems = 0;
  /** This connection's share of the source's buffered bytes. */
  private held = 0;
  private pumpScheduled = false;

  constructor(
    private readonly source: FluentSource,
    private readonly socket: Socket,
    tenant: string,
    /** The tenant came from a verified client certificate: a shared key's tenant does not replace it. */
    private readonly tenantFromCertificate: boolean,
  ) {
    const { config, handshake } = source;
    this.framer = new MessageFramer(config.max_message_bytes);
    this.remote = remoteOf(socket);
    this.tenant = tenant;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(config.idle_timeout_ms);
    socket.on('timeout', () => {
      // A round waiting on the pipeline is not idleness.
      if (!this.pumping) this.close('idle_timeout', `no traffic for ${config.idle_timeout_ms} ms`);
    });
    socket.on('error', (err) => source.ctx.logger.debug('fluent socket error', { remote: this.remote, error: err }));
    socket.on('close', () => this.onClosed());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (handshake) {
      this.state = 'handshake';
      this.session = newSession(handshake.users !== undefined);
      this.handshakeTimer = setTimeout(() => this.close('handshake_timeout', `handshake not completed within ${config.handshake_timeout_ms} ms`), config.handshake_timeout_ms);
      this.write(helo(this.session));
    } else {
      this.state = 'established';
      this.session = undefined;
    }
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    // One connection may hold up to max_message_bytes; all of them together no more than max_buffered_bytes.
    if (!this.source.canBuffer(chunk.length)) {
      this.close('server_busy', `incomplete messages of all connections would exceed max_buffered_bytes (${this.source.config.max_buffered_bytes}); resend later`);
      return;
    }
    this.framer.push(chunk);
    this.account();
    // libuv hands a busy socket's reads over in a burst within one tick: starting the round after them makes
    // one emit (one durable write) of the whole burst instead of one per 64 KiB read.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        void this.pump();
      });
    }
  }

  /** Keeps the source's count of buffered bytes in step with this connection's framer. */
  private account(): void {
    const now = this.state === 'closed' ? 0 : this.framer.pendingBytes;
    this.source.adjustBuffered(now - this.held);
    this.held = now;
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.isClosed()) return;
    this.pumping = true;
    try {
      while (!this.isClosed() && !this.stopping) {
        const frames: Buffer[] = [];
        let framingError: FramingError | undefined;
        try {
          for (let f = this.framer.next(); f !== undefined; f = this.framer.next()) {
            frames.push(f);
            if (frames.length >= 65_536) break;
          }
        } catch (err) {
          if (!(err instanceof FramingError)) throw err;
          framingError = err;
        }
        this.account();
        this.armMessageTimer(frames.length > 0);
        if (frames.length > 0) {
          this.socket.pause();
          await this.round(frames);
        }
        if (framingError) {
          if (framingError.reason === 'malformed') this.source.ctx.metrics.discarded(1, DiscardReason.Invalid, this.tenant);
          throw new CloseConnection(framingError.reason, framingError.message);
        }
        if (frames.length === 0) break;
      }
    } catch (err) {
      if (err instanceof CloseConnection) this.close(err.reason, err.message);
      else {
        this.source.ctx.logger.error('fluent connection failed unexpectedly', { remote: this.remote, error: err });
        this.close('internal_error', (err as Error).message);
      }
    } finally {
      this.pumping = false;
      if (!this.isClosed() && !this.stopping) this.socket.resume();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** A partial message must complete within message_timeout_ms; the clock restarts with each new message. */
  private armMessageTimer(completedSome: boolean): void {
    if (completedSome || this.framer.pendingBytes === 0) {
      clearTimeout(this.messageTimer);
      this.messageTimer = undefined;
    }
    if (this.framer.pendingBytes > 0 && this.messageTimer === undefined) {
      const ms = this.source.config.message_timeout_ms;
      this.messageTimer = setTimeout(() => {
        this.messageTimer = undefined;
        // While a round waits on the pipeline the socket is paused: the sender cannot finish, so the clock restarts after the round.
        if (!this.pumping) this.close('message_timeout', `a message stayed incomplete for ${ms} ms`);
      }, ms);
    }
  }

  /** Handles the messages of one read: handshake, decode, emit, acknowledge. */
  private async round(frames: Buffer[]): Promise<void> {
    const { ctx } = this.source;
    const now = nowUnixNano();
    const interner = new ResourceInterner();
    const items: RoundItem[] = [];
    const acks: ChunkId[] = [];
    const plain: LogRecord[] = [];
    // A message that ends the connection still lets the messages before it be stored and acknowledged.
    let closing: CloseConnection | undefined;
    for (const frame of frames) {
      if (this.isClosed()) return;
      let msg;
      try {
        msg = parseForwardMessage(frame);
      } catch (err) {
        if (!(err instanceof ForwardDecodeError)) throw err;
        if (this.state === 'handshake') throw new CloseConnection('handshake_required', `expected a PING: ${err.message}`);
        if (err.streamBroken) {
          ctx.metrics.discarded(1, DiscardReason.Invalid, this.tenant);
          closing = new CloseConnection('malformed', `${err.message} (the stream is out of step or not the msgpack forward protocol)`);
          break;
        }
        // Framing is intact, so the stream goes on; a chunk that can never be stored is acknowledged (as Fluentd does) so it is not resent forever.
        this.source.decodeFailure(this.tenant, err.option?.size || 1, err.message, this.remote, ++this.problems);
        if (err.option?.chunk !== undefined) acks.push(err.option.chunk);
        continue;
      }
      if (this.state === 'handshake') {
        if (msg.type !== 'ping') throw new CloseConnection('handshake_required', 'events arrived before the handshake completed (the source requires a shared key)');
        const verdict = verifyPing(msg, this.session!, this.source.handshake!);
        this.write(verdict.pong);
        if (!verdict.ok) {
          throw new CloseConnection('auth_failed', `${verdict.reason} (client hostname ${JSON.stringify(msg.hostname)})`);
        }
        clearTimeout(this.handshakeTimer);
        this.state = 'established';
        if (!this.tenantFromCertificate) this.tenant = verdict.tenant;
        ctx.logger.debug('fluent handshake completed', { remote: this.remote, client: msg.hostname, tenant: verdict.tenant });
        continue;
      }
      if (msg.type === 'ping') {
        this.source.decodeFailure(this.tenant, 1, 'a PING after the handshake', this.remote, ++this.problems);
        continue;
      }
      let decoded: DecodedEntries;
      try {
        decoded = await this.decodeEvents(msg, now, interner);
      } catch (err) {
        if (!(err instanceof CloseConnection)) throw err;
        closing = err;
        break;
      }
      ctx.metrics.received(decoded.records.length, frame.length);
      if (decoded.rejected > 0) {
        ctx.metrics.discarded(decoded.rejected, DiscardReason.Invalid, this.tenant);
        if (worthLogging(++this.problems)) {
          ctx.logger.warn('fluent entries rejected', { remote: this.remote, tag: msg.tag, rejected: decoded.rejected, error: decoded.firstError, rejected_on_connection: this.problems });
        }
      }
      const entries = decoded.records.length + decoded.rejected + decoded.skipped;
      if (msg.option.size !== undefined && msg.option.size !== entries && msg.mode !== 'message') {
        ctx.metrics.error('size_mismatch');
        ctx.logger.debug('fluent option.size differs from the entries received', { remote: this.remote, size: msg.option.size, entries });
      }
      const chunk = msg.option.chunk;
      if (chunk === undefined) {
        for (const r of decoded.records) plain.push(r);
      } else if (decoded.records.length === 0) {
        acks.push(chunk);
      } else {
        items.push({ records: decoded.records, chunk });
      }
    }
    if (plain.length > 0) items.push({ records: plain, chunk: undefined });
    for (const chunk of acks) this.write({ ack: chunk });
    if (items.length === 0) {
      if (closing) throw closing;
      return;
    }

    const outcomes = await Promise.allSettled(
      items.map((item) =>
        ctx.emit(
          { kind: 'logs', tenant: this.tenant, source: ctx.id, ...(item.chunk !== undefined ? { id: this.idempotencyKey(item.chunk) } : {}), records: item.records },
          { maxWaitMs: this.source.config.max_wait_ms },
        ),
      ),
    );
    let retryLater: PipelineError | Error | undefined;
    outcomes.forEach((o, i) => {
      const item = items[i]!;
      if (o.status === 'fulfilled') {
        if (item.chunk !== undefined) this.write({ ack: item.chunk });
        return;
      }
      const err = o.reason instanceof Error ? o.reason : new Error(String(o.reason));
      const retryable = !(err instanceof PipelineError) || err.retryable;
      if (item.chunk !== undefined) {
        // Permanent: the sink counted the discard and a resend cannot help, so the chunk is answered. Retryable: no ack, the client resends.
        if (!retryable) this.write({ ack: item.chunk });
        else retryLater ??= err;
        return;
      }
      // Without a chunk the client learns nothing: count what the pipeline did not already count.
      const reason = err instanceof PipelineError ? err.reason : '';
      if (reason === 'queue_full') ctx.metrics.discarded(item.records.length, DiscardReason.QueueFull, this.tenant);
      else if (reason === 'shutting_down' || reason === 'not_running') ctx.metrics.discarded(item.records.length, DiscardReason.Shutdown, this.tenant);
      if (retryable) retryLater ??= err;
    });
    if (closing) throw closing;
    if (retryLater) throw new CloseConnection('pipeline_unavailable', `the pipeline did not take the events (${retryLater.message}); unacknowledged chunks will be resent`);
  }

  private async decodeEvents(msg: EventsMessage, now: bigint, interner: ResourceInterner): Promise<DecodedEntries> {
    const none: DecodedEntries = { records: [], rejected: 0, skipped: 0, firstError: undefined };
    if (msg.option.fluentSignal !== undefined && msg.option.fluentSignal !== 0) {
      // Fluent Bit forwards metrics (1) and traces (2) on the same protocol; this source stores logs.
      const n = msg.option.size || 1;
      this.source.ctx.metrics.discarded(n, DiscardReason.Invalid, this.tenant);
      if (!this.warnedSignal) {
        this.warnedSignal = true;
        this.source.ctx.logger.warn('fluent: only logs are accepted; metrics and traces messages are dropped', { remote: this.remote, fluent_signal: msg.option.fluentSignal });
      }
      return none;
    }
    switch (msg.mode) {
      case 'message':
        return decodeMessageEntry(msg.tag, msg.message!, now, interner);
      case 'forward':
        return decodeEntryStream(msg.tag, msg.entries!, now, msg.declaredEntries, interner);
      case 'packed_forward':
        return decodeEntryStream(msg.tag, msg.entries!, now, msg.option.size, interner);
      case 'compressed_packed_forward': {
        if (msg.option.compressed !== 'gzip') {
          // Unacknowledged, so the sender keeps the data until its compression setting is fixed.
          throw new CloseConnection('unsupported_compression', `option.compressed ${JSON.stringify(msg.option.compressed)} is not supported (use gzip)`);
        }
        const limit = this.source.config.max_decompressed_bytes;
        let plain: Buffer;
        try {
          // Node's gunzip reads concatenated gzip members (Fluent Bit appends one per flush) as one stream.
          plain = await gunzipAsync(msg.entries!, { maxOutputLength: limit });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ERR_BUFFER_TOO_LARGE') throw new CloseConnection('decompressed_too_large', `a CompressedPackedForward payload inflates beyond ${limit} bytes (max_decompressed_bytes)`);
          const n = msg.option.size || 1;
          return { records: [], rejected: n, skipped: 0, firstError: `gzip: ${(err as Error).message}` };
        }
        return decodeEntryStream(msg.tag, plain, now, msg.option.size, interner);
      }
    }
  }

  private idempotencyKey(chunk: ChunkId): string {
    return createHash('sha256').update(this.tenant).update('\0fluent\0').update(chunk).digest('base64url').slice(0, 32);
  }

  private write(value: unknown): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(encodeValue(value));
  }

  close(reason: CloseReason, detail: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    const { ctx } = this.source;
    ctx.metrics.error(reason);
    ctx.logger.warn('fluent connection closed', { remote: this.remote, reason, detail, tenant: this.tenant });
    // end() flushes what was written (a failing PONG, acks) before the FIN; a peer that never closes is cut off.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  destroy(): void {
    this.state = 'closed';
    this.clearTimers();
    this.socket.destroy();
  }

  /** For shutdown: lets a round in progress finish (emit, acks), then closes. */
  closeWhenIdle(): Promise<void> {
    this.stopping = true;
    this.socket.pause();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        if (this.socket.destroyed) return resolve();
        this.socket.once('close', () => resolve());
        if (this.state !== 'closed') {
          this.state = 'closed';
          this.clearTimers();
          this.socket.end();
          setTimeout(() => this.socket.destroy(), 2_000).unref();
        }
      };
      if (this.pumping) this.idleWaiters.push(finish);
      else finish();
    });
  }

  /** A method, not a field test: the state changes across awaits, which narrowing cannot see. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private onClosed(): void {
    this.state = 'closed';
    this.clearTimers();
  }

  private clearTimers(): void {
    // Every path to 'closed' passes here: release the buffer budget.
    this.account();
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.messageTimer);
    this.handshakeTimer = undefined;
    this.messageTimer = undefined;
  }
}
