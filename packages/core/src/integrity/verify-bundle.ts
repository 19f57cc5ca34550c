/**
 * The offline verifier behind `meshlog verify`: given a bundle and the
 * public key(s) the auditor trusts, it
 *
 *   1. checks every checkpoint's Ed25519 signature (a key is trusted when the
 *      auditor gave it, or when a key leaf introduced it inside a tree a
 *      trusted checkpoint already signed: rotation recorded in the log);
 *   2. rebuilds the Merkle tree from every leaf and compares each
 *      checkpoint's root at its size (a wrong root: the ledger or the
 *      checkpoint was altered; fewer leaves than a checkpoint's size: the
 *      ledger was truncated), finds forks (two roots for one size) and
 *      rewinds (a later checkpoint smaller than an earlier one);
 *   3. recomputes each batch leaf of the range from its records (count, row
 *      ordinals, SHA-256), names altered records (by their row hints) and
 *      missing ones, and accepts a missing record only when a later deletion
 *      leaf covers its table, tenant and time.
 *
 * Pure: no I/O, so it runs the same on a bundle file and on a live server's
 * export.
 */
import { crc32 } from 'node:zlib';
import type { KeyObject } from 'node:crypto';
import { MerkleTree, leafHash } from './merkle.js';
import { checkpointSignatureValid, keyIdOf, parsePublicKey, type Checkpoint } from './checkpoint.js';
import { decodeLeaf, describeBatch, recordsHash, type BatchLeaf, type DeletionLeaf, type LedgerLeaf } from './ledger-leaf.js';
import type { Bundle } from './bundle.js';

export type FindingKind =
  | 'checkpoint_signature'
  | 'checkpoint_root'
  | 'ledger_truncated'
  | 'fork'
  | 'rewind'
  | 'leaf_format'
  | 'record_altered'
  | 'record_missing'
  | 'record_unexpected'
  | 'no_checkpoint';

export interface Finding {
  kind: FindingKind;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  origin: string;
  findings: Finding[];
  checkpoints: number;
  leaves: number;
  treeSize: number;
  root: string;
  batchesChecked: number;
  recordsChecked: number;
  recordsDeletedUnderPolicy: number;
  deletions: DeletionLeaf[];
  keysTrusted: string[];
}

export interface VerifyOptions {
  /** Public keys the auditor trusts (PEM or base64 SPKI), at least one. */
  trustedKeys: string[];
  /** Checkpoints kept elsewhere (a witness file): checked like the bundle's own. */
  witnessCheckpoints?: Checkpoint[];
  /** Most findings of one kind spelled out (the rest are counted). */
  maxFindingsPerKind?: number;
}

export function verifyBundle(bundle: Bundle, opts: VerifyOptions): VerifyReport {
  const findings: Finding[] = [];
  const perKind = new Map<FindingKind, number>();
  const limit = opts.maxFindingsPerKind ?? 50;
  const add = (kind: FindingKind, message: string): void => {
    const n = (perKind.get(kind) ?? 0) + 1;
    perKind.set(kind, n);
    if (n <= limit) findings.push({ kind, message });
  };

  // The tree, from every leaf.
  const tree = new MerkleTree();
  const leaves: (LedgerLeaf | undefined)[] = [];
  const sorted = [...bundle.leaves].sort((a, b) => a.index - b.index);
  for (const l of sorted) {
    if (l.index !== tree.size) break; // a gap: the rest cannot be placed
    if (l.data === undefined) {
      // Another tenant's leaf: only its hash is in the bundle.
      tree.append(Buffer.from(l.hash ?? '', 'hex'));
      leaves.push(undefined);
      continue;
    }
    const bytes = Buffer.from(l.data, 'utf8');
    tree.append(leafHash(bytes));
    try {
      leaves.push(decodeLeaf(bytes));
    } catch (err) {
      leaves.push(undefined);
      add('leaf_format', `leaf ${l.index}: ${(err as Error).message}`);
    }
  }

  // Keys: the auditor's, then any a trusted checkpoint vouches for through a key leaf.
  const trusted = new Map<string, KeyObject>();
  for (const text of opts.trustedKeys) {
    const k = parsePublicKey(text);
    trusted.set(keyIdOf(k), k);
  }
  const keyLeaves = leaves.map((l, i) => ({ l, i })).filter((x): x is { l: Extract<LedgerLeaf, { type: 'key' }>; i: number } => x.l?.type === 'key');

  const all = [...bundle.checkpoints.map((c) => ({ c, where: 'bundle' })), ...(opts.witnessCheckpoints ?? []).map((c) => ({ c, where: 'witness' }))];
  const name = (c: Checkpoint, where: string): string => `checkpoint size ${c.size} at ${c.time} (${where}, key ${c.key_id})`;
  const signedOk = new Set<Checkpoint>();
  // Repeat until no new key becomes trusted (a rotation chain).
  for (let changed = true; changed; ) {
    changed = false;
    for (const { c } of all) {
      const k = trusted.get(c.key_id);
      if (k && !signedOk.has(c) && checkpointSignatureValid(c, k)) signedOk.add(c);
    }
    for (const { l, i } of keyLeaves) {
      if (trusted.has(l.key_id)) continue;
      const vouched = [...signedOk].some((c) => c.size > i && c.size <= tree.size && tree.root(c.size).toString('hex') === c.root);
      if (vouched) {
        trusted.set(l.key_id, parsePublicKey(l.public_key));
        changed = true;
      }
    }
  }
  if (all.length === 0) add('no_checkpoint', 'the bundle holds no checkpoint: nothing in it is signed, so nothing can be verified');

  const rootsBySize = new Map<number, { root: string; name: string }>();
  let latest: Checkpoint | undefined;
  for (const { c, where } of all) {
    if (!signedOk.has(c)) {
      add(
        'checkpoint_signature',
        trusted.has(c.key_id)
          ? `${name(c, where)}: the signature does not verify; the checkpoint was altered after signing`
          : `${name(c, where)}: signed by key ${c.key_id}, which is not a trusted key nor introduced by a key leaf under a trusted checkpoint; the checkpoint was replaced or the key is unknown to you`,
      );
      continue;
    }
    const seen = rootsBySize.get(c.size);
    if (seen && seen.root !== c.root) add('fork', `fork: ${name(c, where)} has root ${c.root.slice(0, 16)}… but ${seen.name} has root ${seen.root.slice(0, 16)}… for the same size; two histories were signed`);
    if (!seen) rootsBySize.set(c.size, { root: c.root, name: name(c, where) });
    // A witness may hold checkpoints signed after the bundle was exported.
    if (c.size > tree.size && where === 'witness') continue;
    if (c.size > tree.size) add('ledger_truncated', `${name(c, where)}: the log holds only ${tree.size} leaves; leaves ${tree.size}..${c.size - 1} are gone (the ledger was truncated)`);
    else if (tree.root(c.size).toString('hex') !== c.root) add('checkpoint_root', `${name(c, where)}: its root differs from the root of the first ${c.size} leaves; the ledger's history was rewritten`);
    if (where === 'bundle') {
      if (latest && c.size < latest.size) add('rewind', `rewind: ${name(c, where)} is smaller than the earlier checkpoint of size ${latest.size} at ${latest.time}`);
      if (!latest || c.size >= latest.size) latest = c;
    }
  }

  // Records.
  const deletions = leaves.map((l, i) => ({ l, i })).filter((x): x is { l: DeletionLeaf; i: number } => x.l?.type === 'deletion');
  const [start, end] = bundle.header.leaf_range;
  let batchesChecked = 0;
  let recordsChecked = 0;
  let deletedUnderPolicy = 0;
  const hintsOf = new Map(bundle.leaves.map((l) => [l.index, Buffer.from(l.hints ?? '', 'base64')]));
  for (let i = start; i < Math.min(end, leaves.length); i++) {
    const leaf = leaves[i];
    if (leaf?.type !== 'batch') continue;
    if (bundle.header.tenants && !bundle.header.tenants.includes(leaf.tenant)) continue;
    batchesChecked++;
    const rows = bundle.records.get(i) ?? [];
    const result = checkBatch(leaf, rows, hintsOf.get(i));
    recordsChecked += rows.length;
    for (const r of result.altered) add('record_altered', `record altered: ${recordName(leaf, r)}: it no longer hashes to what batch leaf ${i} committed (${describeBatch(leaf)})`);
    if (result.hashMismatch && result.altered.length === 0 && result.missing.length === 0)
      add('record_altered', `batch leaf ${i} (${describeBatch(leaf)}): its records no longer hash to records_sha256; the altered record could not be named (row hints missing or altered too)`);
    for (const r of result.unexpected) add('record_unexpected', `record ${recordName(leaf, r)} is not part of the batch leaf ${i} committed to (a row was added or its ordinal changed)`);
    if (result.missing.length > 0) {
      const cover = deletions.find(({ l, i: at }) => at > i && l.table === leaf.table && l.tenant === leaf.tenant && BigInt(l.from_ns) <= BigInt(leaf.max_ns) && BigInt(l.to_ns) > BigInt(leaf.min_ns));
      if (cover) deletedUnderPolicy += result.missing.length;
      else for (const r of result.missing) add('record_missing', `record missing without a deletion record: ${recordName(leaf, r)} (batch leaf ${i}, ${describeBatch(leaf)})`);
    }
  }

  for (const [kind, n] of perKind) if (n > limit) findings.push({ kind, message: `… and ${n - limit} more ${kind} findings` });
  const treeSize = latest?.size ?? 0;
  return {
    ok: findings.length === 0,
    origin: bundle.header.origin,
    findings,
    checkpoints: all.length,
    leaves: tree.size,
    treeSize,
    root: latest?.root ?? '',
    batchesChecked,
    recordsChecked,
    recordsDeletedUnderPolicy: deletedUnderPolicy,
    deletions: deletions.map((d) => d.l),
    keysTrusted: [...trusted.keys()],
  };
}

function recordName(b: BatchLeaf, row: number): string {
  return `${b.table} ingest_seq ${b.seq} ingest_row ${row} (tenant ${b.tenant}, source ${b.source})`;
}

/** The ordinal a canonical row carries: its last value. */
export function rowOrdinalOf(row: string): number {
  const comma = row.lastIndexOf(',');
  return Number(row.slice(comma + 1, row.length - 1));
}

interface BatchCheck {
  hashMismatch: boolean;
  altered: number[];
  missing: number[];
  unexpected: number[];
}

function checkBatch(leaf: BatchLeaf, rows: string[], hints: Buffer | undefined): BatchCheck {
  const byOrdinal = new Map<number, string>();
  const unexpected: number[] = [];
  for (const r of rows) {
    const ord = rowOrdinalOf(r);
    if (!Number.isInteger(ord) || ord < leaf.row || ord >= leaf.row + leaf.records || byOrdinal.has(ord)) unexpected.push(ord);
    else byOrdinal.set(ord, r);
  }
  const missing: number[] = [];
  for (let o = leaf.row; o < leaf.row + leaf.records; o++) if (!byOrdinal.has(o)) missing.push(o);
  const ordered = [...byOrdinal.keys()].sort((a, b) => a - b).map((o) => byOrdinal.get(o)!);
  const hashMismatch = missing.length === 0 ? recordsHash(ordered.join('\n')) !== leaf.records_sha256 : false;
  // Hints name the altered rows; with rows missing (deleted) they are the only check left for the rest.
  const altered: number[] = [];
  if ((hashMismatch || missing.length > 0) && hints && hints.length === leaf.records * 4) {
    for (const [o, r] of byOrdinal) if (crc32(r) !== hints.readUInt32LE((o - leaf.row) * 4)) altered.push(o);
  }
  return { hashMismatch, altered: altered.sort((a, b) => a - b), missing, unexpected };
}

/** The report as text an auditor can paste into a working paper. */
export function formatReport(r: VerifyReport, source: string): string {
  const lines = [
    `Meshlog integrity verification — ${r.ok ? 'PASSED' : 'FAILED'}`,
    `Source:            ${source}`,
    `Log origin:        ${r.origin}`,
    `Verified at:       ${new Date().toISOString()}`,
    `Trusted keys:      ${r.keysTrusted.join(', ') || '(none)'}`,
    `Checkpoints:       ${r.checkpoints} checked; latest tree size ${r.treeSize}, root ${r.root || '(none)'}`,
    `Leaves:            ${r.leaves} rebuilt into the Merkle tree (RFC 9162)`,
    `Batches:           ${r.batchesChecked} recomputed from their records`,
    `Records:           ${r.recordsChecked} checked; ${r.recordsDeletedUnderPolicy} absent and accounted for by deletion records`,
    `Deletion records:  ${r.deletions.length}`,
  ];
  for (const d of r.deletions) lines.push(`  - ${describeDeletion(d)}`);
  lines.push(`Findings:          ${r.findings.length === 0 ? 'none' : r.findings.length}`);
  for (const f of r.findings) lines.push(`  [${f.kind}] ${f.message}`);
  return lines.join('\n') + '\n';
}

/** One deletion leaf as a report line: when, what, under which policy or approval, which selector and time range, how many rows. */
export function describeDeletion(d: DeletionLeaf): string {
  return [
    `${d.finished_at} ${d.id} ${d.method} ${d.table} tenant ${d.tenant}${d.partition ? ` partition ${d.partition}` : ''}`,
    d.policy_id ? `policy ${d.policy_id}` : 'no policy',
    d.selector ? `selector ${d.selector}` : 'selector (all streams)',
    `range ${nsToIso(d.from_ns)} .. ${nsToIso(d.to_ns)}: ${d.rows} rows${d.approved_by ? `, approved by ${d.approved_by}` : ''}`,
  ].join(', ');
}

/** Nanoseconds since the epoch as RFC 3339 (millisecond precision), or the raw value when it is not a time. */
function nsToIso(ns: string): string {
  try {
    return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
  } catch {
    return ns;
  }
}
