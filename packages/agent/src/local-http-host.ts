/**
 * The agent's own HTTP listener for local receivers (OTLP/HTTP, Splunk HEC,
 * Datadog logs, Zipkin from apps on the node). It binds loopback by default
 * and, when `token_file` is set, requires that token, presented where the
 * route's protocol puts it (Bearer, `Splunk <token>`, `DD-API-KEY`). Bodies
 * are size-capped and gzip is undone, as on the server; errors leave in the
 * route's protocol shape when it has one.
 *
 * `GET /health` (200 while running) and `GET /metrics` (Prometheus text:
 * pipeline, disk buffer, file and redaction counters) need no token, like
 * the server's `/ready` and `/metrics`: they carry no log data, and the
 * listener is loopback unless configured otherwise.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import { gunzipSync, inflateSync } from 'node:zlib';
import { presentedToken, type HostError, type HttpIngestHost, type IngestResponse, type IngestRoute, type Logger, type PipelineMetrics } from '@meshlog/core';

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
  private metrics: PipelineMetrics | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly opts: LocalHttpHostOptions,
    private readonly logger: Logger,
  ) {
    if (opts.tokenFile) this.tokenHash = sha256(readFileSync(opts.tokenFile, 'utf8').trim());
  }

  setMetrics(metrics: PipelineMetrics): void {
    this.metrics = metrics;
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

  private async handle(req: IncomingMessage): Promise<IngestResponse> {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/health') {
      return { status: 200, contentType: 'application/json', body: JSON.stringify({ status: 'ok', uptime_s: Math.round((Date.now() - this.startedAt) / 1000) }) + '\n' };
    }
    if (req.method === 'GET' && path === '/metrics' && this.metrics) {
      return { status: 200, contentType: this.metrics.registry.contentType, body: await this.metrics.text() };
    }
    const entry = this.routes.get(`${req.method} ${path}`);
    if (!entry || (entry.route.claims && !entry.route.claims(req.headers))) return { status: 404, body: `no route for ${req.method} ${path}\n` };
    const { route } = entry;
    const fail = (e: HostError): IngestResponse => route.renderError?.(e) ?? { status: e.status, ...(e.retryAfterSeconds ? { headers: { 'retry-after': String(e.retryAfterSeconds) } } : {}), body: `${e.message}\n` };
    if (this.inactive.has(entry.owner)) return fail({ status: 503, code: 'unavailable', message: 'shutting down', retryAfterSeconds: 1 });
    if (this.tokenHash) {
      const presented = presentedToken(req.headers, route.credentials ?? []);
      if ('failure' in presented) return fail({ status: 401, code: 'unauthenticated', message: 'missing or unsupported credentials', authFailure: presented.failure });
      if (!timingSafeEqual(sha256(presented.token), this.tokenHash)) return fail({ status: 401, code: 'unauthenticated', message: 'invalid token', authFailure: 'invalid' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.opts.maxRequestBytes) return fail({ status: 413, code: 'payload_too_large', message: `request body exceeds ${this.opts.maxRequestBytes} bytes` });
      chunks.push(chunk as Buffer);
    }
    let body = Buffer.concat(chunks);
    const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    try {
      if (encoding === 'gzip' || encoding === 'x-gzip') body = gunzipSync(body, { maxOutputLength: this.opts.maxRequestBytes });
      else if (encoding === 'deflate') body = inflateSync(body, { maxOutputLength: this.opts.maxRequestBytes });
    } catch (err) {
      return fail({ status: 400, code: 'bad_request', message: `cannot decompress ${encoding} body: ${(err as Error).message}` });
    }
    return route.handler({
      body,
      headers: req.headers,
      contentType: String(req.headers['content-type'] ?? ''),
      tenant: 'default',
      remoteAddress: req.socket.remoteAddress ?? '',
      params: {},
      query: Object.fromEntries(url.searchParams),
      maxBodyBytes: this.opts.maxRequestBytes,
    });
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
