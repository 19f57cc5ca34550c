/**
 * The server's HTTP listener: every HTTP API and (later) the UI on one port.
 * Bodies are kept raw (ingest sources decode their own protocols), every
 * route but `/ready` and `/metrics` is authenticated, and every error leaves
 * as JSON `{status:"error", errorType, error}` with the catalogue's status.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { PipelineMetrics, Logger } from '@meshlog/core';
import { StoreError } from '@meshlog/store';
import { ApiError, ERRORS } from './errors.js';
import { installAuth } from './auth-hook.js';
import type { TokenStore } from '../auth/token-store.js';

export interface HttpAppOptions {
  tokens: TokenStore;
  metrics: PipelineMetrics;
  logger: Logger;
  maxRequestBytes: number;
  keepAliveTimeoutMs: number;
  requestTimeoutMs: number;
  isReady: () => boolean;
}

export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: opts.maxRequestBytes,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // Raw bodies for every content type: each ingest protocol parses its own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  installAuth(app, opts.tokens);

  app.setErrorHandler((err, req, reply) => {
    let status: number;
    let code: string;
    let message: string;
    if (err instanceof ApiError) {
      ({ status, code, message } = err);
    } else if (err instanceof StoreError) {
      const mapped = fromStoreError(err);
      ({ status, code, message } = mapped);
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
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="meshlog"');
    if (ERRORS[code as keyof typeof ERRORS]?.retryable && status !== 500) void reply.header('retry-after', '1');
    void reply.code(status).type('application/json').send({ status: 'error', errorType: code, error: message });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('application/json').send({ status: 'error', errorType: 'not_found', error: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });

  app.get('/ready', async (_req, reply) => {
    if (!opts.isReady()) return reply.code(503).type('text/plain').send('not ready\n');
    return reply.type('text/plain').send('ready\n');
  });

  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await opts.metrics.text()));

  return app;
}

/** Store failures in the API's vocabulary; the store's messages already say how to narrow a query. */
function fromStoreError(err: StoreError): ApiError {
  switch (err.code) {
    case 'timeout':
      return new ApiError('query_timeout', err.message);
    case 'limit':
      return new ApiError('limit_exceeded', err.message);
    case 'unavailable':
      return new ApiError('unavailable', err.message);
    case 'cancelled':
      return new ApiError('bad_request', 'the query was cancelled because the client went away');
    case 'query':
      return new ApiError('internal', `the store could not run the query: ${err.message}`);
  }
}
