/**
 * The approvals API (segregation of duties), under `/api/v1/approvals`:
 * list and read requests (admins, security admins, auditors), approve or
 * reject one (a second admin). Requests are created by the routes whose
 * actions need them (retention cuts, purges, hold releases…), which answer
 * 202 with the pending request. Each decision's audit record carries the
 * request before and after.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApprovalStatus } from '@meshlog/store';
import type { ApprovalService } from '../approvals/approval-service.js';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { ApiError } from './errors.js';
import { parseJsonBody } from './json-body.js';

const DecisionBody = z.object({ note: z.string().trim().max(2000).optional() }).strict();
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed'];

export function registerApprovalRoutes(app: FastifyInstance, approvals: ApprovalService): void {
  app.get('/api/v1/approvals', { config: { access: { permission: 'identities:read' }, action: 'approvals.list' } }, async (req) => {
    const status = (req.query as Record<string, string | undefined>)['status'];
    if (status !== undefined && !STATUSES.includes(status as ApprovalStatus)) throw new ApiError('bad_request', `invalid status ${JSON.stringify(status)}: use one of ${STATUSES.join(', ')}`);
    return { status: 'success', data: await approvals.list(principalOf(req).tenant, status as ApprovalStatus | undefined) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/approvals/:id', { config: { access: { permission: 'identities:read' }, action: 'approvals.get' } }, async (req) => {
    return { status: 'success', data: await approvals.get(principalOf(req), req.params.id) };
  });

  app.post<{ Params: { id: string } }>('/api/v1/approvals/:id/approve', { config: { access: { permission: 'approvals:decide' }, action: 'approvals.approve' } }, async (req) => {
    const body = req.body && (req.body as Buffer).length > 0 ? parseJsonBody(req, DecisionBody) : {};
    const { before, after } = await approvals.approve(principalOf(req), req.params.id, body.note);
    auditNote(req).change = { object: 'approval', id: after.id, before, after };
    return { status: 'success', data: after };
  });

  app.post<{ Params: { id: string } }>('/api/v1/approvals/:id/reject', { config: { access: { permission: 'approvals:decide' }, action: 'approvals.reject' } }, async (req) => {
    const body = req.body && (req.body as Buffer).length > 0 ? parseJsonBody(req, DecisionBody) : {};
    const { before, after } = await approvals.reject(principalOf(req), req.params.id, body.note);
    auditNote(req).change = { object: 'approval', id: after.id, before, after };
    return { status: 'success', data: after };
  });
}
