import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  StorageEncryptionError,
  assertOutsideDataDir,
  createKeyFile,
  defaultKeyFilePath,
  generateKeyHex,
  keyFingerprint,
  parseStorageKeys,
  readKeyEnv,
  readKeyFile,
  rotateKeyFile,
} from './encryption.js';

const K0 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const K1 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const K2 = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'meshlog-keys-test-'));
}

/** Asserts `fn` throws a StorageEncryptionError with `code`, matching `pattern`, and never showing key material. */
function throwsKeyError(fn: () => unknown, code: string, pattern: RegExp, secrets: string[] = [K0, K1, K2]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StorageEncryptionError, `expected StorageEncryptionError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    for (const s of secrets) {
      assert.ok(!err.message.toLowerCase().includes(s.slice(0, 16)), 'key material in the message');
    }
    return true;
  });
}

test('parses ids and keys; the highest id is current; comments, blank lines and CRLF are fine', () => {
  const keys = parseStorageKeys(`# a comment\r\n\r\n  1 ${K1}  \r\n0 ${K0.toUpperCase()}\r\n`, 'key file x');
  assert.deepEqual(keys.ids, [0, 1]);
  assert.equal(keys.currentId, 1);
  assert.equal(keys.keyHex(0), K0, 'normalized to lower case');
  assert.ok(keys.has(1) && !keys.has(2));
});

test('ids need not be contiguous; current is the highest', () => {
  const keys = parseStorageKeys(`7 ${K1}\n3 ${K0}\n`, 'x');
  assert.equal(keys.currentId, 7);
});

test('an environment value may use ; between entries', () => {
  const keys = readKeyEnv('KEYS', { KEYS: `0 ${K0}; 1 ${K1}` });
  assert.ok(keys);
  assert.deepEqual(keys.ids, [0, 1]);
  assert.equal(keys.source, 'environment variable KEYS');
  // A key file's content (comments may hold ';') works as the value too.
  const fileLike = readKeyEnv('KEYS', { KEYS: `# keep every line; really\n0 ${K0}\n1 ${K1}\n` });
  assert.deepEqual(fileLike?.ids, [0, 1]);
  assert.throws(() => readKeyEnv('KEYS', { KEYS: `0 ${K0};0 ${K1}` }), /environment variable KEYS, line 1, entry 2: key id 0 appears twice \(first at line 1, entry 1\)/);
  assert.equal(readKeyEnv('KEYS', {}), undefined);
  assert.equal(readKeyEnv('KEYS', { KEYS: '  ' }), undefined);
});

test('bad hex: a non-hex character, or the wrong length', () => {
  throwsKeyError(() => parseStorageKeys(`0 ${K0.slice(0, 63)}g\n`, 'key file k'), 'key_invalid', /key file k, line 1: the key has characters that are not hex digits/);
  throwsKeyError(() => parseStorageKeys(`0 ${K0.slice(0, 62)}\n`, 'key file k'), 'key_invalid', /line 1: an AES-256 key is 64 hex digits \(32 bytes\); this one has 62 characters/);
  throwsKeyError(() => parseStorageKeys(`0 ${K0}00\n`, 'key file k'), 'key_invalid', /this one has 66 characters/);
});

test('bad ids', () => {
  throwsKeyError(() => parseStorageKeys(`-1 ${K0}\n`, 'k'), 'key_invalid', /key id must be a whole number/);
  throwsKeyError(() => parseStorageKeys(`one ${K0}\n`, 'k'), 'key_invalid', /key id must be a whole number/);
  throwsKeyError(() => parseStorageKeys(`4294967296 ${K0}\n`, 'k'), 'key_invalid', /key id must be a whole number from 0 to 4294967295/);
});

test('duplicate ids, including 01 and 1', () => {
  throwsKeyError(() => parseStorageKeys(`1 ${K0}\n# c\n01 ${K1}\n`, 'k'), 'key_invalid', /k, line 3: key id 1 appears twice \(first at line 1\)/);
});

test('one key under two ids is refused (a rotation that rotates nothing)', () => {
  throwsKeyError(() => parseStorageKeys(`0 ${K0}\n1 ${K0}\n`, 'k'), 'key_invalid', /line 2: key id 1 has the same key as id 0/);
});

test('an all-zero key, a line with three fields, and an empty file are refused', () => {
  throwsKeyError(() => parseStorageKeys(`0 ${'0'.repeat(64)}\n`, 'k'), 'key_invalid', /all zeros/);
  throwsKeyError(() => parseStorageKeys(`0 ${K0} current\n`, 'k'), 'key_invalid', /expected "<id> <64 hex digits>", found 3 fields/);
  throwsKeyError(() => parseStorageKeys(`# only a comment\n`, 'key file k'), 'key_invalid', /key file k holds no key/);
});

test('every problem is reported at once, each with its line', () => {
  assert.throws(
    () => parseStorageKeys(`0 zz\n1 ${K1}\n1 ${K2}\n`, 'k'),
    (err: Error) => err.message.split('\n').length === 2 && /line 1/.test(err.message) && /line 3/.test(err.message),
  );
});

test('a key set never shows its keys: inspect, JSON, string', () => {
  const keys = parseStorageKeys(`0 ${K0}\n1 ${K1}\n`, 'key file k');
  for (const shown of [inspect(keys), JSON.stringify(keys), String(keys), inspect({ nested: keys }, { depth: 5, showHidden: true })]) {
    assert.ok(!shown.includes(K0) && !shown.includes(K1), shown);
    assert.match(shown, /key file k/);
  }
});

test('fingerprints are stable, differ per key, and are not the key', () => {
  assert.equal(keyFingerprint(K0), keyFingerprint(K0));
  assert.notEqual(keyFingerprint(K0), keyFingerprint(K1));
  assert.match(keyFingerprint(K0), /^[0-9a-f]{16}$/);
  assert.ok(!K0.includes(keyFingerprint(K0)));
});

test('key file: 0600 and 0400 are accepted; group or other bits are refused with the chmod to run', () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const f = join(dir, 'storage.keys');
  writeFileSync(f, `0 ${K0}\n`);
  for (const mode of [0o600, 0o400]) {
    chmodSync(f, mode);
    assert.deepEqual(readKeyFile(f, { dataDir: data }).ids, [0]);
  }
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o666, 0o610]) {
    chmodSync(f, mode);
    throwsKeyError(() => readKeyFile(f, { dataDir: data }), 'key_file_unsafe', new RegExp(`mode 0${mode.toString(8)}.*must be 0600 or stricter: chmod 600 `));
  }
});

test('key file: missing, or a directory', () => {
  const dir = tmp();
  throwsKeyError(() => readKeyFile(join(dir, 'nope.keys'), { dataDir: join(dir, 'data') }), 'key_missing', /does not exist/);
  const d = join(dir, 'adir');
  mkdirSync(d, { mode: 0o700 });
  throwsKeyError(() => readKeyFile(d, { dataDir: join(dir, 'data') }), 'key_file_unsafe', /not a regular file/);
});

test('a key file inside the data dir is refused, also through a symbolic link; a sibling with a common prefix is fine', () => {
  const dir = tmp();
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const inside = join(data, 'storage.keys');
  writeFileSync(inside, `0 ${K0}\n`, { mode: 0o600 });
  throwsKeyError(() => readKeyFile(inside, { dataDir: data }), 'key_file_location', /is inside the data dir .*protects nothing/);
  throwsKeyError(() => readKeyFile(join(data, 'sub', '..', 'storage.keys'), { dataDir: data }), 'key_file_location', /inside the data dir/);
  const link = join(dir, 'link.keys');
  symlinkSync(inside, link);
  throwsKeyError(() => readKeyFile(link, { dataDir: data }), 'key_file_location', /inside the data dir/);
  // The data dir reached through a link is still the data dir.
  const dataLink = join(dir, 'data-link');
  symlinkSync(data, dataLink);
  throwsKeyError(() => assertOutsideDataDir(join(dataLink, 'k'), data), 'key_file_location', /inside the data dir/);
  throwsKeyError(() => assertOutsideDataDir(data, data), 'key_file_location', /inside the data dir/);
  // "data-keys" starts with "data" but is not inside it.
  mkdirSync(join(dir, 'data-keys'), { mode: 0o700 });
  const sibling = join(dir, 'data-keys', 'storage.keys');
  writeFileSync(sibling, `0 ${K0}\n`, { mode: 0o600 });
  assert.deepEqual(readKeyFile(sibling, { dataDir: data }).ids, [0]);
});

test('the default key file sits beside the data dir, not in it', () => {
  assert.equal(defaultKeyFilePath('/srv/meshlog/data'), '/srv/meshlog/.meshlog-keys/data.keys');
  assert.doesNotThrow(() => assertOutsideDataDir(defaultKeyFilePath('/srv/meshlog/data'), '/srv/meshlog/data'));
});

test('createKeyFile: mode 0600 in a 0700 directory, one key with id 0, never overwrites', () => {
  const dir = tmp();
  const f = join(dir, 'new', 'storage.keys');
  const keys = createKeyFile(f, { dataDir: join(dir, 'data'), privateDir: true });
  assert.deepEqual(keys.ids, [0]);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o700);
  assert.match(readFileSync(f, 'utf8'), /^# Meshlog storage keys/);
  assert.throws(() => createKeyFile(f, { dataDir: join(dir, 'data') }), /EEXIST/);
  throwsKeyError(() => createKeyFile(join(dir, 'data', 'k'), { dataDir: join(dir, 'data') }), 'key_file_location', /inside the data dir/);
});

test('createKeyFile with privateDir refuses a directory others can enter', () => {
  const dir = tmp();
  const shared = join(dir, 'shared');
  mkdirSync(shared, { mode: 0o755 });
  chmodSync(shared, 0o755);
  throwsKeyError(() => createKeyFile(join(shared, 'k.keys'), { dataDir: join(dir, 'data'), privateDir: true }), 'key_file_unsafe', /must belong to this user and be closed to others/);
});

test('rotateKeyFile appends the next id, keeps every line and the mode', () => {
  const dir = tmp();
  const f = join(dir, 'storage.keys');
  writeFileSync(f, `# mine\n0 ${K0}`, { mode: 0o600 });
  const r1 = rotateKeyFile(f);
  assert.equal(r1.newId, 1);
  assert.deepEqual(r1.keys.ids, [0, 1]);
  const r2 = rotateKeyFile(f, { dataDir: join(dir, 'data') });
  assert.equal(r2.newId, 2);
  const text = readFileSync(f, 'utf8');
  assert.ok(text.startsWith(`# mine\n0 ${K0}\n1 `), text.slice(0, 30));
  assert.equal(statSync(f).mode & 0o777, 0o600);
  const keys = readKeyFile(f);
  assert.deepEqual(keys.ids, [0, 1, 2]);
  assert.equal(keys.currentId, 2);
  assert.equal(keys.keyHex(0), K0);
  assert.notEqual(keys.keyHex(1), keys.keyHex(2));
});

test('rotateKeyFile refuses an unsafe key file rather than rewriting it', () => {
  const dir = tmp();
  const f = join(dir, 'storage.keys');
  writeFileSync(f, `0 ${K0}\n`, { mode: 0o644 });
  chmodSync(f, 0o644);
  throwsKeyError(() => rotateKeyFile(f), 'key_file_unsafe', /mode 0644/);
});

test('generated keys are 64 hex digits and differ', () => {
  const a = generateKeyHex();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, generateKeyHex());
});
