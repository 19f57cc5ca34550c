/**
 * The metric fast path (one GROUP BY in ClickHouse) and the LogQL evaluator
 * (over entries read page by page) must give the same answer on the same
 * data, for every query shape the fast path takes: both run here against
 * the same real embedded store, at aligned and unaligned starts, steps that
 * do not divide the range, offsets, instant queries, and series made of
 * stream labels and structured metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLogRecord, type LogRecord } from '@meshlog/core';
import { evaluate, parse } from '@meshlog/logql';
import { ChdbBackend, LogStore } from '@meshlog/store';
import { ReaderEntrySource } from './entry-source.js';
import { planFastPath, runFastPath } from './metric-fast-path.js';
import { traceIdsOf } from './loki-query.js';

const S = 1_000_000_000n;

type Series = { metric: Record<string, string>; values?: [number, string][]; value?: [number, string] };
const points = (r: unknown): Series[] => r as Series[];
/** Labels and timestamps of every point. */
const shape = (r: unknown): unknown => points(r).map((s) => ({ metric: s.metric, t: (s.values ?? [s.value!]).map((p) => p[0]) }));
const values = (r: unknown): number[] => points(r).flatMap((s) => (s.values ?? [s.value!]).map((p) => Number(p[1])));

test('fast path and evaluator agree', async () => {
  const store = await LogStore.open(new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'fast-path-')) }));
  try {
    const t0 = 1_700_000_000n * S;
    const records: LogRecord[] = [];
    const services = ['api', 'db', 'web'];
    const trace = 'ab'.repeat(16);
    // 400 records over 10 minutes, some exactly on minute and 30 s boundaries, with metadata on some.
    for (let i = 0; i < 400; i++) {
      const at = i % 10 === 0 ? t0 + BigInt(i / 10) * 30n * S : t0 + BigInt((i * 7919) % 600_000) * 1_000_000n;
      const svc = services[i % 3]!;
      records.push({
        ...emptyLogRecord(),
        timeUnixNano: at,
        observedTimeUnixNano: at,
        body: `${i % 4 === 0 ? 'ERROR' : 'INFO'} request ${i} took ${i % 13}ms`,
        resource: { 'service.name': svc, 'k8s.namespace.name': i % 5 === 0 ? 'prod' : 'dev' },
        attributes: i % 6 === 0 ? { 'http.request.method': i % 12 === 0 ? 'GET' : 'POST' } : {},
        traceId: i % 50 === 0 ? trace : '',
      });
    }
    await store.insert([{ kind: 'logs', tenant: 't', source: 'test', records }]);
    const reader = store.reader({ tenant: 't', auditTrail: false });

    const queries = [
      'count_over_time({k8s_namespace_name=~".+"}[1m])',
      'rate({service_name="api"} |= "ERROR" [2m])',
      'sum(bytes_over_time({k8s_namespace_name="dev"}[90s]))',
      'sum by (service_name) (bytes_rate({k8s_namespace_name=~".+"} != "INFO" [1m]))',
      'sum by (http_request_method, k8s_namespace_name) (count_over_time({service_name=~"api|web"}[1m]))',
      'sum without (k8s_namespace_name) (count_over_time({service_name=~".+"} |~ "took [0-9]ms" [45s]))',
      `sum by (service_name) (count_over_time({service_name=~".+"} | trace_id="${trace}" [5m]))`,
      'sum(count_over_time({service_name="db"}[1m] offset 30s))',
    ];
    const windows = [
      { startNs: t0, endNs: t0 + 600n * S, stepNs: 60n * S },
      { startNs: t0 + 7n * S + 123n, endNs: t0 + 580n * S, stepNs: 17n * S },
      { startNs: t0 + 30n * S, endNs: t0 + 630n * S, stepNs: 30n * S },
    ];
    let compared = 0;
    for (const text of queries) {
      const expr = parse(text);
      const plan = planFastPath(expr);
      assert.ok(plan, `${text} takes the fast path`);
      for (const w of windows) {
        for (const instant of [false, true]) {
          const fast = await runFastPath(reader, plan, { ...w, instant }, 500);
          assert.ok(fast, text);
          const slow = await evaluate(
            expr,
            { startNs: w.startNs, endNs: w.endNs, stepMs: Number(w.stepNs) / 1e6, limit: 100, direction: 'forward', ...(instant ? { instant: true } : {}) },
            new ReaderEntrySource(reader, { traceIds: traceIdsOf(expr), pageSize: 97 }),
          );
          assert.equal(fast.resultType, slow.resultType, text);
          const where = `${text} ${instant ? 'instant' : 'range'} ${JSON.stringify({ ...w, startNs: String(w.startNs), endNs: String(w.endNs), stepNs: String(w.stepNs) })}`;
          // Same series, same points, the very same numbers: both divide a sum of counts by the range.
          assert.deepEqual(shape(fast.result), shape(slow.result), where);
          assert.deepEqual(values(fast.result), values(slow.result), where);
          compared++;
        }
      }
    }
    assert.equal(compared, queries.length * windows.length * 2);
  } finally {
    await store.close();
  }
});
