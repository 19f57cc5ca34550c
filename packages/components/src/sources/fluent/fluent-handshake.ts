/**
 * The forward protocol's shared-key handshake (server side):
 *
 *   server -> HELO  ["HELO", {nonce, auth, keepalive}]
 *   client -> PING  ["PING", client_hostname, salt,
 *                    hex(sha512(salt + client_hostname + nonce + shared_key)),
 *                    username, hex(sha512(auth_salt + username + password))]
 *   server -> PONG  ["PONG", ok, reason, server_hostname,
 *                    hex(sha512(salt + server_hostname + nonce + shared_key))]
 *
 * The key is never on the wire, only digests bound to a fresh per-connection
 * nonce, so a recorded PING cannot be replayed on another connection. Several
 * keys can be configured, each naming the tenant whose events its holders
 * send: the key that verifies the PING decides the tenant (the key is the
 * credential of this protocol). Digests are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PingMessage } from './fluent-decode.js';

export interface SharedKey {
  key: Buffer;
  tenant: string;
}

export interface HandshakeConfig {
  selfHostname: string;
  keys: SharedKey[];
  /** Present when username/password authentication is required: username -> password. */
  users?: Map<string, Buffer>;
}

export interface HandshakeSession {
  nonce: Buffer;
  /** Salt for the password digest; empty when user auth is off. */
  authSalt: Buffer;
}

export type PingVerdict = { ok: true; tenant: string; pong: unknown[]; username: string } | { ok: false; reason: string; pong: unknown[] };

export function newSession(userAuth: boolean): HandshakeSession {
  return { nonce: randomBytes(16), authSalt: userAuth ? randomBytes(16) : Buffer.alloc(0) };
}

export function helo(session: HandshakeSession): unknown[] {
  // `auth` is the password salt when user auth is on and '' otherwise, as Fluentd's in_forward sends it.
  return ['HELO', { nonce: session.nonce, auth: session.authSalt.length > 0 ? session.authSalt : '', keepalive: true }];
}

export function sha512Hex(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

export function verifyPing(ping: PingMessage, session: HandshakeSession, config: HandshakeConfig): PingVerdict {
  const fail = (reason: string): PingVerdict => ({ ok: false, reason, pong: ['PONG', false, reason, '', ''] });
  if (ping.hostname === config.selfHostname) {
    return fail('same hostname between input and output: invalid configuration');
  }
  // Try every key so that the time taken does not tell which one matched.
  let matched: SharedKey | undefined;
  for (const k of config.keys) {
    if (sameHex(ping.sharedKeyDigest, sha512Hex(ping.salt, ping.hostname, session.nonce, k.key)) && !matched) matched = k;
  }
  if (!matched) return fail('shared_key mismatch');
  if (config.users) {
    const password = config.users.get(ping.username);
    // Compute a digest even for an unknown user, for the same reason.
    const expected = sha512Hex(session.authSalt, ping.username, password ?? randomBytes(16));
    if (password === undefined || !sameHex(ping.passwordDigest, expected)) return fail('username/password mismatch');
  }
  const digest = sha512Hex(ping.salt, config.selfHostname, session.nonce, matched.key);
  return { ok: true, tenant: matched.tenant, username: ping.username, pong: ['PONG', true, '', config.selfHostname, digest] };
}
