import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLogRecord } from '@meshlog/core';
import { ChdbBackend } from '../embedded/chdb-backend.js';
import { LogStore } from '../log-store.js';
import { SqlParams, escapeLike, jsonNumberKeepSql, type LogSelect } from './log-select.js';

test('escapeLike makes LIKE metacharacters literal', () => {
  assert.equal(escapeLike('50%_off\\now'), '50\\%\\_off\\\\now');
});

test('the | json prefilter declines names the store sets from its own columns', () => {
  for (const name of ['service_name', 'trace_id', 'span_id', '_x']) assert.equal(jsonNumberKeepSql({ name, op: '>', value: 1 }, new SqlParams()), '1', name);
  assert.match(jsonNumberKeepSql({ name: 'status', op: '>=', value: 500 }, new SqlParams()), /^NOT \(startsWith\(body, '\{'\)/);
});

test('line filters and matchers have Loki semantics on the real store', async () => {
  const store = await LogStore.open(new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'log-select-')) }));
  try {
    const now = BigInt(Date.now()) * 1_000_000n;
    const lines = ['100% done', '100 percent', 'a_b', 'axb', 'back\\slash', 'multi\nline needle', 'plain needle', ''];
    await store.insert([
      {
        kind: 'logs',
        tenant: 't1',
        source: 'test',
        records: lines.map((body, i) => ({ ...emptyLogRecord(), timeUnixNano: now + BigInt(i), observedTimeUnixNano: now, body, resource: { 'service.name': i % 2 ? 'odd' : 'even', 'k8s.namespace.name': 'ns1' } })),
      },
      { kind: 'logs', tenant: 't2', source: 'test', records: [{ ...emptyLogRecord(), timeUnixNano: now, observedTimeUnixNano: now, body: 'plain needle', resource: { 'service.name': 'even' } }] },
    ]);
    const q = async (partial: Partial<LogSelect>): Promise<string[]> => {
      const r = await store.selectLogs({ tenant: 't1', matchers: [], lineFilters: [], startNs: now - 1_000_000_000n, endNs: now + 1_000_000_000n, limit: 100, direction: 'forward', ...partial });
      return r.rows.map((x) => x.body);
    };
    assert.deepEqual(await q({ lineFilters: [{ op: '|=', values: ['%'] }] }), ['100% done']);
    assert.deepEqual(await q({ lineFilters: [{ op: '|=', values: ['a_b'] }] }), ['a_b'], '_ is literal, not a wildcard');
    assert.deepEqual(await q({ lineFilters: [{ op: '|=', values: ['\\'] }] }), ['back\\slash']);
    assert.deepEqual(await q({ lineFilters: [{ op: '|=', values: ['needle'] }] }), ['multi\nline needle', 'plain needle'], 'matches across newlines; other tenants invisible');
    assert.deepEqual(await q({ lineFilters: [{ op: '|=', values: ['needle'] }, { op: '!=', values: ['plain'] }] }), ['multi\nline needle']);
    assert.deepEqual(await q({ lineFilters: [{ op: '|=', values: ['axb', 'a_b'] }] }), ['a_b', 'axb'], 'or alternatives');
    assert.deepEqual(await q({ lineFilters: [{ op: '|~', values: ['^100'] }] }), ['100% done', '100 percent'], 'regex line filters are not anchored beyond what they say');
    assert.deepEqual(await q({ lineFilters: [{ op: '!~', values: ['e'] }] }), ['a_b', 'axb', 'back\\slash', '']);
    assert.deepEqual((await q({ matchers: [{ name: 'service_name', op: '=~', value: 'od' }] })).length, 0, 'label regexes are anchored');
    assert.deepEqual((await q({ matchers: [{ name: 'service_name', op: '=~', value: 'od.' }] })).length, 4);
    assert.deepEqual((await q({ matchers: [{ name: 'k8s_namespace_name', op: '!=', value: 'ns1' }] })).length, 0);
    assert.deepEqual((await q({ matchers: [{ name: 'missing_label', op: '=', value: '' }] })).length, 8, 'a missing label equals ""');
  } finally {
    await store.close();
  }
});
