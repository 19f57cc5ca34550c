import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presentedToken as fromHeaders } from '@meshlog/core';

/** The token the Authorization header yields on a route that declares no extra places. */
const presentedToken = (header: string | undefined): string | undefined => {
  const r = fromHeaders(header === undefined ? {} : { authorization: header }, []);
  return 'token' in r ? r.token : undefined;
};

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('the token is taken from each scheme protocol clients use, and from nothing else', () => {
  assert.equal(presentedToken('Bearer mlk_abc'), 'mlk_abc');
  assert.equal(presentedToken('bearer mlk_abc'), 'mlk_abc');
  // Basic: the password is the token (Promtail, winston-loki, Filebeat, Logstash, Fluent Bit).
  assert.equal(presentedToken(`Basic ${b64('tenant-a:mlk_abc')}`), 'mlk_abc');
  assert.equal(presentedToken(`Basic ${b64(':mlk_abc')}`), 'mlk_abc');
  assert.equal(presentedToken(`Basic ${b64('user:pa:ss')}`), 'pa:ss');
  assert.equal(presentedToken(`Basic ${b64('mlk_abc:')}`), undefined, 'an empty password is no token');
  assert.equal(presentedToken(`Basic ${b64('no-colon')}`), undefined);
  // ApiKey: base64(id:key), the key is the token (Elasticsearch clients' api_key); or the token verbatim.
  assert.equal(presentedToken(`ApiKey ${b64('some-id:mlk_abc')}`), 'mlk_abc');
  assert.equal(presentedToken('ApiKey mlk_abc'), 'mlk_abc');
  // Not base64(id:key): taken as the key itself (and refused by the token check if it is none).
  assert.equal(presentedToken(`ApiKey ${b64('nocolon')}`), b64('nocolon'));
  assert.equal(presentedToken('Basic !!!'), undefined);
  assert.equal(presentedToken('Token mlk_abc'), undefined);
  assert.equal(presentedToken('Bearer'), undefined);
  assert.equal(presentedToken(undefined), undefined);
});
