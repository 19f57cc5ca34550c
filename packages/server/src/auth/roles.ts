/**
 * Roles and what they may do. A role is a fixed set of permissions; an
 * identity holds roles in one tenant (the tenant its credential is bound
 * to) and every route names the one permission it needs (see
 * http/route-access.ts), so "who may call what" is this table and nothing
 * else. Least privilege: each role has only what its job needs, and the
 * duties an auditor must see separated are held by different roles
 * (ingesters cannot read, viewers cannot see personal fields, security
 * admins manage identities and keys but do not read logs, auditors read
 * everything and change nothing).
 */

export const ROLES = ['admin', 'security_admin', 'auditor', 'analyst', 'ingester', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Every permission, with what it allows (shown in errors and docs/security.md). */
export const PERMISSIONS = {
  'logs:write': 'send logs and spans (every ingest endpoint)',
  'logs:read': 'query logs and traces, list labels and series, tail',
  'logs:read_personal': 'see personal fields unmasked in query results',
  'audit:read': 'read and export the audit trail',
  'metrics:read': "read the server's Prometheus metrics",
  'retention:read': 'list retention policies, legal holds and deletion records',
  'retention:write': 'change retention policies and legal holds, run enforcement (shortening or purging needs a second admin)',
  'identities:read': 'list tokens, users and role grants',
  'identities:write': 'create and revoke tokens and users, grant roles (granting needs a second admin)',
  'keys:manage': 'rotate and retire storage keys (needs a second admin)',
  'approvals:decide': "approve or reject another admin's request",
  'session:self': 'see who you are, sign out',
} as const;
export type Permission = keyof typeof PERMISSIONS;

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: Object.keys(PERMISSIONS) as Permission[],
  security_admin: ['identities:read', 'identities:write', 'keys:manage', 'approvals:decide', 'audit:read', 'metrics:read', 'session:self'],
  auditor: ['logs:read', 'logs:read_personal', 'audit:read', 'metrics:read', 'retention:read', 'identities:read', 'session:self'],
  analyst: ['logs:read', 'logs:read_personal', 'session:self'],
  ingester: ['logs:write', 'session:self'],
  viewer: ['logs:read', 'session:self'],
};

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export function isPermission(s: string): s is Permission {
  return Object.hasOwn(PERMISSIONS, s);
}

/** The roles that grant a permission (for error messages: "needs one of ..."). */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));
}
