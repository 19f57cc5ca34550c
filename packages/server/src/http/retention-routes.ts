/**
 * The retention API: policies, legal holds, enforcement runs and deletion
 * records, under `/api/v1/retention/`.
 *
 * Invariants: every route is authenticated (the auth hook) and, for now,
 * needs the `admin` role (the Security issue refines roles and adds
 * second-admin approval); everything is scoped to the caller's tenant, taken
 * from the identity, never from the request. Bodies are JSON validated by
 * strict schemas: an unknown key or a bad value is a 400 naming the field.
 * Every change is recorded with the caller's token id as the actor.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_KEEP_DAYS, publicHold, type EnforcementResult, type RetentionService } from '@meshlog/store';
import { ApiError } from './errors.js';
import { identityOf } from './auth-hook.js';
import type { Identity } from '../auth/token-store.js';
import { selectorText } from '../config/server-config.js';
import { nowNs, parseTimeNs } from '../query/time-params.js';

export interface RetentionRouteOptions {
  retention: RetentionService;
  /** `retention.default_keep_days`, shown beside a tenant's policies. */
  defaultKeepDays: number;
  /** Runs one enforcement (instrumented by the caller). */
  enforce: (scope: { tenant: string }) => Promise<EnforcementResult>;
}

/** The role these routes need until the Security issue refines roles. */
export const RETENTION_ROLE = 'admin';

const timeText = z.string().superRefine((text, ctx) => {
  try {
    parseTimeNs(text, 'time');
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid time ${JSON.stringify(text)} (use RFC 3339, Unix seconds or Unix nanoseconds)` });
  }
});

export const PolicyBodySchema = z
  .object({
    /** Absent = the tenant's default policy. */
    selector: selectorText.optional(),
    keep_days: z.number().int().min(0).max(MAX_KEEP_DAYS),
  })
  .strict();

export const HoldBodySchema = z
  .object({
    selector: selectorText.optional(),
    from: timeText.optional(),
    to: timeText.optional(),
    reason: z.string().trim().min(1).max(2000),
  })
  .strict();

export function registerRetentionRoutes(app: FastifyInstance, opts: RetentionRouteOptions): void {
  const { retention } = opts;
  const admin = (req: FastifyRequest): Identity => {
    const identity = identityOf(req);
    if (!identity.roles.includes(RETENTION_ROLE)) throw new ApiError('forbidden', `retention needs the "${RETENTION_ROLE}" role; this token has ${JSON.stringify(identity.roles)}`);
    return identity;
  };

  app.get('/api/v1/retention/policies', async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: { policies: await retention.policies(tenant), default_keep_days: opts.defaultKeepDays } };
  });

  app.put('/api/v1/retention/policies', async (req, reply) => {
    const who = admin(req);
    const body = parseBody(req, PolicyBodySchema);
    const r = await retention.putPolicy(who.tenant, { ...(body.selector !== undefined ? { selector: body.selector } : {}), keep_days: body.keep_days }, who.tokenId);
    return reply.code(r.created ? 201 : 200).send({ status: 'success', data: r.policy, created: r.created, changed: r.changed });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/retention/policies/:id', async (req) => {
    const who = admin(req);
    const removed = await retention.deletePolicy(who.tenant, req.params.id, who.tokenId);
    if (!removed) throw new ApiError('not_found', `no retention policy ${JSON.stringify(req.params.id)} in this tenant`);
    return { status: 'success', data: removed };
  });

  app.get('/api/v1/retention/holds', async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: (await retention.holds(tenant)).map(publicHold) };
  });

  app.post('/api/v1/retention/holds', async (req, reply) => {
    const who = admin(req);
    const body = parseBody(req, HoldBodySchema);
    const fromNs = body.from !== undefined ? parseTimeNs(body.from, 'from') : undefined;
    const toNs = body.to !== undefined ? parseTimeNs(body.to, 'to') : undefined;
    if (fromNs !== undefined && toNs !== undefined && fromNs >= toNs) throw new ApiError('bad_request', 'invalid body: to: must be after from');
    const hold = await retention.createHold(
      who.tenant,
      { ...(body.selector !== undefined ? { selector: body.selector } : {}), ...(fromNs !== undefined ? { fromNs } : {}), ...(toNs !== undefined ? { toNs } : {}), reason: body.reason },
      who.tokenId,
    );
    return reply.code(201).send({ status: 'success', data: publicHold(hold) });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/retention/holds/:id', async (req) => {
    const who = admin(req);
    const released = await retention.releaseHold(who.tenant, req.params.id, who.tokenId);
    if (!released) throw new ApiError('not_found', `no active legal hold ${JSON.stringify(req.params.id)} in this tenant`);
    return { status: 'success', data: publicHold(released) };
  });

  app.post('/api/v1/retention/enforce', async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: await opts.enforce({ tenant }) };
  });

  app.get('/api/v1/retention/deletions', async (req) => {
    const { tenant } = admin(req);
    const q = req.query as Record<string, string | undefined>;
    const fromMs = q['from'] !== undefined ? Number(parseTimeNs(q['from'], 'from') / 1_000_000n) : undefined;
    const toMs = q['to'] !== undefined ? Number(parseTimeNs(q['to'], 'to') / 1_000_000n) : Number(nowNs() / 1_000_000n) + 1;
    if (fromMs !== undefined && fromMs > toMs) throw new ApiError('bad_request', 'invalid time range: from is after to');
    return { status: 'success', data: await retention.deletions(tenant, { ...(fromMs !== undefined ? { fromMs } : {}), toMs }) };
  });

  app.get('/api/v1/retention/changes', async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: await retention.changes(tenant) };
  });
}

/** A JSON body validated by a strict schema; a 400 names the field on failure. */
function parseBody<T>(req: FastifyRequest, schema: z.ZodType<T>): T {
  const raw = req.body;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError('bad_request', `request body is not valid JSON: ${(err as Error).message}`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') throw new ApiError('bad_request', `invalid body: unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`);
  throw new ApiError('bad_request', `invalid body: ${path || '<root>'}: ${issue.message}`);
}
