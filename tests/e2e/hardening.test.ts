/**
 * Hardening through the real server process: rate limits per identity and
 * per tenant (429 rate_limited with Retry-After, other identities
 * unaffected), the ingest byte quota, the failed-authentication limit per
 * address, security headers and a strict Content Security Policy on every
 * answer (errors included), and no secret in the server's output, in an
 * error or in the audit trail.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '@meshlog/server';
import { linesOf, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

let server: ServerProcess;
let limitedA: string;
let limitedB: string;
let otherTenant: string;

before(async () => {
  const dataDir = tempDir('meshlog-hardening-e2e-');
  const tokens = new TokenStore(dataDir);
  limitedA = tokens.create('small', ['analyst']);
  limitedB = tokens.create('small', ['analyst']);
  otherTenant = tokens.create('big', ['admin']);
  const config = join(dataDir, 'meshlog.yaml');
  writeFileSync(
    config,
    [
      'limits:',
      '  rate:',
      '    per_identity: { per_second: 0.2, burst: 3 }',
      '    per_tenant: { per_second: 0.2, burst: 5 }',
      '    ingest_mib_per_tenant: { per_second: 0.01, burst: 0.05 }',
      '    auth_failures_per_address: { per_second: 0.1, burst: 5 }',
      '',
    ].join('\n'),
  );
  server = await startServerProcess({ dataDir, args: ['--config', config] });
});

after(async () => {
  await server?.stop();
});

const labels = (token: string): Promise<Response> => fetch(`${server.url}/loki/api/v1/labels`, { headers: { authorization: `Bearer ${token}` } });

test('per identity, then per tenant: 429 rate_limited with Retry-After; another tenant is unaffected', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await labels(limitedA)).status, 200, `request ${i} within the burst`);
  const over = await labels(limitedA);
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  // Loki's API answers errors as plain text: the message alone.
  assert.match(await over.text(), /is over its request rate \(limits\.rate\); retry after \d+ s/);
  // B has its own identity bucket, but shares the tenant's: two more pass, then the tenant is spent.
  assert.equal((await labels(limitedB)).status, 200);
  assert.equal((await labels(limitedB)).status, 200);
  assert.equal((await labels(limitedB)).status, 429);
  assert.equal((await labels(otherTenant)).status, 200, 'another tenant has its own budget');
});

test('the ingest byte quota refuses a tenant over its volume', async () => {
  const big = otlpJsonLogs(Array.from({ length: 400 }, (_, i) => `quota line ${i} ${'x'.repeat(100)}`));
  assert.ok(big.length > 40_000);
  const send = (): Promise<Response> => fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${otherTenant}`, 'content-type': 'application/json' }, body: big });
  assert.equal((await send()).status, 200, 'within the 0.05 MiB burst');
  const over = await send();
  assert.equal(over.status, 429);
  assert.match(((await over.json()) as { error: string }).error, /ingest quota/);
});

test('security headers and a strict CSP on every answer, errors included', async () => {
  for (const r of [await fetch(`${server.url}/ready`), await fetch(`${server.url}/loki/api/v1/labels`), await fetch(`${server.url}/nope`)]) {
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline or eval scripts');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.match(r.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
    assert.ok(r.headers.get('x-request-id'));
  }
});

test('no secret in the server output, in error answers or in the audit trail', async () => {
  const wrong = await fetch(`${server.url}/loki/api/v1/labels`, { headers: { authorization: 'Bearer mlk_this-is-a-secret-guess' } });
  const text = await wrong.text();
  assert.doesNotMatch(text, /this-is-a-secret-guess/);
  // Read the whole audit trail (the admin may).
  const audit = await lokiQueryRange(server, '{meshlog_stream="audit"}');
  assert.equal(audit.status, 200);
  const trail = linesOf(audit.body).join('\n');
  assert.ok(trail.length > 0);
  for (const secret of [server.token, limitedA, limitedB, otherTenant, 'this-is-a-secret-guess']) {
    assert.ok(!trail.includes(secret), 'a secret in the audit trail');
    assert.ok(!server.output().includes(secret), 'a secret in the server output');
  }
});

// Last: it leaves this address over its failure budget.
test('failed authentications from one address are limited before credentials are checked', async () => {
  // Earlier tests spent some of this address's budget of 5; guesses get 401 until it is gone, then 429.
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await labels(`mlk_guess_${i}`)).status);
  const first429 = statuses.indexOf(429);
  assert.ok(first429 > 0 && statuses.slice(0, first429).every((s) => s === 401) && statuses.slice(first429).every((s) => s === 429), statuses.join(','));
  const blocked = await labels(otherTenant);
  assert.equal(blocked.status, 429, 'even a right token waits once the address is over its failures');
  assert.match(await blocked.text(), /too many failed authentications from/);
});
