/**
 * Builds an audit bundle (format drawn in @meshlog/core bundle.ts) from the
 * ledger and the store: every leaf and checkpoint up to the window's end, and
 * the stored rows of the window's batches, read back from ClickHouse and put
 * in the canonical row encoding, so the verifier checks what the store holds
 * now against what the ledger committed at ingest.
 *
 * The window is in leaves, from checkpoint times: it starts at the last
 * checkpoint at or before `from` and ends at the first checkpoint at or
 * after `to` (a fresh checkpoint is signed first, so "now" is covered).
 */
import { BUNDLE_FORMAT, decodeLeaf, leafHash, type BatchLeaf, type Bundle, type LedgerLeaf } from '@meshlog/core';
import type { LogStore } from '../log-store.js';
import type { IntegrityLedger } from './ledger.js';

export interface ExportWindow {
  from: Date;
  to: Date;
  /** Tenants whose records go into the bundle; undefined = every tenant. */
  tenants?: string[];
}

export async function buildBundle(store: LogStore, ledger: IntegrityLedger, w: ExportWindow): Promise<Bundle> {
  await store.visible();
  await ledger.checkpoint();
  const cps = ledger.listCheckpoints();
  const fromMs = w.from.getTime();
  const toMs = w.to.getTime();
  let start = 0;
  for (const c of cps) if (Date.parse(c.time) <= fromMs) start = Math.max(start, c.size);
  const endCp = cps.find((c) => Date.parse(c.time) >= toMs) ?? cps[cps.length - 1];
  const end = endCp?.size ?? 0;
  if (start > end) start = end;
  // Every checkpoint signed up to the window's end, whatever its size: a larger earlier one is a rewind the verifier must see.
  const checkpoints = endCp ? cps.slice(0, cps.indexOf(endCp) + 1) : [];
  const entries = ledger.entries(0, end);

  // The window's batch leaves, by table, with the WAL sequence range to read.
  const batches = new Map<number, BatchLeaf>();
  const ranges = new Map<BatchLeaf['table'], { from: bigint; to: bigint }>();
  for (const e of entries.slice(start)) {
    let leaf;
    try {
      leaf = decodeLeaf(e.leaf);
    } catch {
      continue;
    }
    if (leaf.type !== 'batch' || (w.tenants && !w.tenants.includes(leaf.tenant))) continue;
    batches.set(e.index, leaf);
    const seq = BigInt(leaf.seq);
    const r = ranges.get(leaf.table);
    if (!r) ranges.set(leaf.table, { from: seq, to: seq });
    else {
      if (seq < r.from) r.from = seq;
      if (seq > r.to) r.to = seq;
    }
  }
  const stored = new Map<string, Map<string, string>>();
  for (const [table, r] of ranges) stored.set(table, await store.canonicalRows(table, r.from, r.to));
  const records = new Map<number, string[]>();
  for (const [index, b] of batches) {
    const rows: string[] = [];
    const byKey = stored.get(b.table)!;
    for (let i = b.row; i < b.row + b.records; i++) {
      const row = byKey.get(`${b.seq}:${i}`);
      if (row !== undefined) rows.push(row);
    }
    records.set(index, rows);
  }
  return {
    header: { kind: 'header', format: BUNDLE_FORMAT, origin: ledger.origin, created: new Date().toISOString(), from: w.from.toISOString(), to: w.to.toISOString(), leaf_range: [start, end], tenants: w.tenants ?? null },
    publicKeys: [{ key_id: ledger.keyId, public_key: ledger.publicKey }],
    checkpoints,
    leaves: entries.map((e) => (visible(e.leaf, w.tenants) ? { index: e.index, data: e.leaf.toString('utf8'), hints: e.hints.toString('base64') } : { index: e.index, hash: leafHash(e.leaf).toString('hex') })),
    records,
  };
}

/** Whether a leaf's content may go into a bundle for `tenants` (others' leaves go as hashes only). */
function visible(bytes: Buffer, tenants: string[] | undefined): boolean {
  if (!tenants) return true;
  let leaf: LedgerLeaf;
  try {
    leaf = decodeLeaf(bytes);
  } catch {
    return false;
  }
  return leaf.type === 'key' || tenants.includes(leaf.tenant);
}
