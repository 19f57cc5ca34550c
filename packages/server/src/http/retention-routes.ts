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
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MAX_KEEP_DAYS, policyIdOf, publicHold, type EnforcementResult, type RetentionService } from '@meshlog/store';
import { ApiError } from './errors.js';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { parseJsonBody } from './json-body.js';
import { selectorText } from '../config/server-config.js';
import { nowNs, parseTimeNs } from '../query/time-params.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { Principal } from '../auth/principal.js';

export interface RetentionRouteOptions {
  retention: RetentionService;
  /** Shortening retention, deleting a policy that shortens it, releasing a hold and purging go through a second admin. */
  approvals: ApprovalService;
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

type PolicyBody = z.infer<typeof PolicyBodySchema>;

export const HoldBodySchema = z
  .object({
    selector: selectorText.optional(),
    from: timeText.optional(),
    to: timeText.optional(),
    reason: z.string().trim().min(1).max(2000),
  })
  .strict();

export const PurgeBodySchema = z
  .object({
    selector: selectorText,
    from: timeText,
    to: timeText,
    reason: z.string().trim().min(1).max(2000),
  })
  .strict();

/** Who did an approved change: the requester, with the approver beside them in the change log. */
const approvedActor = (ctx: { requestedBy: string; approvedBy: string }): string => `${ctx.requestedBy} (approved by ${ctx.approvedBy})`;

/** keep_days `next` keeps less than `current` (0 = forever). */
export function shortens(next: number, current: number): boolean {
  return next !== 0 && (current === 0 || next < current);
}

export function registerRetentionRoutes(app: FastifyInstance, opts: RetentionRouteOptions): void {
  const { retention, approvals } = opts;
  const admin = principalOf;
  const read = (action: string) => ({ config: { access: { permission: 'retention:read' as const }, action } });
  const write = (action: string) => ({ config: { access: { permission: 'retention:write' as const }, action } });

  approvals.register({
    kind: 'retention.policy.put',
    permission: 'retention:write',
    execute: async (payload, ctx) => (await retention.putPolicy(ctx.tenant, payload as PolicyBody, approvedActor(ctx))).policy,
  });
  approvals.register({
    kind: 'retention.policy.delete',
    permission: 'retention:write',
    execute: async (payload, ctx) => {
      const removed = await retention.deletePolicy(ctx.tenant, (payload as { id: string }).id, approvedActor(ctx));
      if (!removed) throw new Error('the policy no longer exists');
      return removed;
    },
  });
  approvals.register({
    kind: 'retention.hold.release',
    permission: 'retention:write',
    execute: async (payload, ctx) => {
      const released = await retention.releaseHold(ctx.tenant, (payload as { id: string }).id, approvedActor(ctx));
      if (!released) throw new Error('the hold is no longer active');
      return publicHold(released);
    },
  });
  approvals.register({
    kind: 'retention.purge',
    permission: 'retention:write',
    execute: async (payload, ctx) => {
      const p = payload as { selector: string; from_ns: string; to_ns: string };
      return retention.purge({ tenant: ctx.tenant, selector: p.selector, fromNs: BigInt(p.from_ns), toNs: BigInt(p.to_ns), actor: ctx.requestedBy, approvedBy: ctx.approvedBy });
    },
  });

  /** keep_days that governs `selector` now (its own policy, else the tenant default, else the server default). */
  const effectiveKeepDays = async (tenant: string, selectorId: string | undefined): Promise<number> => {
    const policies = await retention.policies(tenant);
    const own = selectorId !== undefined ? policies.find((p) => p.id === selectorId) : undefined;
    if (own) return own.keep_days;
    return policies.find((p) => p.selector === undefined)?.keep_days ?? opts.defaultKeepDays;
  };
  const pendingReply = async (who: Principal, kind: string, summary: string, payload: unknown, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const approval = await approvals.request(who, kind, summary, payload);
    auditNote(req).change = { object: 'approval', id: approval.id, before: null, after: approval };
    return reply.code(202).send({ status: 'pending_approval', data: approval, message: `${summary}: needs a second admin's approval (POST /api/v1/approvals/${approval.id}/approve)` });
  };

  app.get('/api/v1/retention/policies', read('retention.policies.list'), async (req) => {
    const { tenant } = admin(req);
    return { status: 'success', data: { policies: await retention.policies(tenant), default_keep_days: opts.defaultKeepDays } };
  });

  app.put('/api/v1/retention/policies', write('retention.policy.put'), async (req, reply) => {
    const who = admin(req);
    const body = parseJsonBody(req, PolicyBodySchema);
    const id = policyIdOf(who.tenant, body.selector);
    const current = await effectiveKeepDays(who.tenant, id);
    if (shortens(body.keep_days, current)) {
      const what = body.selector ? `retention of ${body.selector}` : 'default retention';
      return pendingReply(who, 'retention.policy.put', `shorten ${what} from ${current || 'forever'} to ${body.keep_days} days`, body, req, reply);
    }
    const r = await retention.putPolicy(who.tenant, { ...(body.selector !== undefined ? { selector: body.selector } : {}), keep_days: body.keep_days }, who.id);
    auditNote(req).change = { object: 'retention_policy', id: r.policy.id, before: r.before ?? null, after: r.policy };
    return reply.code(r.created ? 201 : 200).send({ status: 'success', data: r.policy, created: r.created, changed: r.changed });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/retention/policies/:id', write('retention.policy.delete'), async (req, reply) => {
    const who = admin(req);
    const policy = (await retention.policies(who.tenant)).find((p) => p.id === req.params.id);
    if (!policy) throw new ApiError('not_found', `no retention policy ${JSON.stringify(req.params.id)} in this tenant`);
    // Without it, its streams fall back to the tenant default (or, for the default itself, the server's).
    const fallback = policy.selector === undefined ? opts.defaultKeepDays : await effectiveKeepDays(who.tenant, undefined);
    if (shortens(fallback, policy.keep_days)) {
      const what = policy.selector ? `the policy for ${policy.selector}` : "the tenant's default policy";
      return pendingReply(who, 'retention.policy.delete', `delete ${what} (${policy.keep_days || 'forever'} days; ${fallback} days after)`, { id: policy.id }, req, reply);
    }
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
    const body = parseJsonBody(req, HoldBodySchema);
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

  // Releasing a hold lets retention delete what it protected: a second admin approves it.
  app.delete<{ Params: { id: string } }>('/api/v1/retention/holds/:id', write('retention.hold.release'), async (req, reply) => {
    const who = admin(req);
    const hold = (await retention.holds(who.tenant)).find((h) => h.id === req.params.id);
    if (!hold) throw new ApiError('not_found', `no active legal hold ${JSON.stringify(req.params.id)} in this tenant`);
    return pendingReply(who, 'retention.hold.release', `release legal hold ${hold.id} (${hold.reason})`, { id: hold.id }, req, reply);
  });

  app.post('/api/v1/retention/purge', write('retention.purge'), async (req, reply) => {
    const who = admin(req);
    const body = parseJsonBody(req, PurgeBodySchema);
    const fromNs = parseTimeNs(body.from, 'from');
    const toNs = parseTimeNs(body.to, 'to');
    if (fromNs >= toNs) throw new ApiError('bad_request', 'invalid body: to: must be after from');
    return pendingReply(
      who,
      'retention.purge',
      `purge ${body.selector} from ${body.from} to ${body.to} (${body.reason})`,
      { selector: body.selector, from_ns: fromNs.toString(), to_ns: toNs.toString(), reason: body.reason },
      req,
      reply,
    );
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
