/**
 * Identities through the real server process over real sockets: API tokens
 * (create, list, revoke, expiry, scopes, what a caller may grant), a data
 * dir of tokens.json version 1 whose tokens keep working, password users
 * and UI sessions (cookie attributes, CSRF, tenant switch, sign-out, idle
 * timeout, password change), sign-in throttling with its audit records, and
 * the offline CLI (`meshlog user|token`) beside the running server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { auditRecords, call, cookiePair, runCliWithInput, type CallAuth } from '../helpers/identities.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

const ALICE_PW = 'alice correct horse battery';
const ROOT_PW = 'root staple battery horse';
const BOB_PW = 'bob has a long passphrase';
const LEGACY_ADMIN = 'mlk_' + randomBytes(32).toString('base64url');
const LEGACY_VIEWER = 'mlk_' + randomBytes(32).toString('base64url');

let server: ServerProcess;
let dataDir: string;
/** A second admin (made offline): grants through the API wait for one (segregation of duties). */
let secondAdmin: string;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const api = (method: string, path: string, body?: unknown, auth: CallAuth = { token: server.token }) => call(server.url, method, path, body, auth);

/** A grant answered 202 pending approval: the second admin approves it; returns the answer's data. */
async function approved(created: Awaited<ReturnType<typeof api>>): Promise<Record<string, unknown>> {
  assert.equal(created.status, 202, created.text);
  assert.equal(created.json['status'], 'pending_approval');
  const approval = (created.json['approval'] ?? created.json['data']) as { id: string };
  const ok = await api('POST', `/api/v1/approvals/${approval.id}/approve`, undefined, { token: secondAdmin });
  assert.equal(ok.status, 200, ok.text);
  assert.equal((ok.json['data'] as { status: string }).status, 'executed', ok.text);
  return created.json['data'] as Record<string, unknown>;
}

async function login(username: string, password: string, tenant?: string, base = server.url) {
  const r = await call(base, 'POST', '/api/v1/auth/login', { username, password, ...(tenant !== undefined ? { tenant } : {}) });
  const cookie = cookiePair(r.headers, 'meshlog_session');
  const data = r.json['data'] as { csrf_token: string; tenant: string; roles: string[]; tenants: string[] } | undefined;
  return { r, cookie, csrf: data?.csrf_token, data };
}

before(async () => {
  dataDir = tempDir('meshlog-identities-e2e-');
  // A data dir as the previous version left it: tokens.json version 1 (SHA-256 hashes) and admin.token.
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(dataDir, 'auth', 'tokens.json'),
    JSON.stringify({
      version: 1,
      tokens: [
        { id: 'tok_legacyadmin0', hash: sha(LEGACY_ADMIN), tenant: 'default', roles: ['admin'], created: '2025-06-01T00:00:00.000Z' },
        { id: 'tok_legacyview00', hash: sha(LEGACY_VIEWER), tenant: 'default', roles: ['viewer'], created: '2025-06-01T00:00:00.000Z' },
      ],
    }),
    { mode: 0o600 },
  );
  writeFileSync(join(dataDir, 'admin.token'), LEGACY_ADMIN + '\n', { mode: 0o600 });
  // Users made offline before the first start.
  for (const [name, pw, grants] of [
    ['alice', ALICE_PW, ['default:analyst', 'shop:viewer']],
    ['root', ROOT_PW, ['default:admin']],
  ] as const) {
    const r = await runCliWithInput(['user', 'add', name, '--data-dir', dataDir, ...grants.flatMap((g) => ['--grant', g])], pw + '\n');
    assert.equal(r.code, 0, r.stderr);
  }
  const second = await runCli(['token', 'create', '--data-dir', dataDir, '--tenant', 'default', '--role', 'admin', '--description', 'second admin']);
  assert.equal(second.code, 0, second.stderr);
  secondAdmin = second.stdout.trim();
  const config = join(dataDir, 'meshlog.yaml');
  writeFileSync(config, ['auth:', '  login_throttle:', '    free_failures: 3', '    free_failures_per_address: 1000', '    base_delay_seconds: 30', ''].join('\n'));
  server = await startServerProcess({ dataDir, args: ['--config', config] });
});

after(async () => {
  await server?.stop();
});

test('a data dir of tokens.json version 1 keeps working: its admin token and its other tokens', async () => {
  assert.equal(server.token, LEGACY_ADMIN, 'no new bootstrap token was written over admin.token');
  const me = await api('GET', '/api/v1/whoami');
  assert.equal(me.status, 200, me.text);
  assert.equal((me.json['data'] as { id: string }).id, 'tok_legacyadmin0');
  const viewer = await api('GET', '/loki/api/v1/labels', undefined, { token: LEGACY_VIEWER });
  assert.equal(viewer.status, 200, viewer.text);
  const denied = await api('GET', '/api/v1/tokens', undefined, { token: LEGACY_VIEWER });
  assert.equal(denied.status, 403);
  assert.match(denied.json.error!, /identities:read/);
});

test('tokens: created with the secret shown once, listed without secrets, used, revoked (401 without saying why)', async () => {
  const created = await api('POST', '/api/v1/tokens', { description: 'agent node-1', roles: ['ingester'] });
  assert.equal(created.status, 201, created.text);
  const tok = created.json['data'] as { id: string; secret: string; tenant: string; roles: string[]; created_by: string };
  assert.match(tok.secret, /^mlk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.equal(tok.tenant, 'default');
  assert.equal(tok.created_by, 'tok_legacyadmin0');

  const ingest = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.secret}` }, body: otlpJsonLogs(['hello from the new token']) });
  assert.equal(ingest.status, 200, await ingest.text());
  const read = await api('GET', '/loki/api/v1/labels', undefined, { token: tok.secret });
  assert.equal(read.status, 403, 'an ingester cannot read');

  const list = await api('GET', '/api/v1/tokens');
  assert.equal(list.status, 200);
  assert.ok(!list.text.includes(tok.secret.slice(21)) && !list.text.includes('hash'), 'no secret and no hash in the listing');
  const listed = (list.json['data'] as { id: string; last_used_at?: string; description: string }[]).find((t) => t.id === tok.id);
  assert.equal(listed?.description, 'agent node-1');
  assert.ok(listed?.last_used_at, 'last use is shown');

  const revoked = await api('DELETE', `/api/v1/tokens/${tok.id}`);
  assert.equal(revoked.status, 200, revoked.text);
  assert.ok((revoked.json['data'] as { revoked_at?: string }).revoked_at);
  const after = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.secret}` }, body: otlpJsonLogs(['x']) });
  assert.equal(after.status, 401);
  const who = await api('GET', '/api/v1/whoami', undefined, { token: tok.secret });
  assert.equal(who.status, 401);
  assert.equal(who.json.error, 'invalid, expired or revoked API token');
  const garbage = await api('GET', '/api/v1/whoami', undefined, { token: 'mlk_0123456789abcdef_' + 'x'.repeat(43) });
  assert.equal(garbage.json.error, 'invalid, expired or revoked API token', 'an unknown token gets the same answer');

  // The change is in the audit trail with before and after, never the secret.
  const { records, lines } = await auditRecords(server, '{meshlog_stream="audit", action=~"identities.token.(create|revoke)"}', (rs) => rs.some((r) => r.change?.id === tok.id && r.action === 'identities.token.revoke'));
  const create = records.find((r) => r.action === 'identities.token.create' && r.change?.id === tok.id);
  assert.equal(create?.change?.before, null);
  assert.equal((create?.change?.after as { roles: string[] }).roles[0], 'ingester');
  const revoke = records.find((r) => r.action === 'identities.token.revoke' && r.change?.id === tok.id);
  assert.equal((revoke?.change?.before as { revoked_at?: string }).revoked_at, undefined);
  assert.ok((revoke?.change?.after as { revoked_at?: string }).revoked_at);
  assert.ok(!lines.some((l) => l.includes(tok.secret.slice(21)) || l.includes('argon2')), 'no secret or hash in the audit trail');
});

test('tokens expire: after expires_in the token is refused with the same 401', async () => {
  const created = await api('POST', '/api/v1/tokens', { description: 'short-lived', roles: ['viewer'], expires_in: 2 });
  const tok = (await approved(created)) as unknown as { secret: string; expires_at: string };
  assert.ok(Date.parse(tok.expires_at) > Date.now());
  assert.equal((await api('GET', '/loki/api/v1/labels', undefined, { token: tok.secret })).status, 200);
  await new Promise((r) => setTimeout(r, Date.parse(tok.expires_at) - Date.now() + 300));
  const expired = await api('GET', '/loki/api/v1/labels', undefined, { token: tok.secret });
  assert.equal(expired.status, 401);
  // /loki/api/v1/* answer errors as Loki does: the message alone, as text.
  assert.equal(expired.text.trim(), 'invalid, expired or revoked API token');
  const bad = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['viewer'], expires_at: '2001-01-01T00:00:00Z' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error!, /expires_at: must be in the future/);
});

test('scoped tokens are refused outside their scope (403), and scopes must narrow the roles', async () => {
  const created = await api('POST', '/api/v1/tokens', { description: 'dashboards', roles: ['analyst'], scopes: ['logs:read'] });
  const tok = (await approved(created)) as unknown as { secret: string; scopes: string[] };
  assert.deepEqual(tok.scopes, ['logs:read']);
  assert.equal((await api('GET', '/loki/api/v1/labels', undefined, { token: tok.secret })).status, 200);
  const outside = await api('GET', '/api/v1/whoami', undefined, { token: tok.secret });
  assert.equal(outside.status, 403, 'session:self is a permission of analyst, but not in the scopes');
  assert.match(outside.json.error!, /token scopes: logs:read/);
  const wider = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['viewer'], scopes: ['logs:write'] });
  assert.equal(wider.status, 400);
  assert.match(wider.json.error!, /scopes: logs:write not granted by the roles viewer/);
  const unknown = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['viewer'], scopes: ['logs:everything'] });
  assert.equal(unknown.status, 400);
});

test('nobody grants more than they hold: roles beyond the caller, other tenants, other tenants\' tokens', async () => {
  const sec = await api('POST', '/api/v1/tokens', { description: 'security admin', roles: ['security_admin'] });
  const secToken = ((await approved(sec)) as { secret: string }).secret;
  const analyst = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['analyst'] }, { token: secToken });
  assert.equal(analyst.status, 403, 'a security_admin cannot read logs, so cannot mint a token that does');
  assert.match(analyst.json.error!, /analyst carries permissions this identity lacks/);
  const same = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['security_admin'] }, { token: secToken });
  assert.equal(same.status, 202, same.text);
  const otherTenant = await api('POST', '/api/v1/tokens', { description: 'x', tenant: 'shop', roles: ['viewer'] });
  assert.equal(otherTenant.status, 403);
  assert.match(otherTenant.json.error!, /meshlog token create --tenant shop/);
  const noWrite = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['viewer'] }, { token: LEGACY_VIEWER });
  assert.equal(noWrite.status, 403);

  // An admin of another tenant (made offline) sees and revokes only its own tenant's tokens.
  const cli = await runCli(['token', 'create', '--data-dir', dataDir, '--tenant', 'shop', '--role', 'admin', '--description', 'shop admin']);
  assert.equal(cli.code, 0, cli.stderr);
  const shopAdmin = cli.stdout.trim();
  assert.match(shopAdmin, /^mlk_[0-9a-f]{16}_/, 'stdout is the secret alone');
  const shopList = await api('GET', '/api/v1/tokens', undefined, { token: shopAdmin });
  assert.equal(shopList.status, 200, shopList.text);
  assert.ok((shopList.json['data'] as { tenant: string }[]).every((t) => t.tenant === 'shop'));
  const cross = await api('DELETE', '/api/v1/tokens/tok_legacyview00', undefined, { token: shopAdmin });
  assert.equal(cross.status, 404);
});

test('users: created through the API, listed per tenant, duplicate 409, weak password 400, grants bounded by the caller', async () => {
  const made = await api('POST', '/api/v1/users', { username: 'Bob', password: BOB_PW, roles: ['viewer'] });
  assert.deepEqual((made.json['data'] as { roles: string[] }).roles, [], 'no roles until approved');
  const bob = (await approved(made)) as unknown as { id: string; username: string; roles: string[] };
  assert.equal(bob.username, 'bob');
  assert.ok(!made.text.includes(BOB_PW) && !made.text.includes('argon2'));
  assert.equal((await api('POST', '/api/v1/users', { username: 'bob', password: BOB_PW, roles: ['viewer'] })).status, 409);
  const weak = await api('POST', '/api/v1/users', { username: 'carol', password: 'short', roles: ['viewer'] });
  assert.equal(weak.status, 400);
  assert.match(weak.json.error!, /at least 12 characters/);
  const list = await api('GET', '/api/v1/users');
  const users = list.json['data'] as { username: string; roles: string[] }[];
  assert.deepEqual(users.find((u) => u.username === 'alice')?.roles, ['analyst'], 'roles in this tenant only');
  assert.ok(!list.text.includes('shop'), 'nothing of other tenants');
  // A reset of alice's password would hand over her access to "shop": refused here.
  const alice = users.find((u) => u.username === 'alice') as unknown as { id: string };
  const reset = await api('POST', `/api/v1/users/${alice.id}/password`, { password: 'a brand new passphrase' });
  assert.equal(reset.status, 403);
  assert.match(reset.json.error!, /other tenants/);
  // Adding a role waits for the second admin; removing one does not.
  await approved(await api('PUT', `/api/v1/users/${bob.id}/roles`, { roles: ['viewer', 'analyst'] }));
  const narrowed = await api('PUT', `/api/v1/users/${bob.id}/roles`, { roles: ['analyst'] });
  assert.equal(narrowed.status, 200, narrowed.text);
  assert.deepEqual((narrowed.json['data'] as { roles: string[] }).roles, ['analyst']);
});

test('sessions: sign-in sets a strict HttpOnly cookie, the API works with it, changes need the CSRF token', async () => {
  const { r, cookie, csrf, data } = await login('alice', ALICE_PW);
  assert.equal(r.status, 200, r.text);
  const setCookie = r.headers.getSetCookie().find((c) => c.startsWith('meshlog_session='))!;
  assert.match(setCookie, /^meshlog_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/, 'no Secure on a plain-HTTP listener (the __Host- name and Secure are for TLS)');
  assert.equal(data?.tenant, 'default', 'the first grant');
  assert.deepEqual(data?.roles, ['analyst']);
  assert.deepEqual(data?.tenants, ['default', 'shop']);
  assert.ok(csrf && cookie);

  assert.equal((await api('GET', '/loki/api/v1/labels', undefined, { cookie })).status, 200);
  const me = await api('GET', '/api/v1/whoami', undefined, { cookie });
  assert.equal(me.status, 200);
  const who = me.json['data'] as { id: string; kind: string; method: string; csrf_token: string; name: string };
  assert.equal(who.kind, 'user');
  assert.equal(who.method, 'session');
  assert.equal(who.name, 'alice');
  assert.equal(who.csrf_token, csrf);

  // A state-changing request with the cookie alone is refused; with the header it goes through.
  const noCsrf = await api('POST', '/api/v1/auth/tenant', { tenant: 'shop' }, { cookie });
  assert.equal(noCsrf.status, 403);
  assert.match(noCsrf.json.error!, /X-CSRF-Token/);
  const wrongCsrf = await api('POST', '/api/v1/auth/tenant', { tenant: 'shop' }, { cookie, csrf: csrf!.slice(1) + 'x' });
  assert.equal(wrongCsrf.status, 403);
  const switched = await api('POST', '/api/v1/auth/tenant', { tenant: 'shop' }, { cookie, csrf: csrf! });
  assert.equal(switched.status, 200, switched.text);
  assert.equal((switched.json['data'] as { tenant: string }).tenant, 'shop');
  assert.deepEqual((switched.json['data'] as { roles: string[] }).roles, ['viewer']);
  const notGranted = await api('POST', '/api/v1/auth/tenant', { tenant: 'payments' }, { cookie, csrf: csrf! });
  assert.equal(notGranted.status, 403);

  // An admin's session creates a token (a POST) with the CSRF token, and not without.
  const root = await login('root', ROOT_PW);
  const without = await api('POST', '/api/v1/tokens', { description: 'from the UI', roles: ['viewer'] }, { cookie: root.cookie! });
  assert.equal(without.status, 403);
  const withCsrf = await api('POST', '/api/v1/tokens', { description: 'from the UI', roles: ['viewer'] }, { cookie: root.cookie!, csrf: root.csrf! });
  assert.equal(withCsrf.status, 202, withCsrf.text);
  assert.equal((withCsrf.json['data'] as { created_by: string }).created_by.startsWith('usr_'), true);

  // A token-authenticated change needs no CSRF token, even with a session cookie beside it.
  const tokenCall = await api('POST', '/api/v1/tokens', { description: 'x', roles: ['ingester'] }, { token: server.token, cookie: root.cookie! });
  assert.equal(tokenCall.status, 201);

  // Sign-out needs the CSRF token too, then the cookie is dead.
  assert.equal((await api('POST', '/api/v1/auth/logout', undefined, { cookie })).status, 403);
  const out = await api('POST', '/api/v1/auth/logout', undefined, { cookie, csrf: csrf! });
  assert.equal(out.status, 200, out.text);
  assert.match(out.headers.getSetCookie().join('\n'), /meshlog_session=; Max-Age=0/);
  const dead = await api('GET', '/api/v1/whoami', undefined, { cookie });
  assert.equal(dead.status, 401);
  assert.match(dead.json.error!, /session has ended/);

  // Sign-in to a chosen tenant; never one the user is not granted.
  const shop = await login('alice', ALICE_PW, 'shop');
  assert.equal(shop.data?.tenant, 'shop');
  const nope = await login('alice', ALICE_PW, 'payments');
  assert.equal(nope.r.status, 403);
  assert.equal(nope.cookie, undefined);
  const form = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice&password=x' });
  assert.equal(form.status, 400, 'sign-in takes JSON only (a cross-site form cannot send it)');
});

test('password change ends the other sessions; a disabled user cannot sign in and loses their sessions', async () => {
  const a = await login('bob', BOB_PW);
  const b = await login('bob', BOB_PW);
  assert.equal(a.r.status, 200, a.r.text);
  const wrong = await api('POST', '/api/v1/auth/password', { current_password: 'not it at all', new_password: 'bob new passphrase 2' }, { cookie: a.cookie!, csrf: a.csrf! });
  assert.equal(wrong.status, 403);
  const changed = await api('POST', '/api/v1/auth/password', { current_password: BOB_PW, new_password: 'bob new passphrase 2' }, { cookie: a.cookie!, csrf: a.csrf! });
  assert.equal(changed.status, 200, changed.text);
  assert.equal((await api('GET', '/api/v1/whoami', undefined, { cookie: a.cookie! })).status, 200, 'the session that changed it stays');
  assert.equal((await api('GET', '/api/v1/whoami', undefined, { cookie: b.cookie! })).status, 401, 'the other one ended');
  assert.equal((await login('bob', BOB_PW)).r.status, 401);
  const c = await login('bob', 'bob new passphrase 2');
  assert.equal(c.r.status, 200);

  const list = (await api('GET', '/api/v1/users')).json['data'] as { id: string; username: string }[];
  const bob = list.find((u) => u.username === 'bob')!;
  const disabled = await api('DELETE', `/api/v1/users/${bob.id}`);
  assert.equal(disabled.status, 200, disabled.text);
  assert.ok((disabled.json['data'] as { disabled_at?: string }).disabled_at, 'no grant left: disabled');
  assert.equal((await api('GET', '/api/v1/whoami', undefined, { cookie: c.cookie! })).status, 401);
  const again = await login('bob', 'bob new passphrase 2');
  assert.equal(again.r.status, 401);
  assert.equal(again.r.json.error, 'invalid username or password');
});

test('sign-in throttling: repeated wrong passwords get 429 with Retry-After, even with the right one, for unknown users alike; all audited', async () => {
  const statuses: number[] = [];
  for (const pw of ['wrong one', 'wrong two', 'wrong three', ALICE_PW]) statuses.push((await login('alice', pw)).r.status);
  assert.deepEqual(statuses, [401, 401, 401, 429], 'the third failure locks; the right password is refused during the lock');
  const locked = await login('alice', ALICE_PW);
  assert.equal(locked.r.status, 429);
  const retryAfter = Number(locked.r.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
  assert.equal(locked.r.json.errorType, 'too_many_attempts');
  assert.equal(locked.cookie, undefined);

  // An unknown username is answered exactly alike: nothing tells whether it exists.
  const ghost: { status: number; error: string | undefined }[] = [];
  for (let i = 0; i < 4; i++) {
    const r = (await login('nobody-here', `guess ${i}`)).r;
    ghost.push({ status: r.status, error: r.json.error });
  }
  assert.deepEqual(
    ghost.map((g) => g.status),
    [401, 401, 401, 429],
  );
  assert.equal(ghost[0]!.error, 'invalid username or password');

  const { records, lines } = await auditRecords(server, '{meshlog_stream="audit", action="auth.login"}', (rs) => rs.filter((r) => r.detail?.['username'] === 'alice' && r.status === 429).length >= 2);
  const alice = records.filter((r) => r.detail?.['username'] === 'alice' && r.status !== 200);
  assert.equal(alice.filter((r) => r.outcome === 'unauthenticated' && r.detail?.['failure'] === 'wrong_password').length, 3, JSON.stringify(alice));
  assert.ok(alice.filter((r) => r.status === 429 && r.detail?.['failure'] === 'throttled').length >= 2);
  assert.ok(alice.every((r) => r.actor === null && r.tenant === 'default'));
  assert.ok(records.some((r) => r.detail?.['username'] === 'nobody-here' && r.detail['failure'] === 'unknown_user'), 'the auditor sees the real reason');
  const success = records.find((r) => r.detail?.['username'] === 'alice' && r.status === 200);
  assert.equal(success?.actor?.name, 'alice', 'a successful sign-in names its user');
  assert.equal(success?.actor?.method, 'session');
  assert.ok(!lines.some((l) => l.includes('wrong one') || l.includes(ALICE_PW)), 'no password in the audit trail');
});

test('the CLI beside a running server: a user added and a token revoked offline take effect within seconds', async () => {
  const add = await runCliWithInput(['user', 'add', 'dave', '--grant', 'default:viewer', '--data-dir', dataDir], 'dave likes long passphrases\n');
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, /added dave \(usr_[0-9a-f]{16}\) with default: viewer/);
  const dave = await login('dave', 'dave likes long passphrases');
  assert.equal(dave.r.status, 200, dave.r.text);

  const grant = await runCli(['user', 'grant', 'dave', '--grant', 'shop:analyst', '--data-dir', dataDir]);
  assert.equal(grant.code, 0, grant.stderr);
  assert.match(grant.stderr, /dave now holds default: viewer; shop: analyst/);
  const users = await runCli(['user', 'list', '--data-dir', dataDir]);
  assert.equal(users.code, 0);
  assert.match(users.stdout, /dave\s+default:viewer shop:analyst/);
  assert.match(users.stdout, /alice\s+default:analyst shop:viewer/);

  const created = await runCli(['token', 'create', '--data-dir', dataDir, '--role', 'viewer', '--expires-in', '1d', '--description', 'cli token']);
  assert.equal(created.code, 0, created.stderr);
  const secret = created.stdout.trim();
  assert.match(created.stderr, /shown once/);
  assert.equal((await api('GET', '/loki/api/v1/labels', undefined, { token: secret })).status, 200);
  const id = `tok_${secret.slice(4, 20)}`;
  const listed = await runCli(['token', 'list', '--data-dir', dataDir]);
  assert.match(listed.stdout, new RegExp(`${id}\\s+default\\s+viewer\\s+cli token`));
  assert.ok(!listed.stdout.includes(secret.slice(21)));

  const revoke = await runCli(['token', 'revoke', id, '--data-dir', dataDir]);
  assert.equal(revoke.code, 0, revoke.stderr);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal((await api('GET', '/loki/api/v1/labels', undefined, { token: secret })).status, 401);

  const passwd = await runCliWithInput(['user', 'passwd', 'dave', '--data-dir', dataDir], 'dave has a new passphrase\n');
  assert.equal(passwd.code, 0, passwd.stderr);
  assert.match(passwd.stderr, /1 session ended/);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal((await api('GET', '/api/v1/whoami', undefined, { cookie: dave.cookie! })).status, 401);
  assert.equal((await runCliWithInput(['user', 'add', 'eve', '--data-dir', dataDir], 'eve passphrase long\n')).code, 2, 'a user needs a grant');
  assert.equal((await runCli(['token', 'create', '--data-dir', dataDir, '--role', 'superuser'])).code, 2);
});

test('an idle session ends after auth.sessions.idle_timeout_seconds; activity keeps it alive', async () => {
  const dir = tempDir('meshlog-idle-e2e-');
  const r = await runCliWithInput(['user', 'add', 'ivy', '--grant', 'default:viewer', '--data-dir', dir], 'ivy passphrase is long\n');
  assert.equal(r.code, 0, r.stderr);
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'auth:\n  sessions:\n    idle_timeout_seconds: 2\n');
  const idle = await startServerProcess({ dataDir: dir, args: ['--config', config] });
  try {
    const s = await login('ivy', 'ivy passphrase is long', undefined, idle.url);
    assert.equal(s.r.status, 200, s.r.text);
    for (let i = 0; i < 2; i++) {
      await new Promise((res) => setTimeout(res, 1200));
      assert.equal((await call(idle.url, 'GET', '/api/v1/whoami', undefined, { cookie: s.cookie! })).status, 200, 'active within the idle timeout');
    }
    await new Promise((res) => setTimeout(res, 2300));
    const ended = await call(idle.url, 'GET', '/api/v1/whoami', undefined, { cookie: s.cookie! });
    assert.equal(ended.status, 401);
  } finally {
    await idle.stop();
  }
});
