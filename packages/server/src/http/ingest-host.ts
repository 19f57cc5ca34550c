/**
 * Hosts HTTP ingest routes of pipeline sources on the server's Fastify
 * instance: undoes `Content-Encoding` (gzip, deflate) with a cap on the
 * decompressed size (a gzip bomb is refused with 413, not buffered), and
 * passes the authenticated tenant. A source that has been unmounted (during
 * shutdown) makes its routes answer 503. Errors the host raises leave in
 * the route's protocol shape when the route has a `renderError`.
 */
import { promisify } from 'node:util';
import { gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialLocation, HttpIngestHost, IngestRoute } from '@meshlog/core';
import { ApiError } from './errors.js';
import { identityOf } from './auth-hook.js';

/**
 * What an ingest route carries in its Fastify route config: the auth hook
 * reads `credentials`, the error handler `renderError`.
 */
export interface IngestRouteConfig {
  permission: IngestRoute['permission'];
  credentials?: readonly CredentialLocation[];
  renderError?: IngestRoute['renderError'];
}

const gunzipAsync = promisify<InputType, ZlibOptions, Buffer>(gunzip);
const inflateAsync = promisify<InputType, ZlibOptions, Buffer>(inflate);

export class FastifyIngestHost implements HttpIngestHost {
  private readonly active = new Map<string, boolean>();

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
        config: {
          permission: route.permission,
          ...(route.credentials ? { credentials: route.credentials } : {}),
          ...(route.renderError ? { renderError: route.renderError.bind(route) } : {}),
        } satisfies IngestRouteConfig,
        handler: async (req, reply) => {
          if (!this.active.get(owner)) throw new ApiError('unavailable', 'this ingest endpoint is shutting down; retry against another instance');
          const body = await this.decode(req);
          const identity = identityOf(req);
          const res = await route.handler({
            body,
            headers: req.headers,
            contentType: String(req.headers['content-type'] ?? ''),
            tenant: identity.tenant,
            remoteAddress: req.ip,
            params: (req.params ?? {}) as Record<string, string>,
            query: (req.query ?? {}) as Record<string, string>,
          });
          send(reply, res.status, res.contentType, res.headers, res.body);
        },
      });
    }
  }

  unmount(owner: string): void {
    this.active.set(owner, false);
  }

  private async decode(req: FastifyRequest): Promise<Buffer> {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
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

function send(reply: FastifyReply, status: number, contentType: string | undefined, headers: Record<string, string> | undefined, body: Buffer | string | undefined): void {
  reply.code(status);
  if (contentType) reply.type(contentType);
  if (headers) reply.headers(headers);
  void reply.send(body ?? '');
}
