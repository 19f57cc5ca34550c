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
  assert.deepEqual(presentedToken({ authorization: 'Basic Zm9vOmJhcg==' }, DD), { failure: 'malformed' });
  assert.deepEqual(presentedToken({ authorization: 'Basic Zm9vOmJhcg==', 'dd-api-key': 'k' }, DD), { token: 'k' }, 'a token header still counts');
});

test('the hint lists every accepted form', () => {
  assert.equal(credentialHint([]), '"Authorization: Bearer <token>"');
  assert.equal(credentialHint(HEC), '"Authorization: Bearer <token>" or "Authorization: Splunk <token>"');
  assert.equal(credentialHint(DD), '"Authorization: Bearer <token>" or a "dd-api-key" header');
});
