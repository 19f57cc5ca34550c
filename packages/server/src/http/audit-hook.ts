/**
 * One audit record per HTTP request, whatever its outcome: served, refused
 * (401, 403, 429), failed or not found. The record is written in `onSend`,
 * after the handler (so it knows the status, the rows a query returned, the
 * change a call made) and before the answer leaves; `audit.done` makes it
 * exactly one even when an error handler answers after a failed hook.
 *
 * Handlers add what only they know through `auditNote(req)`: the query and
 * its range and counts, the object changed with its before and after.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StoreError } from '@meshlog/store';
import type { AuditChange, AuditQuery, AuditTrail } from '../audit/audit-trail.js';
import { outcomeOfStatus } from '../audit/audit-trail.js';

export interface AuditNote {
  startedAt: bigint;
  timeNs: bigint;
  done: boolean;
  reason?: string;
  query?: AuditQuery;
  change?: AuditChange;
  detail?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    audit: AuditNote;
  }
}

export interface AuditHookOptions {
  trail: AuditTrail;
  /** Tenant of records with no authenticated principal (failed sign-ins, 401s, /ready). */
  operatorTenant: string;
}

/** Request ids are ours (random), never the client's: they key audit records. */
export const genRequestId = (): string => randomUUID();

export function installAuditHook(app: FastifyInstance, opts: AuditHookOptions): void {
  app.decorateRequest('audit', null as unknown as AuditNote);
  app.addHook('onRequest', async (req, reply) => {
    req.audit = { startedAt: process.hrtime.bigint(), timeNs: BigInt(Date.now()) * 1_000_000n, done: false };
    void reply.header('x-request-id', req.id);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    // A request that failed before onRequest ran (a malformed URL) still gets its note here.
    req.audit ??= { startedAt: process.hrtime.bigint(), timeNs: BigInt(Date.now()) * 1_000_000n, done: false };
    if (req.audit.done) return payload;
    req.audit.done = true;
    const status = reply.statusCode;
    const note = req.audit;
    const route = req.routeOptions.url;
    const userAgent = req.headers['user-agent'];
    try {
      await opts.trail.record({
        timeNs: note.timeNs,
        requestId: req.id,
        tenant: req.principal?.tenant ?? opts.operatorTenant,
        action: req.routeOptions.config.action ?? (route ? `${req.method} ${route}` : 'http.unrouted'),
        target: `${req.method} ${route ?? req.url.split('?')[0]}`,
        outcome: outcomeOfStatus(status),
        status,
        actor: req.principal,
        client: { address: req.ip, ...(typeof userAgent === 'string' ? { userAgent } : {}) },
        durationMs: Number(process.hrtime.bigint() - note.startedAt) / 1e6,
        ...(note.reason !== undefined ? { reason: note.reason } : {}),
        ...(note.query ? { query: note.query } : {}),
        ...(note.change ? { change: note.change } : {}),
        ...(note.detail ? { detail: note.detail } : {}),
      });
    } catch (err) {
      // Fail closed: what cannot be audited is not answered as served. The store's message names what is down and carries no secrets.
      const cause = err instanceof StoreError ? `: ${err.message}` : '';
      void reply.code(503).header('retry-after', '5').type('application/json');
      return JSON.stringify({ status: 'error', errorType: 'unavailable', error: `the audit trail cannot be written${cause}, so the call is not answered (request ${req.id}); retry later` });
    }
    return payload;
  });
}

/** What a handler adds to its request's audit record. */
export function auditNote(req: FastifyRequest): AuditNote {
  return req.audit;
}
