/**
 * The integrity ledger end to end, with real servers and the real CLI:
 * a baseline that `meshlog verify` passes, then each tamper an attacker with
 * the data dir could do (the server stopped), each caught by `meshlog verify`
 * with a message naming the record or checkpoint; retention under policy
 * passes with the deletion listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, statSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { signCheckpoint, type Checkpoint } from '@meshlog/core';
import { REPO_ROOT, runCli, startServerProcess, tempDir } from '../helpers/server-process.js';
import { otlpJsonLogsAt } from '../helpers/otlp-payloads.js';

const dir = tempDir('meshlog-integrity-');
const keyFile = join(dir, 'keys', 'signing.pem');
const storageKeys = join(dir, 'storage.keys');
const witnessFile = join(dir, 'witness.jsonl');
const config = join(dir, 'meshlog.yaml');
writeFileSync(config, `integrity:\n  key_file: ${keyFile}\n  witness:\n    file: ${witnessFile}\nstorage:\n  embedded:\n    encryption:\n      key_file: ${storageKeys}\n`);
const baseline = join(dir, 'baseline');
const DAY_MS = 86_400_000;

async function ingest(url: string, token: string, lines: string[], timeMs = Date.now()): Promise<void> {
  const body = otlpJsonLogsAt(lines.map((l, i) => ({ body: l, timeUnixNano: BigInt(timeMs) * 1_000_000n + BigInt(i) })), { 'service.name': 'ledgered' });
  const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  assert.equal(res.status, 200, await res.text());
}

async function tamperSql(dataDir: string, ...sql: string[]): Promise<void> {
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'tests/dist/helpers/chdb-tamper.js'), dataDir, storageKeys, ...sql], { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((res) => proc.once('exit', res));
  assert.equal(code, 0, 'tamper script failed');
}

/** Starts a server on `dataDir`, exports a bundle with the CLI, stops it, and verifies the bundle offline. */
async function exportAndVerify(dataDir: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const server = await startServerProcess({ dataDir, args: ['--config', config] });
  const out = join(dataDir + '.bundle.jsonl');
  const ex = await runCli(['export', '--server', server.url, '--token', server.token, '--out', out]);
  assert.equal(ex.code, 0, ex.stderr);
  await server.stop();
  return runCli(['verify', out, '--public-key', `${keyFile}.pub`, ...extra]);
}

function scenario(name: string): string {
  const d = join(dir, name);
  cpSync(baseline, d, { recursive: true });
  return d;
}

test('integrity: baseline verifies; each tamper is detected and named', { timeout: 600_000 }, async (t) => {
  const server = await startServerProcess({ dataDir: baseline, args: ['--config', config] });
  for (let i = 0; i < 3; i++) await ingest(server.url, server.token, Array.from({ length: 5 }, (_, j) => `ledgered request ${i} line ${j}`));
  // An old day, in a partition of its own (dropped below outside any policy).
  await ingest(server.url, server.token, ['ledgered old line 0', 'ledgered old line 1'], Date.now() - 3 * DAY_MS);
  const cps = (await (await fetch(`${server.url}/api/v1/integrity/checkpoints`, { headers: { authorization: `Bearer ${server.token}` } })).json()) as { checkpoints: Checkpoint[]; size: number };
  assert.ok(cps.checkpoints.length >= 1);
  await server.stop();
  // The witness as it stood when the baseline stopped (every scenario below appends its own to the file).
  const witnessSnapshot = join(dir, 'witness-baseline.jsonl');
  cpSync(witnessFile, witnessSnapshot);

  await t.test('baseline: verify passes, the witness holds the checkpoints', async () => {
    const r = await exportAndVerify(scenario('clean'), ['--witness', witnessSnapshot]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PASSED/);
    // 17 ingested records, plus the audit records of the calls made so far (also ledgered).
    const checked = Number(/Records: +(\d+) checked/.exec(r.stdout)?.[1]);
    assert.ok(checked >= 17, r.stdout);
  });

  await t.test('a record body changed in ClickHouse', async () => {
    const d = scenario('altered');
    await tamperSql(d, "ALTER TABLE meshlog.logs UPDATE body = 'nothing happened here' WHERE body = 'ledgered request 1 line 2' SETTINGS mutations_sync = 2");
    const r = await exportAndVerify(d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /\[record_altered\] record altered: logs ingest_seq \d+ ingest_row 2 \(tenant default, source otlp/);
  });

  await t.test('a record deleted directly', async () => {
    const d = scenario('deleted');
    await tamperSql(d, "ALTER TABLE meshlog.logs DELETE WHERE body = 'ledgered request 2 line 4' SETTINGS mutations_sync = 2");
    const r = await exportAndVerify(d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /\[record_missing\] record missing without a deletion record: logs ingest_seq \d+ ingest_row 4/);
  });

  await t.test('a partition dropped outside any retention policy', async () => {
    const d = scenario('dropped');
    const day = new Date(Date.now() - 3 * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '');
    await tamperSql(d, `ALTER TABLE meshlog.logs DROP PARTITION ('default', ${day})`);
    const r = await exportAndVerify(d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /record missing without a deletion record: logs ingest_seq \d+ ingest_row 0/);
    assert.match(r.stdout, /record missing without a deletion record: logs ingest_seq \d+ ingest_row 1/);
  });

  await t.test('the ledger file truncated', async () => {
    const d = scenario('truncated');
    const leaves = join(d, 'ledger', 'leaves.log');
    truncateSync(leaves, Math.floor(statSync(leaves).size / 2));
    const r = await exportAndVerify(d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /\[(ledger_truncated|checkpoint_root)\] checkpoint size \d+ at \S+ \(bundle, key [0-9a-f]{16}\)/);
  });

  await t.test('a checkpoint replaced with one signed by another key', async () => {
    const d = scenario('rekeyed');
    const file = join(d, 'ledger', 'checkpoints.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as Checkpoint;
    const { privateKey } = generateKeyPairSync('ed25519');
    lines[lines.length - 1] = JSON.stringify(signCheckpoint({ origin: last.origin, size: last.size, root: last.root, time: last.time }, privateKey));
    writeFileSync(file, lines.join('\n') + '\n');
    const r = await exportAndVerify(d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`\\[checkpoint_signature\\] checkpoint size ${last.size} at ${last.time.replace(/\./g, '\\.')} \\(bundle, key [0-9a-f]{16}\\): signed by key [0-9a-f]{16}, which is not a trusted key`));
  });

  await t.test('two different checkpoints of the same size (a fork)', async () => {
    const d = scenario('forked');
    const file = join(d, 'ledger', 'checkpoints.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as Checkpoint;
    // The operator's own key signs a second history of the same size.
    const { createPrivateKey } = await import('node:crypto');
    const forged = signCheckpoint({ origin: last.origin, size: last.size, root: 'ab'.repeat(32), time: new Date().toISOString() }, createPrivateKey(readFileSync(keyFile)));
    appendFileSync(file, JSON.stringify(forged) + '\n');
    const r = await exportAndVerify(d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`\\[fork\\] fork: checkpoint size ${last.size} at \\S+ \\(bundle, key [0-9a-f]{16}\\) has root abababab`));
  });
});
