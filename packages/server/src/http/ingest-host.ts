/**
 * Hosts HTTP ingest routes of pipeline sources on the server's Fastify
 * instance: undoes `Content-Encoding` (gzip, deflate) with a cap on the
 * decompressed size (a gzip bomb is refused with 413, not buffered), and
 * passes the authenticated tenant. A source that has been unmounted (during
 * shutdown) makes its routes answer 503. Errors the host raises leave in
 * the route's protocol shape when the route has a `renderError`.
 *
 * A route with `claims` is registered under a Fastify route constraint
 * (`ingestClaim`) whose value is derived from the request's headers, so it
 * shares its method and path with an unconstrained route (a future UI at
 * `GET /`): requests it claims reach it, the rest fall through.
 */
import { promisify } from 'node:util';
import { gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialLocation, HttpIngestHost, IngestRoute } from '@meshlog/core';
import { ApiError } from './errors.js';
import { principalOf } from './auth-hook.js';

/**
 * What an ingest route carries in its Fastify route config: the auth hook
 * reads `credentials`, the error handler `renderError`.
 */
export interface IngestRouteConfig {
  access: { permission: 'logs:write' };
  action: string;
  credentials?: readonly CredentialLocation[];
  renderError?: IngestRoute['renderError'];
}

const gunzipAsync = promisify<InputType, ZlibOptions, Buffer>(gunzip);
const inflateAsync = promisify<InputType, ZlibOptions, Buffer>(inflate);

const CLAIM_CONSTRAINT = 'ingestClaim';

interface Claim {
  id: string;
  claims: NonNullable<IngestRoute['claims']>;
}

export class FastifyIngestHost implements HttpIngestHost {
  private readonly active = new Map<string, boolean>();
  /** Claiming routes by `METHOD /path`, in mount order. */
  private readonly claimsByRoute = new Map<string, Claim[]>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly maxRequestBytes: number,
  ) {}

  mount(owner: string, routes: IngestRoute[]): void {
    const firstMount = !this.active.has(owner);
    this.active.set(owner, true);
    if (!firstMount) return;
    for (const route of routes) {
      this.app.route({
        method: route.method,
        url: route.path,
        // HEAD is mounted explicitly by the sources that answer it.
        exposeHeadRoute: false,
        ...(route.claims ? { constraints: { [CLAIM_CONSTRAINT]: this.addClaim(owner, route) } } : {}),
        config: {
          // Core's one ingest permission is the server's `logs:write`.
          access: { permission: 'logs:write' },
          action: `ingest.${owner}`,
          ...(route.credentials ? { credentials: route.credentials } : {}),
          ...(route.renderError ? { renderError: route.renderError.bind(route) } : {}),
        } satisfies IngestRouteConfig,
        handler: async (req, reply) => {
          if (!this.active.get(owner)) throw new ApiError('unavailable', 'this ingest endpoint is shutting down; retry against another instance');
          const body = await this.decode(req, route.ownEncodings);
          const identity = principalOf(req);
          const res = await route.handler({
            body,
            headers: req.headers,
            contentType: String(req.headers['content-type'] ?? ''),
            tenant: identity.tenant,
            remoteAddress: req.ip,
            params: (req.params ?? {}) as Record<string, string>,
            query: (req.query ?? {}) as Record<string, string>,
            maxBodyBytes: this.maxRequestBytes,
          });
          return send(reply, res.status, res.contentType, res.headers, res.body);
        },
      });
    }
  }

  unmount(owner: string): void {
    this.active.set(owner, false);
  }

  /** Registers the constraint strategy on first use and returns the claim's constraint value. */
  private addClaim(owner: string, route: IngestRoute): string {
    if (!this.app.hasConstraintStrategy(CLAIM_CONSTRAINT)) {
      const byRoute = this.claimsByRoute;
      this.app.addConstraintStrategy({
        name: CLAIM_CONSTRAINT,
        storage() {
          const handlers = new Map<string, unknown>();
          return { get: (value: string) => (handlers.get(value) ?? null) as never, set: (value: string, store: unknown) => void handlers.set(value, store) };
        },
        // Requests no claim accepts derive nothing and reach the unconstrained route (or 404).
        deriveConstraint(req: IncomingMessage): string | undefined {
          const claims = byRoute.get(`${req.method} ${(req.url ?? '/').split('?')[0]}`);
          if (!claims) return undefined;
          for (const c of claims) if (c.claims(req.headers)) return c.id;
          return undefined;
        },
      });
    }
    const key = `${route.method} ${route.path}`;
    const list = this.claimsByRoute.get(key) ?? [];
    const id = `${owner}:${list.length}`;
    list.push({ id, claims: route.claims! });
    this.claimsByRoute.set(key, list);
    return id;
  }

  private async decode(req: FastifyRequest, ownEncodings: readonly string[] | undefined): Promise<Buffer> {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (ownEncodings?.includes(encoding)) return raw;
    const opts = { maxOutputLength: this.maxRequestBytes };
    try {
      if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzipAsync(raw, opts);
      if (encoding === 'deflate') return await inflateAsync(raw, opts);
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new ApiError('payload_too_large', `decompressed body exceeds ${this.maxRequestBytes} bytes`);
      throw new ApiError('bad_request', `cannot decompress ${encoding} body: ${e.message}`);
    }
    if (encoding !== 'identity' && encoding !== '') throw new ApiError('bad_request', `unsupported content-encoding ${JSON.stringify(encoding)}; use gzip, deflate or none`);
    return raw;
  }
}

/** Returns the reply: an async handler that sent must return it, or Fastify would answer again while onSend (the audit record) is still running. */
function send(reply: FastifyReply, status: number, contentType: string | undefined, headers: Record<string, string> | undefined, body: Buffer | string | undefined): FastifyReply {
  reply.code(status);
  if (contentType) reply.type(contentType);
  if (headers) reply.headers(headers);
  return reply.send(body ?? '');
}
