import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { PingMessage } from './fluent-decode.js';
import { helo, newSession, sha512Hex, verifyPing, type HandshakeConfig } from './fluent-handshake.js';

const config: HandshakeConfig = {
  selfHostname: 'meshlog-server',
  keys: [
    { key: Buffer.from('default-key'), tenant: 'default' },
    { key: Buffer.from('team-a-key'), tenant: 'team-a' },
  ],
};

/** What a client (Fluent Bit, Fluentd, @fluent-org/logger) sends, computed as the spec says. */
function ping(nonce: Buffer, key: string, opts: { hostname?: string; authSalt?: Buffer; username?: string; password?: string } = {}): PingMessage {
  const hostname = opts.hostname ?? 'node-1';
  const salt = randomBytes(16);
  const username = opts.username ?? '';
  const passwordDigest = opts.password !== undefined ? sha512Hex(opts.authSalt ?? Buffer.alloc(0), username, opts.password) : '';
  return { type: 'ping', hostname, salt, sharedKeyDigest: sha512Hex(salt, hostname, nonce, key), username, passwordDigest };
}

test('HELO carries a fresh 16-byte nonce, auth salt only with user auth, keepalive', () => {
  const a = newSession(false);
  const b = newSession(true);
  assert.equal(a.nonce.length, 16);
  assert.notDeepEqual(a.nonce, b.nonce);
  assert.deepEqual(helo(a), ['HELO', { nonce: a.nonce, auth: '', keepalive: true }]);
  assert.deepEqual(helo(b), ['HELO', { nonce: b.nonce, auth: b.authSalt, keepalive: true }]);
});

test('the right key passes, its tenant is chosen, and the PONG digest proves the server knows the key', () => {
  const s = newSession(false);
  const p = ping(s.nonce, 'team-a-key');
  const v = verifyPing(p, s, config);
  assert.ok(v.ok);
  if (v.ok) assert.equal(v.tenant, 'team-a');
  assert.deepEqual(v.pong, ['PONG', true, '', 'meshlog-server', sha512Hex(p.salt, 'meshlog-server', s.nonce, 'team-a-key')]);
  const d = verifyPing(ping(s.nonce, 'default-key'), s, config);
  assert.ok(d.ok && d.tenant === 'default');
});

test('a wrong key, a replayed PING (another nonce) and a same-hostname client fail with the reason', () => {
  const s = newSession(false);
  const wrong = verifyPing(ping(s.nonce, 'guess'), s, config);
  assert.deepEqual(wrong, { ok: false, reason: 'shared_key mismatch', pong: ['PONG', false, 'shared_key mismatch', '', ''] });
  const replay = verifyPing(ping(newSession(false).nonce, 'default-key'), s, config);
  assert.equal(replay.ok, false);
  const same = verifyPing(ping(s.nonce, 'default-key', { hostname: 'meshlog-server' }), s, config);
  assert.equal(same.ok, false);
  if (!same.ok) assert.match(same.reason, /same hostname/);
});

test('user auth: the password digest is bound to the per-connection auth salt', () => {
  const withUsers: HandshakeConfig = { ...config, users: new Map([['fluentbit', Buffer.from('s3cret')]]) };
  const s = newSession(true);
  assert.ok(verifyPing(ping(s.nonce, 'default-key', { authSalt: s.authSalt, username: 'fluentbit', password: 's3cret' }), s, withUsers).ok);
  const bad = verifyPing(ping(s.nonce, 'default-key', { authSalt: s.authSalt, username: 'fluentbit', password: 'nope' }), s, withUsers);
  assert.ok(!bad.ok && bad.reason === 'username/password mismatch');
  const unknown = verifyPing(ping(s.nonce, 'default-key', { authSalt: s.authSalt, username: 'eve', password: 's3cret' }), s, withUsers);
  assert.equal(unknown.ok, false);
  const none = verifyPing(ping(s.nonce, 'default-key'), s, withUsers);
  assert.equal(none.ok, false);
});
