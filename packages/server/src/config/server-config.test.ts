import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createLogger } from '@meshlog/core';
import { ClickHouseBackend } from '@meshlog/store';
import { serverRegistry } from '../registry.js';
import { defaultPipeline, encryptionSetting, loadServerConfig, ServerSectionSchema } from './server-config.js';
import { openClickHouseBackend, StorageConfigError } from '../store-backend.js';

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

test('openClickHouseBackend: the password from a file or variable, never from the config', async () => {
  const logger = createLogger({ write: () => undefined });

  const pw = join(dir, 'pw');
  writeFileSync(pw, 'secret\n', { mode: 0o600 });
  const ch = openClickHouseBackend(load(`storage:\n  clickhouse:\n    urls: [http://a:8123, http://b:8123]\n    cluster: prod\n    password_file: ${pw}\n`).storage.clickhouse!, logger);
  assert.ok(ch.backend instanceof ClickHouseBackend);
  assert.equal(ch.describe, 'ClickHouse cluster prod via a:8123, b:8123, database meshlog');
  assert.equal(ch.deployment.onCluster, 'ON CLUSTER prod');
  await ch.backend.close();

  assert.throws(
    () => openClickHouseBackend(load(`storage:\n  clickhouse:\n    url: http://a:8123\n    password_file: ${join(dir, 'missing')}\n`).storage.clickhouse!, logger),
    (err: unknown) => err instanceof StorageConfigError && /password_file: cannot read .*missing \(ENOENT\)/.test(err.message),
  );
  delete process.env['MESHLOG_TEST_UNSET_PW'];
  assert.throws(() => openClickHouseBackend(load('storage:\n  clickhouse:\n    url: http://a:8123\n    password_env: MESHLOG_TEST_UNSET_PW\n').storage.clickhouse!, logger), /MESHLOG_TEST_UNSET_PW is not set/);

  // Without a cluster name: one server, the embedded layout.
  const single = openClickHouseBackend(load('storage:\n  clickhouse:\n    url: http://a:8123\n    database: logs\n').storage.clickhouse!, logger);
  assert.equal(single.deployment.onCluster, '');
  assert.equal(single.deployment.database, 'logs');
  await single.backend.close();
});

// ---- encryption at rest (storage.embedded.encryption) ----

function loadWithFlags(yaml: string | undefined, flags = {}) {
  let file: string | undefined;
  if (yaml !== undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'meshlog-config-test-')), 'meshlog.yaml');
    writeFileSync(file, yaml);
  }
  return loadServerConfig(file, flags, serverRegistry);
}

test('encryption: nothing configured means the default (environment variable, else a key file beside the data dir)', () => {
  assert.deepEqual(encryptionSetting(loadWithFlags(undefined)), { kind: 'default' });
  assert.deepEqual(encryptionSetting(loadWithFlags('storage:\n  embedded:\n    encryption: {}\n')), { kind: 'default' });
  assert.deepEqual(encryptionSetting(loadWithFlags('storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: false\n')), { kind: 'default' });
});

test('encryption: key_file, key_env, allow_plaintext_at_rest', () => {
  assert.deepEqual(encryptionSetting(loadWithFlags('storage:\n  embedded:\n    encryption:\n      key_file: /etc/meshlog/storage.keys\n')), { kind: 'key-file', path: '/etc/meshlog/storage.keys' });
  assert.deepEqual(encryptionSetting(loadWithFlags('storage:\n  embedded:\n    encryption:\n      key_env: MY_KEYS\n')), { kind: 'key-env', name: 'MY_KEYS' });
  assert.deepEqual(encryptionSetting(loadWithFlags('storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: true\n')), { kind: 'plaintext' });
});

test('--storage-key-file overrides the config section', () => {
  const c = loadWithFlags('storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: true\n', { storageKeyFile: '/k' });
  assert.deepEqual(encryptionSetting(c), { kind: 'key-file', path: '/k' });
  assert.equal(c.storage.embedded.readers, 2, 'the rest of the section is kept');
});

test('encryption: two choices at once, a misspelled key, a bad variable name: errors that point at the line', () => {
  assert.throws(
    () => loadWithFlags('storage:\n  embedded:\n    encryption:\n      key_file: /k\n      allow_plaintext_at_rest: true\n'),
    (err: unknown) => err instanceof ConfigError && /storage\.embedded\.encryption: set one of key_file, key_env, allow_plaintext_at_rest, not key_file and allow_plaintext_at_rest \(line 4/.test(err.message),
  );
  assert.throws(
    () => loadWithFlags('storage:\n  embedded:\n    encryption:\n      keyfile: /k\n'),
    (err: unknown) => err instanceof ConfigError && /storage\.embedded\.encryption\.keyfile: unknown key "keyfile"; did you mean "key_file"\? \(line 4, column 7\)/.test(err.message),
  );
  assert.throws(
    () => loadWithFlags('storage:\n  embedded:\n    encryption:\n      key_env: "not a name"\n'),
    (err: unknown) => err instanceof ConfigError && /key_env: must be an environment variable name/.test(err.message),
  );
});

test('the default pipeline puts OTLP/gRPC and Envoy ALS on the gRPC port, and leaves them out when it is 0', () => {
  const ids = (c: ReturnType<typeof loadServerConfig>): string[] => c.pipeline.components.map((x) => `${x.id}:${x.type}`).sort();
  assert.deepEqual(ids(load('{}')), ['datadog_logs:datadog_logs', 'envoy_als:envoy_als', 'es_bulk:es_bulk', 'fluent:fluent', 'loki_push:loki_push', 'otlp:otlp', 'otlp_grpc:otlp_grpc', 'parse:parse', 'splunk_hec:splunk_hec', 'store:store', 'syslog:syslog', 'zipkin:zipkin']);
  assert.deepEqual(ids(loadServerConfig(undefined, { grpcPort: 0 }, serverRegistry)), ['datadog_logs:datadog_logs', 'es_bulk:es_bulk', 'fluent:fluent', 'loki_push:loki_push', 'otlp:otlp', 'parse:parse', 'splunk_hec:splunk_hec', 'store:store', 'syslog:syslog', 'zipkin:zipkin']);
  const grpc = load('server:\n  grpc:\n    max_receive_message_bytes: 1048576\n').server.grpc;
  assert.equal(grpc.max_receive_message_bytes, 1_048_576);
  assert.equal(grpc.max_concurrent_streams, 100);
  assert.equal(load('{}').server.grpc.max_receive_message_bytes, 16 * 1024 * 1024);
  assert.match(problems('server:\n  grpc:\n    max_message_bytes: 5\n'), /unknown key "max_message_bytes"/);
});

test('the default pipeline runs the fluent source on server.forward_port; 0 leaves it out; a public address needs a shared key', () => {
  const fluent = (c: ReturnType<typeof load>) => c.pipeline.components.find((x) => x.id === 'fluent');
  const on = fluent(load('server:\n  forward_port: 24299\n'));
  assert.equal(on?.type, 'fluent');
  assert.deepEqual([(on?.config as { listen_address: string }).listen_address, (on?.config as { port: number }).port], ['127.0.0.1', 24299]);
  assert.ok(load('{}').pipeline.components.find((x) => x.id === 'parse')!.inputs.includes('fluent'));
  assert.equal(fluent(load('server:\n  forward_port: 0\n')), undefined);
  assert.equal(fluent(loadServerConfig(undefined, { forwardPort: 0 }, serverRegistry)), undefined);
  assert.match(problems('server:\n  listen_address: 0.0.0.0\n  allow_plaintext: true\n'), /sources\.fluent\.listen_address: .*needs security\.shared_key_file.*server\.forward_port: 0/s);
  assert.equal(fluent(load('server:\n  listen_address: 0.0.0.0\n  allow_plaintext: true\n  forward_port: 0\n')), undefined);
});

test('the default pipeline runs syslog on the server ports; TLS gets server.syslog_tls; ports of 0 leave it out', () => {
  const syslogOf = (c: ReturnType<typeof loadServerConfig>): Record<string, unknown> | undefined =>
    c.pipeline.components.find((x) => x.id === 'syslog')?.config as Record<string, unknown> | undefined;
  const d = syslogOf(load('{}'))!;
  assert.equal(d['port'], 5514);
  assert.equal(d['tls_port'], 6514);
  assert.equal(d['address'], '127.0.0.1');
  assert.equal(d['tls'], undefined, 'no certificate: the source warns and keeps TLS off');
  assert.deepEqual(load('{}').pipeline.components.find((x) => x.id === 'parse')!.inputs, ['otlp', 'splunk_hec', 'datadog_logs', 'zipkin', 'loki_push', 'es_bulk', 'otlp_grpc', 'envoy_als', 'fluent', 'syslog']);

  const withTls = syslogOf(load('server:\n  listen_address: 0.0.0.0\n  allow_plaintext: true\n  forward_port: 0\n  syslog_tls:\n    cert_file: /etc/meshlog/syslog.crt\n    key_file: /etc/meshlog/syslog.key\n'))!;
  assert.deepEqual(withTls['tls'], { cert_file: '/etc/meshlog/syslog.crt', key_file: '/etc/meshlog/syslog.key', client_auth: 'none', min_version: 'TLSv1.2' });
  assert.equal(withTls['address'], '0.0.0.0');

  const file = join(dir, 'ports.yaml');
  writeFileSync(file, '{}');
  assert.equal(syslogOf(loadServerConfig(file, { syslogPort: 0, syslogTlsPort: 0 }, serverRegistry)), undefined);
  assert.equal(syslogOf(loadServerConfig(file, { syslogPort: 0 }, serverRegistry))!['port'], 0, 'TLS alone still needs the source');
  assert.match(problems('server:\n  syslog_tls:\n    cert_file: /c\n'), /server\.syslog_tls\.key_file: key_file is required with cert_file/);
});

test('the default pipeline mounts the HTTP-port sources on the HTTP app, which exists even when http_port is 0', () => {
  const on = defaultPipeline(ServerSectionSchema.parse({}));
  assert.deepEqual(on.sources['loki_push'], { type: 'loki_push' });
  assert.deepEqual(on.sources['es_bulk'], { type: 'es_bulk' });
  assert.deepEqual((on.transforms['parse'] as { inputs: string[] }).inputs, Object.keys(on.sources));
  const off = defaultPipeline(ServerSectionSchema.parse({ http_port: 0 }));
  assert.deepEqual(off.sources['loki_push'], { type: 'loki_push' }, 'reachable in-process (inject) though nothing listens');
});

test('the default pipeline: every source through parse (record fields only) into the store', () => {
  const c = loadServerConfig(undefined, {}, serverRegistry);
  const byId = new Map(c.pipeline.components.map((x) => [x.id, x]));
  assert.equal(byId.get('parse')?.type, 'parse');
  assert.deepEqual(byId.get('parse')?.inputs, c.pipeline.components.filter((x) => x.kind === 'source').map((x) => x.id));
  assert.equal((byId.get('parse')?.config as { attributes: string }).attributes, 'none');
  assert.deepEqual(byId.get('store')?.inputs, ['parse']);
});

const TLS = 'server:\n  tls:\n    cert_file: /etc/meshlog/tls.crt\n    key_file: /etc/meshlog/tls.key\n';

test('secure by default: a non-loopback listen_address needs server.tls, or the named opt-out', () => {
  assert.match(problems('server:\n  listen_address: 0.0.0.0\n'), /server\.tls: listen_address 0\.0\.0\.0 is not a loopback address, so the listeners must use TLS: set server\.tls .*server\.allow_plaintext: true.*\(line 2, column 19\)/);
  // The flag is checked too: --listen overrides the file.
  const file = join(dir, 'listen.yaml');
  writeFileSync(file, '{}');
  assert.throws(() => loadServerConfig(file, { listenAddress: '10.0.0.5' }, serverRegistry), /server\.tls: listen_address 10\.0\.0\.5 is not a loopback address/);
  for (const a of ['127.0.0.1', '::1', 'localhost']) assert.equal(loadServerConfig(file, { listenAddress: a }, serverRegistry).server.tls, undefined, a);
  assert.equal(load('server:\n  listen_address: 0.0.0.0\n  allow_plaintext: true\n  forward_port: 0\n').server.allow_plaintext, true);
  // With TLS the fluent listener still needs a shared key or required client certificates off loopback.
  assert.match(problems(TLS.replace('server:\n', 'server:\n  listen_address: 0.0.0.0\n')), /sources\.fluent\.listen_address: .*needs security\.shared_key_file or tls with client_auth: required/s);
  const required = load(`${TLS.replace('server:\n', 'server:\n  listen_address: 0.0.0.0\n')}    client_ca_file: /etc/meshlog/clients.pem\n    client_auth: required\n`);
  assert.equal(required.server.tls?.client_auth, 'required');
});

test('server.tls reaches every listener of the default pipeline; server.syslog_tls still overrides it for syslog', () => {
  const c = load(`${TLS}    client_ca_file: /etc/meshlog/clients.pem\n    client_auth: optional\n    min_version: TLSv1.3\n`);
  assert.deepEqual(c.server.tls, { cert_file: '/etc/meshlog/tls.crt', key_file: '/etc/meshlog/tls.key', client_ca_file: '/etc/meshlog/clients.pem', client_auth: 'optional', min_version: 'TLSv1.3', handshake_timeout_ms: 10_000 });
  const configOf = (cfg: ReturnType<typeof load>, id: string): Record<string, unknown> => cfg.pipeline.components.find((x) => x.id === id)!.config as Record<string, unknown>;
  assert.deepEqual(configOf(c, 'fluent')['tls'], c.server.tls);
  assert.deepEqual(configOf(c, 'syslog')['tls'], { cert_file: '/etc/meshlog/tls.crt', key_file: '/etc/meshlog/tls.key', ca_file: '/etc/meshlog/clients.pem', client_auth: 'optional', min_version: 'TLSv1.3' });
  const own = load(`${TLS}  syslog_tls:\n    cert_file: /etc/meshlog/syslog.crt\n    key_file: /etc/meshlog/syslog.key\n`);
  assert.equal((configOf(own, 'syslog')['tls'] as { cert_file: string }).cert_file, '/etc/meshlog/syslog.crt');
  assert.equal(load('{}').server.tls, undefined);
  assert.equal(load('{}').server.grpc.max_connections, 4096);
  assert.equal(load('server:\n  grpc:\n    max_connections: 3\n').server.grpc.max_connections, 3);
});

test('server.tls and auth.certificate_rules: errors name the key', () => {
  assert.match(problems(`${TLS}    client_auth: required\n`), /server\.tls\.client_ca_file: client_auth: required needs client_ca_file/);
  assert.match(problems(`${TLS}    client_ca_file: /ca.pem\n`), /server\.tls\.client_auth: client_ca_file is set but client_auth is none/);
  assert.match(problems(`${TLS}    min_version: TLSv1.1\n`), /server\.tls\.min_version/);
  assert.match(problems('server:\n  tls:\n    cert_file: /c.pem\n'), /server\.tls\.key_file/);
  const rules = (yaml: string): string => problems(`auth:\n  certificate_rules:\n${yaml}`);
  assert.match(rules('    - { spiffe_id: "https://x/y", tenant: a, roles: [ingester] }\n'), /auth\.certificate_rules\[0\]\.spiffe_id: a SPIFFE ID pattern starts with spiffe:\/\//);
  assert.match(rules('    - { spiffe_id: "spiffe://td/**/x", tenant: a, roles: [ingester] }\n'), /\*\* matches the rest of the path, so it can only be the last segment/);
  assert.match(rules('    - { spiffe_id: "spiffe://td/sa-*", tenant: a, roles: [ingester] }\n'), /partial wildcards are not supported/);
  assert.match(rules('    - { spiffe_id: "spiffe://*/x", tenant: a, roles: [ingester] }\n'), /trust domain is matched literally/);
  assert.match(rules('    - { spiffe_id: "spiffe://td/x", tenant: a, roles: [root] }\n'), /auth\.certificate_rules\[0\]\.roles\[0\]: a role is one of admin, security_admin/);
  assert.match(rules('    - { spiffe_id: "spiffe://td/x", tenant: "bad tenant", roles: [ingester] }\n'), /certificate_rules\[0\]\.tenant/);
  assert.match(rules('    - { spiffe_id: "spiffe://td/x", tenant: a, roles: [] }\n'), /give at least one role/);
  const ok = load('auth:\n  certificate_rules:\n    - spiffe_id: "spiffe://cluster.local/ns/payments/sa/*"\n      tenant: payments\n      roles: [ingester]\n');
  assert.deepEqual(ok.auth.certificate_rules, [{ spiffe_id: 'spiffe://cluster.local/ns/payments/sa/*', tenant: 'payments', roles: ['ingester'] }]);
});
