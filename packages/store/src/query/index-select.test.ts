import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLogRecord, type LogRecord } from '@meshlog/core';
import { ChdbBackend } from '../embedded/chdb-backend.js';
import { LogStore } from '../log-store.js';
import { metadataOf } from './index-select.js';

const SEC = 1_000_000_000n;

test('series, labels, stats, volume and metric buckets on the real store, tenant-bound', async () => {
  const store = await LogStore.open(new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'index-select-')) }));
  try {
    const t0 = 1_700_000_000n * SEC;
    const rec = (svc: string, ns: string, at: bigint, body: string, extra: Partial<LogRecord> = {}): LogRecord => ({
      ...emptyLogRecord(),
      timeUnixNano: at,
      observedTimeUnixNano: at,
      body,
      resource: { 'service.name': svc, 'k8s.namespace.name': ns },
      ...extra,
    });
    await store.insert([
      {
        kind: 'logs',
        tenant: 't1',
        source: 'test',
        records: [
          rec('api', 'prod', t0 + 1n * SEC, 'GET /a 200'),
          rec('api', 'prod', t0 + 10n * SEC, 'GET /b 500', { traceId: 'ab'.repeat(16), attributes: { 'http.request.method': 'GET' } }),
          rec('api', 'dev', t0 + 60n * SEC, 'GET /c 200'),
          rec('db', 'prod', t0 + 61n * SEC, 'slow query'),
        ],
      },
      { kind: 'logs', tenant: 't2', source: 'test', records: [rec('other', 'prod', t0 + 1n * SEC, 'secret')] },
    ]);
    const range = { startNs: t0, endNs: t0 + 3600n * SEC };
    const api = [{ name: 'service_name', op: '=' as const, value: 'api' }];

    const series = await store.series({ tenant: 't1', matchers: api, ...range, limit: 100 });
    assert.deepEqual(series.rows.map((r) => r.stream_values.join(',')).sort(), ['dev,api', 'prod,api']);

    assert.deepEqual(await store.labelNames({ tenant: 't1', matchers: [], ...range }), ['k8s_namespace_name', 'service_name']);
    assert.deepEqual(await store.labelValues({ tenant: 't1', matchers: [{ name: 'k8s_namespace_name', op: '=', value: 'dev' }], ...range, name: 'service_name' }), ['api']);
    assert.deepEqual(await store.labelValues({ tenant: 't2', matchers: [], ...range, name: 'service_name' }), ['other'], 'other tenants invisible');

    const stats = (await store.indexStats({ tenant: 't1', matchers: api, ...range })).rows[0]!;
    assert.deepEqual([Number(stats.streams), Number(stats.chunks), Number(stats.entries), Number(stats.bytes)], [2, 2, 3, 30]);

    const byNs = await store.volume({ tenant: 't1', matchers: [], ...range, grouping: { kind: 'series', labels: ['k8s_namespace_name'] }, limit: 100 });
    assert.deepEqual(Object.fromEntries(byNs.rows.map((r) => [(r.k as string[]).join(), Number(r.bytes)])), { prod: 30, dev: 10 });
    const perMinute = await store.volume({ tenant: 't1', matchers: [], ...range, grouping: { kind: 'label-names' }, buckets: { startNs: t0, stepNs: 60n * SEC }, limit: 100 });
    assert.deepEqual(perMinute.rows.map((r) => `${String(r.k)}@${r.b}=${r.bytes}`).sort(), ['k8s_namespace_name@0=20', 'k8s_namespace_name@1=20', 'service_name@0=20', 'service_name@1=20']);

    // Buckets of 30 s right-closed from t0: (t0, t0+30] is bucket 1, (t0+30, t0+60] bucket 2, (t0+60, t0+90] bucket 3.
    const buckets = await store.metricBuckets({ tenant: 't1', matchers: [], ...range, baseNs: t0, bucketNs: 30n * SEC, grouping: { kind: 'labels', labels: ['service_name', 'http_request_method'] }, limit: 100 });
    assert.deepEqual(buckets.rows.map((r) => `${r.k!.join('/')}@${r.b}=${r.c}`).sort(), ['api/@1=1', 'api/@2=1', 'api/GET@1=1', 'db/@3=1']);
    const bySeries = await store.metricBuckets({ tenant: 't1', matchers: api, traceId: 'ab'.repeat(16), ...range, baseNs: t0, bucketNs: 30n * SEC, grouping: { kind: 'series' }, limit: 100 });
    assert.equal(bySeries.rows.length, 1);
    assert.deepEqual(metadataOf({ attr_keys: bySeries.rows[0]!.attr_keys!, attr_values: bySeries.rows[0]!.attr_values!, trace_id: bySeries.rows[0]!.trace_id!, span_id: bySeries.rows[0]!.span_id! }), {
      http_request_method: 'GET',
      trace_id: 'ab'.repeat(16),
    });
  } finally {
    await store.close();
  }
});

test('an aborted chDB query is stopped in the engine, not only abandoned', async () => {
  const backend = new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'chdb-kill-')) });
  try {
    const abort = new AbortController();
    const started = Date.now();
    const running = backend.query('SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = 3 SETTINGS max_execution_time = 60', { signal: abort.signal });
    setTimeout(() => abort.abort(), 300);
    await assert.rejects(running, (err: Error & { code?: string }) => err.code === 'cancelled');
    // The engine's process list empties soon after: the KILL reached it.
    let left = 1;
    for (let i = 0; i < 50 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await backend.query<{ n: string }>("SELECT count() AS n FROM system.processes WHERE query LIKE '%numbers(100000000000)%' AND query NOT LIKE '%system.processes%'");
      left = Number(r.rows[0]!.n);
    }
    assert.equal(left, 0, 'the aborted query still runs in the engine');
    assert.ok(Date.now() - started < 20_000);
  } finally {
    await backend.close();
  }
});
