import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionClearCookie, sessionSetCookie } from './session-auth.js';
import { csrfTokenOf } from '../auth/session-store.js';

test('the session cookie: HttpOnly, SameSite=Strict, Path=/; on TLS also Secure under the __Host- prefix', () => {
  const plain = sessionSetCookie('abc', false);
  assert.equal(plain, 'meshlog_session=abc; Path=/; HttpOnly; SameSite=Strict');
  const tls = sessionSetCookie('abc', true);
  assert.equal(tls, '__Host-meshlog_session=abc; Path=/; HttpOnly; Secure; SameSite=Strict');
  assert.doesNotMatch(tls, /Domain=/i, '__Host- cookies carry no Domain');
  assert.match(sessionClearCookie(true), /^__Host-meshlog_session=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/);
});

test('the CSRF token is derived from the session id, differs per session and does not contain it', () => {
  const a = csrfTokenOf('session-one');
  assert.equal(a, csrfTokenOf('session-one'));
  assert.notEqual(a, csrfTokenOf('session-two'));
  assert.ok(!a.includes('session-one'));
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
});
