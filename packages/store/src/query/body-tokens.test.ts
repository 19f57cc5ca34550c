import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLogRecord } from '@meshlog/core';
import { ChdbBackend } from '../embedded/chdb-backend.js';
import { LogStore } from '../log-store.js';
import { BODY_TOKENS, bodyTokensColumn, isBodyToken, tokenMaskOf } from './body-tokens.js';
import { compileLogSelect, type LogSelect } from './log-select.js';

test('the vocabulary fits the UInt64 mask, has no duplicates and is ASCII', () => {
  assert.ok(BODY_TOKENS.length <= 64);
  assert.equal(new Set(BODY_TOKENS).size, BODY_TOKENS.length);
  for (const t of BODY_TOKENS) assert.match(t, /^[\x20-\x7e]+$/, t);
  for (const t of BODY_TOKENS) assert.ok(bodyTokensColumn().includes(`position(body, '${t}')`), t);
});

test('a needle needs the bits of every vocabulary word it contains', () => {
  assert.equal(tokenMaskOf('error'), 1n);
  assert.equal(tokenMaskOf('level=ERROR msg=timeout'), (1n << 1n) | (1n << 11n));
  assert.equal(tokenMaskOf('GET /api'), 1n << 32n);
  assert.equal(tokenMaskOf('err'), 0n, 'a part of a word is not the word');
  assert.equal(isBodyToken('error'), true);
  assert.equal(isBodyToken('level=error'), false);
});

test('compiled line filters read the mask only when the target has it', () => {
  const q: LogSelect = { tenant: 't', matchers: [], lineFilters: [{ op: '|=', values: ['error'] }], startNs: 0n, endNs: 1n, limit: 1, direction: 'forward' };
  assert.doesNotMatch(compileLogSelect(q, { database: 'db' }).sql, /body_tokens/);
  const withMask = compileLogSelect(q, { database: 'db', derivedColumns: true }).sql;
  assert.match(withMask, /bitAnd\(body_tokens/);
  assert.doesNotMatch(withMask, /like\(body/, 'a vocabulary word is decided by its bit alone');
  const contained = compileLogSelect({ ...q, lineFilters: [{ op: '|=', values: ['level=error'] }] }, { database: 'db', derivedColumns: true }).sql;
  assert.match(contained, /bitAnd\(body_tokens.*AND like\(body/s, 'a longer needle still checks the body');
});

test('on the real store, filtering through the mask finds exactly what a body search finds', async () => {
  const store = await LogStore.open(new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'body-tokens-')) }));
  try {
    const now = BigInt(Date.now()) * 1_000_000n;
    const bodies = [
      'error',
      'an error at the end: error',
      'ERROR upper',
      'Errors plural Error',
      'erro r split',
      'e\u0301rror accent before',
      'ünicode error ✓',
      'timed out after 5s',
      'timedout',
      'GET /healthz 503',
      'GETTING started',
      '',
      'level=error msg="upstream reset"',
      'no words here',
    ];
    const record = (at: bigint, body: string) => ({ ...emptyLogRecord(), timeUnixNano: at, observedTimeUnixNano: now, body, resource: { 'service.name': 'svc' } });
    await store.insert([{ kind: 'logs', tenant: 't1', source: 'test', records: bodies.map((body, i) => record(now + BigInt(i), body)) }]);
    const r = await store.backend.query<{ body: string; body_tokens: string; body_bytes: string }>('SELECT body, body_tokens, body_bytes FROM meshlog.logs ORDER BY timestamp_ns');
    for (const row of r.rows) {
      const mask = BigInt(row.body_tokens);
      BODY_TOKENS.forEach((t, i) => assert.equal((mask >> BigInt(i)) & 1n, row.body.includes(t) ? 1n : 0n, `bit ${i} (${t}) of ${JSON.stringify(row.body)}`));
      assert.equal(Number(row.body_bytes), Buffer.byteLength(row.body), 'body_bytes is the UTF-8 length');
    }
    const find = async (op: '|=' | '!=', values: string[]): Promise<string[]> =>
      (await store.selectLogs({ tenant: 't1', matchers: [], lineFilters: [{ op, values }], startNs: now, endNs: now + 1_000n, limit: 100, direction: 'forward' })).rows.map((x) => x.body);
    for (const needle of ['error', 'Error', 'ERROR', 'timed out', 'GET', '503', 'level=error', 'upstream reset', 'rror']) {
      assert.deepEqual(await find('|=', [needle]), bodies.filter((b) => b.includes(needle)), `|= ${needle}`);
      assert.deepEqual(await find('!=', [needle]), bodies.filter((b) => !b.includes(needle)), `!= ${needle}`);
    }
    assert.deepEqual(await find('|=', ['ERROR', 'timed out']), bodies.filter((b) => b.includes('ERROR') || b.includes('timed out')), 'alternatives');
    // The audit trail has the same column (LogQL `{meshlog_stream="audit"} |= "DELETE"`).
    await store.insertAudit([{ kind: 'logs', tenant: 't1', source: 'audit', records: ['{"method":"DELETE","path":"/x"}', '{"method":"GET","path":"/y"}'].map((body, i) => record(now + BigInt(i), body)) }]);
    const audit = await store.selectLogs({ tenant: 't1', table: 'audit_log', matchers: [], lineFilters: [{ op: '|=', values: ['DELETE'] }], startNs: now, endNs: now + 1_000n, limit: 10, direction: 'forward' });
    assert.deepEqual(audit.rows.map((r) => r.body), ['{"method":"DELETE","path":"/x"}']);
  } finally {
    await store.close();
  }
});
