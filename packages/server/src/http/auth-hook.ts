/**
 * Authentication for every route but the two public ones (`GET /ready`,
 * `GET /metrics`). The identity (and so the tenant) comes from the token;
 * a tenant header the client sends (`X-Scope-OrgID`) is never trusted.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity, TokenStore } from '../auth/token-store.js';
import { ApiError } from './errors.js';

const PUBLIC_ROUTES = new Set(['GET /ready', 'GET /metrics']);

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
}

export function installAuth(app: FastifyInstance, tokens: TokenStore): void {
  app.decorateRequest('identity', undefined);
  app.addHook('onRequest', async (req) => {
    const route = `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
    if (PUBLIC_ROUTES.has(route)) return;
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new ApiError('unauthenticated', 'missing API token: send "Authorization: Bearer <token>" (the first start wrote one to <data-dir>/admin.token)');
    const identity = tokens.verify(match[1]!);
    if (!identity) throw new ApiError('unauthenticated', 'invalid or revoked API token');
    req.identity = identity;
  });
}

export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw new ApiError('unauthenticated', 'not authenticated');
  return req.identity;
}
