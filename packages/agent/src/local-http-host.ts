/**
 * The agent's own HTTP listener for local receivers (OTLP/HTTP from apps on
 * the node). It binds loopback by default and, when `token_file` is set,
 * requires that bearer token. Bodies are size-capped and gzip is undone,
 * as on the server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { HttpIngestHost, IngestRoute, Logger } from '@meshlog/core';

export interface LocalHttpHostOptions {
  listenAddress: string;
  port: number;
  maxRequestBytes: number;
  tokenFile?: string | undefined;
}

export class LocalHttpHost implements HttpIngestHost {
  private readonly routes = new Map<string, { owner: string; route: IngestRoute }>();
  private readonly inactive = new Set<string>();
  private server: Server | undefined;
  private readonly tokenHash: Buffer | undefined;

  constructor(
    private readonly opts: LocalHttpHostOptions,
    private readonly logger: Logger,
  ) {
    if (opts.tokenFile) this.tokenHash = sha256(readFileSync(opts.tokenFile, 'utf8').trim());
  }

  mount(owner: string, routes: IngestRoute[]): void {
    this.inactive.delete(owner);
    for (const route of routes) this.routes.set(`${route.method} ${route.path}`, { owner, route });
  }

  unmount(owner: string): void {
    this.inactive.add(owner);
  }

  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      void this.handle(req).then(
        (r) => {
          res.writeHead(r.status, { 'content-type': r.contentType ?? 'text/plain', ...r.headers });
          res.end(r.body ?? '');
        },
        (err: unknown) => {
          this.logger.error('local receiver failed', { error: (err as Error).message });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        },
      );
    });
    server.requestTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.listenAddress, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; contentType?: string; headers?: Record<string, string>; body?: Buffer | string }> {
    const path = (req.url ?? '/').split('?')[0]!;
    const entry = this.routes.get(`${req.method} ${path}`);
    if (!entry || (entry.route.claims && !entry.route.claims(req.headers))) return { status: 404, body: `no route for ${req.method} ${path}\n` };
    if (this.inactive.has(entry.owner)) return { status: 503, headers: { 'retry-after': '1' }, body: 'shutting down\n' };
    if (this.tokenHash) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(sha256(m[1]!), this.tokenHash)) return { status: 401, body: 'missing or invalid bearer token\n' };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.opts.maxRequestBytes) return { status: 413, body: `request body exceeds ${this.opts.maxRequestBytes} bytes\n` };
      chunks.push(chunk as Buffer);
    }
    let body = Buffer.concat(chunks);
    if (/gzip/i.test(String(req.headers['content-encoding'] ?? ''))) {
      try {
        body = gunzipSync(body, { maxOutputLength: this.opts.maxRequestBytes });
      } catch (err) {
        return { status: 400, body: `cannot decompress gzip body: ${(err as Error).message}\n` };
      }
    }
    return entry.route.handler({
      body,
      headers: req.headers,
      contentType: String(req.headers['content-type'] ?? ''),
      tenant: 'default',
      remoteAddress: req.socket.remoteAddress ?? '',
      params: {},
      query: {},
      maxBodyBytes: this.opts.maxRequestBytes,
    });
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
