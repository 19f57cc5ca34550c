/** @meshlog/server: the server role (`meshlog server`). */
export { startServer, type RunningServer } from './server.js';
export { loadServerConfig, encryptionSetting, defaultPipeline, type ServerConfig, type ServerFlags } from './config/server-config.js';
export { StorageEncryptionError, type EncryptionStatus } from '@meshlog/store';
export { serverRegistry } from './registry.js';
export { ERRORS, ApiError, type ErrorCode } from './http/errors.js';
export { TokenStore } from './auth/token-store.js';
export { UserStore } from './auth/user-store.js';
export { AuthConfigError } from './auth/auth-config.js';
export { ROLES, PERMISSIONS, ROLE_PERMISSIONS, rolesWith, type Role, type Permission } from './auth/roles.js';
export type { Principal } from './auth/principal.js';
export type { RouteRule, RouteAccess } from './http/route-access.js';
