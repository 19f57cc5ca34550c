/**
 * Storage keys for encryption at rest in embedded mode (ClickHouse's
 * encrypted disk, AES-256-CTR): the key file format, its parser and
 * validator, and the file operations around it (create, rotate).
 *
 * Key file format (also the value of a key environment variable):
 *
 *   # comments and blank lines are ignored
 *   <id> <64 hex digits>        one AES-256 key per line
 *
 *   - an id is a decimal integer 0..4294967295 and appears once; two ids
 *     never share a key;
 *   - the highest id is the current key: everything written from now on is
 *     encrypted with it. Lower ids stay, to decrypt what they wrote. Rotation
 *     appends a line; it never replaces or removes one;
 *   - in an environment variable, `;` may stand for a line break.
 *
 * Invariants:
 *   - a key file is a regular file of mode 0600 or stricter, owned by this
 *     user or root, and never inside the data dir (a key stored with the
 *     data protects nothing). Every check runs on the opened descriptor, so
 *     what is checked is what is read;
 *   - key material never appears in an error message, a log line, or the
 *     `util.inspect`/JSON form of a `StorageKeySet` (the keys live in a
 *     private field). Errors name the source and line, never the line's text;
 *   - a created or rotated key file is fsynced (file and directory) before it
 *     is used: a key lost in a crash after data was written with it would
 *     make that data unreadable for good.
 *
 * This module does no chDB work, so the CLI's `storage-key` commands can use
 * it (`@meshlog/store/encryption`) without loading the engine.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { inspect } from 'node:util';
import { fsyncDir } from '@meshlog/core';

/** The environment variable read when nothing else is configured. */
export const DEFAULT_KEY_ENV = 'MESHLOG_STORAGE_KEYS';
/** AES-256: 32 bytes, written as 64 hex digits. */
export const KEY_HEX_LENGTH = 64;
const MAX_KEY_ID = 0xffff_ffff;

export type StorageEncryptionErrorCode =
  /** The key text is malformed (bad hex, duplicate id, ...). */
  | 'key_invalid'
  /** The key file's mode, owner or type is unsafe. */
  | 'key_file_unsafe'
  /** The key file is inside the data dir. */
  | 'key_file_location'
  /** No key where one was needed. */
  | 'key_missing'
  /** A key does not match the one this data dir was encrypted with. */
  | 'key_mismatch'
  /** Encrypted data dir opened as plaintext, or the other way round. */
  | 'mode_mismatch'
  /** chDB did not open the data dir with the configured keys. */
  | 'open_failed';

/** A problem with storage encryption; the message says what to do and never contains key material. */
export class StorageEncryptionError extends Error {
  constructor(
    message: string,
    readonly code: StorageEncryptionErrorCode,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'StorageEncryptionError';
  }
}

/**
 * A validated set of keys. The key material is reachable only through
 * `keyHex()`, which the chDB config renderer uses; printing, logging or
 * serializing the set shows its source and ids only.
 */
export class StorageKeySet {
  readonly #keys: ReadonlyMap<number, string>;
  /** Ascending. */
  readonly ids: readonly number[];
  readonly currentId: number;

  constructor(
    keys: ReadonlyMap<number, string>,
    /** Where the keys came from, for messages: "key file /etc/meshlog/storage.keys". */
    readonly source: string,
  ) {
    if (keys.size === 0) throw new StorageEncryptionError(`${source} holds no key`, 'key_invalid');
    this.#keys = new Map(keys);
    this.ids = Object.freeze([...keys.keys()].sort((a, b) => a - b));
    this.currentId = this.ids[this.ids.length - 1]!;
  }

  has(id: number): boolean {
    return this.#keys.has(id);
  }

  /** The key as 64 hex digits. Only for rendering the engine's configuration. */
  keyHex(id: number): string {
    const k = this.#keys.get(id);
    if (k === undefined) throw new StorageEncryptionError(`${this.source} has no key id ${id}`, 'key_missing');
    return k;
  }

  /** A one-way fingerprint of key `id` (see `keyFingerprint`). */
  fingerprint(id: number): string {
    return keyFingerprint(this.keyHex(id));
  }

  toJSON(): { source: string; ids: readonly number[]; currentId: number } {
    return { source: this.source, ids: this.ids, currentId: this.currentId };
  }

  toString(): string {
    return `StorageKeySet(${this.source}: ids ${this.ids.join(', ')}, current ${this.currentId})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A short, one-way fingerprint of a key: HMAC-SHA-256 keyed by the key
 * itself over a fixed label, first 64 bits. It lets the data dir record which
 * key encrypted it (so a wrong key is refused with our message, not an engine
 * stack trace) without recording anything that helps recover the key.
 * (ClickHouse itself writes a 128-bit SipHash fingerprint into every file.)
 */
export function keyFingerprint(hex: string): string {
  return createHmac('sha256', Buffer.from(hex, 'hex')).update('meshlog storage key fingerprint v1').digest('hex').slice(0, 16);
}

/**
 * Parses key text. `source` names it in errors ("key file /x", "environment
 * variable MESHLOG_STORAGE_KEYS"). Pure: no I/O.
 */
export function parseStorageKeys(text: string, source: string, opts: { semicolonLines?: boolean } = {}): StorageKeySet {
  // Comments may contain ';', so a line is a comment before it is split into entries.
  const entries: { where: string; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = opts.semicolonLines ? line.split(';') : [line];
    parts.forEach((part, j) => {
      const where = `line ${i + 1}${parts.length > 1 ? `, entry ${j + 1}` : ''}`;
      if (part.trim() !== '') entries.push({ where, text: part.trim() });
    });
  });
  const keys = new Map<number, string>();
  const whereOfId = new Map<number, string>();
  const idOfKey = new Map<string, number>();
  const problems: string[] = [];
  for (const entry of entries) {
    const line = entry.text;
    const where = `${source}, ${entry.where}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) {
      problems.push(`${where}: expected "<id> <${KEY_HEX_LENGTH} hex digits>", found ${fields.length} field${fields.length === 1 ? '' : 's'}`);
      continue;
    }
    const [idText, hex] = fields as [string, string];
    if (!/^\d{1,10}$/.test(idText) || Number(idText) > MAX_KEY_ID) {
      problems.push(`${where}: the key id must be a whole number from 0 to ${MAX_KEY_ID}`);
      continue;
    }
    const id = Number(idText);
    if (hex.length !== KEY_HEX_LENGTH) {
      problems.push(`${where}: an AES-256 key is ${KEY_HEX_LENGTH} hex digits (32 bytes); this one has ${hex.length} characters`);
      continue;
    }
    if (!/^[0-9a-fA-F]+$/.test(hex)) {
      problems.push(`${where}: the key has characters that are not hex digits (0-9, a-f)`);
      continue;
    }
    const key = hex.toLowerCase();
    if (/^0+$/.test(key)) {
      problems.push(`${where}: the key is all zeros; generate one with \`meshlog storage-key generate\``);
      continue;
    }
    const first = whereOfId.get(id);
    if (first !== undefined) {
      problems.push(`${where}: key id ${id} appears twice (first at ${first}); each id names one key for good`);
      continue;
    }
    const sameKey = idOfKey.get(key);
    if (sameKey !== undefined) {
      problems.push(`${where}: key id ${id} has the same key as id ${sameKey}; every id needs a key of its own`);
      continue;
    }
    keys.set(id, key);
    whereOfId.set(id, entry.where);
    idOfKey.set(key, id);
  }
  if (problems.length > 0) throw new StorageEncryptionError(problems.join('\n'), 'key_invalid');
  if (keys.size === 0) {
    throw new StorageEncryptionError(`${source} holds no key; add a line "<id> <${KEY_HEX_LENGTH} hex digits>" (\`meshlog storage-key generate\` prints one)`, 'key_invalid');
  }
  return new StorageKeySet(keys, source);
}

/** Reads keys from an environment variable; undefined when it is unset or empty. */
export function readKeyEnv(name: string, env: NodeJS.ProcessEnv = process.env): StorageKeySet | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  return parseStorageKeys(value, `environment variable ${name}`, { semicolonLines: true });
}

/**
 * Reads and validates a key file: regular file, mode 0600 or stricter, owned
 * by this user or root, outside `dataDir` (when one is given: the CLI's
 * `storage-key` commands may not know it).
 */
export function readKeyFile(path: string, opts: { dataDir?: string } = {}): StorageKeySet {
  const abs = resolve(path);
  if (opts.dataDir !== undefined) assertOutsideDataDir(abs, opts.dataDir);
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StorageEncryptionError(`key file ${abs} does not exist`, 'key_missing', { cause: err });
    throw new StorageEncryptionError(`cannot open key file ${abs}: ${code ?? (err as Error).message}`, 'key_missing', { cause: err });
  }
  try {
    const st = fstatSync(fd);
    assertSafeKeyFile(abs, st);
    return parseStorageKeys(readFileSync(fd, 'utf8'), `key file ${abs}`);
  } finally {
    closeSync(fd);
  }
}

function assertSafeKeyFile(path: string, st: { isFile(): boolean; mode: number; uid: number }): void {
  if (!st.isFile()) throw new StorageEncryptionError(`key file ${path} is not a regular file`, 'key_file_unsafe');
  const perms = st.mode & 0o777;
  if ((perms & 0o077) !== 0) {
    throw new StorageEncryptionError(
      `key file ${path} has mode ${perms.toString(8).padStart(4, '0')}; other users could read or change it. ` + `It must be 0600 or stricter: chmod 600 ${shellQuote(path)}`,
      'key_file_unsafe',
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new StorageEncryptionError(`key file ${path} belongs to another user (uid ${st.uid}); it must belong to the user running Meshlog (uid ${uid}) or root`, 'key_file_unsafe');
  }
}

/**
 * Refuses a key path inside the data dir, comparing both the path as given
 * and with symbolic links resolved (a link from outside into the data dir is
 * still a key next to the data).
 */
export function assertOutsideDataDir(keyPath: string, dataDir: string): void {
  const candidates = [[resolve(keyPath), resolve(dataDir)] as const, [realpathOrSelf(keyPath), realpathOrSelf(dataDir)] as const];
  for (const [key, data] of candidates) {
    if (isInside(key, data)) {
      throw new StorageEncryptionError(
        `key file ${resolve(keyPath)} is inside the data dir ${resolve(dataDir)}: a key stored with the data protects nothing. ` +
          `Keep it elsewhere (another disk, a secrets mount) and point storage.embedded.encryption.key_file at it`,
        'key_file_location',
      );
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** realpath of the longest existing prefix, with the rest appended (the file may not exist yet). */
function realpathOrSelf(p: string): string {
  const abs = resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return abs;
      rest.push(basename(cur));
      cur = parent;
    }
  }
}

/** Where the key of a data dir lives when none is configured: `<parent>/.meshlog-keys/<name>.keys`, beside the data dir, never in it. */
export function defaultKeyFilePath(dataDir: string): string {
  const abs = resolve(dataDir);
  return join(dirname(abs), '.meshlog-keys', `${basename(abs)}.keys`);
}

/** A fresh random AES-256 key as 64 hex digits. */
export function generateKeyHex(): string {
  return randomBytes(32).toString('hex');
}

export function formatKeyLine(id: number, hex: string): string {
  return `${id} ${hex}`;
}

const KEY_FILE_HEADER = `# Meshlog storage keys (AES-256, encryption at rest). One "<id> <64 hex digits>" per line.
# The highest id encrypts new data; keep every older line: data written with it still needs it.
# Mode 0600, outside the data dir. Rotate with \`meshlog storage-key rotate --key-file <this file>\`.
`;

/**
 * Creates a key file holding one new key (id 0). Fails if the file exists.
 * A directory it has to create gets mode 0700. With `privateDir`, the parent
 * directory must also be owned by this user and closed to others (used for
 * the default location, which nobody chose explicitly).
 */
export function createKeyFile(path: string, opts: { dataDir: string; privateDir?: boolean }): StorageKeySet {
  const abs = resolve(path);
  assertOutsideDataDir(abs, opts.dataDir);
  const dir = dirname(abs);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (opts.privateDir) assertPrivateDir(dir);
  const text = `${KEY_FILE_HEADER}${formatKeyLine(0, generateKeyHex())}\n`;
  writeDurably(abs, text, 'wx');
  return readKeyFile(abs, opts);
}

/**
 * Appends a new key with the next id to a key file, atomically (a new file
 * renamed over the old one, same mode 0600). Returns the new id. Every
 * existing line is kept as it was.
 */
export function rotateKeyFile(path: string, opts: { dataDir?: string } = {}): { newId: number; keys: StorageKeySet } {
  const abs = resolve(path);
  const before = readKeyFile(abs, opts);
  const newId = before.currentId + 1;
  if (newId > MAX_KEY_ID) throw new StorageEncryptionError(`key file ${abs}: no key id left after ${before.currentId}`, 'key_invalid');
  const text = readFileSync(abs, 'utf8');
  const next = `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${formatKeyLine(newId, generateKeyHex())}\n`;
  const tmp = `${abs}.rotate-${process.pid}`;
  try {
    writeDurably(tmp, next, 'wx');
    renameSync(tmp, abs);
    fsyncDir(dirname(abs));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const keys = parseStorageKeys(next, `key file ${abs}`);
  return { newId, keys };
}

function assertPrivateDir(dir: string): void {
  const st = statSync(dir);
  const uid = process.getuid?.();
  if ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid && st.uid !== 0)) {
    throw new StorageEncryptionError(
      `directory ${dir} (for the generated storage key) must belong to this user and be closed to others (mode 0700); ` +
        `fix it (chmod 700 ${shellQuote(dir)}) or configure storage.embedded.encryption.key_file`,
      'key_file_unsafe',
    );
  }
}

/** Writes a file with mode 0600 from the first byte, then fsyncs it and its directory. */
function writeDurably(path: string, text: string, flag: 'wx'): void {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(dirname(path));
}


function shellQuote(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
