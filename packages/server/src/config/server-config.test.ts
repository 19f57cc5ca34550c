import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createLogger } from '@meshlog/core';
import { ClickHouseBackend, ChdbBackend } from '@meshlog/store';
import { serverRegistry } from '../registry.js';
import { loadServerConfig } from './server-config.js';
import { openStoreBackend, StorageConfigError } from '../store-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlog-config-test-'));
let n = 0;
function load(yaml: string): ReturnType<typeof loadServerConfig> {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return loadServerConfig(file, {}, serverRegistry);
}

function problems(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a configuration error');
}

test('embedded stays the default; storage.clickhouse takes defaults for what it does not say', () => {
  assert.equal(load('{}').storage.clickhouse, undefined);
  const c = load(`storage:
  clickhouse:
    url: http://ch1:8123
    cluster: prod
    password_file: /run/secrets/ch
`).storage.clickhouse!;
  assert.equal(c.username, 'default');
  assert.equal(c.database, 'meshlog');
  assert.equal(c.timeout_ms, 30_000);
  assert.equal(c.on_partial, 'fail');
});

test('storage.clickhouse is strict and names the key and line', () => {
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    password: hunter2\n'), /storage\.clickhouse\.password: a literal password is not accepted.*password_file.*password_env.*\(line 4/s);
  assert.doesNotMatch(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    password: hunter2\n'), /hunter2/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    clustr: x\n'), /unknown key "clustr"; did you mean "cluster"\?/);
  assert.match(problems('storage:\n  clickhouse:\n    cluster: x\n'), /set exactly one of url or urls/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    urls: [http://b:8123]\n'), /set exactly one of url or urls/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://u:p@a:8123\n'), /storage\.clickhouse\.url: expected an http:\/\/ or https:\/\/ URL without credentials/);
  assert.match(problems('storage:\n  clickhouse:\n    url: ftp://a\n'), /storage\.clickhouse\.url/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    password_file: /f\n    password_env: X\n'), /at most one of password_file or password_env/);
  assert.match(problems('storage:\n  clickhouse:\n    url: https://a:8443\n    tls: { cert_file: /c }\n'), /cert_file and key_file go together/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    tls: { ca_file: /ca }\n'), /tls applies to https:\/\/ URLs only/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    cluster: "x; DROP"\n'), /storage\.clickhouse\.cluster: use letters, digits and underscores/);
  assert.match(problems('storage:\n  clickhouse:\n    url: http://a:8123\n    on_partial: skip\n'), /storage\.clickhouse\.on_partial/);
});

test('openStoreBackend: chDB by default; ClickHouse with the password from a file or variable, never from the config', async () => {
  const logger = createLogger({ write: () => undefined });
  const embedded = openStoreBackend(load('{}'), join(dir, 'data'), logger);
  assert.ok(embedded.backend instanceof ChdbBackend);
  await embedded.backend.close();

  const pw = join(dir, 'pw');
  writeFileSync(pw, 'secret\n', { mode: 0o600 });
  const ch = openStoreBackend(load(`storage:\n  clickhouse:\n    urls: [http://a:8123, http://b:8123]\n    cluster: prod\n    password_file: ${pw}\n`), dir, logger);
  assert.ok(ch.backend instanceof ClickHouseBackend);
  assert.equal(ch.describe, 'ClickHouse cluster prod via a:8123, b:8123, database meshlog');
  assert.equal(ch.deployment.onCluster, 'ON CLUSTER prod');
  await ch.backend.close();

  assert.throws(
    () => openStoreBackend(load(`storage:\n  clickhouse:\n    url: http://a:8123\n    password_file: ${join(dir, 'missing')}\n`), dir, logger),
    (err: unknown) => err instanceof StorageConfigError && /password_file: cannot read .*missing \(ENOENT\)/.test(err.message),
  );
  delete process.env['MESHLOG_TEST_UNSET_PW'];
  assert.throws(() => openStoreBackend(load('storage:\n  clickhouse:\n    url: http://a:8123\n    password_env: MESHLOG_TEST_UNSET_PW\n'), dir, logger), /MESHLOG_TEST_UNSET_PW is not set/);

  // Without a cluster name: one server, the embedded layout.
  const single = openStoreBackend(load('storage:\n  clickhouse:\n    url: http://a:8123\n    database: logs\n'), dir, logger);
  assert.equal(single.deployment.onCluster, '');
  assert.equal(single.deployment.database, 'logs');
  await single.backend.close();
});

test('the default pipeline: every source through parse (record fields only) into the store', () => {
  const c = loadServerConfig(undefined, {}, serverRegistry);
  const byId = new Map(c.pipeline.components.map((x) => [x.id, x]));
  assert.equal(byId.get('parse')?.type, 'parse');
  assert.deepEqual(byId.get('parse')?.inputs, c.pipeline.components.filter((x) => x.kind === 'source').map((x) => x.id));
  assert.equal((byId.get('parse')?.config as { attributes: string }).attributes, 'none');
  assert.deepEqual(byId.get('store')?.inputs, ['parse']);
});
