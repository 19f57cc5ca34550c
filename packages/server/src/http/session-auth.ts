/**
 * UI sessions on the HTTP listener: the session cookie, the authenticator
 * that turns it into a `Principal { kind: 'user', method: 'session' }`,
 * and CSRF protection.
 *
 * The cookie: HttpOnly (scripts cannot read it), SameSite=Strict (no other
 * site's page makes the browser send it), Path=/; on a TLS listener also
 * Secure, under the `__Host-` prefix (which browsers accept only with
 * Secure, Path=/ and no Domain: no subdomain can set or shadow it).
 *
 * CSRF: a request that the cookie authenticates and that may change state
 * (any method but GET, HEAD, OPTIONS) must carry `X-CSRF-Token`, equal to
 * the session's token (returned by sign-in and by `GET /api/v1/whoami`).
 * Another site's page can make the browser send a request, but cannot read
 * the token nor set that header without CORS, which this server does not
 * grant. API tokens need no CSRF token: browsers never attach them.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { Principal } from '../auth/principal.js';
import { csrfTokenOf, type SessionRecord, type SessionStore } from '../auth/session-store.js';
import type { UserStore } from '../auth/user-store.js';
import type { HttpAuthenticator } from './auth-hook.js';
import { ApiError } from './errors.js';

export const SESSION_COOKIE = 'meshlog_session';
/** The cookie's name on a TLS listener. */
export const SECURE_SESSION_COOKIE = '__Host-meshlog_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The UI session that authenticated this request (set by the session authenticator). */
    uiSession?: { id: string; record: SessionRecord };
  }
}

/** Whether the request came over TLS (the cookie is then Secure and `__Host-`). */
export function isTlsRequest(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function sessionCookieName(tls: boolean): string {
  return tls ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** The Set-Cookie value that starts a session (a session cookie: it ends with the browser, and the server ends it sooner). */
export function sessionSetCookie(id: string, tls: boolean): string {
  return stringifySetCookie({ name: sessionCookieName(tls), value: id, httpOnly: true, sameSite: 'strict', secure: tls, path: '/' });
}

/** The Set-Cookie value that removes the session cookie. */
export function sessionClearCookie(tls: boolean): string {
  return stringifySetCookie({ name: sessionCookieName(tls), value: '', httpOnly: true, sameSite: 'strict', secure: tls, path: '/', maxAge: 0, expires: new Date(0) });
}

export function addSetCookie(reply: FastifyReply, value: string): void {
  const prior = reply.getHeader('set-cookie');
  const list = prior === undefined ? [] : Array.isArray(prior) ? prior.map(String) : [String(prior)];
  void reply.header('set-cookie', [...list, value]);
}

/** The session id the request's cookie carries, if any. */
export function sessionIdOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header === '') return undefined;
  const value = parseCookie(header)[sessionCookieName(isTlsRequest(req))];
  return value !== undefined && value !== '' ? value : undefined;
}

/** The principal a live session stands for, or undefined when its user or grant is gone. */
export function principalOfSession(record: SessionRecord, users: UserStore): Principal | undefined {
  if (record.kind === 'oidc') {
    const grant = record.grants?.find((g) => g.tenant === record.tenant);
    return grant ? { id: record.subject, kind: 'user', name: record.name, tenant: record.tenant, roles: grant.roles, method: 'session' } : undefined;
  }
  const user = users.get(record.subject);
  if (!user || user.disabled_at !== undefined) return undefined;
  const grant = user.grants.find((g) => g.tenant === record.tenant);
  return grant ? { id: user.id, kind: 'user', name: user.username, tenant: record.tenant, roles: grant.roles, method: 'session' } : undefined;
}

export function sessionAuthenticator(sessions: SessionStore, users: UserStore): HttpAuthenticator {
  return (req) => {
    const id = sessionIdOf(req);
    if (id === undefined) return undefined;
    const record = sessions.lookup(id);
    const principal = record ? principalOfSession(record, users) : undefined;
    if (!record || !principal) {
      return { refuse: new ApiError('unauthenticated', 'the session has ended (signed out, idle or too old, or the account changed); sign in again', { authFailure: 'invalid' }) };
    }
    req.uiSession = { id, record };
    if (!SAFE_METHODS.has(req.method)) {
      const presented = req.headers[CSRF_HEADER];
      if (typeof presented !== 'string' || !sameText(presented, csrfTokenOf(id))) {
        // The refusal is the caller's: its audit record names them.
        req.principal = principal;
        return {
          refuse: new ApiError(
            'forbidden',
            `${req.method} with a session cookie needs the X-CSRF-Token header set to the session's csrf_token (from the sign-in answer or GET /api/v1/whoami)`,
          ),
        };
      }
    }
    return { principal };
  };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
