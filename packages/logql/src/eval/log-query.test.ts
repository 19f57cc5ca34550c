// Log queries end to end: streams grouped by the labels after the pipeline,
// Loki's ordering, limit, direction and interval, pushdown of head line
// filters, and the host contract checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../parser.js';
import type { LineFilter } from '../ast.js';
import { EvaluationError } from './errors.js';
import { evaluate } from './evaluate.js';
import { MemorySource } from './testing/memory-source.js';
import { SECOND, entry } from './testing/helpers.js';
import type { EntrySource, EvaluateParams, LogEntry, StreamsResult } from './types.js';

const params = (over: Partial<EvaluateParams> = {}): EvaluateParams => ({ startNs: 0n, endNs: 100n * SECOND, limit: 100, direction: 'backward', ...over });
const ns = (s: number) => String(BigInt(s) * SECOND);

const data: LogEntry[] = [
  entry(1, 'level=info msg=a', { app: 'web', env: 'prod' }),
  entry(2, 'level=error msg=b', { app: 'web', env: 'prod' }),
  entry(3, 'level=info msg=c', { app: 'api', env: 'prod' }),
  entry(4, 'level=error msg=d', { app: 'api', env: 'prod' }),
  entry(5, 'level=info msg=e', { app: 'web', env: 'dev' }),
];

async function streams(q: string, p: EvaluateParams = params(), source: EntrySource = new MemorySource(data, { batchSize: 2 })): Promise<StreamsResult['result']> {
  const r = await evaluate(parse(q), p, source);
  assert.equal(r.resultType, 'streams');
  return (r as StreamsResult).result;
}

describe('log queries', () => {
  it('groups lines into streams by labels, sorted by label text, values newest first by default', async () => {
    assert.deepEqual(await streams('{env="prod"}'), [
      { stream: { app: 'api', env: 'prod' }, values: [[ns(4), 'level=error msg=d'], [ns(3), 'level=info msg=c']] },
      { stream: { app: 'web', env: 'prod' }, values: [[ns(2), 'level=error msg=b'], [ns(1), 'level=info msg=a']] },
    ]);
  });
  it('groups by the labels after the pipeline (doc example)', async () => {
    assert.deepEqual(await streams('{env="prod"} |= "error" | logfmt | line_format "{{.msg}}"', params({ direction: 'forward' })), [
      { stream: { app: 'api', env: 'prod', level: 'error', msg: 'd' }, values: [[ns(4), 'd']] },
      { stream: { app: 'web', env: 'prod', level: 'error', msg: 'b' }, values: [[ns(2), 'b']] },
    ]);
  });
  it('takes the first `limit` lines in the requested direction across streams', async () => {
    assert.deepEqual(await streams('{app=~".+"}', params({ limit: 2 })), [
      { stream: { app: 'api', env: 'prod' }, values: [[ns(4), 'level=error msg=d']] },
      { stream: { app: 'web', env: 'dev' }, values: [[ns(5), 'level=info msg=e']] },
    ]);
    assert.deepEqual(await streams('{app=~".+"}', params({ limit: 2, direction: 'forward' })), [{ stream: { app: 'web', env: 'prod' }, values: [[ns(1), 'level=info msg=a'], [ns(2), 'level=error msg=b']] }]);
  });
  it('stops reading from the host once the limit is reached', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => entry(i / 100, `line ${i}`, { app: 'x' }));
    const src = new MemorySource(many, { batchSize: 10 });
    const r = await streams('{app="x"} | line_format "{{__line__}}!"', params({ limit: 25, direction: 'forward' }), src);
    assert.equal(r[0]?.values.length, 25);
    assert.equal(src.batchesRead, 3);
    // The host only gets the limit when nothing after it can drop lines.
    assert.equal(src.requests[0]?.limit, undefined);
    const plain = new MemorySource(many, { batchSize: 10 });
    await streams('{app="x"}', params({ limit: 25 }), plain);
    assert.equal(plain.requests[0]?.limit, 25);
  });
  it('keeps lines at least `interval` apart', async () => {
    const ticks = Array.from({ length: 10 }, (_, i) => entry(i, `t${i}`, { app: 'x' }));
    const values = async (direction: 'forward' | 'backward') => (await streams('{app="x"}', params({ intervalMs: 3000, direction }), new MemorySource(ticks)))[0]?.values.map((v) => v[1]);
    assert.deepEqual(await values('forward'), ['t0', 't3', 't6', 't9']);
    assert.deepEqual(await values('backward'), ['t9', 't6', 't3', 't0']);
  });
  it('pushes head line filters to a host that applies them, and does not apply them again', async () => {
    const pushed: LineFilter[] = [];
    // This host claims to apply |= filters but ignores them, which makes a second application visible.
    const liar = new MemorySource(data, { appliesLineFilter: (f) => f.op === '|=' && !f.ip, ignorePushedFilters: true });
    const r = await streams('{env="prod"} |= "error" != "msg=d" | logfmt |= "msg"', params(), liar);
    pushed.push(...(liar.requests[0]?.lineFilters ?? []));
    assert.deepEqual(pushed.map((f) => [f.op, f.value]), [['|=', 'error']]);
    // Each line is its own stream after logfmt; the info lines prove |= "error" ran nowhere.
    assert.deepEqual(r.map((s) => s.values.map((v) => v[1])), [['level=info msg=c'], ['level=error msg=b'], ['level=info msg=a']]);
    const honest2 = new MemorySource(data, { appliesLineFilter: (f) => f.op === '|=' });
    assert.deepEqual((await streams('{env="prod"} |= "error" != "msg=d" | logfmt |= "msg"', params(), honest2)).map((s) => s.values.map((v) => v[1])), [['level=error msg=b']]);
    // A host that applies nothing gets no filters, and the evaluator applies them all.
    const honest = new MemorySource(data);
    assert.deepEqual((await streams('{env="prod"} |= "error"', params(), honest)).length, 2);
    assert.deepEqual(honest.requests[0]?.lineFilters, []);
  });
  it('reports structured metadata as labels and filters on it', async () => {
    const meta = [entry(1, 'a', { app: 'x' }, { trace_id: 't1' }), entry(2, 'b', { app: 'x' }, { trace_id: 't2' })];
    assert.deepEqual(await streams('{app="x"} | trace_id="t2"', params(), new MemorySource(meta)), [{ stream: { app: 'x', trace_id: 't2' }, values: [[ns(2), 'b']] }]);
  });
  it('refuses limits above maxEntries, naming both', async () => {
    await assert.rejects(evaluate(parse('{app="x"}'), params({ limit: 6000 }), new MemorySource([])), (e: unknown) => {
      assert.ok(e instanceof EvaluationError);
      assert.equal(e.code, 'entries-limit');
      assert.match(e.message, /max entries limit per query exceeded, limit > max_entries_limit \(6000 > 5000\)/);
      return true;
    });
    await evaluate(parse('{app="x"}'), params({ limit: 6000 }), new MemorySource([]), { maxEntries: 10_000 });
  });
  it('checks the host contract: range and order', async () => {
    const outside: EntrySource = {
      async *entries() {
        await Promise.resolve();
        yield [entry(500, 'late', { app: 'x' })];
      },
    };
    await assert.rejects(streams('{app="x"}', params(), outside), { code: 'source-contract' });
    const unordered: EntrySource = {
      async *entries() {
        await Promise.resolve();
        yield [entry(1, 'a', { app: 'x' }), entry(2, 'b', { app: 'x' })];
      },
    };
    await assert.rejects(streams('{app="x"}', params(), unordered), (e: unknown) => e instanceof EvaluationError && e.code === 'source-contract' && /backward order/.test(e.message));
  });
  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const src: EntrySource = {
      async *entries(req) {
        assert.equal(req.signal, controller.signal);
        yield [entry(3, 'a', { app: 'x' })];
        controller.abort();
        yield [entry(2, 'b', { app: 'x' })];
      },
    };
    await assert.rejects(evaluate(parse('{app="x"}'), params(), src, { signal: controller.signal }), (e: unknown) => e instanceof EvaluationError && e.code === 'aborted' && e.status === 499);
  });
  it('answers limit 0 with nothing, without reading', async () => {
    const src = new MemorySource(data);
    assert.deepEqual(await streams('{app="web"}', params({ limit: 0 }), src), []);
    assert.equal(src.requests.length, 0);
  });
});
