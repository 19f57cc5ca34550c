/**
 * Authentication for every route but the two public ones (`GET /ready`,
 * `GET /metrics`). The identity (and so the tenant) comes from the token;
 * a tenant header the client sends (`X-Scope-OrgID`) is never trusted.
 *
 * The token travels the way each protocol's clients send credentials, and
 * every way ends in the same `TokenStore.verify`:
 * - `Authorization: Bearer <token>` (the API, OTLP, Grafana Alloy);
 * - `Authorization: Basic base64(<user>:<token>)`: the password is the token,
 *   the user name is ignored (Promtail, winston-loki, Filebeat, Logstash,
 *   Fluent Bit, Grafana's Loki data source);
 * - `Authorization: ApiKey base64(<id>:<token>)`: the key part is the token,
 *   the id is ignored (Elasticsearch clients' `api_key`); `ApiKey <token>`
 *   verbatim is accepted too.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TOKEN_PREFIX, type Identity, type TokenStore } from '../auth/token-store.js';
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
    const token = presentedToken(req.headers.authorization);
    if (token === undefined) {
      throw new ApiError(
        'unauthenticated',
        'missing API token: send "Authorization: Bearer <token>" (or basic auth with the token as password, or "ApiKey base64(id:token)"); the first start wrote one to <data-dir>/admin.token',
      );
    }
    const identity = tokens.verify(token);
    if (!identity) throw new ApiError('unauthenticated', 'invalid or revoked API token');
    req.identity = identity;
  });
}

/** The token in an Authorization header, in any of the accepted schemes; undefined when there is none. */
export function presentedToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^(\w+)\s+(\S+)$/.exec(header.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === 'bearer') return value;
  if (scheme === 'basic') return nonEmpty(afterColon(base64Text(value)));
  if (scheme === 'apikey') return value.startsWith(TOKEN_PREFIX) ? value : nonEmpty(afterColon(base64Text(value)));
  return undefined;
}

function base64Text(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  return Buffer.from(value, 'base64').toString('utf8');
}

function afterColon(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const i = text.indexOf(':');
  return i < 0 ? undefined : text.slice(i + 1);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw new ApiError('unauthenticated', 'not authenticated');
  return req.identity;
}
