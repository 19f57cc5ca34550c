/**
 * Segregation of duties: actions that destroy evidence or widen access
 * (shortening retention, purging data, releasing a legal hold, rotating or
 * retiring keys, granting roles) are not executed by the admin who asks
 * for them. They become a request that a *second* admin approves; approval
 * executes it. Request → approve (or reject, or let it expire) → execute,
 * each step by a named principal, each step in the audit trail (the routes
 * note the change), and the request's whole history kept in the store.
 *
 * Rules:
 * - nobody approves their own request (same principal id), whatever roles
 *   they hold;
 * - the approver needs `approvals:decide` *and* the permission the action
 *   itself needs (a security admin cannot approve a purge);
 * - requests are per tenant: an admin of another tenant cannot see or
 *   decide them;
 * - a pending request expires after `ttlMs` (default 72 h);
 * - decisions are serialized, so two approvers racing execute it once.
 *   (Across several servers of a cluster this is best effort: the second
 *   decision sees the first's version unless both read before either
 *   wrote.)
 */
import type { Logger } from '@meshlog/core';
import type { Approval, ApprovalCatalog, ApprovalStatus } from '@meshlog/store';
import type { Principal } from '../auth/principal.js';
import { can } from '../auth/principal.js';
import type { Permission } from '../auth/roles.js';
import { ApiError } from '../http/errors.js';

/** One kind of action that needs a second admin. */
export interface ApprovalKind {
  kind: string;
  /** The permission both the requester and the approver must hold. */
  permission: Permission;
  /** Runs the approved action; what it returns is stored as the request's result. */
  execute(payload: unknown, ctx: { tenant: string; requestedBy: string; approvedBy: string }): Promise<unknown>;
}

export const DEFAULT_APPROVAL_TTL_MS = 72 * 3600_000;

export class ApprovalService {
  private readonly kinds = new Map<string, ApprovalKind>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly catalog: ApprovalCatalog,
    private readonly opts: { ttlMs?: number; logger: Logger; now?: () => number },
  ) {}

  register(kind: ApprovalKind): void {
    if (this.kinds.has(kind.kind)) throw new Error(`approval kind ${kind.kind} registered twice`);
    this.kinds.set(kind.kind, kind);
  }

  /** Records a request; nothing is executed until another admin approves. */
  async request(by: Principal, kind: string, summary: string, payload: unknown): Promise<Approval> {
    const k = this.kindOf(kind);
    if (!can(by, k.permission)) throw new ApiError('forbidden', `requesting ${kind} needs the "${k.permission}" permission`);
    const approval = await this.catalog.create({ tenant: by.tenant, kind, summary, payload, requestedBy: by.id, ttlMs: this.opts.ttlMs ?? DEFAULT_APPROVAL_TTL_MS });
    this.opts.logger.info('approval requested', { id: approval.id, tenant: approval.tenant, kind, requestedBy: by.id });
    return approval;
  }

  list(tenant: string, status?: ApprovalStatus): Promise<Approval[]> {
    return this.catalog.list(tenant, status);
  }

  async get(by: Principal, id: string): Promise<Approval> {
    const a = await this.catalog.get(by.tenant, id);
    if (!a) throw new ApiError('not_found', `no approval request ${JSON.stringify(id)} in this tenant`);
    return a;
  }

  /** Approves and executes; returns the request before and after. */
  approve(by: Principal, id: string, note?: string): Promise<{ before: Approval; after: Approval }> {
    return this.serialize(async () => {
      const before = await this.pending(by, id);
      if (before.requested_by === by.id) {
        throw new ApiError('forbidden', `nobody approves their own request: ${id} was requested by ${by.id}; another admin must approve it`);
      }
      const k = this.kindOf(before.kind);
      if (!can(by, 'approvals:decide') || !can(by, k.permission)) {
        throw new ApiError('forbidden', `approving ${before.kind} needs the "approvals:decide" and "${k.permission}" permissions`);
      }
      const decided = await this.catalog.update(before, { status: 'approved', decided_by: by.id, decided_at: this.nowIso(), ...(note ? { note } : {}) });
      let after: Approval;
      try {
        const result = await k.execute(before.payload, { tenant: before.tenant, requestedBy: before.requested_by, approvedBy: by.id });
        after = await this.catalog.update(decided, { status: 'executed', result: result ?? null });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        after = await this.catalog.update(decided, { status: 'failed', result: { error: message } });
        this.opts.logger.error('approved action failed', { id, kind: before.kind, error: message });
      }
      this.opts.logger.info('approval decided', { id, kind: before.kind, status: after.status, requestedBy: before.requested_by, approvedBy: by.id });
      return { before, after };
    });
  }

  reject(by: Principal, id: string, note?: string): Promise<{ before: Approval; after: Approval }> {
    return this.serialize(async () => {
      const before = await this.pending(by, id);
      const k = this.kindOf(before.kind);
      // The requester may withdraw their own request; anyone else also needs the action's own permission.
      if (before.requested_by !== by.id && (!can(by, 'approvals:decide') || !can(by, k.permission))) {
        throw new ApiError('forbidden', `rejecting ${before.kind} needs the "approvals:decide" and "${k.permission}" permissions`);
      }
      const after = await this.catalog.update(before, { status: 'rejected', decided_by: by.id, decided_at: this.nowIso(), ...(note ? { note } : {}) });
      return { before, after };
    });
  }

  /** The request if it can still be decided; marks it expired (and refuses) when its time is up. */
  private async pending(by: Principal, id: string): Promise<Approval> {
    const a = await this.get(by, id);
    if (a.status === 'pending' && Date.parse(a.expires_at) <= this.now()) {
      await this.catalog.update(a, { status: 'expired' });
      throw new ApiError('conflict', `approval request ${id} expired at ${a.expires_at}; request it again`);
    }
    if (a.status !== 'pending') throw new ApiError('conflict', `approval request ${id} is already ${a.status}${a.decided_by ? ` (by ${a.decided_by})` : ''}`);
    return a;
  }

  private kindOf(kind: string): ApprovalKind {
    const k = this.kinds.get(kind);
    if (!k) throw new Error(`unknown approval kind ${kind}`);
    return k;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => undefined).then(fn);
    this.queue = next;
    return next;
  }
}
