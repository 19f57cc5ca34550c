/**
 * Opens the embedded store of a data dir, encrypted at rest unless told
 * otherwise. The one path every caller takes (the server, the benchmarks),
 * so the checks below cannot be skipped by opening chDB some other way.
 *
 * Order, and why:
 *   1. inspect the data dir (its `storage.json` marker): an encrypted data
 *      dir is never opened as plaintext (it would look empty and new data
 *      would land unencrypted), a plaintext one is never silently half
 *      encrypted;
 *   2. find the keys (configured file, environment variable, or the key
 *      file generated beside the data dir) and check them against the
 *      marker: every key id the data dir has used must be present with the
 *      same fingerprint. All of this happens before chDB is touched, so the
 *      errors are ours and say what is missing;
 *   3. record new key ids in the marker (before any data is written with
 *      them), write the chDB config privately, open the sessions, remove the
 *      config;
 *   4. run migrations with `storage_policy` on every table, then check that
 *      every MergeTree table of the store really sits on the encrypted
 *      policy.
 *
 * Key resolution when nothing is configured (`{ kind: 'default' }`): the
 * `MESHLOG_STORAGE_KEYS` environment variable if set, else
 * `<parent>/.meshlog-keys/<name>.keys`, created with a new key on the first
 * start of a fresh data dir (never for a data dir that already holds data).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ChdbBackend } from './chdb-backend.js';
import { ENCRYPTED_DISK, ENCRYPTED_STORAGE_POLICY, privateRuntimeBase, renderChdbEncryptionConfig, writePrivateChdbConfig } from './chdb-config.js';
import {
  DEFAULT_KEY_ENV,
  StorageEncryptionError,
  createKeyFile,
  defaultKeyFilePath,
  readKeyEnv,
  readKeyFile,
  type StorageKeySet,
} from './encryption.js';
import { inspectDataDir, writeStorageMarker, type DataDirState, type StorageMarker } from './storage-marker.js';
import { LogStore, type ReadLimits } from '../log-store.js';
import { embeddedDeployment } from '../schema/migrations.js';

export type EncryptionSetting =
  /** `MESHLOG_STORAGE_KEYS` if set, else the key file beside the data dir (generated on a fresh data dir). */
  | { kind: 'default' }
  /** A key file; created with a new key if missing and the data dir is fresh. */
  | { kind: 'key-file'; path: string }
  | { kind: 'key-env'; name: string }
  /** No encryption at rest: `allow_plaintext_at_rest: true`. */
  | { kind: 'plaintext' };

export interface EncryptionStatus {
  encrypted: boolean;
  /** "key file /x" or "environment variable X" (never the keys). */
  keySource?: string;
  /** The key file, when keys come from one. */
  keyFile?: string;
  /** True when this start created the key file. */
  keyFileCreated: boolean;
  keyIds: readonly number[];
  currentKeyId?: number;
  /** Key ids this start added to the data dir's record (a rotation taking effect). */
  newKeyIds: readonly number[];
}

export interface OpenEmbeddedStoreOptions {
  dataDir: string;
  encryption: EncryptionSetting;
  readers?: number;
  writers?: number;
  limits?: Partial<ReadLimits>;
  env?: NodeJS.ProcessEnv;
  database?: string;
  /** The ingest write-ahead log (see log-store.ts); absent = per-insert acknowledgements. */
  wal?: NonNullable<Parameters<typeof LogStore.open>[1]>['wal'];
}

export async function openEmbeddedStore(opts: OpenEmbeddedStoreOptions): Promise<{ store: LogStore; encryption: EncryptionStatus }> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const env = opts.env ?? process.env;
  const state = inspectDataDir(dataDir);
  const database = opts.database ?? 'meshlog';

  if (opts.encryption.kind === 'plaintext') {
    if ((state.kind === 'marked' && state.marker.encryption !== 'none') || state.kind === 'unmarked-encrypted') {
      const ids = state.kind === 'marked' ? ` with ${idList(state.marker.keys.map((k) => k.id))}` : '';
      throw new StorageEncryptionError(
        `data dir ${dataDir} is encrypted at rest${ids}; allow_plaintext_at_rest cannot open it. Configure its keys (storage.embedded.encryption.key_file or key_env)`,
        'mode_mismatch',
      );
    }
    if (state.kind !== 'marked') writeStorageMarker(dataDir, { format: 1, encryption: 'none', keys: [], updated: new Date().toISOString() });
    const backend = new ChdbBackend({ dataDir, ...sessions(opts) });
    const store = await openOrClose(backend, () => LogStore.open(backend, { deployment: embeddedDeployment(database), ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.wal ? { wal: opts.wal } : {}) }));
    return { store, encryption: { encrypted: false, keyFileCreated: false, keyIds: [], newKeyIds: [] } };
  }

  if ((state.kind === 'marked' && state.marker.encryption === 'none') || state.kind === 'unmarked-plaintext') {
    throw new StorageEncryptionError(
      `data dir ${dataDir} holds data stored without encryption at rest (written with allow_plaintext_at_rest, or by a Meshlog version without encryption), ` +
        `and Meshlog does not encrypt existing data in place. Either start with a new data dir, or keep this one as it is with ` +
        `storage.embedded.encryption.allow_plaintext_at_rest: true`,
      'mode_mismatch',
    );
  }

  const found = findKeys(opts.encryption, dataDir, state, env);
  const marker = checkKeysAgainstMarker(dataDir, state, found.keys);
  const newKeyIds = found.keys.ids.filter((id) => !(state.kind === 'marked' && state.marker.keys.some((k) => k.id === id)));
  // A new id is recorded before any data is written with it. Without a record (it was lost), the
  // keys cannot be checked until chDB has opened the data dir with them: recorded only after that.
  if (state.kind === 'fresh' || (state.kind === 'marked' && newKeyIds.length > 0)) writeStorageMarker(dataDir, marker);

  const clickhouseDir = ChdbBackend.clickhouseDir(dataDir);
  const config = writePrivateChdbConfig((self) => renderChdbEncryptionConfig({ clickhouseDir, keys: found.keys, selfPath: self }), privateRuntimeBase(env));
  let backend: ChdbBackend;
  try {
    backend = new ChdbBackend({ dataDir, ...sessions(opts), connectionArgs: [`--config-file=${config.path}`] });
  } catch (err) {
    throw new StorageEncryptionError(
      `chDB could not open the encrypted data dir ${dataDir} with the keys from ${found.keys.source} (${idList(found.keys.ids)}); ` +
        `the engine reported: ${firstLine(err)}. If the engine's message (on stderr) says DATA_ENCRYPTION_ERROR, a key this data dir needs is missing or wrong`,
      'open_failed',
      { cause: err },
    );
  } finally {
    // chDB read the file when the first session connected; the keys need not stay on disk.
    config.remove();
  }
  const store = await openOrClose(backend, async () => {
    // The ingest WAL holds acknowledged records before ClickHouse has them: it is encrypted with the same keys.
    const walKeys = { currentId: found.keys.currentId, key: (id: number) => (found.keys.has(id) ? Buffer.from(found.keys.keyHex(id), 'hex') : undefined) };
    const s = await LogStore.open(backend, {
      deployment: embeddedDeployment(database, { storagePolicy: ENCRYPTED_STORAGE_POLICY }),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.wal ? { wal: { ...opts.wal, keys: walKeys } } : {}),
    });
    await assertTablesEncrypted(backend, database);
    if (state.kind === 'unmarked-encrypted') writeStorageMarker(dataDir, marker);
    return s;
  });
  return {
    store,
    encryption: {
      encrypted: true,
      keySource: found.keys.source,
      ...(found.keyFile !== undefined ? { keyFile: found.keyFile } : {}),
      keyFileCreated: found.created,
      keyIds: found.keys.ids,
      currentKeyId: found.keys.currentId,
      newKeyIds: state.kind === 'marked' ? newKeyIds : [],
    },
  };
}

/** "key id 0" or "key ids 0, 1". */
function idList(ids: readonly number[]): string {
  return `key id${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`;
}

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0] ?? '';
}

function sessions(opts: OpenEmbeddedStoreOptions): { readers?: number; writers?: number } {
  return { ...(opts.readers !== undefined ? { readers: opts.readers } : {}), ...(opts.writers !== undefined ? { writers: opts.writers } : {}) };
}

async function openOrClose<T>(backend: ChdbBackend, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    await backend.close();
    throw err;
  }
}

interface FoundKeys {
  keys: StorageKeySet;
  keyFile?: string;
  created: boolean;
}

/** Finds the keys for `setting`; creates a key file only for a data dir that holds nothing yet. */
function findKeys(setting: Exclude<EncryptionSetting, { kind: 'plaintext' }>, dataDir: string, state: DataDirState, env: NodeJS.ProcessEnv): FoundKeys {
  const fresh = state.kind === 'fresh';
  const missing = (what: string): StorageEncryptionError => {
    const ids = state.kind === 'marked' ? ` with ${idList(state.marker.keys.map((k) => k.id))}` : '';
    return new StorageEncryptionError(
      `data dir ${dataDir} is encrypted at rest${ids}, but no key for it was found: ${what}. ` +
        `Point storage.embedded.encryption.key_file (or --storage-key-file) at its key file, or key_env at a variable holding its keys`,
      'key_missing',
    );
  };
  const fromFile = (path: string, privateDir: boolean, what: string): FoundKeys => {
    try {
      return { keys: readKeyFile(path, { dataDir }), keyFile: resolve(path), created: false };
    } catch (err) {
      if (!(err instanceof StorageEncryptionError && err.code === 'key_missing')) throw err;
      if (!fresh) throw missing(`${what} (${err.message})`);
    }
    return { keys: createKeyFile(path, { dataDir, privateDir }), keyFile: resolve(path), created: true };
  };
  switch (setting.kind) {
    case 'key-file':
      return fromFile(setting.path, false, 'the configured key file');
    case 'key-env': {
      const keys = readKeyEnv(setting.name, env);
      if (!keys) {
        if (fresh) throw new StorageEncryptionError(`environment variable ${setting.name} (storage.embedded.encryption.key_env) is not set`, 'key_missing');
        throw missing(`environment variable ${setting.name} (storage.embedded.encryption.key_env) is not set`);
      }
      return { keys, created: false };
    }
    case 'default': {
      const keys = readKeyEnv(DEFAULT_KEY_ENV, env);
      if (keys) return { keys, created: false };
      return fromFile(defaultKeyFilePath(dataDir), true, `no key is configured, ${DEFAULT_KEY_ENV} is not set, and the key file generated beside the data dir is gone`);
    }
  }
}

/**
 * Every key id the data dir has used must be present with the same
 * fingerprint. Returns the marker to record: the old entries plus any new ids.
 */
function checkKeysAgainstMarker(dataDir: string, state: DataDirState, keys: StorageKeySet): StorageMarker {
  const now = new Date().toISOString();
  const recorded = state.kind === 'marked' ? state.marker.keys : [];
  const missing = recorded.filter((k) => !keys.has(k.id)).map((k) => k.id);
  if (missing.length > 0) {
    throw new StorageEncryptionError(
      `data dir ${dataDir} has data encrypted with ${idList(missing)}, missing from ${keys.source} ` +
        `(it has ${idList(keys.ids)}). Keep every key a data dir has used: rotation adds a key, it never retires one`,
      'key_missing',
    );
  }
  const wrong = recorded.filter((k) => keys.fingerprint(k.id) !== k.fingerprint).map((k) => k.id);
  if (wrong.length > 0) {
    throw new StorageEncryptionError(
      `${idList(wrong)} in ${keys.source} ${wrong.length > 1 ? 'are' : 'is'} not the key${wrong.length > 1 ? 's' : ''} data dir ${dataDir} was encrypted with (fingerprint mismatch); ` +
        `use the key file this data dir was created with`,
      'key_mismatch',
    );
  }
  const added = keys.ids.filter((id) => !recorded.some((k) => k.id === id)).map((id) => ({ id, fingerprint: keys.fingerprint(id), added: now }));
  return { format: 1, encryption: 'aes_256_ctr', keys: [...recorded, ...added].sort((a, b) => a.id - b.id), updated: now };
}

/**
 * The schema asks for the encrypted policy; this checks that the engine
 * agrees: every MergeTree table of the store is on a policy whose every disk
 * is encrypted (the store's own tables name `meshlog_encrypted`; one created
 * without a policy gets `default`, which the config also puts on the
 * encrypted disk).
 */
async function assertTablesEncrypted(backend: ChdbBackend, database: string): Promise<void> {
  const disks = await backend.query<{ name: string; is_encrypted: number | string }>(`SELECT name, is_encrypted FROM system.disks`);
  const encrypted = new Set(disks.rows.filter((d) => Number(d.is_encrypted) === 1).map((d) => d.name));
  if (!encrypted.has(ENCRYPTED_DISK)) throw new StorageEncryptionError('the encrypted disk is not configured in chDB; refusing to store data in plain text', 'open_failed');
  const policies = await backend.query<{ policy_name: string; disks: string[] }>(`SELECT policy_name, disks FROM system.storage_policies`);
  const plainPolicies = new Set(policies.rows.filter((p) => p.disks.some((d) => !encrypted.has(d))).map((p) => p.policy_name));
  const tables = await backend.query<{ name: string; storage_policy: string }>(
    `SELECT name, storage_policy FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'`,
    { params: { db: database } },
  );
  const plain = tables.rows.filter((t) => plainPolicies.has(t.storage_policy) || !policies.rows.some((p) => p.policy_name === t.storage_policy));
  if (plain.length > 0) {
    throw new StorageEncryptionError(
      `tables on a storage policy with an unencrypted disk: ${plain.map((t) => `${database}.${t.name} (${t.storage_policy})`).join(', ')}; refusing to store data in plain text`,
      'open_failed',
    );
  }
}
