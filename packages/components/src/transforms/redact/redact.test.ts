/**
 * Every redaction detector on what it must catch and on near misses it must
 * leave alone (a 16-digit number failing Luhn, an SSN with a 000 area, a
 * word with an @ but no domain), in mask and keyed-hash modes, with the
 * per-detector counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedactConfigSchema } from './config.js';
import { RedactTransform } from './redact-transform.js';
import { luhnValid } from './detectors.js';
import type { ComponentMetrics, LogBatch, LogRecord } from '@meshlog/core';

const counted: Record<string, number> = {};
const metrics: ComponentMetrics = {
  received: () => undefined,
  sent: () => undefined,
  discarded: () => undefined,
  error: () => undefined,
  queueDepth: () => undefined,
  counter: () => (labels = {}, n = 1) => void (counted[labels['detector']!] = (counted[labels['detector']!] ?? 0) + n),
};

function make(cfg: Record<string, unknown> = {}): RedactTransform {
  return new RedactTransform(RedactConfigSchema.parse(cfg), { metrics, id: 'redact' });
}

const all = make({ detectors: ['url_password', 'jwt', 'bearer_token', 'aws_access_key', 'email', 'credit_card', 'us_ssn', 'ipv6', 'ipv4'] });

const CASES: { detector: string; hit: string; expect: string; near: string[] }[] = [
  { detector: 'email', hit: 'login by jane.doe+test@mail.example.co.uk ok', expect: 'login by [REDACTED:email] ok', near: ['user@localhost', 'a @ b.com', 'name@', 'version 1.2@3'] },
  {
    detector: 'credit_card',
    hit: 'paid with 4111 1111 1111 1111 and 5500-0000-0000-0004',
    expect: 'paid with [REDACTED:credit_card] and [REDACTED:credit_card]',
    near: ['order 4111111111111112 shipped', 'id 1234567812345678', 'ts 1700000000000'],
  },
  { detector: 'us_ssn', hit: 'ssn=123-45-6789;', expect: 'ssn=[REDACTED:us_ssn];', near: ['000-12-3456', '666-12-3456', '923-45-6789', '123-00-4567', '123-45-0000', '2024-01-15', '1234-56-7890'] },
  {
    detector: 'jwt',
    hit: 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end',
    expect: 'token [REDACTED:jwt] end',
    near: ['eyJ is a prefix', 'a.b.c', 'eyJhbGc.short'],
  },
  { detector: 'aws_access_key', hit: 'key AKIAIOSFODNN7EXAMPLE used', expect: 'key [REDACTED:aws_access_key] used', near: ['AKIAIOSFODNN7EXAMPL', 'XAKIAIOSFODNN7EXAMPLE', 'akiaiosfodnn7example'] },
  { detector: 'bearer_token', hit: 'Authorization: Bearer abcDEF123456.xyz-_~+/=', expect: 'Authorization: Bearer [REDACTED:bearer_token]', near: ['the bearer of bad news', 'Bearer short'] },
  { detector: 'url_password', hit: 'dsn=postgres://app:s3cr3t!@db.internal:5432/x', expect: 'dsn=postgres://app:[REDACTED:url_password]@db.internal:5432/x', near: ['https://example.com/a:b@c', 'http://user@host/', 'ratio 1:2@3'] },
  { detector: 'ipv4', hit: 'from 10.1.2.255 to 192.168.0.1', expect: 'from [REDACTED:ipv4] to [REDACTED:ipv4]', near: ['version 1.2.3', '256.1.1.1', '1.2.3.4.5.6'] },
  { detector: 'ipv6', hit: 'peer 2001:db8::8a2e:370:7334 and ::1', expect: 'peer [REDACTED:ipv6] and [REDACTED:ipv6]', near: ['12:30:45', 'a::b::c', 'std::vector'] },
];

for (const c of CASES) {
  test(`redact ${c.detector}: replaced, and near misses left alone`, () => {
    const before = counted[c.detector] ?? 0;
    assert.equal(all.redact(c.hit), c.expect);
    assert.ok((counted[c.detector] ?? 0) >= before, 'counted');
    for (const near of c.near) {
      const found = new Map<string, number>();
      assert.equal(all.redact(near, found), near, `${c.detector} must not redact ${JSON.stringify(near)} (found ${JSON.stringify([...found])})`);
    }
  });
}

test('luhn: a valid card passes, the same digits with one changed do not', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(luhnValid('411111'), false);
});

test('process: body, record and resource attributes are redacted, counted per detector; skipped attributes are not', () => {
  const t = make();
  const resource = { 'service.name': 'a@b.com', owner: 'ops@example.com' };
  const batch: LogBatch = {
    kind: 'logs',
    tenant: 't',
    source: 's',
    records: [
      { timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 0, severityText: '', body: 'mail bob@example.com card 4111111111111111', attributes: { 'user.email': 'x@example.org', 'log.file.path': '/var/log/a@b.com/x.log', n: 4111111111111111 }, resource, scopeName: '', scopeVersion: '', traceId: '', spanId: '', flags: 0 },
      { timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 0, severityText: '', body: 'no secrets here', attributes: {}, resource, scopeName: '', scopeVersion: '', traceId: '', spanId: '', flags: 0 },
    ] as LogRecord[],
  };
  t.process(batch);
  const r = batch.records[0]!;
  assert.equal(r.body, 'mail [REDACTED:email] card [REDACTED:credit_card]');
  assert.equal(r.attributes['user.email'], '[REDACTED:email]');
  assert.equal(r.attributes['log.file.path'], '/var/log/a@b.com/x.log');
  assert.equal(resource.owner, '[REDACTED:email]');
  assert.equal(resource['service.name'], 'a@b.com');
  assert.deepEqual(t.totals, { email: 3, credit_card: 1 });
  assert.equal(batch.records[1]!.body, 'no secrets here');
});

test('hash mode: keyed HMAC, equal values give equal tokens, the key comes from a file and must be long enough', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redact-'));
  writeFileSync(join(dir, 'key'), 'k'.repeat(32));
  const t = make({ mode: 'hash', hash_key_file: join(dir, 'key') });
  const a = t.redact('from a@example.com');
  const b = t.redact('to a@example.com');
  const c = t.redact('to c@example.com');
  const tokenOf = (s: string): string => s.match(/\[REDACTED:email:[0-9a-f]{16}\]/)![0];
  assert.equal(tokenOf(a), tokenOf(b));
  assert.notEqual(tokenOf(a), tokenOf(c));
  assert.ok(!a.includes('a@example.com'));
  writeFileSync(join(dir, 'short'), 'short');
  assert.throws(() => make({ mode: 'hash', hash_key_file: join(dir, 'short') }), /at least 16 bytes/);
  assert.throws(() => RedactConfigSchema.parse({ mode: 'hash' }), /never a literal key/);
});

test('custom patterns are applied and counted under their name; a backtracking one is refused', () => {
  const t = make({ custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] });
  assert.equal(t.redact('by EMP-123456.'), 'by [REDACTED:employee_id].');
  assert.throws(() => RedactConfigSchema.parse({ custom: [{ name: 'bad', pattern: '(a+)+$' }] }), /backtrack/);
});
