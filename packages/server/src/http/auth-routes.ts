/**
 * Signing in and out: password sign-in (`POST /api/v1/auth/login`),
 * OpenID Connect (`GET /api/v1/auth/oidc/login` and `/callback`), sign-out,
 * who am I, switching the session's tenant and changing one's password.
 *
 * The sign-in routes are the only public ones besides `/ready`: nobody is
 * signed in yet when they are called. Their audit records are written like
 * every other (the audit hook runs for public routes too): a failure
 * carries `detail.username` (never the password) and `detail.failure` (the
 * real reason, for the auditor: unknown_user, wrong_password, disabled,
 * throttled, tenant_not_granted, no_matching_rule ...), while the answer
 * says only "invalid username or password", whatever the reason, so it does
 * not tell whether the user exists. A success names the signed-in principal
 * as the record's actor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import { z } from 'zod';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { ApiError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { isTlsRequest, principalOfSession, sessionClearCookie, sessionSetCookie, addSetCookie } from './session-auth.js';
import { permissionsOf, type Principal } from '../auth/principal.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { OidcError, type OidcSignIn } from '../auth/oidc.js';
import { csrfTokenOf, type SessionRecord, type SessionStore } from '../auth/session-store.js';
import type { TokenStore } from '../auth/token-store.js';
import { PASSWORD_MAX, passwordProblem, type Grant, type UserStore } from '../auth/user-store.js';

export interface AuthRouteOptions {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  throttle: LoginThrottle;
  oidc: OidcSignIn | undefined;
  postLoginRedirect: string;
  passwordMinLength: number;
  idleTimeoutSeconds: number;
}

const LoginSchema = z
  .object({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(PASSWORD_MAX * 4),
    tenant: z.string().min(1).optional(),
  })
  .strict();
const TenantSchema = z.object({ tenant: z.string().min(1) }).strict();
const PasswordChangeSchema = z.object({ current_password: z.string(), new_password: z.string() }).strict();

const OIDC_FLOW_COOKIE = 'meshlog_oidc_flow';
const OIDC_PATH = '/api/v1/auth/oidc';

const INVALID_LOGIN = 'invalid username or password';

export function registerAuthRoutes(app: FastifyInstance, opts: AuthRouteOptions): void {
  const { users, sessions, throttle } = opts;

  /** What a session answer carries: who, where, what they may do, the CSRF token. */
  const sessionView = (principal: Principal, id: string, record: SessionRecord): Record<string, unknown> => ({
    id: principal.id,
    kind: principal.kind,
    name: principal.name,
    tenant: principal.tenant,
    roles: principal.roles,
    permissions: [...permissionsOf(principal)],
    method: 'session',
    tenants: grantsOfSession(record, users).map((g) => g.tenant),
    csrf_token: csrfTokenOf(id),
    session: { created_at: record.created_at, expires_at: record.expires_at, idle_timeout_seconds: opts.idleTimeoutSeconds },
  });

  const startSession = (req: FastifyRequest, reply: FastifyReply, spec: { kind: 'password' | 'oidc'; subject: string; name: string; tenant: string; grants?: Grant[] }) => {
    const { id, record } = sessions.create(spec);
    const principal = principalOfSession(record, users);
    if (!principal) throw new Error('a new session has no principal');
    addSetCookie(reply, sessionSetCookie(id, isTlsRequest(req)));
    // The sign-in's audit record names who signed in, in their tenant.
    req.principal = principal;
    return { id, record, principal };
  };

  app.post('/api/v1/auth/login', { config: { access: { public: true }, action: 'auth.login' } }, async (req, reply) => {
    const type = req.headers['content-type'];
    // A cross-site form cannot send application/json without a CORS preflight this server never grants (login CSRF).
    if (typeof type !== 'string' || !/^application\/json\b/i.test(type)) {
      throw new ApiError('bad_request', 'send the credentials as JSON with Content-Type: application/json: {"username", "password", "tenant"?}');
    }
    const body = parseJsonBody(req, LoginSchema);
    const note = auditNote(req);
    note.detail = { username: body.username, ...(body.tenant !== undefined ? { tenant: body.tenant } : {}) };
    const waitMs = throttle.waitMs(body.username, req.ip);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      note.detail['failure'] = 'throttled';
      throw new ApiError('too_many_attempts', `too many failed sign-ins; retry in ${seconds} s`, { retryAfterSeconds: seconds });
    }
    const result = await users.authenticate(body.username, body.password);
    if ('failure' in result) {
      throttle.failed(body.username, req.ip);
      note.detail['failure'] = result.failure;
      throw new ApiError('unauthenticated', INVALID_LOGIN, { authFailure: 'invalid' });
    }
    const user = result.user;
    const grant = body.tenant !== undefined ? user.grants.find((g) => g.tenant === body.tenant) : user.grants[0];
    if (!grant) {
      note.detail['failure'] = 'tenant_not_granted';
      throw new ApiError('forbidden', `${user.username} holds no roles in tenant ${JSON.stringify(body.tenant)}; sign in to one of your tenants`);
    }
    throttle.succeeded(body.username);
    const { id, record, principal } = startSession(req, reply, { kind: 'password', subject: user.id, name: user.username, tenant: grant.tenant });
    return { status: 'success', data: sessionView(principal, id, record) };
  });

  app.post('/api/v1/auth/logout', { config: { access: { permission: 'session:self' }, action: 'auth.logout' } }, async (req, reply) => {
    const session = req.uiSession;
    if (!session) throw new ApiError('bad_request', 'sign-out ends a UI session; this request is authenticated by an API token (revoke it with DELETE /api/v1/tokens/<id>)');
    sessions.end(session.id);
    addSetCookie(reply, sessionClearCookie(isTlsRequest(req)));
    return { status: 'success', data: { signed_out: true } };
  });

  app.get('/api/v1/whoami', { config: { access: { permission: 'session:self' }, action: 'auth.whoami' } }, async (req) => {
    const principal = principalOf(req);
    const session = req.uiSession;
    if (session) return { status: 'success', data: sessionView(principal, session.id, session.record) };
    const token = principal.kind === 'token' ? opts.tokens.get(principal.id) : undefined;
    return {
      status: 'success',
      data: {
        id: principal.id,
        kind: principal.kind,
        name: principal.name,
        tenant: principal.tenant,
        roles: principal.roles,
        ...(principal.scopes ? { scopes: principal.scopes } : {}),
        permissions: [...permissionsOf(principal)],
        method: principal.method,
        ...(token?.expires_at !== undefined ? { expires_at: token.expires_at } : {}),
      },
    };
  });

  /** Binds the session to another of the user's tenants. */
  app.post('/api/v1/auth/tenant', { config: { access: { permission: 'session:self' }, action: 'auth.switch_tenant' } }, async (req) => {
    const session = req.uiSession;
    if (!session) throw new ApiError('bad_request', 'switching tenant is for UI sessions; an API token is bound to its tenant');
    const body = parseJsonBody(req, TenantSchema);
    const before = session.record.tenant;
    if (!grantsOfSession(session.record, users).some((g) => g.tenant === body.tenant)) {
      throw new ApiError('forbidden', `this account holds no roles in tenant ${JSON.stringify(body.tenant)}`);
    }
    const record = sessions.switchTenant(session.id, body.tenant);
    const principal = record ? principalOfSession(record, users) : undefined;
    if (!record || !principal) throw new ApiError('unauthenticated', 'the session has ended; sign in again');
    auditNote(req).change = { object: 'session', id: principal.id, before: { tenant: before }, after: { tenant: body.tenant } };
    return { status: 'success', data: sessionView(principal, session.id, record) };
  });

  /** A password user changes their own password; their other sessions end. */
  app.post('/api/v1/auth/password', { config: { access: { permission: 'session:self' }, action: 'auth.password_change' } }, async (req) => {
    const session = req.uiSession;
    if (!session || session.record.kind !== 'password') throw new ApiError('bad_request', 'a password is changed from a password sign-in session (OpenID Connect accounts change it at their provider)');
    const body = parseJsonBody(req, PasswordChangeSchema);
    const user = users.get(session.record.subject);
    if (!user) throw new ApiError('unauthenticated', 'the session has ended; sign in again');
    const note = auditNote(req);
    note.detail = { username: user.username };
    const waitMs = throttle.waitMs(user.username, req.ip);
    if (waitMs > 0) {
      note.detail['failure'] = 'throttled';
      throw new ApiError('too_many_attempts', `too many wrong passwords; retry in ${Math.ceil(waitMs / 1000)} s`, { retryAfterSeconds: Math.ceil(waitMs / 1000) });
    }
    if (!(await users.checkPassword(user.id, body.current_password))) {
      throttle.failed(user.username, req.ip);
      note.detail['failure'] = 'wrong_password';
      throw new ApiError('forbidden', 'current_password is wrong');
    }
    const problem = passwordProblem(body.new_password, opts.passwordMinLength);
    if (problem) throw new ApiError('bad_request', `invalid body: new_password: ${problem}`);
    const after = (await users.setPassword(user.id, body.new_password))!;
    const ended = sessions.endAllOf(user.id, session.id);
    note.change = { object: 'user', id: user.id, before: { password_changed_at: user.password_changed_at }, after: { password_changed_at: after.password_changed_at } };
    note.detail['other_sessions_ended'] = ended;
    return { status: 'success', data: { password_changed_at: after.password_changed_at } };
  });

  // Without auth.oidc the routes do not exist (404), rather than public routes that only refuse.
  const oidc = opts.oidc;
  if (!oidc) return;
  const oidcConfigured = (): OidcSignIn => oidc;

  app.get<{ Querystring: { tenant?: string } }>('/api/v1/auth/oidc/login', { config: { access: { public: true }, action: 'auth.oidc.login' } }, async (req, reply) => {
    const flow = await withOidcErrors(req, () => oidcConfigured().begin(typeof req.query.tenant === 'string' ? req.query.tenant : undefined));
    // Lax, not Strict: the provider's redirect back is a cross-site navigation, and must carry it.
    addSetCookie(
      reply,
      stringifySetCookie({ name: OIDC_FLOW_COOKIE, value: flow.flowId, httpOnly: true, sameSite: 'lax', secure: isTlsRequest(req), path: OIDC_PATH, maxAge: 600 }),
    );
    return reply.redirect(flow.url, 302);
  });

  app.get('/api/v1/auth/oidc/callback', { config: { access: { public: true }, action: 'auth.oidc.callback' } }, async (req, reply) => {
    const signIn = oidcConfigured();
    const header = req.headers.cookie;
    const flowId = typeof header === 'string' ? parseCookie(header)[OIDC_FLOW_COOKIE] : undefined;
    addSetCookie(reply, stringifySetCookie({ name: OIDC_FLOW_COOKIE, value: '', httpOnly: true, sameSite: 'lax', secure: isTlsRequest(req), path: OIDC_PATH, maxAge: 0 }));
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const identity = await withOidcErrors(req, () => signIn.finish(flowId, query));
    const note = auditNote(req);
    note.detail = { subject: identity.subject, name: identity.name, claims: identity.ruleClaims };
    if (identity.grants.length === 0) {
      note.detail['failure'] = 'no_matching_rule';
      throw new ApiError('forbidden', `${identity.name} signed in at the provider, but no auth.oidc.claim_rules entry matches their claims, so they hold no roles here; ask an administrator`);
    }
    const grant = identity.tenant !== undefined ? identity.grants.find((g) => g.tenant === identity.tenant) : identity.grants[0];
    if (!grant) {
      note.detail['failure'] = 'tenant_not_granted';
      throw new ApiError('forbidden', `${identity.name} holds no roles in tenant ${JSON.stringify(identity.tenant)}`);
    }
    startSession(req, reply, { kind: 'oidc', subject: identity.subject, name: identity.name, tenant: grant.tenant, grants: identity.grants });
    return reply.redirect(opts.postLoginRedirect, 303);
  });
}

/** The tenants and roles a session may switch between. */
function grantsOfSession(record: SessionRecord, users: UserStore): Grant[] {
  if (record.kind === 'oidc') return record.grants ?? [];
  return users.get(record.subject)?.grants ?? [];
}

async function withOidcErrors<T>(req: FastifyRequest, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof OidcError)) throw err;
    auditNote(req).detail = { ...auditNote(req).detail, failure: err.status === 503 ? 'provider_unavailable' : 'oidc_failed' };
    throw new ApiError(err.status === 400 ? 'bad_request' : err.status === 403 ? 'forbidden' : 'unavailable', err.message);
  }
}
