/**
 * Authentication for every route but the two public ones (`GET /ready`,
 * `GET /metrics`). The identity (and so the tenant) comes from the token;
 * a tenant header the client sends (`X-Scope-OrgID`) is never trusted.
 *
 * Every route takes `Authorization: Bearer <token>`, Basic auth with the
 * token as password and `ApiKey base64(id:token)` (the schemes log shippers
 * and Grafana send; see `presentedToken`). An ingest route may
 * also take the token where its protocol's clients put it (its route
 * config's `credentials`: `Authorization: Splunk <token>` for Splunk HEC,
 * a `DD-API-KEY` header for Datadog); the token is checked the same way
 * wherever it came from, and only on the routes that declare that place.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { credentialHint, presentedToken, type AuthFailure, type CredentialLocation } from '@meshlog/core';
import type { Identity, TokenStore } from '../auth/token-store.js';
import { ApiError } from './errors.js';

const PUBLIC_ROUTES = new Set(['GET /ready', 'GET /metrics']);

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
}

/** The part of a route's config the auth hook reads (ingest routes set it). */
export interface RouteCredentialsConfig {
  credentials?: readonly CredentialLocation[];
}

export function installAuth(app: FastifyInstance, tokens: TokenStore): void {
  app.decorateRequest('identity', undefined);
  app.addHook('onRequest', async (req) => {
    const route = `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
    if (PUBLIC_ROUTES.has(route)) return;
    const locations = (req.routeOptions.config as RouteCredentialsConfig | undefined)?.credentials ?? [];
    const presented = presentedToken(req.headers, locations);
    if ('failure' in presented) throw new ApiError('unauthenticated', missingTokenMessage(presented.failure, locations), { authFailure: presented.failure });
    const identity = tokens.verify(presented.token);
    if (!identity) throw new ApiError('unauthenticated', 'invalid or revoked API token', { authFailure: 'invalid' });
    req.identity = identity;
  });
}

function missingTokenMessage(failure: AuthFailure, locations: readonly CredentialLocation[]): string {
  const what = failure === 'malformed' ? 'unsupported Authorization header' : 'missing API token';
  return `${what}: send ${credentialHint(locations)} (the first start wrote one to <data-dir>/admin.token)`;
}

export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw new ApiError('unauthenticated', 'not authenticated');
  return req.identity;
}
