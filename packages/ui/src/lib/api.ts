/**
 * The UI's only way to the server: its public HTTP APIs (sign-in, whoami,
 * Loki's query API, Zipkin's trace API). Two ways to be signed in: a
 * session cookie from `POST /api/v1/auth/login` (HttpOnly, so the app never
 * sees it; state-changing calls carry the session's CSRF token), or an API
 * token kept in sessionStorage (gone when the tab closes) and sent as a
 * Bearer header. Every failure becomes an ApiFailure whose message says what
 * went wrong and what to do, so no screen is ever left blank.
 */

export interface Whoami {
  id: string;
  kind: string;
  name: string;
  tenant: string;
  roles: string[];
  permissions: string[];
  method: string;
  csrf_token?: string;
}

export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    readonly errorType = '',
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'meshlog.token';
let csrfToken: string | undefined;
/** Called when the server says the caller is no longer signed in (401). */
let onSignedOut: (() => void) | undefined;

export function setSignedOutHandler(fn: () => void): void {
  onSignedOut = fn;
}

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Turns any answer that is not a success into an ApiFailure naming the request and the server's reason. */
async function failureOf(res: Response, what: string): Promise<ApiFailure> {
  let reason: string;
  let type = '';
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: string; errorType?: string; message?: string };
    reason = body.error ?? body.message ?? '';
    type = body.errorType ?? '';
  } catch {
    reason = text.slice(0, 300);
  }
  const hint =
    res.status === 401
      ? ' Sign in again.'
      : res.status === 403
        ? ' Your role does not allow this; ask an admin for a role that does.'
        : res.status === 404 && !reason
          ? ' This server does not offer that endpoint.'
          : res.status >= 500
            ? ' The server failed; retry, and if it persists check the server log (the request id is in the X-Request-Id header).'
            : '';
  return new ApiFailure(`${what} failed (HTTP ${res.status}${type ? ` ${type}` : ''}): ${reason || res.statusText}.${hint}`.replace('..', '.'), res.status, type);
}

export async function request<T>(method: 'GET' | 'POST', path: string, what: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(signal ? { signal } : {}) });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiFailure(`${what} failed: the server could not be reached (${(err as Error).message}). Check that it is running and reload.`, 0);
  }
  if (!res.ok) {
    const failure = await failureOf(res, what);
    if (res.status === 401 && !path.startsWith('/api/v1/auth/login')) onSignedOut?.();
    throw failure;
  }
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiFailure(`${what} failed: the server's answer was not JSON.`, res.status);
  }
}

/** The current principal, or undefined when neither a cookie nor a stored token signs us in. */
export async function whoami(): Promise<Whoami | undefined> {
  try {
    const r = await request<{ data: Whoami }>('GET', '/api/v1/whoami', 'Checking who is signed in');
    csrfToken = r.data.csrf_token;
    return r.data;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) return undefined;
    throw err;
  }
}

export async function signInWithPassword(username: string, password: string, tenant?: string): Promise<Whoami> {
  sessionStorage.removeItem(TOKEN_KEY);
  const r = await request<{ data: Whoami }>('POST', '/api/v1/auth/login', 'Signing in', { username, password, ...(tenant ? { tenant } : {}) });
  csrfToken = r.data.csrf_token;
  return r.data;
}

export async function signInWithToken(token: string): Promise<Whoami> {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  try {
    const me = await whoami();
    if (!me) throw new ApiFailure('Signing in failed: the token is invalid, expired or revoked.', 401);
    return me;
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
}

export async function signOut(): Promise<void> {
  const hadToken = sessionStorage.getItem(TOKEN_KEY) !== null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (!hadToken) await request('POST', '/api/v1/auth/logout', 'Signing out').catch(() => undefined);
  csrfToken = undefined;
}

export function usesToken(): boolean {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

// ---- Loki query API (Loki's documented shapes) ----

export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}
export interface LokiSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}
export type LokiData = { resultType: 'streams'; result: LokiStream[] } | { resultType: 'matrix'; result: LokiSeries[] } | { resultType: 'vector'; result: LokiSeries[] };

export interface RangeQuery {
  query: string;
  startNs: bigint;
  endNs: bigint;
  limit?: number;
  direction?: 'backward' | 'forward';
  stepSeconds?: number;
}

export async function queryRange(q: RangeQuery, signal?: AbortSignal): Promise<LokiData> {
  const p = new URLSearchParams({ query: q.query, start: String(q.startNs), end: String(q.endNs) });
  if (q.limit) p.set('limit', String(q.limit));
  if (q.direction) p.set('direction', q.direction);
  if (q.stepSeconds) p.set('step', `${q.stepSeconds}s`);
  const r = await request<{ data: LokiData }>('GET', `/loki/api/v1/query_range?${p}`, 'The query', undefined, signal);
  return r.data;
}

export async function labelNames(startNs: bigint, endNs: bigint): Promise<string[]> {
  const r = await request<{ data?: string[] }>('GET', `/loki/api/v1/labels?start=${startNs}&end=${endNs}`, 'Listing label names');
  return r.data ?? [];
}

export async function labelValues(name: string, startNs: bigint, endNs: bigint): Promise<string[]> {
  const r = await request<{ data?: string[] }>('GET', `/loki/api/v1/label/${encodeURIComponent(name)}/values?start=${startNs}&end=${endNs}`, `Listing values of ${name}`);
  return r.data ?? [];
}

// ---- Zipkin trace API ----

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  remoteEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
  annotations?: { timestamp: number; value: string }[];
}

export async function trace(traceId: string): Promise<ZipkinSpan[]> {
  return request<ZipkinSpan[]>('GET', `/api/v2/trace/${encodeURIComponent(traceId)}`, `Loading trace ${traceId}`);
}
