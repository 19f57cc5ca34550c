/**
 * OpenID Connect sign-in end to end: a real provider (the `oidc-provider`
 * package, over HTTPS with the test PKI) and the real server process,
 * which trusts the test CA through NODE_EXTRA_CA_CERTS. The test is the
 * browser: it follows every redirect by hand with a cookie jar per site,
 * fills the provider's sign-in and consent forms, lands on the server's
 * callback, and then uses the session cookie (with the CSRF token for a
 * POST) on the API. Users whose claims match no rule are refused (403) and
 * audited; a callback cannot be replayed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { freePort, runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { findOpenssl, makeTestPki, type TestPki } from '../helpers/test-pki.js';
import { auditRecords, call } from '../helpers/identities.js';

const CLIENT_SECRET = 'a-client-secret-of-the-test-provider-0123456789';
const GROUPS: Record<string, string[]> = { alice: ['payments-oncall', 'staff'], bob: ['contractors'] };

let pki: TestPki | undefined;
let idp: Server | undefined;
let issuer: string;
let server: ServerProcess | undefined;

/** Cookies of one site, as a browser keeps them (name → value; attributes do not matter here). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(setCookies: string[]): void {
    for (const c of setCookies) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1);
      if (value === '' || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

interface Hop {
  status: number;
  location: string | undefined;
  text: string;
}

/** One request, no redirect following; HTTPS requests trust the test CA. */
function hop(url: URL, jar: CookieJar, opts: { method?: string; form?: string } = {}): Promise<Hop> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { cookie: jar.header() };
    if (opts.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(opts.form));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: opts.method ?? 'GET', headers, ...(url.protocol === 'https:' ? { ca: readFileSync(pki!.ca) } : {}) }, (res) => {
      const set = res.headers['set-cookie'];
      jar.take(Array.isArray(set) ? set : []);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }));
    });
    req.on('error', reject);
    req.end(opts.form);
  });
}

/**
 * A browser signing in: from the server's login route, through the
 * provider's forms, to the server's callback. Returns the server's jar and
 * the callback's answer.
 */
async function browserSignIn(username: string, loginQuery = ''): Promise<{ jar: CookieJar; callback: Hop; callbackUrl: URL }> {
  const s = server!;
  const serverJar = new CookieJar();
  const idpJar = new CookieJar();
  const start = await hop(new URL(`${s.url}/api/v1/auth/oidc/login${loginQuery}`), serverJar);
  assert.equal(start.status, 302, start.text);
  assert.ok(serverJar.get('meshlog_oidc_flow'), 'the flow cookie is set');
  let url = new URL(start.location!);
  assert.equal(url.origin, new URL(issuer).origin);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(url.searchParams.get('code_challenge') && url.searchParams.get('state') && url.searchParams.get('nonce'));
  for (let i = 0; i < 12; i++) {
    const r = await hop(url, idpJar);
    if (r.status === 200) {
      const action = /<form[^>]*action="([^"]+)"/.exec(r.text)?.[1];
      const prompt = /name="prompt" value="(\w+)"/.exec(r.text)?.[1];
      assert.ok(action && prompt, `a form on ${url.pathname}: ${r.text.slice(0, 300)}`);
      const form = prompt === 'login' ? `prompt=login&login=${encodeURIComponent(username)}&password=anything` : `prompt=${prompt}`;
      const posted = await hop(new URL(action.replaceAll('&amp;', '&'), url), idpJar, { method: 'POST', form });
      assert.ok(posted.status === 302 || posted.status === 303, `${posted.status} ${posted.text.slice(0, 300)}`);
      url = new URL(posted.location!, url);
    } else if (r.status === 302 || r.status === 303) {
      url = new URL(r.location!, url);
    } else {
      assert.fail(`provider answered ${r.status} on ${url.pathname}: ${r.text.slice(0, 300)}`);
    }
    if (url.origin === new URL(s.url).origin) {
      assert.equal(url.pathname, '/api/v1/auth/oidc/callback');
      const callback = await hop(url, serverJar);
      return { jar: serverJar, callback, callbackUrl: url };
    }
  }
  throw new Error('the provider never redirected back');
}

before(async () => {
  const openssl = findOpenssl();
  if (!openssl) {
    if (process.env['CI'] === 'true') assert.fail('the OIDC suite needs openssl for its TLS provider; .ci/run must install openssl');
    return;
  }
  const dir = tempDir('meshlog-oidc-e2e-');
  pki = makeTestPki(join(dir, 'pki'), openssl);
  const idpPort = await freePort();
  issuer = `https://localhost:${idpPort}`;
  const serverPort = await freePort();
  const redirectUri = `http://127.0.0.1:${serverPort}/api/v1/auth/oidc/callback`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'meshlog', client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'] }],
    scopes: ['openid', 'profile', 'groups'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['oidc-e2e-cookie-key'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, preferred_username: id, name: `${id} example`, groups: GROUPS[id] ?? [] }) }),
  });
  idp = createServer({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) }, provider.callback());
  await new Promise<void>((res) => idp!.listen(idpPort, '127.0.0.1', res));

  const secretFile = join(dir, 'oidc-client-secret');
  writeFileSync(secretFile, CLIENT_SECRET + '\n', { mode: 0o600 });
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    [
      'auth:',
      '  oidc:',
      `    issuer: ${issuer}`,
      '    client_id: meshlog',
      `    client_secret_file: ${secretFile}`,
      `    redirect_uri: ${redirectUri}`,
      '    scopes: [openid, profile, groups]',
      '    post_login_redirect: /ui/',
      '    claim_rules:',
      "      - { claim: groups, equals: payments-oncall, tenant: payments, roles: [analyst] }",
      "      - { claim: groups, equals: staff, tenant: default, roles: [viewer] }",
      '',
    ].join('\n'),
  );
  server = await startServerProcess({ port: serverPort, args: ['--config', config], env: { NODE_EXTRA_CA_CERTS: pki.ca } });
});

after(async () => {
  await server?.stop();
  await new Promise<void>((res) => (idp ? idp.close(() => res()) : res()));
});

test('OIDC sign-in end to end: PKCE, state and nonce, claims mapped to a tenant and roles, then the API with the session', async (t) => {
  if (!server) return t.skip('openssl is not installed (needed for the provider\'s TLS certificate)');
  const { jar, callback, callbackUrl } = await browserSignIn('alice');
  assert.equal(callback.status, 303, callback.text);
  assert.equal(callback.location, '/ui/');
  assert.ok(callbackUrl.searchParams.get('code'));
  const cookie = `meshlog_session=${jar.get('meshlog_session')}`;
  assert.ok(jar.get('meshlog_session'), 'a session cookie was set');
  assert.equal(jar.get('meshlog_oidc_flow'), undefined, 'the flow cookie is cleared');

  const me = await call(server.url, 'GET', '/api/v1/whoami', undefined, { cookie });
  assert.equal(me.status, 200, me.text);
  const who = me.json['data'] as { id: string; name: string; tenant: string; roles: string[]; tenants: string[]; csrf_token: string; method: string };
  assert.equal(who.id, 'oidc:alice');
  assert.equal(who.name, 'alice');
  assert.equal(who.tenant, 'payments', 'the first matching rule\'s tenant');
  assert.deepEqual(who.roles, ['analyst']);
  assert.deepEqual(who.tenants, ['payments', 'default']);
  assert.equal(who.method, 'session');

  assert.equal((await call(server.url, 'GET', '/loki/api/v1/labels', undefined, { cookie })).status, 200);
  const noCsrf = await call(server.url, 'POST', '/api/v1/auth/tenant', { tenant: 'default' }, { cookie });
  assert.equal(noCsrf.status, 403);
  const switched = await call(server.url, 'POST', '/api/v1/auth/tenant', { tenant: 'default' }, { cookie, csrf: who.csrf_token });
  assert.equal(switched.status, 200, switched.text);
  assert.deepEqual((switched.json['data'] as { roles: string[] }).roles, ['viewer']);
  const denied = await call(server.url, 'GET', '/api/v1/tokens', undefined, { cookie });
  assert.equal(denied.status, 403, 'a viewer has no identities:read');

  // The code and the flow are single-use: replaying the callback fails.
  const replay = await hop(callbackUrl, new CookieJar());
  assert.equal(replay.status, 400);

  // A sign-in is recorded in the tenant it signed in to: read by an auditor of that tenant (made offline).
  const auditor = await runCli(['token', 'create', '--data-dir', server.dataDir, '--tenant', 'payments', '--role', 'auditor']);
  assert.equal(auditor.code, 0, auditor.stderr);
  const { records } = await auditRecords({ url: server.url, token: auditor.stdout.trim() }, '{meshlog_stream="audit", action="auth.oidc.callback"}', (rs) => rs.some((r) => r.status === 303));
  const ok = records.find((r) => r.status === 303);
  assert.equal(ok?.actor?.id, 'oidc:alice');
  assert.equal(ok?.actor?.method, 'session');
  assert.equal(ok?.tenant, 'payments');
  assert.deepEqual(ok?.detail?.['claims'], { groups: ['payments-oncall', 'staff'] });
});

test('OIDC: a tenant can be chosen at sign-in; claims that match no rule are refused (403) and audited', async (t) => {
  if (!server) return t.skip('openssl is not installed');
  const chosen = await browserSignIn('alice', '?tenant=default');
  assert.equal(chosen.callback.status, 303);
  const me = await call(server.url, 'GET', '/api/v1/whoami', undefined, { cookie: `meshlog_session=${chosen.jar.get('meshlog_session')}` });
  assert.equal((me.json['data'] as { tenant: string }).tenant, 'default');

  const refused = await browserSignIn('bob');
  assert.equal(refused.callback.status, 403, refused.callback.text);
  assert.match(JSON.parse(refused.callback.text).error, /no auth\.oidc\.claim_rules entry matches/);
  assert.equal(refused.jar.get('meshlog_session'), undefined);
  const { records } = await auditRecords(server, '{meshlog_stream="audit", action="auth.oidc.callback", outcome="denied"}', (rs) => rs.length > 0);
  assert.equal(records[0]?.detail?.['failure'], 'no_matching_rule');
  assert.equal(records[0]?.detail?.['subject'], 'oidc:bob');
  assert.deepEqual(records[0]?.detail?.['claims'], { groups: ['contractors'] });

  // A callback without the browser's flow cookie (another browser, or a forged link) is refused.
  const stray = await call(server.url, 'GET', '/api/v1/auth/oidc/callback?code=x&state=y');
  assert.equal(stray.status, 400);
  assert.match(stray.json.error!, /no sign-in in progress/);
});
