/**
 * Integrity API (auditors and admins, `audit:read`):
 *
 *   GET /api/v1/integrity/checkpoints              signed checkpoints, oldest first, and the public key
 *   GET /api/v1/integrity/proof/inclusion?table=&seq=&row=[&size=]
 *                                                  record -> batch leaf -> checkpoint: the batch leaf,
 *                                                  its audit path, and the batch's rows (the leaf
 *                                                  commits to all of them; caller's tenant only)
 *   GET /api/v1/integrity/proof/consistency?from=&to=
 *                                                  RFC 9162 consistency proof between two tree sizes
 *   GET /api/v1/integrity/export?from=&to=         an audit bundle (JSONL, @meshlog/core bundle.ts)
 *
 * Records of other tenants never leave: a bundle carries the caller's
 * tenant's records (every tenant's for the operator tenant); leaves of every
 * tenant are in it, since the tree is built from all of them.
 */
import type { FastifyInstance } from 'fastify';
import { bundleLines, decodeLeaf } from '@meshlog/core';
import { buildBundle, type IntegrityLedger, type LogStore } from '@meshlog/store';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { ApiError } from './errors.js';

export interface IntegrityRouteDeps {
  store: LogStore;
  ledger: IntegrityLedger | undefined;
  operatorTenant: string;
}

function need(ledger: IntegrityLedger | undefined): IntegrityLedger {
  if (!ledger) throw new ApiError('not_found', 'the integrity ledger is off on this server (integrity.enabled, or storage.clickhouse / storage.embedded.wal false); see docs/integrity.md');
  return ledger;
}

function int(v: string | undefined, name: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0) throw new ApiError('bad_request', `query parameter ${name} must be a non-negative integer`);
  return n;
}

function time(v: string | undefined, fallback: Date, name: string): Date {
  if (v === undefined || v === '') return fallback;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new ApiError('bad_request', `query parameter ${name} must be RFC 3339 or epoch milliseconds`);
  return d;
}

export function registerIntegrityRoutes(app: FastifyInstance, deps: IntegrityRouteDeps): void {
  const access = { permission: 'audit:read' as const };

  app.get('/api/v1/integrity/checkpoints', { config: { access, action: 'integrity.checkpoints' } }, async () => {
    const ledger = need(deps.ledger);
    return { origin: ledger.origin, key_id: ledger.keyId, public_key: ledger.publicKey, size: ledger.size, checkpoints: ledger.listCheckpoints() };
  });

  app.get('/api/v1/integrity/proof/consistency', { config: { access, action: 'integrity.proof' } }, async (req) => {
    const ledger = need(deps.ledger);
    const q = req.query as Record<string, string | undefined>;
    const from = int(q.from, 'from');
    const to = int(q.to, 'to');
    if (from < 1 || from > to || to > ledger.size) throw new ApiError('bad_request', `need 1 <= from <= to <= ${ledger.size} (the ledger's size)`);
    return { from, to, root1: ledger.root(from).toString('hex'), root2: ledger.root(to).toString('hex'), proof: ledger.consistencyProof(from, to).map((h) => h.toString('hex')) };
  });

  app.get('/api/v1/integrity/proof/inclusion', { config: { access, action: 'integrity.proof' } }, async (req) => {
    const ledger = need(deps.ledger);
    const q = req.query as Record<string, string | undefined>;
    const table = q.table ?? 'logs';
    if (table !== 'logs' && table !== 'spans' && table !== 'audit_log') throw new ApiError('bad_request', 'table must be logs, spans or audit_log');
    const seq = BigInt(int(q.seq, 'seq'));
    const row = int(q.row, 'row');
    await ledger.checkpoint();
    const cps = ledger.listCheckpoints();
    const size = q.size !== undefined ? int(q.size, 'size') : cps[cps.length - 1]!.size;
    const cp = cps.find((c) => c.size === size);
    const tenant = principalOf(req).tenant;
    for (const index of ledger.leavesOfSeq(seq)) {
      const entry = ledger.entries(index, index + 1)[0]!;
      const leaf = decodeLeaf(entry.leaf);
      if (leaf.type !== 'batch' || leaf.table !== table || row < leaf.row || row >= leaf.row + leaf.records) continue;
      if (leaf.tenant !== tenant && tenant !== deps.operatorTenant) break;
      if (index >= size) throw new ApiError('bad_request', `the record's leaf ${index} is not in a tree of size ${size}`);
      const rows = await deps.store.canonicalRows(table, seq, seq);
      const batchRows: string[] = [];
      for (let i = leaf.row; i < leaf.row + leaf.records; i++) {
        const r = rows.get(`${seq}:${i}`);
        if (r !== undefined) batchRows.push(r);
      }
      auditNote(req).detail = { table, seq: String(seq), row, leaf: index };
      return {
        leaf_index: index,
        leaf: entry.leaf.toString('utf8'),
        leaf_hash_input: 'SHA-256(0x00 || leaf)',
        tree_size: size,
        checkpoint: cp ?? null,
        audit_path: ledger.inclusionProof(index, size).map((h) => h.toString('hex')),
        batch_rows: batchRows,
        record: rows.get(`${seq}:${row}`) ?? null,
      };
    }
    throw new ApiError('not_found', `no batch leaf of your tenant covers ${table} ingest_seq ${seq} ingest_row ${row}`);
  });

  app.get('/api/v1/integrity/export', { config: { access, action: 'integrity.export' } }, async (req, reply) => {
    const ledger = need(deps.ledger);
    const q = req.query as Record<string, string | undefined>;
    const to = time(q.to, new Date(), 'to');
    const from = time(q.from, new Date(0), 'from');
    const tenant = principalOf(req).tenant;
    const bundle = await buildBundle(deps.store, ledger, { from, to, ...(tenant === deps.operatorTenant ? {} : { tenants: [tenant] }) });
    const body = bundleLines(bundle).join('\n') + '\n';
    auditNote(req).detail = { from: from.toISOString(), to: to.toISOString(), leaves: bundle.leaves.length, batches: bundle.records.size, bytes: body.length };
    return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="meshlog-audit-bundle.jsonl"').send(body);
  });
}
