/**
 * What a ledger leaf says. The leaf's bytes are canonical JSON (keys in the
 * fixed order written here, UTF-8, no spaces): the ledger stores those exact
 * bytes and the Merkle tree hashes them, so a verifier never re-serializes a
 * leaf, it only parses it to read what it commits to.
 *
 *   batch     one accepted ingest batch: table, tenant, source, record
 *             count, the WAL group (`seq`) and first row ordinal (`row`) its
 *             rows carry, the min/max record timestamp (ns), and
 *             `records_sha256` = SHA-256 of the batch's rows in the canonical
 *             row encoding (packages/store/src/rows.ts), joined by "\n";
 *   deletion  rows removed by retention enforcement or an approved purge
 *             (the retention catalog's deletion record, field for field);
 *   change    a retention policy or legal hold created, changed or released;
 *   key       a checkpoint signing key taking over (rotation), with the
 *             previous key's id.
 */
import { createHash } from 'node:crypto';

export type LedgerTable = 'logs' | 'spans' | 'audit_log';

export interface BatchLeaf {
  type: 'batch';
  seq: string;
  row: number;
  table: LedgerTable;
  tenant: string;
  source: string;
  records: number;
  min_ns: string;
  max_ns: string;
  records_sha256: string;
}

export interface DeletionLeaf {
  type: 'deletion';
  id: string;
  run_id: string;
  tenant: string;
  table: string;
  partition: string;
  policy_id: string;
  selector: string;
  from_ns: string;
  to_ns: string;
  rows: number;
  method: string;
  finished_at: string;
  approved_by: string;
}

export interface ChangeLeaf {
  type: 'change';
  id: string;
  tenant: string;
  at: string;
  actor: string;
  object_kind: string;
  object_id: string;
  action: string;
  after: string;
}

export interface KeyLeaf {
  type: 'key';
  at: string;
  key_id: string;
  /** Ed25519 public key, SPKI DER, base64. */
  public_key: string;
  previous_key_id: string;
}

export type LedgerLeaf = BatchLeaf | DeletionLeaf | ChangeLeaf | KeyLeaf;

const FIELDS: { [K in LedgerLeaf['type']]: readonly string[] } = {
  batch: ['type', 'seq', 'row', 'table', 'tenant', 'source', 'records', 'min_ns', 'max_ns', 'records_sha256'],
  deletion: ['type', 'id', 'run_id', 'tenant', 'table', 'partition', 'policy_id', 'selector', 'from_ns', 'to_ns', 'rows', 'method', 'finished_at', 'approved_by'],
  change: ['type', 'id', 'tenant', 'at', 'actor', 'object_kind', 'object_id', 'action', 'after'],
  key: ['type', 'at', 'key_id', 'public_key', 'previous_key_id'],
};

/** The leaf's canonical bytes (what the tree hashes). */
export function encodeLeaf(leaf: LedgerLeaf): Buffer {
  const fields = FIELDS[leaf.type];
  const rec = leaf as unknown as Record<string, unknown>;
  return Buffer.from(`{${fields.map((f) => `${JSON.stringify(f)}:${JSON.stringify(rec[f])}`).join(',')}}`);
}

export class LeafFormatError extends Error {
  override readonly name = 'LeafFormatError';
}

/** Parses leaf bytes; throws LeafFormatError when they are not a leaf this version knows. */
export function decodeLeaf(bytes: Uint8Array): LedgerLeaf {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new LeafFormatError('leaf is not JSON');
  }
  const type = (v as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !(type in FIELDS)) throw new LeafFormatError(`unknown leaf type ${JSON.stringify(type)}`);
  const leaf = v as LedgerLeaf;
  if (!encodeLeaf(leaf).equals(Buffer.from(bytes))) throw new LeafFormatError(`leaf of type ${type} is not in canonical form`);
  return leaf;
}

/** `records_sha256` of rows already joined by "\n" (the WAL's rows buffer). */
export function recordsHash(joinedRows: Uint8Array | string): string {
  return createHash('sha256').update(joinedRows).digest('hex');
}

/** A short name of a batch leaf for reports: `logs batch seq 12 rows 0-99 (tenant acme, source otlp)`. */
export function describeBatch(b: BatchLeaf): string {
  return `${b.table} batch seq ${b.seq} rows ${b.row}-${b.row + b.records - 1} (tenant ${b.tenant}, source ${b.source})`;
}
