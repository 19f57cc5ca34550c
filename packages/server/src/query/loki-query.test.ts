/**
 * The client going away reaches every query path: the one-SELECT log
 * query and the fast path (the store refuses, and with a running query
 * sends KILL QUERY: see store's index-select.test.ts), and the evaluator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLogRecord } from '@meshlog/core';
import { ChdbBackend, LogStore } from '@meshlog/store';
import { parseLogQL, runQuery } from './loki-query.js';

test('an aborted request cancels its query on every path', async () => {
  const store = await LogStore.open(new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'loki-query-')) }));
  try {
    const now = BigInt(Date.now()) * 1_000_000n;
    await store.insert([{ kind: 'logs', tenant: 't', source: 'test', records: [{ ...emptyLogRecord(), timeUnixNano: now, observedTimeUnixNano: now, body: 'level=info msg=hello', resource: { 'service.name': 'svc' } }] }]);
    const reader = store.reader({ tenant: 't', auditTrail: false });
    const limits = { maxEntriesLimit: 100, maxQueryRangeHours: 24, maxQuerySeries: 10 };
    const spec = (text: string, instant = false) => ({ text, expr: parseLogQL(text), startNs: now - 3_600_000_000_000n, endNs: now + 1n, stepNs: 60_000_000_000n, intervalNs: 0n, limit: 10, direction: 'backward' as const, instant });
    // Not aborted, each path answers.
    for (const text of ['{service_name="svc"}', '{service_name="svc"} | logfmt | level="info"', 'count_over_time({service_name="svc"}[1h])', 'sum by (level) (count_over_time({service_name="svc"} | logfmt [1h]))']) {
      const r = await runQuery(reader, spec(text, text.startsWith('count') || text.startsWith('sum')), limits);
      assert.ok(r.stats.returned >= 1, text);
    }
    const abort = new AbortController();
    abort.abort();
    for (const text of ['{service_name="svc"}', '{service_name="svc"} | logfmt | level="info"', 'count_over_time({service_name="svc"}[1h])', 'sum by (level) (count_over_time({service_name="svc"} | logfmt [1h]))']) {
      await assert.rejects(runQuery(reader, spec(text, text.startsWith('count') || text.startsWith('sum')), limits, abort.signal), (err: Error & { code?: string }) => err.code === 'cancelled', text);
    }
  } finally {
    await store.close();
  }
});
