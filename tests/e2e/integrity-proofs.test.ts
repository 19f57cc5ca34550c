/**
 * The integrity proofs over the API of a real server process, checked the
 * way an auditor would, with @meshlog/core's verify functions and the
 * public key only: a record's inclusion proof (record -> batch leaf ->
 * signed checkpoint), a consistency proof between two signed checkpoints,
 * and a signing key rotated with `integrity.previous_key_file` (checkpoints
 * before and after verify, the rotation is a `key` leaf, and `meshlog
 * verify` trusts the new key through the chain given only the old one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkpointSignatureValid,
  decodeLeaf,
  keyIdOf,
  leafHash,
  parsePublicKey,
  recordsHash,
  verifyConsistency,
  verifyInclusion,
  type BatchLeaf,
  type Checkpoint,
  type KeyLeaf,
} from '@meshlog/core';
import { TokenStore } from '@meshlog/server';
import { runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

const dir = tempDir('meshlog-integrity-proofs-');
const dataDir = join(dir, 'data');
const keyDir = join(dir, 'keys');
const key1 = join(keyDir, 'k1.pem');
const key2 = join(keyDir, 'k2.pem');
const marker = randomUUID().slice(0, 8);

function config(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, ['integrity:', ...lines.map((l) => `  ${l}`), ''].join('\n'));
  return file;
}

async function get<T>(server: ServerProcess, path: string, token = server.token): Promise<{ status: number; body: T }> {
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as T };
}

async function ingest(server: ServerProcess, tag: string): Promise<void> {
  const r = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: otlpJsonLogs([0, 1, 2].map((i) => `proof ${marker} ${tag} line ${i}`), { service: 'proven' }),
  });
  assert.equal(r.status, 200, await r.text());
}

/** The batch leaf (and its index) holding `text`, from the server's own export. */
async function findBatch(server: ServerProcess, text: string): Promise<{ index: number; leaf: BatchLeaf; row: number }> {
  const r = await fetch(`${server.url}/api/v1/integrity/export`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(r.status, 200);
  const lines = (await r.text()).split('\n').filter((l) => l !== '');
  for (const line of lines) {
    const v = JSON.parse(line) as { kind: string; index: number; rows?: string[] };
    if (v.kind !== 'records') continue;
    const hit = v.rows!.find((row) => row.includes(text));
    if (!hit) continue;
    const leafLine = lines.map((l) => JSON.parse(l) as { kind: string; index: number; data?: string }).find((l) => l.kind === 'leaf' && l.index === v.index)!;
    const row = (JSON.parse(hit) as unknown[]).at(-1) as number;
    return { index: v.index, leaf: decodeLeaf(Buffer.from(leafLine.data!)) as BatchLeaf, row };
  }
  throw new Error(`no batch holds ${text}`);
}

interface InclusionProof {
  leaf_index: number;
  leaf: string;
  tree_size: number;
  checkpoint: Checkpoint | null;
  audit_path: string[];
  batch_rows: string[];
  record: string | null;
}

const hex = (xs: string[]): Buffer[] => xs.map((x) => Buffer.from(x, 'hex'));

test('inclusion and consistency proofs from a live server verify with the public key alone; a key rotation is a key leaf the verifier follows', { timeout: 300_000 }, async (t) => {
  mkdirSync(keyDir, { recursive: true });
  const viewer = new TokenStore(dataDir).create('default', ['viewer']);
  let server = await startServerProcess({ dataDir, args: ['--config', config('k1.yaml', [`key_file: ${key1}`])] });
  const pub1 = parsePublicKey(readFileSync(`${key1}.pub`, 'utf8'));

  await t.test('inclusion: record -> batch leaf -> signed checkpoint', async () => {
    await ingest(server, 'first');
    const { leaf, row, index } = await findBatch(server, `${marker} first line 1`);
    assert.equal(leaf.source, 'otlp');
    const proof = await get<InclusionProof>(server, `/api/v1/integrity/proof/inclusion?table=logs&seq=${leaf.seq}&row=${row}`);
    assert.equal(proof.status, 200, JSON.stringify(proof.body));
    const p = proof.body;
    assert.equal(p.leaf_index, index);
    // Record -> batch leaf: the record is one of the batch's rows, and the rows hash to what the leaf commits to.
    assert.ok(p.record?.includes(`${marker} first line 1`), p.record ?? 'no record');
    assert.ok(p.batch_rows.includes(p.record!));
    const committed = decodeLeaf(Buffer.from(p.leaf)) as BatchLeaf;
    assert.deepEqual(committed, leaf);
    assert.equal(recordsHash(p.batch_rows.join('\n')), committed.records_sha256);
    // Batch leaf -> checkpoint: the audit path leads to the root the key signed.
    const cp = p.checkpoint!;
    assert.equal(cp.size, p.tree_size);
    assert.ok(checkpointSignatureValid(cp, pub1), 'the checkpoint is signed by the server key');
    assert.ok(verifyInclusion(p.leaf_index, p.tree_size, leafHash(Buffer.from(p.leaf)), hex(p.audit_path), Buffer.from(cp.root, 'hex')));
    // The same proof does not hold for another leaf, nor with a path element changed.
    assert.ok(!verifyInclusion(p.leaf_index, p.tree_size, leafHash(Buffer.from(p.leaf.replace(committed.records_sha256, '0'.repeat(64)))), hex(p.audit_path), Buffer.from(cp.root, 'hex')));
    if (p.audit_path.length > 0) {
      const bad = hex(p.audit_path);
      bad[0]![0] = bad[0]![0]! ^ 1;
      assert.ok(!verifyInclusion(p.leaf_index, p.tree_size, leafHash(Buffer.from(p.leaf)), bad, Buffer.from(cp.root, 'hex')));
    }

    // Refusals name the problem; the routes need audit:read.
    const missing = await get<{ error: string }>(server, `/api/v1/integrity/proof/inclusion?table=logs&seq=${leaf.seq}&row=${leaf.row + leaf.records + 5}`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /no batch leaf of your tenant covers logs ingest_seq \d+ ingest_row \d+/);
    const badTable = await get<{ error: string }>(server, `/api/v1/integrity/proof/inclusion?table=users&seq=1&row=0`);
    assert.equal(badTable.status, 400);
    assert.match(badTable.body.error, /table must be logs, spans or audit_log/);
    assert.equal((await get(server, `/api/v1/integrity/proof/inclusion?table=logs&seq=${leaf.seq}&row=${row}`, viewer)).status, 403);
  });

  await t.test('consistency between two signed checkpoints', async () => {
    const before = await get<{ checkpoints: Checkpoint[]; size: number }>(server, '/api/v1/integrity/checkpoints');
    await ingest(server, 'second');
    await ingest(server, 'third');
    // An inclusion request signs a fresh checkpoint of everything appended so far.
    const { leaf, row } = await findBatch(server, `${marker} third line 0`);
    assert.equal((await get(server, `/api/v1/integrity/proof/inclusion?table=logs&seq=${leaf.seq}&row=${row}`)).status, 200);
    const after = await get<{ checkpoints: Checkpoint[] }>(server, '/api/v1/integrity/checkpoints');
    const old = before.body.checkpoints.at(-1)!;
    const now = after.body.checkpoints.at(-1)!;
    assert.ok(now.size > old.size, `${now.size} > ${old.size}`);
    for (const c of [old, now]) assert.ok(checkpointSignatureValid(c, pub1));
    const proof = await get<{ root1: string; root2: string; proof: string[] }>(server, `/api/v1/integrity/proof/consistency?from=${old.size}&to=${now.size}`);
    assert.equal(proof.status, 200, JSON.stringify(proof.body));
    // The roots come from the signed checkpoints, not from the answer.
    assert.ok(verifyConsistency(old.size, now.size, Buffer.from(old.root, 'hex'), Buffer.from(now.root, 'hex'), hex(proof.body.proof)));
    assert.ok(!verifyConsistency(old.size, now.size, Buffer.from('ab'.repeat(32), 'hex'), Buffer.from(now.root, 'hex'), hex(proof.body.proof)), 'a different history is not consistent');
    const bad = await get<{ error: string }>(server, `/api/v1/integrity/proof/consistency?from=${now.size + 1}&to=${now.size}`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /need 1 <= from <= to <= \d+/);
  });

  await t.test('key rotation with integrity.previous_key_file', async () => {
    const beforeRotation = (await get<{ checkpoints: Checkpoint[] }>(server, '/api/v1/integrity/checkpoints')).body.checkpoints;
    await server.stop();
    writeFileSync(key2, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    server = await startServerProcess({ dataDir, args: ['--config', config('k2.yaml', [`key_file: ${key2}`, `previous_key_file: ${key1}`])] });
    await ingest(server, 'after rotation');
    const pub2 = parsePublicKey(readFileSync(`${key2}.pub`, 'utf8'));
    const id1 = keyIdOf(pub1);
    const id2 = keyIdOf(pub2);
    const cps = (await get<{ checkpoints: Checkpoint[]; key_id: string }>(server, '/api/v1/integrity/checkpoints')).body;
    assert.equal(cps.key_id, id2);
    // Checkpoints from before the rotation still verify with the old key; the new key signs what follows.
    for (const c of beforeRotation) assert.ok(checkpointSignatureValid(c, pub1));
    const rotatedAt = cps.checkpoints.findIndex((c) => c.key_id === id2);
    assert.ok(rotatedAt > beforeRotation.length, 'the old key signed the checkpoint covering the key leaf, before the new key signs');
    const endorsement = cps.checkpoints[rotatedAt - 1]!;
    assert.equal(endorsement.key_id, id1);
    assert.ok(checkpointSignatureValid(endorsement, pub1));
    for (const c of cps.checkpoints.slice(rotatedAt)) assert.ok(checkpointSignatureValid(c, pub2) && !checkpointSignatureValid(c, pub1));

    // The rotation is a key leaf naming both keys, inside the tree the old key's endorsement covers.
    const r = await fetch(`${server.url}/api/v1/integrity/export`, { headers: { authorization: `Bearer ${server.token}` } });
    const bundleText = await r.text();
    const keyLeaves = bundleText
      .split('\n')
      .filter((l) => l.includes('"kind":"leaf"') && l.includes('\\"type\\":\\"key\\"'))
      .map((l) => JSON.parse(l) as { index: number; data: string })
      .map((l) => ({ index: l.index, leaf: decodeLeaf(Buffer.from(l.data)) as KeyLeaf }));
    assert.deepEqual(
      keyLeaves.map((k) => [k.leaf.key_id, k.leaf.previous_key_id]),
      [
        [id1, ''],
        [id2, id1],
      ],
    );
    assert.equal(createPublicKey({ key: Buffer.from(keyLeaves[1]!.leaf.public_key, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }), readFileSync(`${key2}.pub`, 'utf8'));
    assert.ok(endorsement.size > keyLeaves[1]!.index, 'the endorsement covers the key leaf');

    // meshlog verify given only the old public key passes, and names the new key as trusted through the chain.
    const bundle = join(dir, 'rotated.bundle.jsonl');
    writeFileSync(bundle, bundleText);
    await server.stop();
    const v = await runCli(['verify', bundle, '--public-key', `${key1}.pub`]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`Trusted keys: +${id1}, ${id2}`));
    // Only the new key also passes: its checkpoints sign a tree whose leaves name the old key.
    const onlyNew = await runCli(['verify', bundle, '--public-key', `${key2}.pub`]);
    assert.equal(onlyNew.code, 0, onlyNew.stdout);
    assert.match(onlyNew.stdout, new RegExp(`Trusted keys: +${id2}, ${id1}`));
  });

  await t.test('a key replaced without previous_key_file: the old key does not vouch for it, and verify says so', async () => {
    const key3 = join(keyDir, 'k3.pem');
    server = await startServerProcess({ dataDir, args: ['--config', config('k3.yaml', [`key_file: ${key3}`])] });
    await ingest(server, 'unendorsed');
    const bundle = join(dir, 'unendorsed.bundle.jsonl');
    const ex = await runCli(['export', '--server', server.url, '--token', server.token, '--out', bundle]);
    assert.equal(ex.code, 0, ex.stderr);
    await server.stop();
    assert.match(server.output(), /signing key changed without the previous key to endorse it/);
    const id3 = keyIdOf(parsePublicKey(readFileSync(`${key3}.pub`, 'utf8')));
    const v = await runCli(['verify', bundle, '--public-key', `${key1}.pub`]);
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stdout, new RegExp(`\\[checkpoint_signature\\] checkpoint size \\d+ at \\S+ \\(bundle, key ${id3}\\): signed by key ${id3}, which is not a trusted key nor introduced by a key leaf under a trusted checkpoint`));
    // Given the new public key as well, the auditor accepts it.
    assert.equal((await runCli(['verify', bundle, '--public-key', `${key1}.pub`, '--public-key', `${key3}.pub`])).code, 0);
  });
});
