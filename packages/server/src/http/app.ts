/**
 * The server's HTTP listener: every HTTP API and (later) the UI on one port,
 * HTTPS when `server.tls` is configured (client certificates then
 * authenticate too: http/certificate-auth.ts).
 * Bodies are kept raw (ingest sources decode their own protocols); every
 * route declares its access rule (http/route-access.ts) and every route but
 * `/ready` is authenticated and authorized (http/auth-hook.ts); every
 * request leaves exactly one audit record (http/audit-hook.ts); every error
 * leaves as JSON `{status:"error", errorType, error}` with the catalogue's
 * status.
 */
import type { TlsOptions } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { PipelineMetrics, Logger } from '@meshlog/core';
import { StoreError } from '@meshlog/store';
import { ApiError, ERRORS, type ErrorCode } from './errors.js';
import type { LogStore, RowMasker } from '@meshlog/store';
import { installAuth, type HttpAuthenticator } from './auth-hook.js';
import { installAuditHook, genRequestId } from './audit-hook.js';
import { installRouteAccess, type RouteRule } from './route-access.js';
import type { IngestRouteConfig } from './ingest-host.js';
import type { AuditTrail } from '../audit/audit-trail.js';
import { installRateLimits, type RateLimits } from './rate-limit-hook.js';
import type { RateLimiter } from '../limits/rate-limiter.js';

export interface HttpAppOptions {
  authenticators: HttpAuthenticator[];
  store: LogStore;
  audit: AuditTrail;
  /** Tenant of audit records of unauthenticated requests. */
  operatorTenant: string;
  limiter: RateLimiter;
  rateLimits: RateLimits;
  /** Applied to query results of principals without `logs:read_personal`. */
  masker: RowMasker;
  metrics: PipelineMetrics;
  logger: Logger;
  maxRequestBytes: number;
  keepAliveTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
  isReady: () => boolean;
  /** HTTPS: the listener's TLS options (server.tls); absent = plaintext HTTP. */
  https?: TlsOptions;
}

/** Store failures a client can act on; others (a bad statement) stay internal errors. */
const STORE_ERRORS: Partial<Record<StoreError['code'], ErrorCode>> = {
  unavailable: 'unavailable',
  timeout: 'query_timeout',
  limit: 'limit_exceeded',
  // The audit trail, asked for by someone who may not read it.
  forbidden: 'forbidden',
  // The client went away; the answer goes nowhere, but it must not count as a server fault.
  cancelled: 'cancelled',
};

export interface HttpApp {
  app: FastifyInstance;
  /** Every route and its access rule, filled as routes are registered. */
  routes: RouteRule[];
}

export function createHttpApp(opts: HttpAppOptions): HttpApp {
  // An HTTPS server is a tls.Server, so its certificate can be replaced (setSecureContext) while it runs;
  // Fastify types it apart from an HTTP one, but nothing here depends on which it is.
  const app = Fastify({
    ...(opts.https ? { https: opts.https } : {}),
    genReqId: genRequestId,
    logger: false,
    bodyLimit: opts.maxRequestBytes,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  // Raw bodies for every content type: each ingest protocol parses its own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const routes = installRouteAccess(app);
  // Security headers on every answer, errors and refusals included, so this hook runs
  // first. The CSP is strict: the UI serves its own scripts and styles, never inline
  // ones, and is never framed. (helmet itself, not @fastify/helmet: the plugin's hook
  // would load after the auth hook and miss the 401s.)
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Ignored by browsers on plain HTTP; in force once the listener has TLS.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  });
  app.addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)));
  installAuditHook(app, { trail: opts.audit, operatorTenant: opts.operatorTenant });
  installRateLimits(app, opts.limiter, opts.rateLimits);
  installAuth(app, { authenticators: opts.authenticators, store: opts.store, masker: opts.masker });

  app.setErrorHandler((err, req, reply) => {
    let status: number;
    let code: string;
    let message: string;
    if (err instanceof ApiError) {
      ({ status, code, message } = err);
    } else if (err instanceof StoreError && STORE_ERRORS[err.code]) {
      // The store's message names the problem (e.g. which shard is down) and carries no secrets.
      const mapped = STORE_ERRORS[err.code]!;
      code = mapped;
      status = ERRORS[mapped].status;
      message = err.message;
      if (err.code === 'unavailable') opts.logger.warn('store unavailable', { request: req.id, url: req.url.split('?')[0], error: err.message });
    } else if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      code = 'payload_too_large';
      message = `request body exceeds ${opts.maxRequestBytes} bytes`;
    } else if (typeof (err as { statusCode?: number }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
      status = (err as { statusCode: number }).statusCode;
      code = 'bad_request';
      message = (err as Error).message;
    } else {
      status = 500;
      code = 'internal';
      message = `internal error (request ${req.id})`;
      opts.logger.error('request failed', { request: req.id, url: req.url.split('?')[0], error: err instanceof Error ? err.message : String(err) });
    }
    req.audit.reason = message;
    const retryable = ERRORS[code as keyof typeof ERRORS]?.retryable === true && status !== 500;
    const retryAfterSeconds = (err instanceof ApiError ? err.retryAfterSeconds : undefined) ?? 1;
    if (retryable) void reply.header('retry-after', String(retryAfterSeconds));
    // An ingest route whose protocol has its own error shape answers in it (Splunk HEC's {"text","code"}).
    const render = (req.routeOptions.config as Partial<IngestRouteConfig> | undefined)?.renderError;
    if (render) {
      const authFailure = err instanceof ApiError ? err.authFailure : undefined;
      try {
        const r = render({ status, code, message, ...(authFailure ? { authFailure } : {}), ...(retryable ? { retryAfterSeconds } : {}) });
        if (r.headers) void reply.headers(r.headers);
        void reply.code(r.status).type(r.contentType ?? 'text/plain').send(r.body ?? '');
        return;
      } catch (renderErr) {
        opts.logger.error('ingest error renderer failed', { request: req.id, error: renderErr instanceof Error ? renderErr.message : String(renderErr) });
      }
    }
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="meshlog"');
    void reply.code(status).type('application/json').send({ status: 'error', errorType: code, error: message });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('application/json').send({ status: 'error', errorType: 'not_found', error: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });

  app.get('/ready', { config: { access: { public: true }, action: 'server.ready' } }, async (_req, reply) => {
    if (!opts.isReady()) return reply.code(503).type('text/plain').send('not ready\n');
    return reply.type('text/plain').send('ready\n');
  });

  app.get('/metrics', { config: { access: { permission: 'metrics:read' }, action: 'server.metrics' } }, async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await opts.metrics.text()));

  // Beyond this, Node refuses connections at accept; headers must arrive within
  // Node's headersTimeout (60 s) and a request within requestTimeout (slowloris).
  app.server.maxConnections = opts.maxConnections;
  return { app, routes };
}

