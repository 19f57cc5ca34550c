/**
 * What one identity may hand to another: nobody grants more than they
 * hold. A role may be granted (to a token or a user) only by a caller who
 * holds every permission of that role, in the caller's own tenant; a user
 * may be managed (password reset, grant changed or removed) only by a caller
 * who could have granted every role the user holds, and a password reset
 * also needs every grant of the user to be in the caller's tenant (else it
 * would hand over access to other tenants).
 */
import { permissionsOf, type Principal } from './principal.js';
import { ROLE_PERMISSIONS, type Permission, type Role } from './roles.js';
import type { User } from './user-store.js';

/** The roles among `roles` the caller may not grant (they carry a permission the caller lacks). */
export function rolesBeyond(caller: Principal, roles: readonly Role[]): Role[] {
  const held = permissionsOf(caller);
  return roles.filter((r) => ROLE_PERMISSIONS[r].some((p) => !held.has(p)));
}

export function permissionsOfRoles(roles: readonly Role[]): Set<Permission> {
  return new Set(roles.flatMap((r) => ROLE_PERMISSIONS[r]));
}

/** Why the caller may not reset this user's password, or undefined. */
export function passwordResetProblem(caller: Principal, user: User): string | undefined {
  if (user.grants.some((g) => g.tenant !== caller.tenant)) return `${user.username} also holds roles in other tenants; their password is reset offline (meshlog user passwd) or by the user`;
  const beyond = rolesBeyond(
    caller,
    user.grants.flatMap((g) => g.roles),
  );
  if (beyond.length > 0) return `${user.username} holds roles with permissions this identity lacks (${beyond.join(', ')}); only an identity holding them may reset the password`;
  return undefined;
}
