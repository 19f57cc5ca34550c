/**
 * Serves the web UI (packages/ui, built by Vite into packages/ui/dist) on
 * the API's port: `GET /` and `GET /ui` redirect a browser to `/ui/`, and
 * `GET /ui/*` answers a built file or, for any other path under `/ui/`, the
 * app's index.html (the app routes on the client: /ui/explore, /ui/trace/…).
 * The routes are public: the files hold no data, and every call the app
 * makes for data is authenticated like any other API call.
 * `GET /` stays claimed by Elasticsearch clients (their Accept header asks
 * for JSON; es_bulk source): this route is the unconstrained one a browser
 * reaches. Paths are resolved inside the build folder only (no `..`).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface UiRouteOptions {
  /** The UI's build folder; default packages/ui/dist next to this package. */
  dir?: string;
}

/** Compiled to packages/server/dist/http: three levels up is packages/. */
export const DEFAULT_UI_DIR = resolve(import.meta.dirname, '../../../ui/dist');

/** Written into packages/ui/index.html; replaced by each response's nonce. */
export const NONCE_PLACEHOLDER = '__MESHLOG_CSP_NONCE__';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function registerUiRoutes(app: FastifyInstance, opts: UiRouteOptions = {}): void {
  const dir = opts.dir ?? DEFAULT_UI_DIR;
  const access = { public: true as const };
  const sendIndex = async (reply: FastifyReply): Promise<FastifyReply> => {
    const index = join(dir, 'index.html');
    if (!existsSync(index)) {
      // Plain text, not the JSON error shape: whoever sees this is a person in a browser.
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(`The web UI is not built (no ${index}). Run \`npm install\` or \`npm run build\` at the repository root, then reload.`);
    }
    const nonce = randomBytes(18).toString('base64');
    const html = (await readFile(index, 'utf8')).replaceAll(NONCE_PLACEHOLDER, nonce);
    // helmet set the policy on the raw response in onRequest; this page's copy adds the style nonce.
    const policy = String(reply.raw.getHeader('content-security-policy') ?? '');
    if (policy) reply.raw.setHeader('content-security-policy', policy.replace(/style-src 'self'/, `style-src 'self' 'nonce-${nonce}'`));
    // Never cached: a new build's index names new asset files, and the nonce is per response.
    return reply.header('cache-control', 'no-store').type(TYPES['.html']!).send(html);
  };

  app.get('/', { config: { access, action: 'ui.redirect' } }, async (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', { config: { access, action: 'ui.redirect' } }, async (_req, reply) => reply.redirect('/ui/', 302));
  app.get<{ Params: { '*': string } }>('/ui/*', { config: { access, action: 'ui.asset' } }, async (req, reply) => {
    const rel = normalize(decodeURIComponent(req.params['*'] ?? '')).replace(/^([/\\])+/, '');
    const file = resolve(dir, rel);
    if (rel === '' || rel === '.' || !file.startsWith(dir + sep) || !extname(file)) return sendIndex(reply);
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      // A missing file with an extension is a missing asset, not an app route.
      return reply.code(404).type('text/plain; charset=utf-8').send(`no such UI file: /ui/${rel}`);
    }
    // Vite puts content-hashed names under assets/: they never change.
    const immutable = rel.startsWith(`assets${sep}`);
    return reply
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .send(body);
  });
}
