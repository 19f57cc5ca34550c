/**
 * Where requests for a second admin's approval are kept (segregation of
 * duties): in the store, beside the data and the retention state they
 * govern, so every server of a cluster sees the same requests.
 *
 * Table `approvals` (append-only versions; current = latest version per id):
 *
 *   tenant, id            the request, scoped to its tenant
 *   version               1 = requested; each decision or result adds one
 *   kind                  what is asked: retention.policy.put, retention.purge, …
 *   summary               one line for humans ("shorten {app="x"} from 30 to 7 days")
 *   payload               JSON: what will be executed, exactly
 *   status                pending | approved | rejected | expired | executed | failed
 *   requested_by          principal id of the requester
 *   requested_at_ms, expires_at_ms
 *   decided_by, decided_at_ms, note   the second admin and their note
 *   result                JSON: what execution returned, or the error
 *   changed_at_ms         when this version was written
 *
 * Nothing is updated in place; the versions are the request's history.
 * Callers serialize decisions (one at a time per server).
 */
import { randomBytes } from 'node:crypto';
import type { SqlBackend } from '../backend.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'executed' | 'failed';

export interface Approval {
  id: string;
  tenant: string;
  kind: string;
  summary: string;
  payload: unknown;
  status: ApprovalStatus;
  requested_by: string;
  requested_at: string;
  expires_at: string;
  decided_by?: string;
  decided_at?: string;
  note?: string;
  result?: unknown;
  /** Versions written so far. */
  version: number;
}

interface ApprovalRow {
  tenant: string;
  id: string;
  c_version: string;
  c_kind: string;
  c_summary: string;
  c_payload: string;
  c_status: string;
  c_requested_by: string;
  c_requested_at_ms: string;
  c_expires_at_ms: string;
  c_decided_by: string;
  c_decided_at_ms: string;
  c_note: string;
  c_result: string;
}

const COLUMNS = [
  'tenant',
  'id',
  'version',
  'kind',
  'summary',
  'payload',
  'status',
  'requested_by',
  'requested_at_ms',
  'expires_at_ms',
  'decided_by',
  'decided_at_ms',
  'note',
  'result',
  'changed_at_ms',
] as const;

export class ApprovalCatalog {
  constructor(
    private readonly backend: SqlBackend,
    private readonly database: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(q: { tenant: string; kind: string; summary: string; payload: unknown; requestedBy: string; ttlMs: number }): Promise<Approval> {
    const now = this.clock();
    const approval: Approval = {
      id: 'apr_' + randomBytes(8).toString('hex'),
      tenant: q.tenant,
      kind: q.kind,
      summary: q.summary,
      payload: q.payload,
      status: 'pending',
      requested_by: q.requestedBy,
      requested_at: new Date(now).toISOString(),
      expires_at: new Date(now + q.ttlMs).toISOString(),
      version: 1,
    };
    await this.write(approval, now);
    return approval;
  }

  /** Writes the next version of a request (a decision, an expiry, a result). */
  async update(current: Approval, change: Partial<Pick<Approval, 'status' | 'decided_by' | 'decided_at' | 'note' | 'result'>>): Promise<Approval> {
    const next: Approval = { ...current, ...change, version: current.version + 1 };
    await this.write(next, this.clock());
    return next;
  }

  async get(tenant: string, id: string): Promise<Approval | undefined> {
    return (await this.rows(tenant, id))[0];
  }

  /** A tenant's requests, newest first (at most 1,000). */
  async list(tenant: string, status?: ApprovalStatus): Promise<Approval[]> {
    const all = await this.rows(tenant);
    return (status ? all.filter((a) => a.status === status) : all).slice(0, 1000);
  }

  private async rows(tenant: string, id?: string): Promise<Approval[]> {
    const r = await this.backend.query<ApprovalRow>(
      `SELECT tenant, id, max(version) AS c_version, argMax(kind, version) AS c_kind, argMax(summary, version) AS c_summary,
  argMax(payload, version) AS c_payload, argMax(status, version) AS c_status, argMax(requested_by, version) AS c_requested_by,
  argMax(requested_at_ms, version) AS c_requested_at_ms, argMax(expires_at_ms, version) AS c_expires_at_ms,
  argMax(decided_by, version) AS c_decided_by, argMax(decided_at_ms, version) AS c_decided_at_ms,
  argMax(note, version) AS c_note, argMax(result, version) AS c_result
FROM ${this.database}.approvals
WHERE tenant = {tenant:String}${id !== undefined ? ' AND id = {id:String}' : ''}
GROUP BY tenant, id
ORDER BY c_requested_at_ms DESC, id`,
      { params: { tenant, ...(id !== undefined ? { id } : {}) } },
    );
    return r.rows.map(toApproval);
  }

  private async write(a: Approval, nowMs: number): Promise<void> {
    const row = [
      a.tenant,
      a.id,
      String(a.version),
      a.kind,
      a.summary,
      JSON.stringify(a.payload ?? null),
      a.status,
      a.requested_by,
      String(Date.parse(a.requested_at)),
      String(Date.parse(a.expires_at)),
      a.decided_by ?? '',
      a.decided_at ? String(Date.parse(a.decided_at)) : '0',
      a.note ?? '',
      a.result === undefined ? '' : JSON.stringify(a.result),
      String(nowMs),
    ];
    await this.backend.insertRows(`${this.database}.approvals`, COLUMNS, Buffer.from(JSON.stringify(row)));
  }
}

function toApproval(r: ApprovalRow): Approval {
  const decidedAt = Number(r.c_decided_at_ms);
  return {
    id: r.id,
    tenant: r.tenant,
    kind: r.c_kind,
    summary: r.c_summary,
    payload: JSON.parse(r.c_payload) as unknown,
    status: r.c_status as ApprovalStatus,
    requested_by: r.c_requested_by,
    requested_at: new Date(Number(r.c_requested_at_ms)).toISOString(),
    expires_at: new Date(Number(r.c_expires_at_ms)).toISOString(),
    ...(r.c_decided_by !== '' ? { decided_by: r.c_decided_by } : {}),
    ...(decidedAt > 0 ? { decided_at: new Date(decidedAt).toISOString() } : {}),
    ...(r.c_note !== '' ? { note: r.c_note } : {}),
    ...(r.c_result !== '' ? { result: JSON.parse(r.c_result) as unknown } : {}),
    version: Number(r.c_version),
  };
}
