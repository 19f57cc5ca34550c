/**
 * The server's gRPC listener (`server.grpc_port`, 4317 by default): one
 * `@grpc/grpc-js` server that every gRPC source registers its services on
 * (OTLP/gRPC, Envoy ALS) before it starts listening.
 *
 * The host, not the sources, owns what must hold for every call:
 * - authentication: `authenticate` turns call metadata into an identity (a
 *   bearer token today; a client certificate's SPIFFE ID when mTLS arrives)
 *   and the tenant comes from that identity only; calls without one end
 *   with UNAUTHENTICATED before a handler runs;
 * - limits: open connections (`max_connections`, refused at accept),
 *   largest message after decompression (`max_receive_message_bytes`,
 *   RESOURCE_EXHAUSTED beyond it, enforced by grpc-js before decoding),
 *   concurrent streams per connection, keepalive pings that drop dead peers,
 *   idle connections closed;
 * - error mapping: `GrpcIngestError` becomes its status (with a RetryInfo
 *   trailer when it carries a delay); anything else becomes INTERNAL with a
 *   generic message and is logged, so internals never reach a client;
 * - shutdown: no new calls, in-flight ones finish (their batches are
 *   acknowledged) within `shutdownGraceMs`, then the rest are cancelled.
 *
 * The host owns the listening socket: a `net.Server` (plaintext h2c) or a
 * `tls.Server` (`server.tls`), whose accepted connections it hands to a
 * grpc-js connection injector (`Server.createConnectionInjector`) with
 * insecure credentials: TLS is already terminated by then. Owning the
 * socket is what gives the listener a connection limit at accept, and
 * terminating TLS here rather than through `ServerCredentials.createSsl`
 * gives it what createSsl cannot express: client_auth optional (createSsl
 * either asks for and requires a certificate, or does not ask), a minimum
 * TLS version, a handshake timeout, an audit record of every refused
 * handshake, and certificate reload by `setSecureContext` on one server (the
 * same path as the HTTP, syslog and Fluent listeners; open connections keep
 * their certificate). grpc-js still reads the verified peer certificate
 * from the TLS socket (`call.getAuthContext()`); a certificate presented but
 * not verified (optional) is looked up in the host's own connection table,
 * so the call can be refused naming why.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import {
  GrpcIngestError,
  GrpcStatus,
  type GrpcCall,
  type GrpcClientStreamMethod,
  type GrpcIngestHost,
  type GrpcService,
  type GrpcUnaryMethod,
  type Logger,
  type TransportSecurity,
} from '@meshlog/core';
import {
  encodeRetryStatus,
  keepCertificateCurrent,
  presentedCertificate,
  recordFailedHandshake,
  tlsServerOptions,
  type CertificateFiles,
  type ListenerTlsConfig,
  type PresentedCertificate,
} from '@meshlog/components';
import type { Principal } from '../auth/principal.js';
import type { CertificateIdentities } from '../auth/certificate-rules.js';
import { can } from '../auth/principal.js';
import { rolesWith } from '../auth/roles.js';
import type { AuditTrail } from '../audit/audit-trail.js';

/** Who is calling, as the authenticator decided: a principal, or why not. */
export type GrpcAuthResult = { ok: true; principal: Principal } | { ok: false; message: string; /** No credentials were presented at all. */ missing: boolean };

export interface GrpcAuthInput {
  metadata: grpc.Metadata;
  /** TLS details of the connection as grpc-js reports them (a verified peer certificate only). */
  authContext: ReturnType<grpc.ServerUnaryCall<Buffer, Buffer>['getAuthContext']>;
  /** The client certificate of the call's connection, verified or not; undefined without TLS or without one. */
  peerCertificate: PresentedCertificate | undefined;
}

/** May answer later: a token's first check runs a slow hash off the event loop. */
export type GrpcAuthenticator = (input: GrpcAuthInput) => GrpcAuthResult | Promise<GrpcAuthResult>;

export interface GrpcIngestHostOptions {
  listenAddress: string;
  port: number;
  maxReceiveMessageBytes: number;
  maxConcurrentStreams: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxConnectionIdleMs: number;
  shutdownGraceMs: number;
  /** Open connections at most; more are refused at accept. */
  maxConnections: number;
  /** TLS of the listener (`server.tls`); absent: plaintext HTTP/2. */
  tls?: { config: ListenerTlsConfig; files: CertificateFiles };
  /** Where refused TLS handshakes are recorded, and SIGHUP reloads come from. */
  transportSecurity?: TransportSecurity;
  authenticate: GrpcAuthenticator;
  /** Every call leaves one audit record, written before its status is sent. */
  audit: AuditTrail;
  /** Tenant of audit records of calls nobody authenticated. */
  operatorTenant: string;
  /** Rate limits and quotas: seconds to wait (0 = admitted) for a call of this principal carrying `bytes`. */
  rateLimit?: (principal: Principal, bytes: number) => number;
}

/** Metadata keys that carry credentials: never handed to sources. */
const CREDENTIAL_KEYS = new Set(['authorization', 'x-api-key']);

const identity = (b: Buffer): Buffer => b;

export class GrpcJsIngestHost implements GrpcIngestHost {
  private readonly server: grpc.Server;
  private readonly active = new Map<string, boolean>();
  private state: 'new' | 'listening' | 'closed' = 'new';
  private closing: Promise<void> | undefined;
  /** Aborted when shutdown begins: long-lived client streams stop reading and end. */
  private readonly draining = new AbortController();
  private listener: NetServer | undefined;
  /** Every accepted socket (TLS ones from before their handshake): stop must not wait on a half-open one. */
  private readonly sockets = new Set<Socket>();
  /** TLS connections by `address:port`, as `call.getPeer()` names them. */
  private readonly tlsPeers = new Map<string, TLSSocket>();
  private stopWatchingCertificate: (() => void) | undefined;
  private lastDropWarning = 0;
  private droppedSinceWarning = 0;

  constructor(
    private readonly opts: GrpcIngestHostOptions,
    private readonly logger: Logger,
  ) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxReceiveMessageBytes,
      'grpc.max_concurrent_streams': opts.maxConcurrentStreams,
      'grpc.keepalive_time_ms': opts.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs,
      'grpc.max_connection_idle_ms': opts.maxConnectionIdleMs,
    });
  }

  register(owner: string, services: GrpcService[]): void {
    const firstRegistration = !this.active.has(owner);
    this.active.set(owner, true);
    if (!firstRegistration) return;
    if (this.state !== 'new') throw new Error(`gRPC services of ${owner} must be registered before the listener starts`);
    for (const service of services) {
      const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const method of service.methods) {
        definition[method.name] = {
          path: `/${service.name}/${method.name}`,
          requestStream: method.type === 'client_stream',
          responseStream: false,
          // Raw bytes both ways: each source decodes with its own protobuf definitions.
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
          originalName: method.name,
        };
        implementation[method.name] = method.type === 'unary' ? this.unaryHandler(owner, method, service) : this.clientStreamHandler(owner, method, service);
      }
      if (service.insecureUnauthenticatedTenant !== undefined) {
        this.logger.warn('gRPC service accepts calls without credentials (insecure opt-out)', { service: service.name, tenant: service.insecureUnauthenticatedTenant });
      }
      this.server.addService(definition, implementation);
    }
  }

  unregister(owner: string): void {
    if (this.active.has(owner)) this.active.set(owner, false);
  }

  /** Binds `listen_address:port` and starts serving; resolves with the bound port. */
  async listen(): Promise<number> {
    if (this.state !== 'new') throw new Error('the gRPC listener was already started');
    const { tls } = this.opts;
    // TLS, when on, is terminated by the listener below: grpc-js gets decrypted HTTP/2 streams on TLS sockets.
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener: NetServer = tls
      ? createTlsServer({ ...tlsServerOptions(tls.config, tls.files), ALPNProtocols: ['h2'] }, (socket: TLSSocket) => {
          const key = `${socket.remoteAddress}:${socket.remotePort}`;
          this.tlsPeers.set(key, socket);
          socket.once('close', () => this.tlsPeers.delete(key));
          socket.on('error', (err) => this.logger.debug('gRPC TLS connection error', { peer: key, error: err.message }));
          injector.injectConnection(socket);
        })
      : createNetServer((socket) => injector.injectConnection(socket));
    listener.maxConnections = this.opts.maxConnections;
    listener.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    listener.on('drop', (data?: { remoteAddress?: string }) => this.warnDropped(data?.remoteAddress));
    if (tls) {
      const admission = { security: this.opts.transportSecurity, source: 'grpc', protocol: 'grpc', logger: this.logger };
      listener.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        this.logger.debug('gRPC TLS handshake failed', { peer: socket.remoteAddress, error: err.message });
        socket.destroy();
        void recordFailedHandshake(err, socket, admission);
      });
    }
    const port = await new Promise<number>((resolve, reject) => {
      listener.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen for gRPC on ${this.opts.listenAddress}:${this.opts.port} (${err.code ?? err.message}); choose another server.grpc_port, or 0 to turn it off`, { cause: err })),
      );
      listener.listen({ host: this.opts.listenAddress, port: this.opts.port }, () => {
        listener.removeAllListeners('error');
        listener.on('error', (err) => this.logger.error('gRPC listener error', { error: err.message }));
        const addr = listener.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.opts.port);
      });
    });
    this.listener = listener;
    if (tls) this.stopWatchingCertificate = keepCertificateCurrent(listener as TlsServer, tls.config, tls.files, { security: this.opts.transportSecurity });
    this.state = 'listening';
    return port;
  }

  /** A connection refused at accept (max_connections): logged at most every 10 s, with a count. */
  private warnDropped(peer: string | undefined): void {
    this.droppedSinceWarning++;
    const now = Date.now();
    if (now - this.lastDropWarning < 10_000) return;
    this.logger.warn('gRPC connection refused: server.grpc.max_connections reached', { peer, max_connections: this.opts.maxConnections, refused: this.droppedSinceWarning });
    this.lastDropWarning = now;
    this.droppedSinceWarning = 0;
  }

  /**
   * Graceful: refuses new calls and waits for in-flight ones; after
   * `shutdownGraceMs` cancels whatever is left (long-lived ALS streams).
   * Safe before listen and safe twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.draining.abort(new Error('the server is shutting down'));
      this.stopWatchingCertificate?.();
      if (this.state !== 'listening') {
        this.state = 'closed';
        this.server.forceShutdown();
        return;
      }
      this.state = 'closed';
      const listener = this.listener!;
      // No new connections; the callback runs once the open ones have ended.
      const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.logger.warn('gRPC calls still open after the shutdown grace period; cancelling them', { graceMs: this.opts.shutdownGraceMs });
          this.server.forceShutdown();
          resolve();
        }, this.opts.shutdownGraceMs);
        this.server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      // Handshakes still in progress and connections HTTP/2 never took over.
      for (const socket of this.sockets) socket.destroy();
      await listenerClosed;
    })();
    return this.closing;
  }

  private unaryHandler(owner: string, method: GrpcUnaryMethod, service: GrpcService): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      void this.admitted(owner, service, call).then((admitted) => {
        const finish = (result: Buffer | Partial<grpc.StatusObject>): void => {
          void this.audited(owner, call, admitted, started, result).then((r) => (Buffer.isBuffer(r) ? callback(null, r) : callback(r)));
        };
        if (!admitted.ok) {
          finish(toServiceError(admitted.error));
          return;
        }
        method.handler(call.request, admitted.ctx).then(finish, (err: unknown) => finish(this.toServiceErrorLogged(err, call.getPath())));
      });
    };
  }

  private clientStreamHandler(owner: string, method: GrpcClientStreamMethod, service: GrpcService): grpc.handleClientStreamingCall<Buffer, Buffer> {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      // Messages that arrive meanwhile wait in the call's stream buffer.
      void this.admitted(owner, service, call).then((admitted) => {
        const finish = (result: Buffer | Partial<grpc.StatusObject>): void => {
          void this.audited(owner, call, admitted, started, result).then((r) => {
            if (Buffer.isBuffer(r)) return callback(null, r);
            callback(r);
            // Stop reading what the client still sends: the status ends the call.
            call.destroy();
          });
        };
        if (!admitted.ok) {
          finish(toServiceError(admitted.error));
          return;
        }
        method.handler(messagesOf(call, this.draining.signal), admitted.ctx).then(finish, (err: unknown) => finish(this.toServiceErrorLogged(err, call.getPath())));
      });
    };
  }

  /** `admit`, with an authenticator that failed unexpectedly turned into INTERNAL (the call still gets its audit record). */
  private async admitted(
    owner: string,
    service: GrpcService,
    call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerReadableStream<Buffer, Buffer>,
  ): Promise<Admission> {
    try {
      return await this.admit(owner, service, call, call.metadata);
    } catch (err) {
      this.logger.error('gRPC authentication failed', { path: call.getPath(), error: err instanceof Error ? err.message : String(err) });
      return { ok: false, error: new GrpcIngestError(GrpcStatus.INTERNAL, 'authentication failed on the server; see its log') };
    }
  }

  /** Authenticates a call and builds what its handler sees, or the status that refuses it. */
  private async admit(
    owner: string,
    service: GrpcService,
    call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerReadableStream<Buffer, Buffer>,
    metadata: grpc.Metadata,
  ): Promise<Admission> {
    if (!this.active.get(owner)) {
      return { ok: false, error: new GrpcIngestError(GrpcStatus.UNAVAILABLE, 'this ingest service is shutting down; retry against another instance', { retryAfterMs: 1000 }) };
    }
    // Looked up before the (possibly slow) token check: the connection is still open now.
    const tlsSocket = this.tlsPeers.get(call.getPeer());
    const auth = await this.opts.authenticate({ metadata, authContext: call.getAuthContext(), peerCertificate: tlsSocket ? presentedCertificate(tlsSocket) : undefined });
    let tenant: string;
    let principal: Principal | undefined;
    if (auth.ok) {
      principal = auth.principal;
      tenant = principal.tenant;
      if (!can(principal, 'logs:write')) {
        const message = `${service.name} needs the "logs:write" permission, granted by the roles ${rolesWith('logs:write').join(', ')}; this identity has ${principal.roles.join(', ') || 'no roles'}`;
        return { ok: false, error: new GrpcIngestError(GrpcStatus.PERMISSION_DENIED, message), principal };
      }
      // After the permission check: a refused call does not spend the identity's budget.
      const wait = this.opts.rateLimit?.(principal, Buffer.isBuffer((call as { request?: unknown }).request) ? (call as { request: Buffer }).request.length : 0) ?? 0;
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait));
        const message = `identity ${principal.id} or tenant ${principal.tenant} is over its request rate or ingest quota (limits.rate); retry in ${seconds} s`;
        return { ok: false, error: new GrpcIngestError(GrpcStatus.RESOURCE_EXHAUSTED, message, { retryAfterMs: seconds * 1000 }), principal };
      }
    } else if (auth.missing && service.insecureUnauthenticatedTenant !== undefined) tenant = service.insecureUnauthenticatedTenant;
    else return { ok: false, error: new GrpcIngestError(GrpcStatus.UNAUTHENTICATED, auth.message) };
    const cancelled = new AbortController();
    call.once('cancelled', () => cancelled.abort(new Error('the client cancelled the call')));
    const ctx = { tenant, peer: call.getPeer(), metadata: textMetadata(metadata), signal: AbortSignal.any([cancelled.signal, this.draining.signal]) };
    return { ok: true, ctx, principal, tenant };
  }

  /**
   * Writes the call's audit record, then hands back what to answer: the
   * result, or UNAVAILABLE when the record cannot be written (fail closed).
   */
  private async audited(
    owner: string,
    call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerReadableStream<Buffer, Buffer>,
    admitted: Admission,
    started: bigint,
    result: Buffer | Partial<grpc.StatusObject>,
  ): Promise<Buffer | Partial<grpc.StatusObject>> {
    const principal = admitted.principal;
    const code = Buffer.isBuffer(result) ? GrpcStatus.OK : (result.code ?? GrpcStatus.UNKNOWN);
    const path = call.getPath();
    try {
      await this.opts.audit.record({
        timeNs: BigInt(Date.now()) * 1_000_000n,
        requestId: randomUUID(),
        tenant: admitted.ok ? admitted.tenant : (principal?.tenant ?? this.opts.operatorTenant),
        action: `ingest.${owner}`,
        target: path,
        outcome: GRPC_OUTCOME[code] ?? 'error',
        status: grpc.status[code] ?? String(code),
        actor: principal,
        client: { address: call.getPeer() },
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        ...(Buffer.isBuffer(result) ? {} : { reason: result.details ?? '' }),
      });
    } catch {
      return { code: GrpcStatus.UNAVAILABLE, details: 'the audit trail cannot be written, so the call is not answered; retry later' };
    }
    return result;
  }

  private toServiceErrorLogged(err: unknown, path: string): Partial<grpc.StatusObject> {
    if (err instanceof GrpcIngestError) return toServiceError(err);
    if (isPrematureClose(err)) return { code: GrpcStatus.CANCELLED, details: 'the client cancelled the call' };
    this.logger.error('gRPC handler failed', { method: path, error: err instanceof Error ? err.message : String(err) });
    return { code: GrpcStatus.INTERNAL, details: `internal error in ${path}; it is logged on the server` };
  }
}

/** A call let in (what its handler sees), or refused (with who it was, when known, for the audit record). */
type Admission = { ok: true; ctx: GrpcCall; principal: Principal | undefined; tenant: string } | { ok: false; error: GrpcIngestError; principal?: Principal };

/** Audit outcome of a gRPC status code. */
const GRPC_OUTCOME: Partial<Record<number, 'success' | 'unauthenticated' | 'denied' | 'failure' | 'error'>> = {
  [GrpcStatus.OK]: 'success',
  [GrpcStatus.UNAUTHENTICATED]: 'unauthenticated',
  [GrpcStatus.PERMISSION_DENIED]: 'denied',
  [GrpcStatus.INVALID_ARGUMENT]: 'failure',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'failure',
  [GrpcStatus.CANCELLED]: 'failure',
  [GrpcStatus.FAILED_PRECONDITION]: 'failure',
  [GrpcStatus.UNAVAILABLE]: 'error',
  [GrpcStatus.INTERNAL]: 'error',
};

function toServiceError(err: GrpcIngestError): Partial<grpc.StatusObject> {
  const status: Partial<grpc.StatusObject> = { code: err.code, details: err.message };
  if (err.retryAfterMs !== undefined) {
    const trailers = new grpc.Metadata();
    trailers.set('grpc-status-details-bin', encodeRetryStatus(err.code, err.message, err.retryAfterMs));
    status.metadata = trailers;
  }
  return status;
}

function textMetadata(metadata: grpc.Metadata): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (CREDENTIAL_KEYS.has(key) || key.endsWith('-bin')) continue;
    out[key] = values.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
  }
  return out;
}

/**
 * The request messages of a client stream, one at a time. The handler
 * pulling slowly is the backpressure: the readable buffers a few messages,
 * then grpc-js stops reading and HTTP/2 flow control holds the client. A
 * cancelled call ends the iteration with an error; server shutdown ends it
 * at the next message boundary (so the handler finishes what it holds and
 * the call ends; Envoy then reconnects, to another instance or the restarted one).
 */
async function* messagesOf(call: grpc.ServerReadableStream<Buffer, Buffer>, draining: AbortSignal): AsyncGenerator<Buffer> {
  const it = (call as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let onDrain: (() => void) | undefined;
  const drained = new Promise<'drained'>((resolve) => {
    onDrain = () => resolve('drained');
    draining.addEventListener('abort', onDrain, { once: true });
  });
  try {
    while (!draining.aborted) {
      const pending = it.next();
      const next = await Promise.race([pending, drained]);
      if (next === 'drained') {
        // The read still in flight settles when the stream is torn down; nobody waits for it.
        pending.catch(() => undefined);
        break;
      }
      if (next.done) break;
      yield next.value;
    }
  } finally {
    draining.removeEventListener('abort', onDrain!);
  }
}

function isPrematureClose(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** The one authenticator for now: `authorization: Bearer <token>` metadata, checked by `verify`. */
export function bearerTokenAuthenticator(verify: (token: string) => Principal | undefined | Promise<Principal | undefined>): GrpcAuthenticator {
  return async ({ metadata }) => {
    const values = metadata.get('authorization');
    if (values.length === 0) {
      return { ok: false, missing: true, message: 'missing API token: send gRPC metadata "authorization: Bearer <token>" (the first start wrote one to <data-dir>/admin.token)' };
    }
    const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) return { ok: false, missing: false, message: 'malformed authorization metadata: expected one "Bearer <token>"' };
    const principal = await verify(match[1]!);
    if (!principal) return { ok: false, missing: false, message: 'invalid, expired or revoked API token' };
    return { ok: true, principal };
  };
}

/**
 * Client certificates first, then `tokens`, with the HTTP listener's
 * precedence (http/certificate-auth.ts): a presented but unverified
 * certificate is refused naming why; a verified one whose SPIFFE ID matches
 * an `auth.certificate_rules` rule is the caller; one no rule matches is
 * refused unless the call carries a token, which then decides.
 */
export function certificateAuthenticator(identities: CertificateIdentities, tokens: GrpcAuthenticator): GrpcAuthenticator {
  return (input) => {
    const presented = input.peerCertificate;
    if (presented && !presented.verified) {
      return { ok: false, missing: false, message: `${presented.reason}: present a certificate signed by server.tls.client_ca_file, or none and an API token` };
    }
    if (presented) {
      const identity = identities.identify(presented.info);
      if ('principal' in identity) return { ok: true, principal: identity.principal };
      if (input.metadata.get('authorization').length === 0) return { ok: false, missing: false, message: identity.refuse };
    }
    return tokens(input);
  };
}
