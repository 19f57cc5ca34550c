/**
 * Known-answer tests of the Merkle math: hashes and roots from
 * transparency-dev/merkle testonly/constants.go (commit
 * 417fb0c314750d94e53942e9f92e79b6d35915db, the same values as
 * google/certificate-transparency's merkle_tree_test), and every inclusion and
 * consistency probe in its testdata/ (rfc6962-vectors.test-data.ts): happy
 * paths must verify, each broken variant must be rejected. Proofs the tree
 * generates are checked against the happy-path proofs byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_ROOT, MerkleTree, leafHash, nodeHash, rootOf, verifyConsistency, verifyInclusion } from './merkle.js';
import { CONSISTENCY_PROBES, INCLUSION_PROBES } from './rfc6962-vectors.test-data.js';

const hd = (s: string): Buffer => Buffer.from(s, 'hex');
const b64 = (s: string | null): Buffer => Buffer.from(s ?? '', 'base64');

// testonly.LeafInputs()
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hd);
// testonly.NodeHashes()[0]: the leaf hashes.
const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
];
// testonly.RootHashes(), by tree size 0..8.
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

test('leaf and node hashes match the published RFC 6962 vectors', () => {
  LEAF_INPUTS.forEach((input, i) => assert.equal(leafHash(input).toString('hex'), LEAF_HASHES[i]));
  // testonly.NodeHashes()[1][0] = H(0x01 || leaf0 || leaf1)
  assert.equal(nodeHash(hd(LEAF_HASHES[0]!), hd(LEAF_HASHES[1]!)).toString('hex'), 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
  assert.equal(EMPTY_ROOT.toString('hex'), ROOTS[0]);
});

test('roots of every prefix match, from the recursive MTH and from the incremental tree', () => {
  const tree = new MerkleTree();
  assert.equal(tree.root().toString('hex'), ROOTS[0]);
  for (let n = 1; n <= 8; n++) {
    tree.append(leafHash(LEAF_INPUTS[n - 1]!));
    assert.equal(tree.root().toString('hex'), ROOTS[n], `root at size ${n}`);
    assert.equal(rootOf(LEAF_HASHES.slice(0, n).map(hd)).toString('hex'), ROOTS[n]);
  }
  for (let n = 0; n <= 8; n++) assert.equal(tree.root(n).toString('hex'), ROOTS[n], `historical root at size ${n}`);
});

test(`all ${INCLUSION_PROBES.length} published inclusion probes: happy paths verify, broken ones are rejected`, () => {
  for (const p of INCLUSION_PROBES) {
    const ok = verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), (p.proof ?? []).map(b64), b64(p.root));
    assert.equal(ok, !p.wantErr, `${p.file}: ${p.desc}`);
  }
});

test(`all ${CONSISTENCY_PROBES.length} published consistency probes: happy paths verify, broken ones are rejected`, () => {
  for (const p of CONSISTENCY_PROBES) {
    const ok = verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), (p.proof ?? []).map(b64));
    assert.equal(ok, !p.wantErr, `${p.file}: ${p.desc}`);
  }
});

test('proofs the tree generates equal the published happy-path proofs', () => {
  const tree = new MerkleTree();
  for (const input of LEAF_INPUTS) tree.append(leafHash(input));
  const happyInclusion = INCLUSION_PROBES.filter((p) => !p.wantErr && p.treeSize <= 8 && p.proof);
  const happyConsistency = CONSISTENCY_PROBES.filter((p) => !p.wantErr && p.size2 <= 8 && p.size1 > 0 && p.proof);
  assert.ok(happyInclusion.length > 0 && happyConsistency.length > 0);
  for (const p of happyInclusion) assert.deepEqual(tree.inclusionProof(p.leafIdx, p.treeSize).map((h) => h.toString('base64')), p.proof, p.file);
  for (const p of happyConsistency) assert.deepEqual(tree.consistencyProof(p.size1, p.size2).map((h) => h.toString('base64')), p.proof, p.file);
});

test('every generated proof over 1..70 leaves verifies (and fails against the wrong root)', () => {
  const tree = new MerkleTree();
  for (let n = 1; n <= 70; n++) {
    tree.append(leafHash(`leaf ${n}`));
    const root = tree.root();
    for (let i = 0; i < n; i++) assert.ok(verifyInclusion(i, n, tree.leaf(i), tree.inclusionProof(i), root), `inclusion ${i}/${n}`);
    for (let m = 1; m <= n; m++) {
      assert.ok(verifyConsistency(m, n, tree.root(m), root, tree.consistencyProof(m)), `consistency ${m}->${n}`);
      if (m < n) assert.ok(!verifyConsistency(m, n, tree.root(m), leafHash('other'), tree.consistencyProof(m)));
    }
  }
});
