import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRow } from '@meshlog/store';
import { DEFAULT_MASK_RULES, Masker } from './masker.js';

const row = (body: string, attrs: Record<string, string> = {}): LogRow => ({
  timestamp_ns: '1',
  body,
  labels_keys: ['service_name'],
  labels_values: ['shop'],
  severity_number: 9,
  trace_id: '',
  span_id: '',
  attr_keys: Object.keys(attrs),
  attr_values: Object.values(attrs),
});

test('default rules mask emails and IPv4 addresses in bodies, and personal attributes whole', () => {
  const m = new Masker(DEFAULT_MASK_RULES);
  const out = m.logRow(row('login ok for ana.lopez+test@example.co.uk from 10.2.33.4 (port 8080, v1.2.3)', { 'user.email': 'ana@example.com', 'http.route': '/login', note: 'from 192.168.0.1' }));
  assert.equal(out.body, 'login ok for [masked:email] from [masked:ipv4] (port 8080, v1.2.3)');
  assert.deepEqual(out.attr_values, ['[masked]', '/login', 'from [masked:ipv4]']);
  assert.deepEqual(out.labels_values, ['shop'], 'stream labels are not personal data');
});

test('configured rules replace the defaults', () => {
  const m = new Masker({ attributes: ['ssn'], patterns: [{ name: 'card', regex: '\\b\\d{4}(?:[ -]?\\d{4}){3}\\b' }] });
  const out = m.logRow(row('paid with 4111 1111 1111 1111, mail a@b.io', { ssn: '123-45-6789' }));
  assert.equal(out.body, 'paid with [masked:card], mail a@b.io');
  assert.deepEqual(out.attr_values, ['[masked]']);
});
