import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORAGE_MARKER_FILE, inspectDataDir, writeStorageMarker, type StorageMarker } from './storage-marker.js';

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'meshlog-marker-test-'));
}

test('a data dir with nothing stored is fresh (an empty clickhouse dir, or only tmp/, counts as nothing)', () => {
  const d = dataDir();
  assert.equal(inspectDataDir(d).kind, 'fresh');
  mkdirSync(join(d, 'clickhouse', 'tmp'), { recursive: true });
  assert.equal(inspectDataDir(d).kind, 'fresh');
});

test('a store without a marker is plaintext from before encryption, unless it has an encrypted disk', () => {
  const d = dataDir();
  mkdirSync(join(d, 'clickhouse', 'metadata'), { recursive: true });
  assert.equal(inspectDataDir(d).kind, 'unmarked-plaintext');
  mkdirSync(join(d, 'clickhouse', 'encrypted'));
  assert.equal(inspectDataDir(d).kind, 'unmarked-encrypted');
});

test('the marker round-trips, mode 0600, and holds no key material', () => {
  const d = dataDir();
  const marker: StorageMarker = { format: 1, encryption: 'aes_256_ctr', keys: [{ id: 0, fingerprint: '0123456789abcdef', added: '2026-01-01T00:00:00.000Z' }], updated: '2026-01-01T00:00:00.000Z' };
  writeStorageMarker(d, marker);
  assert.equal(statSync(join(d, STORAGE_MARKER_FILE)).mode & 0o777, 0o600);
  const state = inspectDataDir(d);
  assert.equal(state.kind, 'marked');
  assert.deepEqual(state.kind === 'marked' && state.marker, marker);
  assert.ok(!/[0-9a-f]{32,}/.test(readFileSync(join(d, STORAGE_MARKER_FILE), 'utf8')));
});

test('a damaged or unknown marker is an error, not a fresh start', () => {
  const d = dataDir();
  writeFileSync(join(d, STORAGE_MARKER_FILE), '{ not json');
  assert.throws(() => inspectDataDir(d), /storage\.json is unreadable/);
  writeFileSync(join(d, STORAGE_MARKER_FILE), JSON.stringify({ format: 2, encryption: 'aes_256_ctr', keys: [] }));
  assert.throws(() => inspectDataDir(d), /not a storage marker this version understands \(format 2\)/);
  writeFileSync(join(d, STORAGE_MARKER_FILE), JSON.stringify({ format: 1, encryption: 'aes_256_ctr', keys: [{ id: 0, fingerprint: 'short', added: 'x' }] }));
  assert.throws(() => inspectDataDir(d), /not a storage marker/);
});
