/**
 * `openEmbeddedStore` in process: the refusals that must happen before chDB
 * is touched, and one real encrypted store through a key rotation. chDB
 * binds one data dir per process, so every real open here uses the same one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from './open-embedded-store.js';
import { StorageEncryptionError, generateKeyHex, rotateKeyFile } from './encryption.js';
import { STORAGE_MARKER_FILE, inspectDataDir, writeStorageMarker } from './storage-marker.js';
import type { LogBatch } from '@meshlog/core';

const K0 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

function dirs(): { root: string; data: string; runtime: string } {
  const root = mkdtempSync(join(tmpdir(), 'meshlog-open-test-'));
  const runtime = join(root, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  return { root, data: join(root, 'data'), runtime };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StorageEncryptionError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

test('an encrypted data dir is not opened as plaintext', async () => {
  const d = dirs();
  mkdirSync(d.data);
  writeStorageMarker(d.data, { format: 1, encryption: 'aes_256_ctr', keys: [{ id: 0, fingerprint: '0123456789abcdef', added: 'x' }], updated: 'x' });
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'plaintext' } }), 'mode_mismatch', /is encrypted at rest with key id 0; allow_plaintext_at_rest cannot open it/);
});

test('a plaintext data dir (marked, or from before encryption) is not silently half encrypted', async () => {
  const d = dirs();
  mkdirSync(join(d.data, 'clickhouse', 'metadata'), { recursive: true });
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'default' }, env: {} }), 'mode_mismatch', /holds data stored without encryption at rest.*allow_plaintext_at_rest: true/);
  writeStorageMarker(d.data, { format: 1, encryption: 'none', keys: [], updated: 'x' });
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'key-env', name: 'K' }, env: { K: `0 ${K0}` } }), 'mode_mismatch', /without encryption at rest/);
});

test('an encrypted data dir without its key: the error names the data dir, the key ids and where it looked; nothing is generated', async () => {
  const d = dirs();
  mkdirSync(d.data);
  writeStorageMarker(d.data, { format: 1, encryption: 'aes_256_ctr', keys: [{ id: 0, fingerprint: '0123456789abcdef', added: 'x' }], updated: 'x' });
  await rejectsWith(
    openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'default' }, env: {} }),
    'key_missing',
    /data dir .* is encrypted at rest with key id 0, but no key for it was found: no key is configured, MESHLOG_STORAGE_KEYS is not set.*\.meshlog-keys\/data\.keys does not exist/,
  );
  assert.ok(!existsSync(join(d.root, '.meshlog-keys', 'data.keys')), 'no new key for a data dir that holds data');
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'key-file', path: join(d.root, 'gone.keys') } }), 'key_missing', /but no key for it was found: the configured key file/);
  assert.ok(!existsSync(join(d.root, 'gone.keys')));
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'key-env', name: 'MY_KEYS' }, env: {} }), 'key_missing', /environment variable MY_KEYS .* is not set/);
});

test('a wrong key under the right id is refused by fingerprint', async () => {
  const d = dirs();
  mkdirSync(d.data);
  writeStorageMarker(d.data, { format: 1, encryption: 'aes_256_ctr', keys: [{ id: 0, fingerprint: '0123456789abcdef', added: 'x' }], updated: 'x' });
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'key-env', name: 'K' }, env: { K: `0 ${K0}` } }), 'key_mismatch', /key id 0 in environment variable K is not the key .* was encrypted with/);
});

test('a real encrypted store: created, rotated, old and new rows read back; the config never outlives the open', async () => {
  const d = dirs();
  const keyFile = join(d.root, 'keys', 'storage.keys');
  const env = { XDG_RUNTIME_DIR: d.runtime };
  const open = () => openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'key-file', path: keyFile }, env, readers: 1 });

  const first = await open();
  assert.equal(first.encryption.encrypted, true);
  assert.equal(first.encryption.keyFileCreated, true);
  assert.deepEqual(first.encryption.keyIds, [0]);
  assert.deepEqual(readdirSync(d.runtime), [], 'the chDB config (it holds the keys) is removed once the sessions are open');
  await first.store.insert([batch('before rotation')]);
  const policies = await first.store.backend.query<{ storage_policy: string }>(`SELECT DISTINCT storage_policy FROM system.tables WHERE database = 'meshlog'`);
  assert.deepEqual(
    policies.rows.map((r) => r.storage_policy),
    ['meshlog_encrypted'],
  );
  await first.store.close();

  assert.equal(rotateKeyFile(keyFile).newId, 1);
  const second = await open();
  assert.equal(second.encryption.keyFileCreated, false);
  assert.deepEqual(second.encryption.newKeyIds, [1]);
  assert.equal(second.encryption.currentKeyId, 1);
  await second.store.insert([batch('after rotation')]);
  const rows = await second.store.backend.query<{ body: string }>(`SELECT body FROM meshlog.logs ORDER BY body`);
  assert.deepEqual(
    rows.rows.map((r) => r.body),
    ['after rotation', 'before rotation'],
  );
  await second.store.close();
  const state = inspectDataDir(d.data);
  assert.ok(state.kind === 'marked' && state.marker.keys.map((k) => k.id).join() === '0,1');

  // The marker gone: the encrypted disk is still recognized, and the keys still open it.
  rmSync(join(d.data, STORAGE_MARKER_FILE));
  assert.equal(inspectDataDir(d.data).kind, 'unmarked-encrypted');
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'plaintext' } }), 'mode_mismatch', /is encrypted at rest; allow_plaintext_at_rest cannot open it/);
  // Wrong keys cannot be checked without a record: chDB refuses them, and no record is written for them.
  const wrong = `0 ${generateKeyHex()}\n1 ${generateKeyHex()}\n`;
  await rejectsWith(openEmbeddedStore({ dataDir: d.data, encryption: { kind: 'key-env', name: 'K' }, env: { ...env, K: wrong } }), 'open_failed', /chDB could not open the encrypted data dir/);
  assert.equal(inspectDataDir(d.data).kind, 'unmarked-encrypted');
  assert.deepEqual(readdirSync(d.runtime), [], 'the config is removed when the open fails too');
  const third = await open();
  assert.equal(inspectDataDir(d.data).kind, 'marked', 'recorded again once the keys proved right');
  const count = await third.store.backend.query<{ n: string }>(`SELECT count() AS n FROM meshlog.logs`);
  assert.equal(count.rows[0]?.n, '2');
  // A table on a plaintext disk (here forced with `disk`) is caught at the next start.
  await third.store.backend.exec(`CREATE TABLE meshlog.leak (x UInt8) ENGINE = MergeTree ORDER BY x SETTINGS disk = 'default'`);
  await third.store.close();
  await rejectsWith(open(), 'open_failed', /tables on a storage policy with an unencrypted disk: meshlog\.leak/);
});

function batch(body: string): LogBatch {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    kind: 'logs',
    tenant: 'default',
    source: 'test',
    records: [
      {
        timeUnixNano: now,
        observedTimeUnixNano: now,
        severityNumber: 9,
        severityText: 'INFO',
        body,
        attributes: {},
        resource: { 'service.name': 'svc' },
        scopeName: 'test',
        scopeVersion: '',
        traceId: '',
        spanId: '',
        flags: 0,
      },
    ],
  };
}
