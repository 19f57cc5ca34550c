/**
 * Every HTTP route declares who may call it, in its route config:
 * `access: { public: true }` (only `/ready` and the sign-in routes, whose
 * callers cannot be signed in yet; they are audited all the same) or
 * `access: { permission }`,
 * and names the action its audit records carry. A route registered without
 * an `access` rule makes the server fail to start: a new endpoint cannot
 * ship unguarded by accident. The collected table is what the permission
 * matrix test walks, so an endpoint without a test row fails that test too.
 */
import type { FastifyInstance } from 'fastify';
import type { Permission } from '../auth/roles.js';

export type RouteAccess = { public: true } | { permission: Permission };

export interface RouteRule {
  method: string;
  url: string;
  access: RouteAccess;
  /** The audit action, e.g. `logs.query`. */
  action: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** Audit action name; default `<method> <url>`. */
    action?: string;
  }
}

/** Installs the registration check; returns the (live) table of every route and its rule. */
export function installRouteAccess(app: FastifyInstance): RouteRule[] {
  const table: RouteRule[] = [];
  app.addHook('onRoute', (route) => {
    const config = route.config as { access?: RouteAccess; action?: string } | undefined;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const access = config?.access;
    if (!access) throw new Error(`route ${methods.join(',')} ${route.url} declares no access rule (config.access: { permission } or { public: true })`);
    for (const method of methods) {
      if (method === 'HEAD' && route.exposeHeadRoute === undefined && table.some((r) => r.method === 'GET' && r.url === route.url)) continue;
      table.push({ method, url: route.url, access, action: config.action ?? `${method} ${route.url}` });
    }
  });
  return table;
}
