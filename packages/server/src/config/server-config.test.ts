import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@meshlog/core';
import { encryptionSetting, loadServerConfig } from './server-config.js';
import { serverRegistry } from '../registry.js';

function load(yaml: string | undefined, flags = {}) {
  let file: string | undefined;
  if (yaml !== undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'meshlog-config-test-')), 'meshlog.yaml');
    writeFileSync(file, yaml);
  }
  return loadServerConfig(file, flags, serverRegistry);
}

test('encryption: nothing configured means the default (environment variable, else a key file beside the data dir)', () => {
  assert.deepEqual(encryptionSetting(load(undefined)), { kind: 'default' });
  assert.deepEqual(encryptionSetting(load('storage:\n  embedded:\n    encryption: {}\n')), { kind: 'default' });
  assert.deepEqual(encryptionSetting(load('storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: false\n')), { kind: 'default' });
});

test('encryption: key_file, key_env, allow_plaintext_at_rest', () => {
  assert.deepEqual(encryptionSetting(load('storage:\n  embedded:\n    encryption:\n      key_file: /etc/meshlog/storage.keys\n')), { kind: 'key-file', path: '/etc/meshlog/storage.keys' });
  assert.deepEqual(encryptionSetting(load('storage:\n  embedded:\n    encryption:\n      key_env: MY_KEYS\n')), { kind: 'key-env', name: 'MY_KEYS' });
  assert.deepEqual(encryptionSetting(load('storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: true\n')), { kind: 'plaintext' });
});

test('--storage-key-file overrides the config section', () => {
  const c = load('storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: true\n', { storageKeyFile: '/k' });
  assert.deepEqual(encryptionSetting(c), { kind: 'key-file', path: '/k' });
  assert.equal(c.storage.embedded.readers, 2, 'the rest of the section is kept');
});

test('encryption: two choices at once, a misspelled key, a bad variable name: errors that point at the line', () => {
  assert.throws(
    () => load('storage:\n  embedded:\n    encryption:\n      key_file: /k\n      allow_plaintext_at_rest: true\n'),
    (err: unknown) => err instanceof ConfigError && /storage\.embedded\.encryption: set one of key_file, key_env, allow_plaintext_at_rest, not key_file and allow_plaintext_at_rest \(line 4/.test(err.message),
  );
  assert.throws(
    () => load('storage:\n  embedded:\n    encryption:\n      keyfile: /k\n'),
    (err: unknown) => err instanceof ConfigError && /storage\.embedded\.encryption\.keyfile: unknown key "keyfile"; did you mean "key_file"\? \(line 4, column 7\)/.test(err.message),
  );
  assert.throws(
    () => load('storage:\n  embedded:\n    encryption:\n      key_env: "not a name"\n'),
    (err: unknown) => err instanceof ConfigError && /key_env: must be an environment variable name/.test(err.message),
  );
});
