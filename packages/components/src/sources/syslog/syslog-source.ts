/**
 * The `syslog` source: syslog over TCP and UDP on one port, and over TLS
 * (RFC 5425) on another. TCP and TLS streams are framed by octet counting
 * or newlines, detected per message (syslog-framing.ts); UDP carries one
 * message per datagram (RFC 5426). Messages are parsed as RFC 5424 or RFC
 * 3164 (syslog-parse.ts) and mapped to the model (syslog-record.ts).
 *
 * Delivery and backpressure. Syslog has no acknowledgements, so:
 * - records are batched per connection (`batch_max_records` or
 *   `batch_max_wait_ms`, whichever comes first) and handed to the pipeline;
 * - a TCP/TLS connection with MAX_IN_FLIGHT batches not yet durable stops
 *   being read (the chunk being decoded is still handed over whole), and a batch the pipeline refuses for now (queue full, store
 *   down) is retried, the connection still paused, until it is taken: TCP
 *   flow control then slows the sender, the only honest backpressure the
 *   protocol has;
 * - UDP cannot be slowed: when the pipeline is behind, batches are dropped
 *   and counted (`queue_full`).
 *
 * Invariants:
 * - no input crashes the process: parsers return results, socket errors
 *   close only their connection;
 * - every message read is either in a batch handed to the pipeline, or
 *   counted: discarded (`invalid` with on_parse_error: drop, `queue_full`,
 *   `delivery_failed`, `shutdown`), with truncation and parse errors also
 *   counted as errors by type;
 * - memory is bounded: per connection one partial frame
 *   (`max_message_bytes`), one filling batch, MAX_IN_FLIGHT batches in
 *   flight and those of the one chunk read past the limit; connections are capped per listener (`max_connections`);
 * - stop: listeners close, connections stop being read, what was read is
 *   flushed to the pipeline and awaited, then connections are closed.
 *
 * Tenant: syslog carries no credentials, so records go to the configured
 * `tenant`, except on a TLS connection with a verified client certificate:
 * the host (TRANSPORT_SECURITY_SERVICE, the server) maps its SPIFFE ID to a
 * tenant, refuses it when no rule matches, and records every accepted and
 * refused TLS connection in the audit trail (tls/tls-connection-admission.ts).
 * The certificate files are re-read while the source runs: new
 * connections get a renewed certificate without a restart.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { PipelineError, TRANSPORT_SECURITY_SERVICE, type BuildContext, type ComponentDefinition, type LogRecord, type Source, type TransportSecurity } from '@meshlog/core';
import { CertificateFileError, CertificateFiles } from '../../tls/certificate-files.js';
import { keepCertificateCurrent, tlsServerOptions, type ListenerTlsConfig } from '../../tls/listener-tls.js';
import { admitTlsConnection, recordFailedHandshake } from '../../tls/tls-connection-admission.js';
import { SyslogSourceConfigSchema, type SyslogSourceConfig } from './config.js';
import { SyslogFramer } from './syslog-framing.js';
import { parseSyslog } from './syslog-parse.js';
import { ResourceCache, syslogRecord, unparsedRecord, type Arrival } from './syslog-record.js';

export const syslogSource: ComponentDefinition<SyslogSourceConfig> = {
  kind: 'source',
  type: 'syslog',
  description: 'syslog RFC 5424 and RFC 3164 over TCP and UDP, and over TLS (RFC 5425); octet-counted or newline framing',
  schema: SyslogSourceConfigSchema,
  build: (config, ctx) => new SyslogSource(config, ctx),
};

/**
 * Batches of one connection not yet durable before it stops being read.
 * Two keep the pipeline busy while the next batch fills; more would only
 * hold memory while the store is the bottleneck.
 */
const MAX_IN_FLIGHT = 4;
/** A batch is also handed over once it holds this many bytes of message text. */
const BATCH_MAX_BYTES = 4 * 1024 * 1024;
const MAX_RETRY_BACKOFF_MS = 5000;

class SyslogSource implements Source {
  readonly kind = 'source' as const;
  private readonly tls: { config: ListenerTlsConfig; files: CertificateFiles } | undefined;
  private readonly security: TransportSecurity | undefined;
  private stopWatchingCertificate: (() => void) | undefined;
  private tcpServer: TcpServer | undefined;
  private tlsServer: TlsServer | undefined;
  private udp: UdpSocket | undefined;
  private udpBatch: PendingBatch | undefined;
  private udpInFlight = 0;
  private readonly connections = new Set<StreamConnection>();
  /** Every accepted socket, TLS ones from before their handshake too: stop must not wait on a half-open one. */
  private readonly sockets = new Set<Socket>();
  private readonly deliveries = new Set<Promise<void>>();
  readonly resources = new ResourceCache();
  private started = false;
  stopping = false;
  private stopPromise: Promise<void> | undefined;
  private wakeSleepers: (() => void)[] = [];
  private readonly warnings = new RateLimitedWarnings();

  constructor(
    readonly config: SyslogSourceConfig,
    readonly ctx: BuildContext,
  ) {
    this.security = ctx.services.get<TransportSecurity>(TRANSPORT_SECURITY_SERVICE);
    const tls = config.tls;
    if (config.tls_port !== 0 && tls?.cert_file !== undefined && tls.key_file !== undefined) {
      const listenerTls: ListenerTlsConfig = {
        cert_file: tls.cert_file,
        key_file: tls.key_file,
        ...(tls.ca_file !== undefined ? { client_ca_file: tls.ca_file } : {}),
        client_auth: tls.client_auth,
        min_version: tls.min_version,
        handshake_timeout_ms: config.tls_handshake_timeout_ms,
      };
      try {
        this.tls = { config: listenerTls, files: new CertificateFiles(listenerTls, { label: `${ctx.id} tls`, logger: ctx.logger }) };
      } catch (err) {
        if (!(err instanceof CertificateFileError)) throw err;
        // This source's key for the client CA is ca_file.
        throw new Error(`source ${ctx.id}: tls.${err.key === 'client_ca_file' ? 'ca_file' : err.key} ${err.path}: ${err.problem}`, { cause: err });
      }
    }
  }

  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    const { config, ctx } = this;
    const listening: string[] = [];
    if (config.port !== 0 && config.tcp) {
      this.tcpServer = createTcpServer((socket) => this.accept(socket, { peerAddress: socket.remoteAddress, transport: 'tcp' }));
      await this.listen(this.tcpServer, config.port, 'tcp');
      listening.push(`tcp ${config.address}:${config.port}`);
    }
    if (config.port !== 0 && config.udp) {
      await this.listenUdp();
      listening.push(`udp ${config.address}:${config.port}`);
    }
    if (config.tls_port !== 0) {
      if (!this.tls) {
        ctx.logger.warn('syslog over TLS stays off: no certificate configured', {
          port: config.tls_port,
          missing: 'tls.cert_file',
          hint: 'set tls.cert_file and tls.key_file on this source (server.syslog_tls.cert_file and key_file for the default pipeline)',
        });
      } else {
        const options: TlsOptions = tlsServerOptions(this.tls.config, this.tls.files);
        this.tlsServer = createTlsServer(options, (socket: TLSSocket) => void this.admitTls(socket));
        const admission = { security: this.security, source: ctx.id, protocol: 'syslog', logger: ctx.logger };
        this.tlsServer.on('tlsClientError', (err: Error, socket: TLSSocket) => {
          ctx.metrics.error(/timed? ?out/i.test(err.message) ? 'tls_handshake_timeout' : 'tls_handshake_failed');
          ctx.logger.debug('TLS handshake failed', { peer: socket.remoteAddress, error: err.message });
          socket.destroy();
          void recordFailedHandshake(err, socket, admission);
        });
        await this.listen(this.tlsServer, config.tls_port, 'tls');
        this.stopWatchingCertificate = keepCertificateCurrent(this.tlsServer, this.tls.config, this.tls.files, { security: this.security });
        listening.push(`tls ${config.address}:${config.tls_port}${this.tls.config.client_auth !== 'none' ? ` (client certificates ${this.tls.config.client_auth})` : ''}`);
      }
    }
    ctx.logger.info('syslog listening', { listeners: listening, tenant: config.tenant });
  }

  private listen(server: TcpServer, port: number, what: string): Promise<void> {
    server.maxConnections = this.config.max_connections;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('drop', (data?: { remoteAddress?: string }) => {
      this.ctx.metrics.error('too_many_connections');
      this.warnings.warn(this.ctx, `refused a ${what} connection: max_connections (${this.config.max_connections}) reached`, { peer: data?.remoteAddress });
    });
    // A listener error after start (it should not happen) is logged; it must not end the process.
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`source ${this.ctx.id}: cannot listen for syslog over ${what} on ${this.config.address}:${port}: ${err.message}`)));
      server.listen({ host: this.config.address, port }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.ctx.logger.error('syslog listener error', { transport: what, error: err.message }));
        resolve();
      });
    });
  }

  private listenUdp(): Promise<void> {
    const udp = createSocket({ type: isIPv6(this.config.address) ? 'udp6' : 'udp4' });
    this.udp = udp;
    this.udpBatch = new PendingBatch(this.config, (records) => this.flushUdp(records));
    udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address));
    return new Promise((resolve, reject) => {
      udp.once('error', (err) => reject(new Error(`source ${this.ctx.id}: cannot listen for syslog over udp on ${this.config.address}:${this.config.port}: ${err.message}`)));
      udp.bind({ address: this.config.address, port: this.config.port }, () => {
        udp.removeAllListeners('error');
        udp.on('error', (err) => this.ctx.logger.error('syslog udp socket error', { error: err.message }));
        resolve();
      });
    });
  }

  /**
   * A TLS connection whose handshake completed: its tenant is decided (and
   * the decision recorded) before a byte of it is read.
   */
  private async admitTls(socket: TLSSocket): Promise<void> {
    // Errors while the decision is pending must not reach the process.
    socket.on('error', (err) => this.ctx.logger.debug('syslog connection error', { peer: socket.remoteAddress, error: err.message }));
    const admitted = await admitTlsConnection(socket, {
      security: this.security,
      source: this.ctx.id,
      protocol: 'syslog',
      defaultTenant: this.config.tenant,
      logger: this.ctx.logger,
    });
    if (!admitted) {
      this.ctx.metrics.error('tls_client_refused');
      return;
    }
    const version = socket.getProtocol();
    this.accept(socket, { peerAddress: socket.remoteAddress, transport: 'tls', tlsVersion: version ? version.replace(/^TLSv/, '') : undefined }, admitted.tenant);
  }

  private accept(socket: Socket, arrival: Arrival, tenant = this.config.tenant): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const conn = new StreamConnection(this, socket, arrival, tenant);
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }

  /**
   * Turns frames into records. Called once per chunk or datagram so the
   * clock is read once for all the messages that arrived together.
   */
  decodeFrames(frames: Buffer[], originals: number[], arrival: Arrival, into: PendingBatch, tenant: string): void {
    const nowMs = Date.now();
    const observed = BigInt(nowMs) * 1_000_000n;
    const { config, ctx } = this;
    let bytes = 0;
    for (let k = 0; k < frames.length; k++) {
      const frame = frames[k]!;
      bytes += originals[k]!;
      const text = frame.toString('utf8');
      const parsed = parseSyslog(text, nowMs);
      let record: LogRecord;
      if (parsed.ok) {
        record = syslogRecord(parsed.message, observed, arrival, this.resources);
      } else {
        ctx.metrics.error('syslog_parse_error');
        this.warnings.warn(ctx, 'a line is not syslog', { error: parsed.error, peer: arrival.peerAddress, kept: config.on_parse_error === 'keep' });
        if (config.on_parse_error === 'drop') {
          ctx.metrics.discarded(1, 'invalid', tenant);
          continue;
        }
        record = unparsedRecord(text, parsed.error, observed, arrival);
      }
      if (originals[k]! > config.max_message_bytes) {
        ctx.metrics.error('message_truncated');
        record.attributes['syslog.truncated_from_bytes'] = originals[k]!;
      }
      into.add(record, frame.length);
    }
    ctx.metrics.received(frames.length, bytes);
  }

  private onDatagram(msg: Buffer, peer: string): void {
    if (this.stopping || !this.udpBatch) return;
    let end = Math.min(msg.length, this.config.max_message_bytes);
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0x00)) end--;
    if (end === 0) return;
    try {
      this.decodeFrames([msg.subarray(0, end)], [msg.length], { peerAddress: peer, transport: 'udp' }, this.udpBatch, this.config.tenant);
    } catch (err) {
      this.internalError(err, peer);
    }
  }

  /**
   * A bug reached a socket handler. Parsers return results and never throw,
   * so this is a last line: the datagram or connection is lost, counted and
   * logged, and the process lives on (an exception in an event handler
   * would end it, and senders would reconnect into a crash loop).
   */
  internalError(err: unknown, peer: string | undefined): void {
    this.ctx.metrics.error('internal');
    this.ctx.logger.error('syslog: unexpected error handling input; the message or connection was dropped', { peer, error: (err as Error)?.stack ?? String(err) });
  }

  private flushUdp(records: LogRecord[]): void {
    if (this.udpInFlight >= MAX_IN_FLIGHT) {
      // Nowhere to put them and no way to slow the sender.
      this.ctx.metrics.discarded(records.length, 'queue_full', this.config.tenant);
      this.warnings.warn(this.ctx, 'syslog over UDP: the pipeline is behind, dropping messages', { dropped: records.length });
      return;
    }
    this.udpInFlight++;
    this.track(this.deliverOnce(records, this.config.tenant).finally(() => this.udpInFlight--));
  }

  track(p: Promise<void>): void {
    this.deliveries.add(p);
    void p.finally(() => this.deliveries.delete(p));
  }

  private emit(records: LogRecord[], tenant: string): Promise<void> {
    return this.ctx.emit({ kind: 'logs', tenant, source: this.ctx.id, records }, { maxWaitMs: this.config.max_wait_ms });
  }

  /** UDP: one attempt; a refusal drops the batch, counted. */
  private async deliverOnce(records: LogRecord[], tenant: string): Promise<void> {
    try {
      await this.emit(records, tenant);
    } catch (err) {
      this.countFailure(records.length, err, tenant);
    }
  }

  /** TCP/TLS: retries what the pipeline refuses for now, until it is taken or the source stops. */
  async deliverStream(records: LogRecord[], tenant: string): Promise<void> {
    let backoff = 100;
    for (;;) {
      try {
        await this.emit(records, tenant);
        return;
      } catch (err) {
        if (!(err instanceof PipelineError) || !err.retryable || this.stopping) {
          this.countFailure(records.length, err, tenant);
          return;
        }
        this.ctx.metrics.error(`retry_${err.reason}`);
        await this.sleep(Math.min(MAX_RETRY_BACKOFF_MS, err.retryAfterMs ?? backoff));
        backoff = Math.min(MAX_RETRY_BACKOFF_MS, backoff * 2);
      }
    }
  }

  private countFailure(n: number, err: unknown, tenant: string): void {
    const pe = err instanceof PipelineError ? err : undefined;
    const reason = pe?.reason === 'queue_full' ? 'queue_full' : this.stopping || pe?.reason === 'not_running' ? 'shutdown' : 'delivery_failed';
    this.ctx.metrics.discarded(n, reason, tenant);
    this.warnings.warn(this.ctx, 'syslog records could not be delivered', { records: n, reason, error: (err as Error).message });
  }

  /** Sleeps, cut short by stop (a retry then gets one last attempt). */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.wakeSleepers = this.wakeSleepers.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.wakeSleepers.push(wake);
    });
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    this.stopWatchingCertificate?.();
    const closed: Promise<void>[] = [];
    for (const server of [this.tcpServer, this.tlsServer]) {
      if (server) closed.push(new Promise((resolve) => server.close(() => resolve())));
    }
    if (this.udp) {
      const udp = this.udp;
      closed.push(new Promise((resolve) => udp.close(() => resolve())));
    }
    // Stop reading, and hand over what was read: the pipeline accepts batches while sources stop.
    for (const conn of this.connections) conn.finish();
    this.udpBatch?.flush();
    for (const wake of this.wakeSleepers.splice(0)) wake();
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
    for (const socket of this.sockets) socket.destroy();
    for (const conn of this.connections) conn.socket.destroy();
    await Promise.all(closed);
  }
}

/** Records waiting to be handed over, bounded in count, bytes and time. */
class PendingBatch {
  private records: LogRecord[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: SyslogSourceConfig,
    private readonly onFlush: (records: LogRecord[]) => void,
  ) {}

  add(record: LogRecord, bytes: number): void {
    this.records.push(record);
    this.bytes += bytes;
    if (this.records.length >= this.config.batch_max_records || this.bytes >= BATCH_MAX_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.config.batch_max_wait_ms);
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.records.length === 0) return;
    const records = this.records;
    this.records = [];
    this.bytes = 0;
    this.onFlush(records);
  }
}

/** One TCP or TLS connection: framing, batching and flow control. */
class StreamConnection {
  private readonly framer: SyslogFramer;
  private readonly batch: PendingBatch;
  private inFlight = 0;
  private paused = false;
  private finished = false;
  private readonly frames: Buffer[] = [];
  private readonly originals: number[] = [];
  private readonly collect = (frame: Buffer, original: number): void => {
    this.frames.push(frame);
    this.originals.push(original);
  };

  constructor(
    private readonly source: SyslogSource,
    readonly socket: Socket,
    private readonly arrival: Arrival,
    private readonly tenant: string,
  ) {
    const { config, ctx } = source;
    this.framer = new SyslogFramer(config.max_message_bytes);
    this.batch = new PendingBatch(config, (records) => this.handOver(records));
    socket.setTimeout(config.idle_timeout_ms);
    socket.on('timeout', () => {
      ctx.logger.debug('closing an idle syslog connection', { peer: arrival.peerAddress, idle_timeout_ms: config.idle_timeout_ms });
      ctx.metrics.error('idle_timeout');
      this.finish();
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err) => ctx.logger.debug('syslog connection error', { peer: arrival.peerAddress, error: err.message }));
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    try {
      this.framer.push(chunk, this.collect);
      this.decodeCollected();
    } catch (err) {
      this.source.internalError(err, this.arrival.peerAddress);
      this.frames.length = 0;
      this.originals.length = 0;
      this.socket.destroy();
    }
  }

  private decodeCollected(): void {
    if (this.frames.length === 0) return;
    this.source.decodeFrames(this.frames, this.originals, this.arrival, this.batch, this.tenant);
    this.frames.length = 0;
    this.originals.length = 0;
  }

  /** The stream ended (or the source stops): a last unterminated line counts, then everything is handed over. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.pause();
    try {
      this.framer.end(this.collect);
      this.decodeCollected();
    } catch (err) {
      this.source.internalError(err, this.arrival.peerAddress);
    }
    this.batch.flush();
  }

  private handOver(records: LogRecord[]): void {
    this.inFlight++;
    if (this.inFlight >= MAX_IN_FLIGHT && !this.paused) {
      // Stop reading: the kernel's receive window fills and the sender blocks.
      this.paused = true;
      this.socket.pause();
      // Not idle: waiting for us. The idle clock restarts on resume.
      this.socket.setTimeout(0);
    }
    this.source.track(
      this.source.deliverStream(records, this.tenant).finally(() => {
        this.inFlight--;
        if (this.paused && this.inFlight < MAX_IN_FLIGHT) {
          this.paused = false;
          if (!this.finished) {
            this.socket.setTimeout(this.source.config.idle_timeout_ms);
            this.socket.resume();
          }
        }
      }),
    );
  }
}

/** Warnings that could repeat per message are logged at most once per 10 s per text, with a count. */
class RateLimitedWarnings {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  warn(ctx: BuildContext, msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const entry = this.last.get(msg);
    if (entry && now - entry.at < 10_000) {
      entry.suppressed++;
      return;
    }
    ctx.logger.warn(msg, { ...fields, ...(entry?.suppressed ? { suppressed_since_last: entry.suppressed } : {}) });
    this.last.set(msg, { at: now, suppressed: 0 });
  }
}
