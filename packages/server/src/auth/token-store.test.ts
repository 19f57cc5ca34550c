import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenStore } from './token-store.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'meshlog-tokens-'));

test('a minted token verifies, is stored only as an argon2id hash, and its file is 0600', async () => {
  const d = dir();
  const store = new TokenStore(d);
  const { secret, token } = await store.mint({ description: 'agent on node-1', tenant: 'shop', roles: ['ingester'], createdBy: 'tok_test' });
  assert.match(secret, /^mlk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.equal(`tok_${secret.slice(4, 20)}`, token.id, 'the token text carries its id');
  const p = await store.verify(secret);
  assert.deepEqual(p, { id: token.id, kind: 'token', name: 'agent on node-1', tenant: 'shop', roles: ['ingester'], method: 'token' });
  const file = join(d, 'auth', 'tokens.json');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(secret) && !text.includes(secret.slice(21)), 'the secret is not in the file');
  assert.match(text, /"hash": "\$argon2id\$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(d, 'auth')).mode & 0o777, 0o700);
  assert.equal(await store.verify(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')), undefined, 'a wrong secret with a real id');
  assert.equal(await store.verify('mlk_0000000000000000_' + 'A'.repeat(43)), undefined, 'an unknown id');
  assert.equal(await store.verify('nonsense'), undefined);
});

test('the slow hash runs once per cache period, not per request', async () => {
  const store = new TokenStore(dir());
  const { secret } = await store.mint({ description: 'x', tenant: 'default', roles: ['viewer'], createdBy: 't' });
  let t = process.hrtime.bigint();
  assert.ok(await store.verify(secret));
  const first = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) assert.ok(await store.verify(secret));
  const next200 = Number(process.hrtime.bigint() - t) / 1e6;
  // One argon2id check is ~40 ms; 200 cached checks together take far less than a single one.
  assert.ok(next200 < first, `200 cached verifications took ${next200.toFixed(1)} ms, one uncached ${first.toFixed(1)} ms`);
  // Concurrent first uses share one check.
  const other = await store.mint({ description: 'y', tenant: 'default', roles: ['viewer'], createdBy: 't' });
  const all = await Promise.all(Array.from({ length: 20 }, () => store.verify(other.secret)));
  assert.ok(all.every((p) => p?.id === other.token.id));
});

test('revoked and expired tokens are refused at once, cached or not; scopes travel into the principal', async () => {
  const store = new TokenStore(dir());
  const a = await store.mint({ description: 'a', tenant: 'default', roles: ['admin'], scopes: ['logs:read'], createdBy: 't' });
  assert.deepEqual((await store.verify(a.secret))?.scopes, ['logs:read']);
  const r = store.revoke(a.token.id, 'tok_admin');
  assert.ok(r?.after.revoked_at && r.before.revoked_at === undefined);
  assert.equal(r.after.revoked_by, 'tok_admin');
  assert.equal(await store.verify(a.secret), undefined);
  const b = await store.mint({ description: 'b', tenant: 'default', roles: ['viewer'], expiresAt: new Date(Date.now() + 300), createdBy: 't' });
  assert.ok(await store.verify(b.secret));
  await new Promise((res) => setTimeout(res, 350));
  assert.equal(await store.verify(b.secret), undefined, 'expired, though the verification is cached');
  assert.equal(store.revoke('tok_nope', 'x'), undefined);
});

test('a change by another process (the offline CLI) is seen within a second', async () => {
  const d = dir();
  const server = new TokenStore(d);
  const cli = new TokenStore(d);
  const { secret, token } = cli.mintSync({ description: 'from cli', tenant: 'default', roles: ['viewer'], createdBy: 'cli' });
  assert.equal((await server.verify(secret))?.id, token.id, 'a token minted elsewhere a moment ago verifies');
  cli.revoke(token.id, 'cli');
  await new Promise((res) => setTimeout(res, 1100));
  assert.equal(await server.verify(secret), undefined, 'revoked elsewhere');
  // Both writers' changes survive (read-modify-write under the lock).
  server.mintSync({ description: 'from server', tenant: 'default', roles: ['viewer'], createdBy: 's' });
  cli.mintSync({ description: 'from cli 2', tenant: 'default', roles: ['viewer'], createdBy: 'cli' });
  assert.deepEqual(
    new TokenStore(d)
      .list()
      .map((t) => t.description)
      .sort(),
    ['from cli', 'from cli 2', 'from server'],
  );
});

test('tokens.json version 1 (SHA-256) keeps verifying; last_used_at is persisted, throttled', async () => {
  const d = dir();
  mkdirSync(join(d, 'auth'), { recursive: true });
  const legacy = 'mlk_' + randomBytes(32).toString('base64url');
  const sha = createHash('sha256').update(legacy).digest('hex');
  writeFileSync(
    join(d, 'auth', 'tokens.json'),
    JSON.stringify({ version: 1, tokens: [{ id: 'tok_0123456789ab', hash: sha, tenant: 'default', roles: ['admin'], created: '2025-01-01T00:00:00.000Z' }] }),
  );
  writeFileSync(join(d, 'admin.token'), legacy + '\n');
  const store = new TokenStore(d, { lastUsedPersistMs: 60_000 });
  assert.equal(store.bootstrapAdmin().created, false, 'a version 1 data dir keeps its admin token');
  const p = await store.verify(legacy);
  assert.equal(p?.id, 'tok_0123456789ab');
  assert.deepEqual(p?.roles, ['admin']);
  store.flushLastUse();
  const used = new TokenStore(d).get('tok_0123456789ab')?.last_used_at;
  assert.ok(used, 'last_used_at persisted');
  await new Promise((res) => setTimeout(res, 5));
  await store.verify(legacy);
  await new Promise((res) => setTimeout(res, 20));
  // Within the persist period the file keeps the first time; memory (and so the listing) has the newer one.
  assert.equal(new TokenStore(d).get('tok_0123456789ab')?.last_used_at, used);
  assert.ok(store.get('tok_0123456789ab')!.last_used_at! > used);
  // At shutdown the newest time is written.
  store.flushLastUse();
  assert.ok(new TokenStore(d).get('tok_0123456789ab')!.last_used_at! > used);
  // After a write by this server the file is version 2 and the legacy token still verifies.
  await store.mint({ description: 'new', tenant: 'default', roles: ['viewer'], createdBy: 't' });
  assert.match(readFileSync(join(d, 'auth', 'tokens.json'), 'utf8'), /"version": 2/);
  assert.equal((await new TokenStore(d).verify(legacy))?.id, 'tok_0123456789ab');
});

test('the bootstrap admin token is made on the first start only', () => {
  const d = dir();
  // Tokens made beforehand (e.g. meshlog token create) do not stop the bootstrap.
  new TokenStore(d).create('other', ['admin']);
  const first = new TokenStore(d).bootstrapAdmin();
  assert.equal(first.created, true);
  assert.equal(statSync(first.path).mode & 0o777, 0o600);
  const again = new TokenStore(d).bootstrapAdmin();
  assert.equal(again.created, false);
});
