/**
 * `GET /api/v1/audit/export`: the audit trail of the caller's tenant for a
 * time range, as NDJSON (one audit event per line, oldest first), for an
 * auditor to take away. The answer carries the number of records and the
 * SHA-256 of the body, so the file kept can be checked against what was
 * served; the export itself is an audit record (with its row count).
 *
 * Reads go through the request's tenant-bound reader like any query, with
 * the reserved selector `{meshlog_stream="audit"}` (auditors and admins).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AUDIT_STREAM_LABEL, AUDIT_STREAM_VALUE } from '@meshlog/store';
import { readerOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { isoOfNs } from '../audit/audit-trail.js';
import { rangeFromQuery } from '../query/time-params.js';

/** Most records one export returns; a longer range is exported in pieces (the answer says where to continue). */
export const MAX_EXPORT_RECORDS = 100_000;

export function registerAuditRoutes(app: FastifyInstance): void {
  app.get('/api/v1/audit/export', { config: { access: { permission: 'audit:read' }, action: 'audit.export' } }, async (req, reply) => {
    const range = rangeFromQuery(req.query as Record<string, string | undefined>, 24 * 3_600_000);
    const r = await readerOf(req).selectLogs({
      matchers: [{ name: AUDIT_STREAM_LABEL, op: '=', value: AUDIT_STREAM_VALUE }],
      lineFilters: [],
      startNs: range.startNs,
      endNs: range.endNs,
      limit: MAX_EXPORT_RECORDS,
      direction: 'forward',
    });
    const body = r.rows.map((row) => row.body + '\n').join('');
    const truncated = r.rows.length === MAX_EXPORT_RECORDS;
    auditNote(req).query = { text: `{${AUDIT_STREAM_LABEL}="${AUDIT_STREAM_VALUE}"}`, start: isoOfNs(range.startNs), end: isoOfNs(range.endNs), rows: r.rows.length, bytes: body.length };
    void reply
      .type('application/x-ndjson')
      .header('content-disposition', `attachment; filename="meshlog-audit-${isoOfNs(range.startNs).replace(/[:.]/g, '')}.ndjson"`)
      .header('x-meshlog-records', String(r.rows.length))
      .header('x-meshlog-sha256', createHash('sha256').update(body).digest('hex'));
    // A full page: continue from the last record's time (records at exactly that nanosecond come again; dedupe by request_id).
    if (truncated) void reply.header('x-meshlog-next-start', r.rows[r.rows.length - 1]!.timestamp_ns);
    return reply.send(body);
  });
}
