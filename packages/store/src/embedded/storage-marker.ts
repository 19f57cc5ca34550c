/**
 * `<data-dir>/storage.json`: how the embedded store in this data dir is kept
 * at rest. Written before chDB first opens the data dir and checked before
 * every open, so that a missing or wrong key is refused with our message
 * (naming what is missing) instead of an engine stack trace, and so that an
 * encrypted data dir is never opened as an empty plaintext one.
 *
 *   { "format": 1,
 *     "encryption": "aes_256_ctr" | "none",
 *     "keys": [ { "id": 0, "fingerprint": "<16 hex digits>", "added": "<RFC 3339>" } ],
 *     "updated": "<RFC 3339>" }
 *
 * Invariants: it records key ids and one-way fingerprints (see
 * `keyFingerprint`), never keys; a key id, once recorded, stays (data and
 * table files written with it keep needing it); it is replaced atomically
 * (temp file, fsync, rename, fsync of the directory), mode 0600.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ENCRYPTED_SUBDIR } from './chdb-config.js';
import { fsyncDir } from '@meshlog/core';
import { StorageEncryptionError } from './encryption.js';

export const STORAGE_MARKER_FILE = 'storage.json';

export interface MarkerKey {
  id: number;
  fingerprint: string;
  added: string;
}

export interface StorageMarker {
  format: 1;
  encryption: 'aes_256_ctr' | 'none';
  keys: MarkerKey[];
  updated: string;
}

/** What a data dir holds before chDB opens it. */
export type DataDirState =
  /** Nothing stored yet. */
  | { kind: 'fresh' }
  | { kind: 'marked'; marker: StorageMarker }
  /** A store without a marker and without an encrypted disk: written before encryption existed, plaintext. */
  | { kind: 'unmarked-plaintext' }
  /** An encrypted disk directory but no marker (it was deleted): key ids unknown. */
  | { kind: 'unmarked-encrypted' };

export function inspectDataDir(dataDir: string): DataDirState {
  const file = join(dataDir, STORAGE_MARKER_FILE);
  if (existsSync(file)) return { kind: 'marked', marker: readMarker(file) };
  const clickhouse = join(dataDir, 'clickhouse');
  if (existsSync(join(clickhouse, ENCRYPTED_SUBDIR))) return { kind: 'unmarked-encrypted' };
  // chDB creates metadata/ and store/ on first open; an empty directory (or only tmp/) holds nothing.
  const entries = existsSync(clickhouse) ? readdirSync(clickhouse).filter((e) => e !== 'tmp' && e !== 'status') : [];
  return entries.length > 0 ? { kind: 'unmarked-plaintext' } : { kind: 'fresh' };
}

function readMarker(file: string): StorageMarker {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StorageEncryptionError(`${file} is unreadable (${(err as Error).message}); it records how this data dir is encrypted. Restore it from a backup`, 'mode_mismatch', {
      cause: err,
    });
  }
  const m = parsed as Partial<StorageMarker>;
  const keysOk =
    Array.isArray(m.keys) && m.keys.every((k) => Number.isInteger(k?.id) && typeof k?.fingerprint === 'string' && /^[0-9a-f]{16}$/.test(k.fingerprint) && typeof k?.added === 'string');
  if (m.format !== 1 || (m.encryption !== 'aes_256_ctr' && m.encryption !== 'none') || !keysOk) {
    throw new StorageEncryptionError(`${file} is not a storage marker this version understands (format ${String(m.format)}); restore it from a backup`, 'mode_mismatch');
  }
  return m as StorageMarker;
}

export function writeStorageMarker(dataDir: string, marker: StorageMarker): void {
  const file = join(dataDir, STORAGE_MARKER_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(marker, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(dataDir);
}
