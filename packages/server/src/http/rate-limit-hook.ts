/**
 * Applies the rate limits and quotas (`limits.rate`) to HTTP requests:
 *
 * - before authentication: an address with too many recent failed
 *   authentications gets 429 without its credentials being checked
 *   (guessing tokens or passwords gets slow); each 401 costs it a token;
 * - after authentication and body parsing (preHandler): one token from the
 *   identity's bucket and one from its tenant's, and for ingest routes the
 *   body's bytes from the tenant's ingest quota.
 *
 * `/ready` is exempt (health probes must not be starved by traffic).
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import type { BucketSpec, RateLimiter } from '../limits/rate-limiter.js';

export interface RateLimits {
  perIdentity: BucketSpec;
  perTenant: BucketSpec;
  ingestBytesPerTenant: BucketSpec;
  authFailuresPerAddress: BucketSpec;
}

export function installRateLimits(app: FastifyInstance, limiter: RateLimiter, limits: RateLimits): void {
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (!access || 'public' in access) return;
    const wait = limiter.wait(`authfail:${req.ip}`, limits.authFailuresPerAddress);
    if (wait > 0) throw limited(wait, `too many failed authentications from ${req.ip}`);
  });
  app.addHook('preHandler', async (req) => {
    const p = req.principal;
    if (!p) return;
    const ingest = req.routeOptions.config.access && 'permission' in req.routeOptions.config.access && req.routeOptions.config.access.permission === 'logs:write';
    const bytes = ingest && Buffer.isBuffer(req.body) ? req.body.length : 0;
    const wait = limiter.take([
      { key: `identity:${p.id}`, spec: limits.perIdentity },
      { key: `tenant:${p.tenant}`, spec: limits.perTenant },
      ...(bytes > 0 ? [{ key: `bytes:${p.tenant}`, spec: limits.ingestBytesPerTenant, cost: bytes }] : []),
    ]);
    if (wait > 0) throw limited(wait, `identity ${p.id} or tenant ${p.tenant} is over its request rate${bytes > 0 ? ' or ingest quota' : ''} (limits.rate)`);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401) limiter.take([{ key: `authfail:${req.ip}`, spec: limits.authFailuresPerAddress }]);
  });
}

function limited(waitSeconds: number, why: string): ApiError {
  const retryAfter = Math.max(1, Math.ceil(waitSeconds));
  return new ApiError('rate_limited', `${why}; retry after ${retryAfter} s`, { retryAfterSeconds: retryAfter });
}

/** `limits.rate` from the config file, as bucket specs (MiB → bytes). */
export function rateLimitsOf(rate: {
  per_identity: { per_second: number; burst: number };
  per_tenant: { per_second: number; burst: number };
  ingest_mib_per_tenant: { per_second: number; burst: number };
  auth_failures_per_address: { per_second: number; burst: number };
}): RateLimits {
  const spec = (b: { per_second: number; burst: number }, scale = 1): BucketSpec => ({ ratePerSecond: b.per_second * scale, burst: b.burst * scale });
  return {
    perIdentity: spec(rate.per_identity),
    perTenant: spec(rate.per_tenant),
    ingestBytesPerTenant: spec(rate.ingest_mib_per_tenant, 2 ** 20),
    authFailuresPerAddress: spec(rate.auth_failures_per_address),
  };
}
