import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@meshlog/core';
import { serverRegistry } from '../registry.js';
import { loadServerConfig } from '../config/server-config.js';
import { AuthConfigError, oidcClientSecret } from './auth-config.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlog-auth-config-test-'));
let n = 0;
const load = (yaml: string) => {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return loadServerConfig(file, {}, serverRegistry);
};
function problems(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a configuration error');
}

const OIDC = `auth:
  oidc:
    issuer: https://idp.example.com/realms/mesh
    client_id: meshlog
    redirect_uri: https://meshlog.example.com/api/v1/auth/oidc/callback
    claim_rules:
      - { claim: groups, equals: payments-oncall, tenant: payments, roles: [analyst] }
`;

test('auth defaults: 30 min idle, 12 h absolute, 12-character passwords, throttling after 5 failures', () => {
  const a = load('{}').auth;
  assert.deepEqual(a.sessions, { idle_timeout_seconds: 1800, absolute_timeout_seconds: 43200 });
  assert.equal(a.passwords.min_length, 12);
  assert.equal(a.login_throttle.free_failures, 5);
  assert.equal(a.oidc, undefined);
  const o = load(OIDC).auth.oidc!;
  assert.deepEqual(o.scopes, ['openid', 'profile', 'email']);
  assert.equal(o.post_login_redirect, '/');
});

test('auth.oidc: no literal secret, https only (but localhost), the callback path, openid in scopes; errors name key and line', () => {
  const literal = problems(OIDC + '    client_secret: hunter2\n');
  assert.match(literal, /auth\.oidc\.client_secret: a literal client secret is not accepted.*client_secret_file.*client_secret_env.*\(line 8/s);
  assert.doesNotMatch(literal, /hunter2/);
  assert.match(problems(OIDC.replace('https://idp', 'http://idp')), /auth\.oidc\.issuer: expected an https:\/\/ URL \(http:\/\/ only for localhost\)/);
  assert.equal(load(OIDC.replace('https://idp.example.com', 'http://localhost:8080')).auth.oidc?.issuer, 'http://localhost:8080/realms/mesh');
  assert.match(problems(OIDC.replace('/api/v1/auth/oidc/callback', '/cb')), /auth\.oidc\.redirect_uri: the redirect URI must end in \/api\/v1\/auth\/oidc\/callback/);
  assert.match(problems(OIDC + '    scopes: [profile]\n'), /auth\.oidc\.scopes: scopes must include "openid"/);
  assert.match(problems(OIDC + '    client_secret_file: /f\n    client_secret_env: X\n'), /at most one of client_secret_file or client_secret_env/);
  assert.match(problems(OIDC.replace('[analyst]', '[superuser]')), /auth\.oidc\.claim_rules\[0\]\.roles\[0\]: Invalid option/);
  assert.match(problems('auth:\n  sessions:\n    idle_timout_seconds: 5\n'), /unknown key "idle_timout_seconds"/);
});

test('the client secret comes from its file (one trailing newline dropped) or variable, at start', () => {
  const file = join(dir, 'secret');
  writeFileSync(file, 's3cret\n', { mode: 0o600 });
  const o = load(OIDC).auth.oidc!;
  const warnings: string[] = [];
  const warn = (m: string): void => void warnings.push(m);
  assert.equal(oidcClientSecret({ ...o, client_secret_file: file }, warn), 's3cret');
  assert.deepEqual(warnings, []);
  writeFileSync(join(dir, 'open-secret'), 'x', { mode: 0o644 });
  oidcClientSecret({ ...o, client_secret_file: join(dir, 'open-secret') }, warn);
  assert.match(warnings[0]!, /chmod 600/);
  process.env['MESHLOG_TEST_OIDC_SECRET'] = 'from-env';
  assert.equal(oidcClientSecret({ ...o, client_secret_env: 'MESHLOG_TEST_OIDC_SECRET' }, () => undefined), 'from-env');
  assert.throws(() => oidcClientSecret({ ...o, client_secret_env: 'MESHLOG_TEST_UNSET_VARIABLE' }, () => undefined), AuthConfigError);
  assert.throws(() => oidcClientSecret({ ...o, client_secret_file: join(dir, 'missing') }, () => undefined), /auth\.oidc\.client_secret_file: cannot read .* \(ENOENT\)/);
  assert.equal(oidcClientSecret(o, () => undefined), undefined, 'no secret: a public client');
});
