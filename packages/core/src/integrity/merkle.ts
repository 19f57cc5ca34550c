/**
 * RFC 9162 (Certificate Transparency v2, same hashing as RFC 6962) Merkle
 * tree math: leaf and node hashes, tree heads, inclusion and consistency
 * proofs and their verification. Pure (no I/O) so the server's ledger and the
 * offline verifier in the CLI share one implementation.
 *
 *   leaf hash  = SHA-256(0x00 || leaf bytes)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *
 * `MerkleTree` keeps every complete subtree hash (level k holds the hashes of
 * the aligned 2^k-leaf subtrees), so appends are O(log n) amortized and
 * proofs and historical roots are O(log n) hashes, at twice the memory of the
 * leaf hashes alone. Sizes are JS numbers: exact up to 2^53 leaves.
 */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;
const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);
export const EMPTY_ROOT = createHash('sha256').digest();

export function leafHash(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes (not leaf data): the root of a tree of those leaves. */
export function rootOf(leaves: readonly Uint8Array[]): Buffer {
  return rootOfRange((i) => leaves[i]!, 0, leaves.length);
}

function rootOfRange(leaf: (i: number) => Uint8Array, from: number, to: number): Buffer {
  const n = to - from;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return Buffer.from(leaf(from));
  const k = splitPoint(n);
  return nodeHash(rootOfRange(leaf, from, from + k), rootOfRange(leaf, from + k, to));
}

/** An append-only tree over leaf hashes with every complete subtree kept. */
export class MerkleTree {
  /** levels[k][j] = hash of leaves [j*2^k, (j+1)*2^k). */
  private readonly levels: Buffer[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  leaf(index: number): Buffer {
    const h = this.levels[0]![index];
    if (!h) throw new RangeError(`leaf ${index} is beyond the tree size ${this.size}`);
    return h;
  }

  /** Appends a leaf hash (already SHA-256(0x00 || data)). */
  append(hash: Buffer): void {
    this.levels[0]!.push(hash);
    let level = 0;
    let index = this.levels[0]!.length - 1;
    while (index % 2 === 1) {
      const row = this.levels[level]!;
      const parent = nodeHash(row[index - 1]!, row[index]!);
      level++;
      (this.levels[level] ??= []).push(parent);
      index = (index - 1) / 2;
    }
  }

  /** MTH of leaves [from, to), from the stored complete subtrees. */
  private range(from: number, to: number): Buffer {
    const n = to - from;
    if (n === 0) return EMPTY_ROOT;
    // An aligned power-of-two range is stored.
    if ((n & (n - 1)) === 0 && from % n === 0) {
      const level = Math.log2(n);
      const h = this.levels[level]?.[from / n];
      if (h) return h;
    }
    const k = splitPoint(n);
    return nodeHash(this.range(from, from + k), this.range(from + k, to));
  }

  /** The root of the tree as it was at `size` leaves. */
  root(size = this.size): Buffer {
    this.checkSize(size);
    return this.range(0, size);
  }

  /** RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `size` leaves. */
  inclusionProof(index: number, size = this.size): Buffer[] {
    this.checkSize(size);
    if (index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size} leaves`);
    const path: Buffer[] = [];
    const walk = (m: number, from: number, to: number): void => {
      const n = to - from;
      if (n <= 1) return;
      const k = splitPoint(n);
      if (m < k) {
        walk(m, from, from + k);
        path.push(this.range(from + k, to));
      } else {
        walk(m - k, from + k, to);
        path.push(this.range(from, from + k));
      }
    };
    walk(index, 0, size);
    return path;
  }

  /** RFC 9162 2.1.4.1: proof that the tree of `size1` leaves is a prefix of the tree of `size2`. */
  consistencyProof(size1: number, size2 = this.size): Buffer[] {
    this.checkSize(size2);
    if (size1 < 1 || size1 > size2) throw new RangeError(`no consistency proof from ${size1} to ${size2} leaves`);
    const proof: Buffer[] = [];
    const sub = (m: number, from: number, to: number, complete: boolean): void => {
      const n = to - from;
      if (m === n) {
        if (!complete) proof.push(this.range(from, to));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, from, from + k, complete);
        proof.push(this.range(from + k, to));
      } else {
        sub(m - k, from + k, to, false);
        proof.push(this.range(from, from + k));
      }
    };
    sub(size1, 0, size2, true);
    return proof;
  }

  private checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size) throw new RangeError(`tree size ${size} is beyond the ${this.size} leaves the ledger holds`);
  }
}

const lsb = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/** RFC 9162 2.1.3.2: true when `proof` shows leaf `index` in the tree of `size` leaves with `root`. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (index < 0 || index >= size || leaf.length !== HASH_BYTES) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn))
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else r = nodeHash(r, p);
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

/** RFC 9162 2.1.4.2: true when `proof` shows the tree (size1, root1) is a prefix of (size2, root2). */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (size1 < 1 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && Buffer.from(root1).equals(root2);
  if (proof.length === 0) return false;
  // A power-of-two first tree is a complete subtree of the second: its root starts the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn))
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else sr = nodeHash(sr, c);
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(fr).equals(root1) && Buffer.from(sr).equals(root2);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(Math.log2(n));
}
