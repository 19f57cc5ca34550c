/**
 * Storage keys (encryption at rest of the embedded store) through the API:
 * `GET /api/v1/keys` lists them (ids, fingerprints, which one encrypts new
 * data, where they come from; never key material), and
 * `POST /api/v1/keys/storage/rotate` asks for a rotation, which a second
 * admin approves (segregation of duties); approval appends a new key to the
 * key file (as `meshlog storage-key rotate` does), used for new data from
 * the next start. Storage keys belong to the server, not to a tenant: only
 * principals of the operator tenant see or rotate them.
 *
 * Retiring a key (removing it once no data needs it) is not offered: data
 * written under it must first be rewritten under a newer key, which this
 * server cannot yet prove for every part.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readKeyFile, rotateKeyFile } from '@meshlog/store/encryption';
import type { EncryptionStatus } from '@meshlog/store';
import type { ApprovalService } from '../approvals/approval-service.js';
import { principalOf } from './auth-hook.js';
import { auditNote } from './audit-hook.js';
import { ApiError } from './errors.js';

export interface KeyRouteOptions {
  /** How the embedded store is encrypted; undefined with storage.clickhouse (the cluster's own at-rest encryption applies). */
  encryption: EncryptionStatus | undefined;
  dataDir: string;
  operatorTenant: string;
  approvals: ApprovalService;
}

export function registerKeyRoutes(app: FastifyInstance, opts: KeyRouteOptions): void {
  const operatorOnly = (req: FastifyRequest): void => {
    if (principalOf(req).tenant !== opts.operatorTenant) throw new ApiError('forbidden', `storage keys belong to the server: only principals of the operator tenant (${opts.operatorTenant}) manage them`);
  };
  const inventory = (): object => {
    const e = opts.encryption;
    if (!e) return { encrypted: null, note: 'storage.clickhouse: encryption at rest is the ClickHouse cluster’s own' };
    if (!e.encrypted) return { encrypted: false, note: 'storage.embedded.encryption.allow_plaintext_at_rest is set' };
    const keys = e.keyFile ? readKeyFile(e.keyFile, { dataDir: opts.dataDir }) : undefined;
    return {
      encrypted: true,
      algorithm: 'AES-256-CTR (chDB encrypted disk); WAL AES-256-GCM',
      source: e.keySource,
      in_use_ids: e.keyIds,
      current_id: e.currentKeyId,
      // The key file may hold a rotated key not yet in use (it takes effect at the next start).
      ...(keys ? { key_file_ids: keys.ids, key_file_current_id: keys.currentId, fingerprints: Object.fromEntries(keys.ids.map((id) => [id, keys.fingerprint(id)])) } : {}),
    };
  };

  opts.approvals.register({
    kind: 'keys.storage.rotate',
    permission: 'keys:manage',
    execute: async () => {
      const file = opts.encryption?.keyFile;
      if (!file) throw new Error('no key file to rotate');
      const before = readKeyFile(file, { dataDir: opts.dataDir }).ids;
      const { newId, keys } = rotateKeyFile(file, { dataDir: opts.dataDir });
      return { new_key_id: newId, fingerprint: keys.fingerprint(newId), key_ids_before: before, key_ids_after: keys.ids, takes_effect: 'at the next server start; older data stays readable with the older ids' };
    },
  });

  app.get('/api/v1/keys', { config: { access: { permission: 'audit:read' }, action: 'keys.list' } }, async (req) => {
    operatorOnly(req);
    return { status: 'success', data: inventory() };
  });

  app.post('/api/v1/keys/storage/rotate', { config: { access: { permission: 'keys:manage' }, action: 'keys.storage.rotate' } }, async (req, reply) => {
    operatorOnly(req);
    const e = opts.encryption;
    if (!e?.encrypted) throw new ApiError('conflict', 'the store is not encrypted with keys this server manages (plaintext, or storage.clickhouse)');
    if (!e.keyFile) throw new ApiError('conflict', `the storage keys come from ${e.keySource ?? 'outside a key file'}; rotate them where they are kept (docs/storage.md)`);
    const approval = await opts.approvals.request(principalOf(req), 'keys.storage.rotate', `rotate the storage key (current id ${e.currentKeyId ?? '?'})`, {});
    auditNote(req).change = { object: 'approval', id: approval.id, before: null, after: approval };
    return reply.code(202).send({ status: 'pending_approval', data: approval, message: `storage key rotation needs a second admin's approval (POST /api/v1/approvals/${approval.id}/approve)` });
  });
}
