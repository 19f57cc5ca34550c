/**
 * Authentication and authorization of every HTTP request, in one hook that
 * runs before any handler:
 *
 * 1. the route's `access` rule (http/route-access.ts): public routes pass;
 * 2. the authenticators, in order, each either recognises the request's
 *    credential (and accepts or refuses it) or passes: API tokens today
 *    (Bearer, Basic with the token as password, `ApiKey base64(id:token)`,
 *    and the places an ingest protocol's clients put it: `Splunk <token>`,
 *    `DD-API-KEY`), session cookies and client certificates beside them;
 * 3. the route's permission against the principal's roles (403 naming the
 *    permission, the roles that grant it and the roles held).
 *
 * The principal (and so the tenant) comes from the credential only; a
 * tenant header the client sends (`X-Scope-OrgID`) is never trusted. The
 * request then gets a store reader bound to that tenant (`readerOf`), the
 * only way routes read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { credentialHint, presentedToken, type AuthFailure, type CredentialLocation } from '@meshlog/core';
import type { LogStore, RowMasker, TenantReader } from '@meshlog/store';
import type { TokenStore } from '../auth/token-store.js';
import { can, type Principal } from '../auth/principal.js';
import { PERMISSIONS, rolesWith } from '../auth/roles.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    reader?: TenantReader;
  }
}

/** What an authenticator decided: not its kind of credential (undefined), a principal, or a refusal. */
export type AuthOutcome = undefined | { principal: Principal } | { refuse: ApiError };
export type HttpAuthenticator = (req: FastifyRequest) => AuthOutcome | Promise<AuthOutcome>;

/** The part of a route's config the token authenticator reads (ingest routes set it). */
export interface RouteCredentialsConfig {
  credentials?: readonly CredentialLocation[];
}

export interface AuthOptions {
  authenticators: HttpAuthenticator[];
  store: LogStore;
  /** Masks personal data in what readers without `logs:read_personal` get. */
  masker?: RowMasker;
}

export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('reader', undefined);
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    // No route matched: the not-found handler answers, and it reveals nothing.
    if (!access || 'public' in access) return;
    let principal: Principal | undefined;
    for (const authenticate of opts.authenticators) {
      const outcome = await authenticate(req);
      if (outcome === undefined) continue;
      if ('refuse' in outcome) throw outcome.refuse;
      principal = outcome.principal;
      break;
    }
    if (!principal) {
      const locations = (req.routeOptions.config as RouteCredentialsConfig).credentials ?? [];
      throw new ApiError('unauthenticated', `missing credentials: send ${credentialHint(locations)} (the first start wrote an admin token to <data-dir>/admin.token)`, {
        authFailure: 'missing',
      });
    }
    req.principal = principal;
    if (!can(principal, access.permission)) {
      throw new ApiError(
        'forbidden',
        `${req.method} ${req.routeOptions.url} needs the "${access.permission}" permission (${PERMISSIONS[access.permission]}), granted by the roles ${rolesWith(access.permission).join(', ')}; this identity has ${principal.roles.length > 0 ? principal.roles.join(', ') : 'no roles'}${principal.scopes ? ` (token scopes: ${principal.scopes.join(', ')})` : ''}`,
      );
    }
    req.reader = opts.store.reader({
      tenant: principal.tenant,
      auditTrail: can(principal, 'audit:read'),
      ...(opts.masker && !can(principal, 'logs:read_personal') ? { mask: opts.masker } : {}),
    });
  });
}

/** API tokens, wherever the route lets them be presented. */
export function tokenAuthenticator(tokens: TokenStore): HttpAuthenticator {
  return async (req) => {
    const locations = (req.routeOptions.config as RouteCredentialsConfig).credentials ?? [];
    const presented = presentedToken(req.headers, locations);
    if ('failure' in presented) {
      if (presented.failure === 'missing') return undefined;
      return { refuse: new ApiError('unauthenticated', missingTokenMessage(presented.failure, locations), { authFailure: presented.failure }) };
    }
    const principal = await tokens.verify(presented.token);
    if (!principal) return { refuse: new ApiError('unauthenticated', 'invalid, expired or revoked API token', { authFailure: 'invalid' }) };
    return { principal };
  };
}

function missingTokenMessage(failure: AuthFailure, locations: readonly CredentialLocation[]): string {
  const what = failure === 'malformed' ? 'unsupported Authorization header' : 'missing API token';
  return `${what}: send ${credentialHint(locations)} (the first start wrote one to <data-dir>/admin.token)`;
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('unauthenticated', 'not authenticated');
  return req.principal;
}

/** The store reader bound to the caller's tenant: the only way a route reads. */
export function readerOf(req: FastifyRequest): TenantReader {
  if (!req.reader) throw new ApiError('unauthenticated', 'not authenticated');
  return req.reader;
}
