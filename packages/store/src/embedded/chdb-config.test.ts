import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENCRYPTED_STORAGE_POLICY, privateRuntimeBase, renderChdbEncryptionConfig, writePrivateChdbConfig } from './chdb-config.js';
import { parseStorageKeys } from './encryption.js';

const K0 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const K1 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

test('the config names every key by id, makes the highest current, and puts both policies on the encrypted disk', () => {
  const xml = renderChdbEncryptionConfig({ clickhouseDir: '/d/clickhouse', keys: parseStorageKeys(`0 ${K0}\n1 ${K1}\n`, 'k'), selfPath: '/run/x/chdb.xml' });
  assert.match(xml, new RegExp(`<key_hex id="0">${K0}</key_hex>`));
  assert.match(xml, new RegExp(`<key_hex id="1">${K1}</key_hex>`));
  assert.match(xml, /<current_key_id>1<\/current_key_id>/);
  assert.match(xml, /<algorithm>AES_256_CTR<\/algorithm>/);
  assert.match(xml, /<path>\/d\/clickhouse\/encrypted\/<\/path>/, 'the wrapped local disk lives under the data dir');
  assert.match(xml, new RegExp(`<${ENCRYPTED_STORAGE_POLICY}><volumes><main><disk>meshlog_encrypted</disk>`));
  assert.match(xml, /<default><volumes><main><disk>meshlog_encrypted<\/disk>/, 'tables without a policy are encrypted too');
  assert.match(xml, /<users_config>\/run\/x\/chdb.xml<\/users_config>/);
  // The encrypted disk itself has no sub-path (one breaks fsync_part_directory).
  const encryptedDisk = /<meshlog_encrypted>\s*<type>encrypted<\/type>[\s\S]*?<\/meshlog_encrypted>/.exec(xml)?.[0] ?? '';
  assert.ok(encryptedDisk.length > 0 && !encryptedDisk.includes('<path>'));
});

test('spilling to plaintext temporary files is turned off and locked', () => {
  const xml = renderChdbEncryptionConfig({ clickhouseDir: '/d/clickhouse', keys: parseStorageKeys(`0 ${K0}\n`, 'k'), selfPath: '/x.xml' });
  for (const s of ['max_bytes_before_external_sort', 'max_bytes_ratio_before_external_sort', 'max_bytes_ratio_before_external_group_by', 'max_bytes_ratio_before_external_join']) {
    assert.match(xml, new RegExp(`<${s}>0</${s}>`));
    assert.match(xml, new RegExp(`<${s}><const/></${s}>`));
  }
  assert.match(xml, /<log_queries>0<\/log_queries>/);
});

test('paths are XML-escaped', () => {
  const xml = renderChdbEncryptionConfig({ clickhouseDir: '/d/a&b<c>/clickhouse', keys: parseStorageKeys(`0 ${K0}\n`, 'k'), selfPath: '/x.xml' });
  assert.match(xml, /<path>\/d\/a&amp;b&lt;c&gt;\/clickhouse\/encrypted\/<\/path>/);
});

test('the private config: mode 0600 in a fresh 0700 directory; remove() deletes both and is safe twice', () => {
  const base = mkdtempSync(join(tmpdir(), 'meshlog-cfg-test-'));
  const f = writePrivateChdbConfig((p) => `<clickhouse><!-- ${p} --></clickhouse>`, base);
  assert.equal(statSync(f.path).mode & 0o777, 0o600);
  const dir = join(f.path, '..');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.match(readFileSync(f.path, 'utf8'), new RegExp(f.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  f.remove();
  f.remove();
  assert.ok(!existsSync(dir));
  assert.deepEqual(readdirSync(base), []);
});

test('a config directory left by a dead process is swept; a live one is not', () => {
  const base = mkdtempSync(join(tmpdir(), 'meshlog-cfg-test-'));
  // pid 2^22+ is above Linux's default pid_max of 4194304, so no process has it.
  const dead = join(base, 'meshlog-chdb-4194999-abc');
  const live = join(base, `meshlog-chdb-${process.ppid}-abc`);
  mkdirSync(dead, { mode: 0o700 });
  mkdirSync(live, { mode: 0o700 });
  const f = writePrivateChdbConfig(() => '<clickhouse/>', base);
  assert.ok(!existsSync(dead));
  assert.ok(existsSync(live));
  f.remove();
});

test('XDG_RUNTIME_DIR is used only when it is ours and closed to others', () => {
  const mine = mkdtempSync(join(tmpdir(), 'meshlog-xdg-test-'));
  assert.equal(privateRuntimeBase({ XDG_RUNTIME_DIR: mine }), mine);
  const open = join(mine, 'open');
  mkdirSync(open, { mode: 0o755 });
  assert.equal(privateRuntimeBase({ XDG_RUNTIME_DIR: open }), tmpdir());
  assert.equal(privateRuntimeBase({ XDG_RUNTIME_DIR: 'relative/dir' }), tmpdir());
  assert.equal(privateRuntimeBase({ XDG_RUNTIME_DIR: join(mine, 'missing') }), tmpdir());
  assert.equal(privateRuntimeBase({}), tmpdir());
});
