/**
 * The retention API: policies, legal holds, enforcement runs and deletion
 * records, under `/api/v1/retention/`.
 *
 * Invariants: reads need `retention:read` (admins, auditors), changes
 * `retention:write` (admins); everything is scoped to the caller's tenant,
 * taken from the principal, never from the request. Bodies are JSON
 * validated by strict schemas: an unknown key or a bad value is a 400 naming
 * the field. Every change is recorded with the principal's id as the actor,
 * in the retention change log and, with before and after, in the audit trail.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_KEEP_DAYS, publicHold, type EnforcementResult, type RetentionService } from '@meshlog/store';
import { ApiError } from './errors.js';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { selectorText } from '../config/server-config.js';
import { nowNs, parseTimeNs } from '../query/time-params.js';

export interface RetentionRouteOptions {
  retention: RetentionService;
  /** `retention.default_keep_days`, shown beside a tenant's policies. */
  defaultKeepDays: number;
  /** Runs one enforcement (instrumented by the caller). */
  enforce: (scope: { tenant: string }) => Promise<EnforcementResult>;
}

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
  const admin = principalOf;
  const read = (action: string) => ({ config: { access: { permission: 'retention:read' as const }, action } });
  const write = (action: string) => ({ config: { access: { permission: 'retention:write' as const }, action } });

  app.get('/api/v1/retention/policies', read('retention.policies.list'), async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: { policies: await retention.policies(tenant), default_keep_days: opts.defaultKeepDays } };
  });

  app.put('/api/v1/retention/policies', write('retention.policy.put'), async (req, reply) => {
    const who = admin(req);
    const body = parseBody(req, PolicyBodySchema);
    const r = await retention.putPolicy(who.tenant, { ...(body.selector !== undefined ? { selector: body.selector } : {}), keep_days: body.keep_days }, who.id);
    auditNote(req).change = { object: 'retention_policy', id: r.policy.id, before: r.before ?? null, after: r.policy };
    return reply.code(r.created ? 201 : 200).send({ status: 'success', data: r.policy, created: r.created, changed: r.changed });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/retention/policies/:id', write('retention.policy.delete'), async (req) => {
    const who = admin(req);
    const removed = await retention.deletePolicy(who.tenant, req.params.id, who.id);
    if (!removed) throw new ApiError('not_found', `no retention policy ${JSON.stringify(req.params.id)} in this tenant`);
    auditNote(req).change = { object: 'retention_policy', id: removed.id, before: removed, after: null };
    return { status: 'success', data: removed };
  });

  app.get('/api/v1/retention/holds', read('retention.holds.list'), async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: (await retention.holds(tenant)).map(publicHold) };
  });

  app.post('/api/v1/retention/holds', write('retention.hold.create'), async (req, reply) => {
    const who = admin(req);
    const body = parseBody(req, HoldBodySchema);
    const fromNs = body.from !== undefined ? parseTimeNs(body.from, 'from') : undefined;
    const toNs = body.to !== undefined ? parseTimeNs(body.to, 'to') : undefined;
    if (fromNs !== undefined && toNs !== undefined && fromNs >= toNs) throw new ApiError('bad_request', 'invalid body: to: must be after from');
    const hold = await retention.createHold(
      who.tenant,
      { ...(body.selector !== undefined ? { selector: body.selector } : {}), ...(fromNs !== undefined ? { fromNs } : {}), ...(toNs !== undefined ? { toNs } : {}), reason: body.reason },
      who.id,
    );
    auditNote(req).change = { object: 'legal_hold', id: hold.id, before: null, after: publicHold(hold) };
    return reply.code(201).send({ status: 'success', data: publicHold(hold) });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/retention/holds/:id', write('retention.hold.release'), async (req) => {
    const who = admin(req);
    const released = await retention.releaseHold(who.tenant, req.params.id, who.id);
    if (!released) throw new ApiError('not_found', `no active legal hold ${JSON.stringify(req.params.id)} in this tenant`);
    auditNote(req).change = { object: 'legal_hold', id: released.id, before: { released: false }, after: publicHold(released) };
    return { status: 'success', data: publicHold(released) };
  });

  app.post('/api/v1/retention/enforce', write('retention.enforce'), async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: await opts.enforce({ tenant }) };
  });

  app.get('/api/v1/retention/deletions', read('retention.deletions.list'), async (req) => {
    const { tenant } = admin(req);
    const q = req.query as Record<string, string | undefined>;
    const fromMs = q['from'] !== undefined ? Number(parseTimeNs(q['from'], 'from') / 1_000_000n) : undefined;
    const toMs = q['to'] !== undefined ? Number(parseTimeNs(q['to'], 'to') / 1_000_000n) : Number(nowNs() / 1_000_000n) + 1;
    if (fromMs !== undefined && fromMs > toMs) throw new ApiError('bad_request', 'invalid time range: from is after to');
    return { status: 'success', data: await retention.deletions(tenant, { ...(fromMs !== undefined ? { fromMs } : {}), toMs }) };
  });

  app.get('/api/v1/retention/changes', read('retention.changes.list'), async (req) => {
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
