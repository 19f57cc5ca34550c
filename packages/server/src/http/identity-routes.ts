/**
 * The identities API: API tokens (`/api/v1/tokens`) and password users
 * (`/api/v1/users`), always within the caller's tenant.
 *
 * Invariants: listings never carry a secret or a hash; a token's secret is
 * in the answer that creates it and nowhere else; nobody grants a role with
 * a permission they lack, nor in another tenant (auth/delegation.ts); every
 * change is in the audit trail with before and after (without secrets).
 * Objects of other tenants answer 404, as if they did not exist.
 *
 * Segregation of duties: granting a role through the API needs a second
 * admin (approvals/approval-service.ts), except a token whose only role is
 * `ingester` (write-only; what every agent and shipper needs). A token with
 * other roles is minted inactive (its secret shown once, to the requester)
 * and works once approved; a new user gets their roles once approved; a
 * change of roles that adds one waits for approval, one that only removes
 * roles applies at once.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { ApiError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { passwordResetProblem, permissionsOfRoles, rolesBeyond } from '../auth/delegation.js';
import type { Principal } from '../auth/principal.js';
import { PERMISSIONS, ROLES, type Permission, type Role } from '../auth/roles.js';
import type { SessionStore } from '../auth/session-store.js';
import type { ApiToken, TokenStore } from '../auth/token-store.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import { UserExistsError, passwordProblem, usernameProblem, type User, type UserStore } from '../auth/user-store.js';

export interface IdentityRouteOptions {
  tokens: TokenStore;
  users: UserStore;
  sessions: SessionStore;
  passwordMinLength: number;
  approvals: ApprovalService;
}

/** Roles a grant may carry without a second admin: write-only ingestion. */
const GRANTABLE_WITHOUT_APPROVAL: readonly Role[] = ['ingester'];
export const needsApproval = (roles: readonly Role[]): boolean => roles.some((r) => !GRANTABLE_WITHOUT_APPROVAL.includes(r));
const approvedActor = (ctx: { requestedBy: string; approvedBy: string }): string => `${ctx.requestedBy} (approved by ${ctx.approvedBy})`;

const roleList = z.array(z.enum(ROLES)).min(1);
const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_S = { s: 1, m: 60, h: 3600, d: 86400 } as const;

export const TokenBodySchema = z
  .object({
    description: z.string().trim().min(1).max(200),
    tenant: z.string().min(1).optional(),
    roles: roleList,
    scopes: z.array(z.string()).min(1).optional(),
    /** Seconds, or a duration: `90d`, `12h`, `30m`, `3600s`. */
    expires_in: z.union([z.number().int().positive(), z.string().regex(DURATION, 'expected seconds or a duration such as 90d, 12h, 30m')]).optional(),
    /** RFC 3339. */
    expires_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const UserBodySchema = z.object({ username: z.string(), password: z.string(), roles: roleList }).strict();
const RolesBodySchema = z.object({ roles: z.array(z.enum(ROLES)) }).strict();
const PasswordResetSchema = z.object({ password: z.string() }).strict();

/** When a token of this body expires: undefined = never; throws a 400 naming the field. */
export function expiryOf(body: { expires_in?: number | string | undefined; expires_at?: string | undefined }, now = Date.now()): Date | undefined {
  if (body.expires_in !== undefined && body.expires_at !== undefined) throw new ApiError('bad_request', 'invalid body: set at most one of expires_in or expires_at');
  if (body.expires_in !== undefined) {
    let seconds: number;
    if (typeof body.expires_in === 'number') seconds = body.expires_in;
    else {
      const m = DURATION.exec(body.expires_in)!;
      seconds = Number(m[1]) * UNIT_S[m[2] as keyof typeof UNIT_S];
    }
    return new Date(now + seconds * 1000);
  }
  if (body.expires_at !== undefined) {
    const at = new Date(body.expires_at);
    if (at.getTime() <= now) throw new ApiError('bad_request', 'invalid body: expires_at: must be in the future');
    return at;
  }
  return undefined;
}

/** Refuses (403) roles the caller may not grant. */
function checkGrantable(caller: Principal, roles: readonly Role[], what: string): void {
  const beyond = rolesBeyond(caller, roles);
  if (beyond.length > 0) {
    throw new ApiError('forbidden', `${what}: the role${beyond.length > 1 ? 's' : ''} ${beyond.join(', ')} carr${beyond.length > 1 ? 'y' : 'ies'} permissions this identity lacks; nobody grants more than they hold`);
  }
}

/** A user as the caller's tenant sees them: their roles here, nothing of other tenants. */
function userInTenant(u: User, tenant: string): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    roles: u.grants.find((g) => g.tenant === tenant)?.roles ?? [],
    created_by: u.created_by,
    created_at: u.created_at,
    password_changed_at: u.password_changed_at,
    ...(u.disabled_at !== undefined ? { disabled_at: u.disabled_at, disabled_by: u.disabled_by } : {}),
  };
}

export function registerIdentityRoutes(app: FastifyInstance, opts: IdentityRouteOptions): void {
  const { tokens, users, sessions, approvals } = opts;

  approvals.register({
    kind: 'identities.token.activate',
    permission: 'identities:write',
    execute: async (payload, ctx) => {
      const r = tokens.activate((payload as { token_id: string }).token_id, ctx.approvedBy);
      if (!r) throw new Error('the token is no longer waiting for approval');
      return r.after;
    },
  });
  approvals.register({
    kind: 'identities.user.grant',
    permission: 'identities:write',
    execute: async (payload, ctx) => {
      const p = payload as { user_id: string; roles: Role[] };
      const r = users.setGrant(p.user_id, ctx.tenant, p.roles, approvedActor(ctx));
      if (!r) throw new Error('the user no longer exists');
      return userInTenant(r.after, ctx.tenant);
    },
  });
  const read = (action: string) => ({ config: { access: { permission: 'identities:read' as const }, action } });
  const write = (action: string) => ({ config: { access: { permission: 'identities:write' as const }, action } });

  app.get('/api/v1/tokens', read('identities.tokens.list'), async (req) => {
    const { tenant } = principalOf(req);
    return { status: 'success', data: tokens.list(tenant) };
  });

  app.post('/api/v1/tokens', write('identities.token.create'), async (req, reply) => {
    const caller = principalOf(req);
    const body = parseJsonBody(req, TokenBodySchema);
    const tenant = body.tenant ?? caller.tenant;
    if (tenant !== caller.tenant) {
      throw new ApiError('forbidden', `tokens for tenant ${JSON.stringify(tenant)} are created by an admin or security_admin of that tenant (or offline: meshlog token create --tenant ${tenant}); this identity is in ${JSON.stringify(caller.tenant)}`);
    }
    checkGrantable(caller, body.roles, 'roles');
    let scopes: Permission[] | undefined;
    if (body.scopes) {
      const granted = permissionsOfRoles(body.roles);
      const unknown = body.scopes.filter((s) => !Object.hasOwn(PERMISSIONS, s));
      if (unknown.length > 0) throw new ApiError('bad_request', `invalid body: scopes: unknown permission ${unknown.map((s) => JSON.stringify(s)).join(', ')} (permissions: ${Object.keys(PERMISSIONS).join(', ')})`);
      scopes = body.scopes as Permission[];
      const outside = scopes.filter((s) => !granted.has(s));
      if (outside.length > 0) throw new ApiError('bad_request', `invalid body: scopes: ${outside.join(', ')} not granted by the roles ${body.roles.join(', ')} (scopes only narrow the roles)`);
    }
    const expiresAt = expiryOf(body);
    const pending = needsApproval(body.roles);
    const { secret, token } = await tokens.mint({
      description: body.description,
      tenant,
      roles: body.roles,
      ...(scopes ? { scopes } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      createdBy: caller.id,
      ...(pending ? { pendingApproval: true } : {}),
    });
    auditNote(req).change = { object: 'token', id: token.id, before: null, after: token };
    if (!pending) return reply.code(201).send({ status: 'success', data: { ...token, secret }, note: 'the secret is shown once: store it now' });
    const approval = await approvals.request(caller, 'identities.token.activate', `grant ${body.roles.join(', ')} to token ${token.id} (${body.description})`, { token_id: token.id });
    auditNote(req).detail = { approval: approval.id };
    return reply.code(202).send({
      status: 'pending_approval',
      data: { ...token, secret },
      approval,
      note: `the secret is shown once: store it now. It works once a second admin approves ${approval.id} (POST /api/v1/approvals/${approval.id}/approve)`,
    });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', write('identities.token.revoke'), async (req) => {
    const caller = principalOf(req);
    const existing = tokens.get(req.params.id);
    if (!existing || existing.tenant !== caller.tenant) throw new ApiError('not_found', `no token ${JSON.stringify(req.params.id)} in this tenant`);
    const r = tokens.revoke(existing.id, caller.id)!;
    auditNote(req).change = { object: 'token', id: existing.id, before: r.before, after: r.after };
    return { status: 'success', data: r.after satisfies ApiToken };
  });

  app.get('/api/v1/users', read('identities.users.list'), async (req) => {
    const { tenant } = principalOf(req);
    return { status: 'success', data: users.list().filter((u) => u.grants.some((g) => g.tenant === tenant)).map((u) => userInTenant(u, tenant)) };
  });

  app.post('/api/v1/users', write('identities.user.create'), async (req, reply) => {
    const caller = principalOf(req);
    const body = parseJsonBody(req, UserBodySchema);
    const username = body.username.toLowerCase();
    auditNote(req).detail = { username };
    const nameProblem = usernameProblem(username);
    if (nameProblem) throw new ApiError('bad_request', `invalid body: username: ${nameProblem}`);
    const pwProblem = passwordProblem(body.password, opts.passwordMinLength);
    if (pwProblem) throw new ApiError('bad_request', `invalid body: password: ${pwProblem}`);
    checkGrantable(caller, body.roles, 'roles');
    const pending = needsApproval(body.roles);
    let user: User;
    try {
      // A user whose roles wait for approval exists without them (and cannot sign in to this tenant until then).
      user = await users.add({ username, password: body.password, grants: pending ? [] : [{ tenant: caller.tenant, roles: body.roles }], createdBy: caller.id });
    } catch (err) {
      if (err instanceof UserExistsError) throw new ApiError('conflict', `${err.message}; pick another username`);
      throw err;
    }
    const shown = userInTenant(user, caller.tenant);
    auditNote(req).change = { object: 'user', id: user.id, before: null, after: shown };
    if (!pending) return reply.code(201).send({ status: 'success', data: shown });
    const approval = await approvals.request(caller, 'identities.user.grant', `grant ${body.roles.join(', ')} to new user ${username}`, { user_id: user.id, roles: body.roles });
    auditNote(req).detail = { username, approval: approval.id };
    return reply.code(202).send({ status: 'pending_approval', data: shown, approval, note: `the user exists; their roles wait for a second admin's approval (POST /api/v1/approvals/${approval.id}/approve)` });
  });

  /** Sets the roles of a user of this tenant (an empty list removes the grant). */
  app.put<{ Params: { id: string } }>('/api/v1/users/:id/roles', write('identities.user.grant'), async (req, reply) => {
    const caller = principalOf(req);
    const body = parseJsonBody(req, RolesBodySchema);
    const user = users.get(req.params.id);
    // Only users of this tenant: adding another tenant's user here is done offline (meshlog user grant).
    const current = user?.grants.find((g) => g.tenant === caller.tenant)?.roles;
    if (!user || !current) throw new ApiError('not_found', `no user ${JSON.stringify(req.params.id)} in this tenant`);
    checkGrantable(caller, current, `${user.username}'s current roles`);
    checkGrantable(caller, body.roles, 'roles');
    const added = body.roles.filter((r) => !current.includes(r));
    if (needsApproval(added)) {
      const approval = await approvals.request(caller, 'identities.user.grant', `grant ${added.join(', ')} to ${user.username} (roles ${current.join(', ')} → ${body.roles.join(', ') || 'none'})`, { user_id: user.id, roles: body.roles });
      auditNote(req).change = { object: 'approval', id: approval.id, before: null, after: approval };
      return reply.code(202).send({ status: 'pending_approval', data: approval, message: `adding ${added.join(', ')} needs a second admin's approval (POST /api/v1/approvals/${approval.id}/approve)` });
    }
    const r = users.setGrant(user.id, caller.tenant, body.roles, caller.id)!;
    if (body.roles.length === 0) sessions.endAllIn(user.id, caller.tenant);
    auditNote(req).change = { object: 'role_grant', id: `${user.id}/${caller.tenant}`, before: userInTenant(r.before, caller.tenant), after: userInTenant(r.after, caller.tenant) };
    return { status: 'success', data: userInTenant(r.after, caller.tenant) };
  });

  /** Disables the user in this tenant: the grant goes, their sessions here end (a user with no grant left is disabled). */
  app.delete<{ Params: { id: string } }>('/api/v1/users/:id', write('identities.user.disable'), async (req) => {
    const caller = principalOf(req);
    const user = users.get(req.params.id);
    const grant = user?.grants.find((g) => g.tenant === caller.tenant);
    if (!user || !grant) throw new ApiError('not_found', `no user ${JSON.stringify(req.params.id)} in this tenant`);
    checkGrantable(caller, grant.roles, `${user.username}'s roles`);
    const r = users.setGrant(user.id, caller.tenant, [], caller.id)!;
    const ended = sessions.endAllIn(user.id, caller.tenant);
    auditNote(req).change = { object: 'user', id: user.id, before: userInTenant(r.before, caller.tenant), after: userInTenant(r.after, caller.tenant) };
    auditNote(req).detail = { sessions_ended: ended };
    return { status: 'success', data: userInTenant(r.after, caller.tenant) };
  });

  /** Sets a new password for a user of this tenant (a reset); every session of the user ends. */
  app.post<{ Params: { id: string } }>('/api/v1/users/:id/password', write('identities.user.password_reset'), async (req) => {
    const caller = principalOf(req);
    const body = parseJsonBody(req, PasswordResetSchema);
    const user = users.get(req.params.id);
    if (!user || !user.grants.some((g) => g.tenant === caller.tenant)) throw new ApiError('not_found', `no user ${JSON.stringify(req.params.id)} in this tenant`);
    const problem = passwordResetProblem(caller, user);
    if (problem) throw new ApiError('forbidden', problem);
    const pwProblem = passwordProblem(body.password, opts.passwordMinLength);
    if (pwProblem) throw new ApiError('bad_request', `invalid body: password: ${pwProblem}`);
    const after = (await users.setPassword(user.id, body.password))!;
    const ended = sessions.endAllOf(user.id);
    auditNote(req).change = { object: 'user', id: user.id, before: { password_changed_at: user.password_changed_at }, after: { password_changed_at: after.password_changed_at } };
    auditNote(req).detail = { sessions_ended: ended };
    return { status: 'success', data: userInTenant(after, caller.tenant) };
  });
}
