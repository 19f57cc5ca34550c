/**
 * The store reads behind the LogQL evaluator, against the real embedded
 * store: time-windowed keyset paging hands out every entry exactly once in
 * order (ties at one nanosecond included, in both directions), and the
 * `| json | name op number` prefilter changes no result, only how many rows
 * the evaluator gets, over lines built to fool it (nested keys that flatten
 * to the name, keys that sanitise to it, strings, escapes, broken JSON,
 * stream labels and attributes of the same name).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLogRecord, type LogRecord } from '@meshlog/core';
import { evaluate, parse, type EntryRequest, type LogQuery } from '@meshlog/logql';
import { ChdbBackend, LogStore } from '@meshlog/store';
import { jsonNumberPrefilter, ReaderEntrySource } from './entry-source.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

async function withStore(fn: (store: LogStore) => Promise<void>): Promise<void> {
  const store = await LogStore.open(new ChdbBackend({ dataDir: mkdtempSync(join(tmpdir(), 'entry-source-')) }));
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

const record = (at: bigint, body: string, resource: Record<string, string>, attributes: Record<string, string> = {}): LogRecord => ({
  ...emptyLogRecord(),
  timeUnixNano: at,
  observedTimeUnixNano: at,
  body,
  resource,
  attributes,
});

test('windowed paging hands out every entry once, in order, both ways', async () => {
  await withStore(async (store) => {
    const records: LogRecord[] = [];
    // Dense and sparse stretches, and runs of rows at one nanosecond longer than a page.
    for (let i = 0; i < 1500; i++) {
      const at = i < 600 ? T0 + BigInt(i) * 1_000_000n : i < 700 ? T0 + 3600n * S : T0 + 3600n * S + BigInt(i * i) * 10_000_000n;
      records.push(record(at, `line ${i}`, { 'service.name': `svc-${i % 3}` }));
    }
    await store.insert([{ kind: 'logs', tenant: 't', source: 'test', records }]);
    const reader = store.reader({ tenant: 't', auditTrail: false });
    const selector = (parse('{service_name=~".+"}') as LogQuery).selector;
    for (const direction of ['forward', 'backward'] as const) {
      const source = new ReaderEntrySource(reader, { bulkPageSize: 37, maxTies: 1000 });
      const req: EntryRequest = { selector, lineFilters: [], startNs: T0, endNs: T0 + 100_000n * S, direction };
      const lines: string[] = [];
      const stamps: bigint[] = [];
      for await (const batch of source.entries(req)) {
        for (const e of batch) {
          lines.push(e.line);
          stamps.push(e.ts);
        }
      }
      assert.equal(lines.length, 1500, direction);
      assert.equal(new Set(lines).size, 1500, `${direction}: no entry twice`);
      for (let i = 1; i < stamps.length; i++) assert.ok(direction === 'forward' ? stamps[i]! >= stamps[i - 1]! : stamps[i]! <= stamps[i - 1]!, `${direction}: in order at ${i}`);
    }
  });
});

test('the json prefilter takes only `| json | name op number` on a plain name', () => {
  const stages = (q: string) => (parse(q) as LogQuery).pipeline;
  assert.deepEqual(jsonNumberPrefilter(stages('{a="b"} | json | status >= 500')), { name: 'status', op: '>=', value: 500 });
  assert.equal(jsonNumberPrefilter(stages('{a="b"} | json s="status" | s >= 500')), undefined, 'paths: not taken');
  assert.equal(jsonNumberPrefilter(stages('{a="b"} | logfmt | status >= 500')), undefined);
  assert.equal(jsonNumberPrefilter(stages('{a="b"} | json | status >= 500 or status = 404')), undefined);
  assert.equal(jsonNumberPrefilter(stages('{a="b"} | json | took > 1s')), undefined, 'durations: not taken');
});

test('the json prefilter changes no result on lines built to fool it', async () => {
  await withStore(async (store) => {
    const bodies = [
      '{"status":200,"path":"/a"}',
      '{"status":503,"path":"/b"}',
      '{"status":"503"}',
      '{"status":5e2}',
      '{"status":499.999}',
      '{"status":-1}',
      ' {"status":200}',
      '{"status":200,"status":503}',
      '{"stat":{"us":1},"status":200}',
      '{"status-code":503,"status":200}',
      '{"path":"a\\"b","status":200}',
      '{"status":200',
      'status=503 not json',
      '{"status":{"code":503}}',
      '{"status":200,"nested":{"status":503}}',
      '{"status":true}',
      '{"status":null}',
      '{"Status":503,"status":100}',
      '{"status":1e400}',
      '{"status":200}',
      '{"status":200}',
      '{"status":200}',
    ];
    const records: LogRecord[] = [];
    bodies.forEach((body, i) => {
      records.push(record(T0 + BigInt(i) * S, body, { 'service.name': 'api' }));
      // The same lines where a stream label or an attribute is also called status.
      records.push(record(T0 + BigInt(i) * S + 1n, body, { 'service.name': 'api', status: '999' }));
      records.push(record(T0 + BigInt(i) * S + 2n, body, { 'service.name': 'web' }, { 'http.status': '1' }));
    });
    await store.insert([{ kind: 'logs', tenant: 't', source: 'test', records }]);
    const reader = store.reader({ tenant: 't', auditTrail: false });
    const params = { startNs: T0, endNs: T0 + 60n * S, limit: 1000, direction: 'forward' as const };
    const queries = [
      '{service_name=~".+"} | json | status >= 500',
      '{service_name=~".+"} | json | status < 300',
      '{service_name=~".+"} | json | status == 200',
      '{service_name=~".+"} | json | status != 200',
      '{service_name=~".+"} |= "status" | json | status > 499.999',
      'sum by (service_name) (count_over_time({service_name=~".+"} | json | status >= 500 | __error__="" [1m]))',
      'count_over_time({service_name=~".+"} | json | status >= 500 [1m])',
    ];
    let dropped = 0;
    for (const q of queries) {
      const expr = parse(q);
      const fast = new ReaderEntrySource(reader);
      const reference = new ReaderEntrySource(reader, { prefilter: false });
      const run = (source: ReaderEntrySource) =>
        evaluate(expr, { ...params, ...(q.startsWith('{') ? {} : { endNs: T0 + 30n * S, stepMs: 10_000 }) }, source).then(
          (r) => r,
          (err: unknown) => ({ error: String(err) }),
        );
      const got = await run(fast);
      assert.deepEqual(got, await run(reference), q);
      assert.ok(!('error' in got) ? got.result.length > 0 : /error/i.test(got.error), `${q}: an answer worth comparing`);
      dropped += reference.stats.entries - fast.stats.entries;
    }
    assert.ok(dropped > 0, 'the prefilter left rows out');
  });
});
