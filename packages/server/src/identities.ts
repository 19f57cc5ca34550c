/**
 * `@meshlog/server/identities`: the identity stores (API tokens, users,
 * sessions) without the rest of the server, for the offline CLI
 * (`meshlog token|user`), which must not load the store engine.
 */
export { TokenStore, type ApiToken, type TokenSpec } from './auth/token-store.js';
export { UserStore, UserExistsError, usernameProblem, passwordProblem, type User, type Grant } from './auth/user-store.js';
export { SessionStore } from './auth/session-store.js';
export { StateFileError } from './auth/state-file.js';
export { ROLES, PERMISSIONS, ROLE_PERMISSIONS, isRole, isPermission, type Role, type Permission } from './auth/roles.js';
export { permissionsOfRoles } from './auth/delegation.js';
