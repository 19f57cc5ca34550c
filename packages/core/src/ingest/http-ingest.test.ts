import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialHint, presentedToken, type CredentialLocation } from './http-ingest.js';

const HEC: CredentialLocation[] = [{ kind: 'authorization', scheme: 'Splunk' }];
const DD: CredentialLocation[] = [{ kind: 'header', name: 'dd-api-key' }];

test('Bearer is taken everywhere; other places only where the route declares them', () => {
  assert.deepEqual(presentedToken({ authorization: 'Bearer abc' }, []), { token: 'abc' });
  assert.deepEqual(presentedToken({ authorization: 'bearer abc' }, HEC), { token: 'abc' });
  assert.deepEqual(presentedToken({ authorization: 'Splunk abc' }, HEC), { token: 'abc' });
  assert.deepEqual(presentedToken({ authorization: 'splunk abc ' }, HEC), { token: 'abc' });
  assert.deepEqual(presentedToken({ authorization: 'Splunk abc' }, []), { failure: 'malformed' });
  assert.deepEqual(presentedToken({ 'dd-api-key': ' abc ' }, DD), { token: 'abc' });
  assert.deepEqual(presentedToken({ 'dd-api-key': 'abc' }, HEC), { failure: 'missing' });
  assert.deepEqual(presentedToken({}, DD), { failure: 'missing' });
  assert.deepEqual(presentedToken({ authorization: 'abc' }, HEC), { failure: 'malformed' });
  // Basic (password = token) and ApiKey are taken on every route: log shippers and Grafana send them.
  assert.deepEqual(presentedToken({ authorization: 'Basic Zm9vOmJhcg==' }, DD), { token: 'bar' });
  assert.deepEqual(presentedToken({ authorization: `ApiKey ${Buffer.from('id:tok').toString('base64')}` }, []), { token: 'tok' });
  assert.deepEqual(presentedToken({ authorization: 'Basic Zm9vOmJhcg==', 'dd-api-key': 'k' }, DD), { token: 'bar' }, 'the Authorization header comes first');
  assert.deepEqual(presentedToken({ authorization: 'Digest x', 'dd-api-key': 'k' }, DD), { token: 'k' }, 'a token header still counts when Authorization has no token');
});

test('the hint lists every accepted form', () => {
  assert.equal(credentialHint([]), '"Authorization: Bearer <token>" or basic auth with the token as password');
  assert.equal(credentialHint(HEC), '"Authorization: Bearer <token>", basic auth with the token as password or "Authorization: Splunk <token>"');
  assert.equal(credentialHint(DD), '"Authorization: Bearer <token>", basic auth with the token as password or a "dd-api-key" header');
});
