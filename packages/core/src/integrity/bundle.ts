/**
 * The audit bundle: what `meshlog export` writes and `meshlog verify` reads.
 * One JSON object a line (JSONL, UTF-8), so a bundle streams, diffs and
 * greps; the order of lines is the order below.
 *
 *   {"kind":"header","format":"meshlog-audit-bundle/1","origin":…,"created":…,
 *    "from":…,"to":…,"leaf_range":[start,end],"tenants":[…] | null}
 *                                          records of batch leaves in leaf_range of these
 *                                          tenants (null: every tenant) are in the bundle
 *   {"kind":"public_key","key_id":…,"public_key":<SPKI DER base64>}     (informational:
 *                                          the verifier trusts only keys it is given)
 *   {"kind":"checkpoint", …Checkpoint}     every checkpoint up to the range's end, oldest first
 *   {"kind":"leaf","index":i,"data":<leaf JSON text>,"hints":<base64>}
 *                                          every leaf 0..N-1, N = the last checkpoint's size
 *                                          (the verifier rebuilds the whole tree from them);
 *                                          hints: crc32 (u32 LE) of each of a batch's rows,
 *                                          not committed, only used to name which record of a
 *                                          batch whose hash fails was altered
 *   {"kind":"leaf","index":i,"hash":<hex>} instead, for a leaf of a tenant outside the bundle's
 *                                          tenants: the tree needs its hash, not its content
 *   {"kind":"records","index":i,"rows":[<row>, …]}
 *                                          for batch leaves i in leaf_range: the rows the store
 *                                          returned for that batch, in row order, each in the
 *                                          canonical row encoding (packages/store/src/rows.ts),
 *                                          whose last value is the row's ordinal (`ingest_row`)
 *
 * Deletion, change and key leaves are leaves like the others: a bundle holds
 * every one of them up to N.
 */
import type { Checkpoint } from './checkpoint.js';

export const BUNDLE_FORMAT = 'meshlog-audit-bundle/1';

export interface BundleHeader {
  kind: 'header';
  format: string;
  origin: string;
  created: string;
  from: string;
  to: string;
  leaf_range: [number, number];
  /** Tenants whose records the bundle carries; null = every tenant. */
  tenants: string[] | null;
}

export interface Bundle {
  header: BundleHeader;
  publicKeys: { key_id: string; public_key: string }[];
  checkpoints: Checkpoint[];
  leaves: { index: number; data?: string; hints?: string; hash?: string }[];
  records: Map<number, string[]>;
}

export class BundleFormatError extends Error {
  override readonly name = 'BundleFormatError';
}

export function bundleLines(b: Bundle): string[] {
  const out = [JSON.stringify(b.header)];
  for (const k of b.publicKeys) out.push(JSON.stringify({ kind: 'public_key', ...k }));
  for (const c of b.checkpoints) out.push(JSON.stringify({ kind: 'checkpoint', ...c }));
  for (const l of b.leaves) out.push(JSON.stringify({ kind: 'leaf', ...l }));
  for (const [index, rows] of b.records) out.push(JSON.stringify({ kind: 'records', index, rows }));
  return out;
}

/** Parses a bundle; errors name the line. */
export function parseBundle(text: string): Bundle {
  const lines = text.split('\n');
  let header: BundleHeader | undefined;
  const b: Omit<Bundle, 'header'> = { publicKeys: [], checkpoints: [], leaves: [], records: new Map() };
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new BundleFormatError(`bundle line ${i + 1} is not JSON; the file is damaged or not a meshlog audit bundle`);
    }
    const { kind, ...rest } = v;
    switch (kind) {
      case 'header':
        if (v.format !== BUNDLE_FORMAT) throw new BundleFormatError(`bundle line ${i + 1}: format ${JSON.stringify(v.format)} is not ${BUNDLE_FORMAT}`);
        header = v as unknown as BundleHeader;
        break;
      case 'public_key':
        b.publicKeys.push(rest as Bundle['publicKeys'][number]);
        break;
      case 'checkpoint':
        b.checkpoints.push(rest as unknown as Checkpoint);
        break;
      case 'leaf':
        b.leaves.push(rest as Bundle['leaves'][number]);
        break;
      case 'records':
        b.records.set(Number(v.index), v.rows as string[]);
        break;
      default:
        throw new BundleFormatError(`bundle line ${i + 1}: unknown kind ${JSON.stringify(kind)}`);
    }
  });
  if (!header) throw new BundleFormatError('the bundle has no header line; it is not a meshlog audit bundle');
  return { header, ...b };
}
