/**
 * The authenticated caller of a request or call: who (for the audit trail),
 * in which tenant, with which roles. Every way in (API token, UI session,
 * client certificate) produces one of these, and everything after the
 * authentication step reads only this: the tenant of every read and write
 * comes from here, never from a header or parameter the caller picked.
 */
import { ROLE_PERMISSIONS, type Permission, type Role } from './roles.js';

export interface Principal {
  /** Stable id, the actor in audit records: `tok_…`, `usr_…`, a SPIFFE ID. */
  id: string;
  kind: 'token' | 'user' | 'certificate';
  /** Human-readable name (token description, user name, certificate subject). */
  name: string;
  tenant: string;
  roles: readonly Role[];
  /** A token's scopes narrow its roles' permissions; absent = all of them. */
  scopes?: readonly Permission[];
  /** How the request proved it. */
  method: 'token' | 'session' | 'mtls';
}

export function permissionsOf(p: Principal): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of p.roles) for (const perm of ROLE_PERMISSIONS[r]) out.add(perm);
  if (p.scopes) for (const perm of [...out]) if (!p.scopes.includes(perm)) out.delete(perm);
  return out;
}

export function can(p: Principal, permission: Permission): boolean {
  return permissionsOf(p).has(permission);
}
