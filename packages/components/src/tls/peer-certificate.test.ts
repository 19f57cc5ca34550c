import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePeerCertificate, handshakeFailure, presentedCertificate, uriSans } from './peer-certificate.js';
import type { PeerCertificate } from 'node:tls';

test('URI SANs from Node\'s subjectaltname text, quoted values included', () => {
  assert.deepEqual(uriSans('DNS:localhost, URI:spiffe://cluster.local/ns/a/sa/b, IP Address:127.0.0.1'), ['spiffe://cluster.local/ns/a/sa/b']);
  assert.deepEqual(uriSans('URI:spiffe://td/x, URI:https://example.com/y'), ['spiffe://td/x', 'https://example.com/y']);
  assert.deepEqual(uriSans('URI:"spiffe://td/a,b", DNS:x'), ['spiffe://td/a,b']);
  assert.deepEqual(uriSans(''), []);
  assert.deepEqual(uriSans('DNS:only'), []);
});

test('a presented certificate: verified or not (naming why), or none at all', () => {
  const raw = Buffer.from('x');
  const cert = { raw, subject: { CN: 'api' }, subjectaltname: 'URI:spiffe://td/ns/a/sa/api, URI:https://x', serialNumber: '0a1b', fingerprint256: 'AA:BB' } as unknown as PeerCertificate;
  assert.deepEqual(describePeerCertificate(cert), { spiffeIds: ['spiffe://td/ns/a/sa/api'], subject: 'CN=api', serial: '0A1B', fingerprint256: 'AA:BB' });
  const socket = (c: object, authorized: boolean, authorizationError?: string) => ({ getPeerCertificate: () => c as PeerCertificate, authorized, authorizationError });
  assert.equal(presentedCertificate(socket({}, false, 'UNABLE_TO_GET_ISSUER_CERT')), undefined, 'no certificate');
  assert.equal(presentedCertificate(socket(cert, true))?.verified, true);
  const bad = presentedCertificate(socket(cert, false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'));
  assert.ok(bad && !bad.verified);
  assert.match(bad.reason, /CN=api \(serial 0A1B\) is not signed by the listener's client CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
});

test('handshake failures in words; a peer that hung up before any verdict is not a refusal', () => {
  const err = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  assert.deepEqual(handshakeFailure(err('ECONNRESET', 'socket hang up'), { authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' as unknown as Error }), {
    reason: "client certificate refused: not signed by the listener's client CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
    peerClosed: false,
  });
  assert.equal(handshakeFailure(err('ECONNRESET', 'socket hang up'), { authorizationError: null as unknown as Error }).peerClosed, true);
  assert.match(handshakeFailure(err('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'x'), { authorizationError: null as unknown as Error }).reason, /no client certificate presented/);
  assert.equal(
    handshakeFailure(err('ERR_SSL_UNSUPPORTED_PROTOCOL', '80BC:error:0A000102:SSL routines:tls_early_post_process_client_hello:unsupported protocol:../deps/openssl/statem_srvr.c:1664:'), { authorizationError: null as unknown as Error }).reason,
    'TLS handshake failed: unsupported protocol (ERR_SSL_UNSUPPORTED_PROTOCOL)',
  );
});
