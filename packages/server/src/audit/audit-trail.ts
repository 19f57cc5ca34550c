/**
 * The audit trail writer. Every authenticated call (and every refused one),
 * every sign-in and every change to identities, roles, policies and keys
 * becomes one audit record, appended durably to the store's `audit_log`
 * table before the call's answer leaves (fail closed: a call whose record
 * cannot be written is answered 503, not served unaudited).
 *
 * Records written in the same tick share one store append (group commit),
 * so auditing costs one WAL fsync per burst, not per call.
 *
 * An audit record is a log record, so LogQL reads it
 * (`{meshlog_stream="audit", outcome="denied"}`):
 *
 *   stream labels  meshlog_stream="audit", service_name="meshlog",
 *                  action="<action>", outcome="<outcome>"
 *   body           the event as one JSON object (below), for `| json`
 *   attributes     actor.id, client.address, request.id (structured metadata)
 *   severity       INFO (success), WARN (denied, unauthenticated, failure), ERROR (error)
 *
 *   event: { time, request_id, tenant, action, target, outcome, status,
 *            actor: { id, kind, name, roles, method } | null,
 *            client: { address, user_agent }, duration_ms,
 *            reason?, query?: { text, start, end, rows, bytes },
 *            change?: { object, id, before, after }, detail? }
 */
import type { LogBatch, LogRecord, Logger } from '@meshlog/core';
import { LOKI_LABEL_PREFIX } from '@meshlog/core';
import { AUDIT_STREAM_LABEL, AUDIT_STREAM_VALUE, type LogStore } from '@meshlog/store';
import type { Principal } from '../auth/principal.js';

export type AuditOutcome = 'success' | 'unauthenticated' | 'denied' | 'failure' | 'error';

export interface AuditQuery {
  text: string;
  /** RFC 3339. */
  start: string;
  end: string;
  rows: number;
  bytes: number;
}

export interface AuditChange {
  /** What kind of object changed: `retention_policy`, `token`, `role_grant`, `storage_key` … */
  object: string;
  id: string;
  before: unknown;
  after: unknown;
}

export interface AuditEvent {
  timeNs: bigint;
  requestId: string;
  /** The principal's tenant; the operator tenant for unauthenticated calls. */
  tenant: string;
  action: string;
  /** `METHOD /route` or a gRPC method path. */
  target: string;
  outcome: AuditOutcome;
  /** HTTP status or gRPC status name. */
  status: number | string;
  actor: Principal | undefined;
  client: { address: string; userAgent?: string };
  durationMs: number;
  reason?: string;
  query?: AuditQuery;
  change?: AuditChange;
  detail?: Record<string, unknown>;
}

const SEVERITY: Record<AuditOutcome, [number, string]> = {
  success: [9, 'INFO'],
  unauthenticated: [13, 'WARN'],
  denied: [13, 'WARN'],
  failure: [13, 'WARN'],
  error: [17, 'ERROR'],
};

export class AuditTrail {
  private pending: { record: LogRecord; tenant: string }[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Pick<LogStore, 'insertAudit'>,
    private readonly logger: Logger,
  ) {}

  /** Appends one event; resolves when it is durable. */
  record(event: AuditEvent): Promise<void> {
    this.pending.push({ record: toRecord(event), tenant: event.tenant });
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    return done;
  }

  private async flush(): Promise<void> {
    const pending = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    this.scheduled = false;
    const byTenant = new Map<string, LogRecord[]>();
    for (const p of pending) {
      const list = byTenant.get(p.tenant);
      if (list) list.push(p.record);
      else byTenant.set(p.tenant, [p.record]);
    }
    const batches: LogBatch[] = [...byTenant].map(([tenant, records]) => ({ kind: 'logs', tenant, source: 'audit', records }));
    try {
      await this.store.insertAudit(batches);
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.logger.error('audit trail write failed; the calls it records are refused', { records: pending.length, error: err instanceof Error ? err.message : String(err) });
      for (const w of waiters) w.reject(err);
    }
  }
}

function toRecord(e: AuditEvent): LogRecord {
  const [severityNumber, severityText] = SEVERITY[e.outcome];
  const body = {
    time: isoOfNs(e.timeNs),
    request_id: e.requestId,
    tenant: e.tenant,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    status: e.status,
    actor: e.actor ? { id: e.actor.id, kind: e.actor.kind, name: e.actor.name, roles: e.actor.roles, method: e.actor.method } : null,
    client: { address: e.client.address, ...(e.client.userAgent ? { user_agent: e.client.userAgent } : {}) },
    duration_ms: Math.round(e.durationMs * 1000) / 1000,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.query ? { query: e.query } : {}),
    ...(e.change ? { change: e.change } : {}),
    ...(e.detail ? { detail: e.detail } : {}),
  };
  return {
    timeUnixNano: e.timeNs,
    observedTimeUnixNano: e.timeNs,
    severityNumber,
    severityText,
    body: JSON.stringify(body),
    attributes: { 'actor.id': e.actor?.id ?? '', 'client.address': e.client.address, 'request.id': e.requestId },
    resource: {
      'service.name': 'meshlog',
      [LOKI_LABEL_PREFIX + AUDIT_STREAM_LABEL]: AUDIT_STREAM_VALUE,
      [LOKI_LABEL_PREFIX + 'action']: e.action,
      [LOKI_LABEL_PREFIX + 'outcome']: e.outcome,
    },
    scopeName: 'meshlog.audit',
    scopeVersion: '',
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

export function isoOfNs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** The outcome an HTTP status stands for. */
export function outcomeOfStatus(status: number): AuditOutcome {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status >= 500) return 'error';
  if (status >= 400) return 'failure';
  return 'success';
}
