// Metric queries end to end over an in-memory source: range aggregations with
// Loki's window semantics, unwrap, vector aggregations, binary operators and
// label_replace. Expected values are computed by hand from the documented
// definitions (docs/sources/query/metric_queries.md, query_reference.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../parser.js';
import { EvaluationError } from './errors.js';
import { evaluate } from './evaluate.js';
import { MemorySource } from './testing/memory-source.js';
import { SECOND, entry } from './testing/helpers.js';
import type { EvaluateParams, LogEntry, MatrixResult, QueryResult, VectorResult } from './types.js';

const range = (startS: number, endS: number, stepS: number): EvaluateParams => ({
  startNs: BigInt(startS) * SECOND,
  endNs: BigInt(endS) * SECOND,
  stepMs: stepS * 1000,
  limit: 100,
  direction: 'backward',
});
const instant = (atS: number): EvaluateParams => ({ startNs: BigInt(atS) * SECOND, endNs: BigInt(atS) * SECOND, limit: 100, direction: 'backward', instant: true });

async function run(q: string, entries: LogEntry[], params: EvaluateParams, batchSize = 2): Promise<QueryResult> {
  return evaluate(parse(q), params, new MemorySource(entries, { batchSize }));
}
async function matrix(q: string, entries: LogEntry[], params: EvaluateParams): Promise<MatrixResult['result']> {
  const r = await run(q, entries, params);
  assert.equal(r.resultType, 'matrix');
  return (r as MatrixResult).result;
}
async function vector(q: string, entries: LogEntry[], atS: number): Promise<VectorResult['result']> {
  const r = await run(q, entries, instant(atS));
  assert.equal(r.resultType, 'vector');
  return (r as VectorResult).result;
}
async function rejects(q: string, entries: LogEntry[], params: EvaluateParams, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(run(q, entries, params), (e: unknown) => {
    assert.ok(e instanceof EvaluationError, String(e));
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const A = { app: 'a' };
// Lines at 0s, 30s, 60s (twice) and 90s.
const basic = [entry(0, 'x', A), entry(30, 'x', A), entry(60, 'x', A), entry(60, 'yy', A), entry(90, 'é', A)];

describe('range aggregations: windows and steps', () => {
  it('count_over_time covers (t - range, t] at each step', async () => {
    assert.deepEqual(await matrix('count_over_time({app="a"}[1m])', basic, range(60, 120, 30)), [{ metric: A, values: [[60, '3'], [90, '3'], [120, '1']] }]);
  });
  it('rate is the count per second of the range', async () => {
    assert.deepEqual(await matrix('rate({app="a"}[1m])', basic, range(60, 120, 30)), [{ metric: A, values: [[60, '0.05'], [90, '0.05'], [120, '0.016666666666666666']] }]);
  });
  it('offset shifts the window back, the result keeps the step time (doc example)', async () => {
    assert.deepEqual(await matrix('count_over_time({app="a"}[1m] offset 30s)', basic, range(60, 120, 30)), [{ metric: A, values: [[60, '2'], [90, '3'], [120, '3']] }]);
  });
  it('asks the host for exactly the windows it needs', async () => {
    const src = new MemorySource(basic);
    await evaluate(parse('count_over_time({app="a"} |= "x" [1m] offset 30s)'), range(60, 120, 30), src);
    const [req] = src.requests;
    assert.ok(req);
    assert.equal(req.startNs, -30n * SECOND + 1n);
    assert.equal(req.endNs, 90n * SECOND + 1n);
    assert.equal(req.direction, 'forward');
    assert.deepEqual(req.lineFilters, []);
  });
  it('skips samples between windows when the step is longer than the range', async () => {
    assert.deepEqual(await matrix('count_over_time({app="a"}[10s])', basic, range(0, 90, 45)), [{ metric: A, values: [[0, '1'], [90, '1']] }]);
  });
  it('an instant query evaluates one window ending at the time', async () => {
    assert.deepEqual(await vector('count_over_time({app="a"}[1m])', basic, 90), [{ metric: A, value: [90, '3'] }]);
  });
  it('bytes_over_time and bytes_rate count UTF-8 bytes of the final line', async () => {
    assert.deepEqual(await vector('bytes_over_time({app="a"}[1m])', basic, 90), [{ metric: A, value: [90, '5'] }]);
    assert.deepEqual(await vector('bytes_rate({app="a"}[1m])', basic, 90), [{ metric: A, value: [90, '0.08333333333333333'] }]);
    assert.deepEqual(await vector('bytes_over_time({app="a"} | line_format "1234" [1m])', basic, 90), [{ metric: A, value: [90, '12'] }]);
  });
  it('absent_over_time reports the equality matchers when nothing matched (doc)', async () => {
    assert.deepEqual(await matrix('absent_over_time({app="a", env=~"x.*", app!="z"}[1m])', [], range(0, 60, 60)), [{ metric: {}, values: [[0, '1'], [60, '1']] }]);
    assert.deepEqual(await matrix('absent_over_time({app="nope", env="x"}[1m])', basic, range(0, 60, 60)), [{ metric: { app: 'nope', env: 'x' }, values: [[0, '1'], [60, '1']] }]);
    assert.deepEqual(await matrix('absent_over_time({app="a"}[30s])', basic, range(0, 150, 30)), [{ metric: A, values: [[120, '1'], [150, '1']] }]);
  });
  it('splits series by labels after the pipeline, structured metadata included', async () => {
    const entries = [entry(1, 'level=info', A, { trace: '1' }), entry(2, 'level=warn', A), entry(3, 'level=info', A)];
    assert.deepEqual(await vector('count_over_time({app="a"} | logfmt [1m])', entries, 10), [
      { metric: { app: 'a', level: 'info' }, value: [10, '1'] },
      { metric: { app: 'a', level: 'info', trace: '1' }, value: [10, '1'] },
      { metric: { app: 'a', level: 'warn' }, value: [10, '1'] },
    ]);
  });
  it('filters and parsers in the log range apply before counting (doc example)', async () => {
    const entries = [
      entry(1, '{"duration":"11s","host":"h1"} error', { job: 'mysql' }),
      entry(2, '{"duration":"11s","host":"h1"}', { job: 'mysql' }),
      entry(3, '{"duration":"9s","host":"h2", "x": "error"}', { job: 'mysql' }),
      entry(4, '{"duration":"12s","host":"h2", "x": "error timeout"}', { job: 'mysql' }),
      entry(5, '{"duration":"30s","host":"h2", "x": "error"}', { job: 'mysql' }),
    ];
    // The first line is not JSON (trailing text) but jsonparser reads its object first.
    assert.deepEqual(await vector('sum by (host) (rate({job="mysql"} |= "error" != "timeout" | json | duration > 10s [1m]))', entries, 60), [
      { metric: { host: 'h1' }, value: [60, '0.016666666666666666'] },
      { metric: { host: 'h2' }, value: [60, '0.016666666666666666'] },
    ]);
  });
  it('fails with the pipeline error when a series keeps __error__', async () => {
    await rejects('count_over_time({app="a"} | json [1m])', basic, instant(90), 'pipeline-error', /^pipeline error: 'JSONParserErr' for series: '\{__error__="JSONParserErr", __error_details__=.*app="a"\}'.\nUse a label filter/);
    assert.deepEqual(await vector('count_over_time({app="a"} | json | __error__="" [1m])', basic, 90), []);
    assert.deepEqual(await vector('count_over_time({app="a"} | json | drop __error__, __error_details__ [1m])', basic, 90), [{ metric: A, value: [90, '3'] }]);
  });
  it('drops an unused line_format like Loki, so its template errors do not count', async () => {
    assert.deepEqual(await vector('count_over_time({app="a"} | line_format "{{ div 1 0 }}" [1m])', basic, 90), [{ metric: A, value: [90, '3'] }]);
    await rejects('count_over_time({app="a"} | line_format "{{ div 1 0 }}" | logfmt [1m])', basic, instant(90), 'pipeline-error', /TemplateFormatErr/);
  });
});

// Four samples 1, 2, 3, 4 (ms) at 15s, 30s, 45s, 60s for each of two hosts.
const latencies: LogEntry[] = [1, 2, 3, 4].flatMap((v, i) => [
  entry(15 * (i + 1), `latency=${v}ms size=${v}KB n=${v}`, { app: 'api', host: 'h1' }),
  entry(15 * (i + 1), `latency=${v * 10}ms size=${v}KB n=${v * 10}`, { app: 'api', host: 'h2' }),
]);

describe('unwrapped range aggregations', () => {
  const h1 = { app: 'api', host: 'h1' };
  const at60 = async (op: string) => (await vector(`${op}({app="api"} | logfmt | host="h1" | drop latency, size | unwrap n [1m])`, latencies, 60))[0]?.value[1];
  it('compute the documented functions over the window', async () => {
    assert.equal(await at60('sum_over_time'), '10');
    assert.equal(await at60('avg_over_time'), '2.5');
    assert.equal(await at60('max_over_time'), '4');
    assert.equal(await at60('min_over_time'), '1');
    assert.equal(await at60('first_over_time'), '1');
    assert.equal(await at60('last_over_time'), '4');
    assert.equal(await at60('stdvar_over_time'), '1.25');
    assert.equal(await at60('stddev_over_time'), String(Math.sqrt(1.25)));
    assert.equal(await at60('rate'), String(10 / 60));
    assert.equal((await vector('quantile_over_time(0.5, {app="api"} | logfmt | host="h1" | unwrap n [1m]) by (host)', latencies, 60))[0]?.value[1], '2.5');
    assert.equal((await vector('quantile_over_time(0.25, {app="api"} | logfmt | host="h1" | unwrap n [1m]) by (host)', latencies, 60))[0]?.value[1], '1.75');
  });
  it('drop the unwrapped label from the series, keep the others', async () => {
    assert.deepEqual((await vector('sum_over_time({app="api"} | logfmt | unwrap n [1m])', latencies, 60)).map((s) => s.metric), [
      { ...h1, latency: '1ms', size: '1KB' },
      { ...h1, latency: '2ms', size: '2KB' },
      { ...h1, latency: '3ms', size: '3KB' },
      { ...h1, latency: '4ms', size: '4KB' },
      { app: 'api', host: 'h2', latency: '10ms', size: '1KB' },
      { app: 'api', host: 'h2', latency: '20ms', size: '2KB' },
      { app: 'api', host: 'h2', latency: '30ms', size: '3KB' },
      { app: 'api', host: 'h2', latency: '40ms', size: '4KB' },
    ]);
  });
  it('convert with duration() and bytes(), grouped with by and without', async () => {
    assert.deepEqual(await vector('max_over_time({app="api"} | logfmt | unwrap duration(latency) [1m]) by (host)', latencies, 60), [
      { metric: { host: 'h1' }, value: [60, '0.004'] },
      { metric: { host: 'h2' }, value: [60, '0.04'] },
    ]);
    assert.deepEqual(await vector('sum_over_time({app="api"} | logfmt | drop latency, n | unwrap bytes(size) [1m])', latencies, 60), [
      { metric: { app: 'api', host: 'h1' }, value: [60, '10000'] },
      { metric: { app: 'api', host: 'h2' }, value: [60, '10000'] },
    ]);
    assert.deepEqual(await vector('min_over_time({app="api"} | logfmt | unwrap duration_seconds(latency) [1m]) without (app, size, n)', latencies, 60), [
      { metric: { host: 'h1' }, value: [60, '0.001'] },
      { metric: { host: 'h2' }, value: [60, '0.01'] },
    ]);
    assert.deepEqual(await vector('avg_over_time({app="api"} | logfmt | unwrap n [1m]) by ()', latencies, 60), [{ metric: {}, value: [60, '13.75'] }]);
  });
  it('rate_counter extrapolates like Prometheus rate() on a counter', async () => {
    const counter = (values: number[]) => values.map((v, i) => entry(20 * (i + 1), `c=${v}`, A));
    assert.deepEqual(await vector('rate_counter({app="a"} | logfmt | unwrap c [1m])', counter([2, 4, 6]), 60), [{ metric: A, value: [60, '0.1'] }]);
    // A reset (5 -> 1) adds the value before it.
    assert.deepEqual(await vector('rate_counter({app="a"} | logfmt | unwrap c [1m])', counter([5, 1, 3]), 60), [{ metric: A, value: [60, '0.075'] }]);
    assert.deepEqual(await vector('rate_counter({app="a"} | logfmt | unwrap c [1m])', counter([5]), 60), [{ metric: A, value: [60, '0'] }]);
  });
  it('skip lines without the label, and fail on values that do not convert unless filtered after unwrap (doc)', async () => {
    const entries = [entry(1, 'v=1', A), entry(2, 'other=1', A), entry(3, 'v=', A), entry(4, 'v=abc', A)];
    await rejects('sum_over_time({app="a"} | logfmt --keep-empty | unwrap v [1m])', entries, instant(60), 'pipeline-error', /SampleExtractionErr/);
    assert.deepEqual(await vector('sum_over_time({app="a"} | logfmt | unwrap v | __error__="" [1m])', entries, 60), [{ metric: A, value: [60, '1'] }]);
  });
});

// Instant counts per series: x1=1, x2=2, x3=3, x4=4 (hosts in two apps).
const counts: LogEntry[] = [1, 2, 3, 4].flatMap((n) =>
  Array.from({ length: n }, (_, i) => entry(i + 1, 'l', { app: n % 2 === 0 ? 'even' : 'odd', host: `x${n}` })),
);
const byHost = (n: number) => ({ app: n % 2 === 0 ? 'even' : 'odd', host: `x${n}` });

describe('vector aggregations', () => {
  const inner = 'count_over_time({host=~"x.+"}[1m])';
  const one = async (q: string) => (await vector(q, counts, 60)).map((s) => [s.metric, s.value[1]]);
  it('sum, avg, min, max, count, stddev, stdvar (doc list)', async () => {
    assert.deepEqual(await one(`sum(${inner})`), [[{}, '10']]);
    assert.deepEqual(await one(`avg(${inner})`), [[{}, '2.5']]);
    assert.deepEqual(await one(`min(${inner})`), [[{}, '1']]);
    assert.deepEqual(await one(`max(${inner})`), [[{}, '4']]);
    assert.deepEqual(await one(`count(${inner})`), [[{}, '4']]);
    assert.deepEqual(await one(`stdvar(${inner})`), [[{}, '1.25']]);
    assert.deepEqual(await one(`stddev(${inner})`), [[{}, String(Math.sqrt(1.25))]]);
  });
  it('group with by and without', async () => {
    assert.deepEqual(await one(`sum by (app) (${inner})`), [[{ app: 'even' }, '6'], [{ app: 'odd' }, '4']]);
    assert.deepEqual(await one(`sum without (host) (${inner})`), [[{ app: 'even' }, '6'], [{ app: 'odd' }, '4']]);
    assert.deepEqual(await one(`max without (app) (${inner})`), [[{ host: 'x1' }, '1'], [{ host: 'x2' }, '2'], [{ host: 'x3' }, '3'], [{ host: 'x4' }, '4']]);
  });
  it('topk and bottomk keep the original series (doc)', async () => {
    // Not sorted by value: only sort and sort_desc order an instant vector.
    assert.deepEqual(await one(`topk(2, ${inner})`), [[byHost(4), '4'], [byHost(3), '3']]);
    assert.deepEqual(await one(`bottomk(1, ${inner})`), [[byHost(1), '1']]);
    assert.deepEqual(await one(`topk by (app) (1, ${inner})`), [[byHost(4), '4'], [byHost(3), '3']]);
  });
  it('sort and sort_desc order an instant result by value (doc)', async () => {
    assert.deepEqual(await one(`sort_desc(${inner})`), [[byHost(4), '4'], [byHost(3), '3'], [byHost(2), '2'], [byHost(1), '1']]);
    assert.deepEqual(await one(`sort(${inner} * -1)`), [[byHost(4), '-4'], [byHost(3), '-3'], [byHost(2), '-2'], [byHost(1), '-1']]);
  });
});

describe('binary operators', () => {
  const foo = [entry(1, 'l', { app: 'foo', machine: 'm1' }), entry(2, 'l', { app: 'foo', machine: 'm1' }), entry(3, 'l', { app: 'foo', machine: 'm2' })];
  const bar = [entry(1, 'l', { app: 'bar', machine: 'm1' }), entry(2, 'l', { app: 'bar', machine: 'm2' }), entry(3, 'l', { app: 'bar', machine: 'm2' }), entry(4, 'l', { app: 'bar', machine: 'm2' })];
  const both = [...foo, ...bar];
  const one = async (q: string) => (await vector(q, both, 60)).map((s) => [s.metric, s.value[1]]);
  it('between literals: 1 + 1 and 1 >= 1 are scalars (doc)', async () => {
    assert.deepEqual(await run('1 + 1', [], instant(60)), { resultType: 'scalar', result: [60, '2'] });
    assert.deepEqual(await run('1 >= 1', [], instant(60)), { resultType: 'scalar', result: [60, '1'] });
    assert.deepEqual(await run('2 ^ 3 ^ 2 / 0', [], instant(60)), { resultType: 'scalar', result: [60, 'NaN'] });
    assert.deepEqual(await run('-1 * (2 - 3) % 0', [], instant(60)), { resultType: 'scalar', result: [60, 'NaN'] });
  });
  it('vector and literal: arithmetic on every sample, comparisons filter unless bool (doc)', async () => {
    assert.deepEqual(await one('sum(count_over_time({app="foo"}[1m])) * 2'), [[{}, '6']]);
    assert.deepEqual(await one('count_over_time({app=~"foo|bar"}[1m]) > 2'), [[{ app: 'bar', machine: 'm2' }, '3']]);
    assert.deepEqual(await one('2 < count_over_time({app=~"foo|bar"}[1m])'), [[{ app: 'bar', machine: 'm2' }, '3']]);
    assert.deepEqual(await one('count_over_time({app="foo"}[1m]) > bool 1'), [[{ app: 'foo', machine: 'm1' }, '1'], [{ app: 'foo', machine: 'm2' }, '0']]);
    assert.deepEqual(await one('count_over_time({app="foo"}[1m]) / 0'), [[{ app: 'foo', machine: 'm1' }, 'NaN'], [{ app: 'foo', machine: 'm2' }, 'NaN']]);
    assert.deepEqual(await one('count_over_time({app="foo", machine="m1"}[1m]) - 2 ^ 2'), [[{ app: 'foo', machine: 'm1' }, '-2']]);
  });
  it('vector and vector: one-to-one on equal label sets, comparisons filter on the left value (doc)', async () => {
    assert.deepEqual(await one('sum without(app) (count_over_time({app="foo"}[1m])) > sum without(app) (count_over_time({app="bar"}[1m]))'), [[{ machine: 'm1' }, '2']]);
    assert.deepEqual(await one('sum without(app) (count_over_time({app="foo"}[1m])) > bool sum without(app) (count_over_time({app="bar"}[1m]))'), [[{ machine: 'm1' }, '1'], [{ machine: 'm2' }, '0']]);
    assert.deepEqual(await one('sum by (machine) (count_over_time({app="foo"}[1m])) + on (machine) sum by (machine, app) (count_over_time({app="bar"}[1m]))'), [[{ machine: 'm1' }, '3'], [{ machine: 'm2' }, '4']]);
    assert.deepEqual(await one('count_over_time({app="foo"}[1m]) * ignoring (app) count_over_time({app="bar"}[1m])'), [[{ machine: 'm1' }, '2'], [{ machine: 'm2' }, '3']]);
  });
  it('and, or, unless (doc)', async () => {
    assert.deepEqual(await one('rate({app=~"foo|bar"}[1m]) and rate({app="bar"}[1m])'), [[{ app: 'bar', machine: 'm1' }, String(1 / 60)], [{ app: 'bar', machine: 'm2' }, String(3 / 60)]]);
    assert.deepEqual(await one('count_over_time({app="foo"}[1m]) unless on (machine) count_over_time({app="bar", machine="m2"}[1m])'), [[{ app: 'foo', machine: 'm1' }, '2']]);
    assert.deepEqual(await one('count_over_time({app="foo", machine="m1"}[1m]) or count_over_time({machine="m1"}[1m])'), [[{ app: 'bar', machine: 'm1' }, '1'], [{ app: 'foo', machine: 'm1' }, '2']]);
    assert.deepEqual(await one('sum(count_over_time({namespace="traefik"}[5m])) or vector(0)'), [[{}, '0']]);
  });
  it('group_left: ratios per status of the app total (doc example, with counts)', async () => {
    const http = [
      ...Array.from({ length: 8 }, (_, i) => entry(i + 1, '{"app":"foo","status":"200"}', { job: 'http-server' })),
      entry(10, '{"app":"foo","status":"400"}', { job: 'http-server' }),
      entry(11, '{"app":"foo","status":"500"}', { job: 'http-server' }),
    ];
    const q = 'sum by (app, status) (count_over_time({job="http-server"} | json [5m])) / on (app) group_left sum by (app) (count_over_time({job="http-server"} | json [5m]))';
    assert.deepEqual((await vector(q, http, 60)).map((s) => [s.metric, s.value[1]]), [
      [{ app: 'foo', status: '200' }, '0.8'],
      [{ app: 'foo', status: '400' }, '0.1'],
      [{ app: 'foo', status: '500' }, '0.1'],
    ]);
  });
  it('group_left(labels) copies labels from the "one" side (doc example, with counts)', async () => {
    const data = [
      entry(1, 'user=foo namespace=dev discarded=true', { job: 'events' }),
      entry(2, 'user=foo namespace=prod discarded=true', { job: 'events' }),
      entry(3, 'user=foo namespace=prod discarded=true', { job: 'events' }),
      entry(4, 'user=bar namespace=dev discarded=true', { job: 'events' }),
      entry(5, 'user=bar namespace=dev discarded=false', { job: 'events' }),
      entry(6, 'user=foo organization=little-org cost=10', { job: 'cost-calculator' }),
      entry(7, 'user=bar organization=big-org cost=70', { job: 'cost-calculator' }),
    ];
    const q =
      'sum by (user, namespace) (count_over_time({job="events"} | logfmt | discarded="true" [5m])) * on (user) group_left(organization) max_over_time({job="cost-calculator"} | logfmt | unwrap cost [5m]) by (user, organization)';
    assert.deepEqual((await vector(q, data, 60)).map((s) => [s.metric, s.value[1]]), [
      [{ namespace: 'dev', organization: 'big-org', user: 'bar' }, '70'],
      [{ namespace: 'dev', organization: 'little-org', user: 'foo' }, '10'],
      [{ namespace: 'prod', organization: 'little-org', user: 'foo' }, '20'],
    ]);
    // group_right mirrors it.
    const mirrored =
      'max_over_time({job="cost-calculator"} | logfmt | unwrap cost [5m]) by (user, organization) * on (user) group_right(organization) sum by (user, namespace) (count_over_time({job="events"} | logfmt | discarded="true" [5m]))';
    assert.deepEqual((await vector(mirrored, data, 60)).map((s) => s.metric), [
      { namespace: 'dev', organization: 'big-org', user: 'bar' },
      { namespace: 'dev', organization: 'little-org', user: 'foo' },
      { namespace: 'prod', organization: 'little-org', user: 'foo' },
    ]);
  });
  it('refuses ambiguous matches as Prometheus does', async () => {
    // The doc's "> bool ignoring(machine) avg(...)" needs group_left once there are two machines.
    await rejects('max by(machine) (count_over_time({app="foo"}[1m])) > bool ignoring(machine) avg(count_over_time({app="foo"}[1m]))', both, instant(60), 'vector-matching', /many-to-one matching must be explicit/);
    assert.deepEqual(await one('max by(machine) (count_over_time({app="foo"}[1m])) > bool ignoring(machine) group_left avg(count_over_time({app="foo"}[1m]))'), [[{ machine: 'm1' }, '1'], [{ machine: 'm2' }, '0']]);
    await rejects('count_over_time({app="foo"}[1m]) + on () count_over_time({app="bar"}[1m])', both, instant(60), 'vector-matching', /duplicate series on the right hand-side/);
  });
});

describe('label_replace and vector()', () => {
  it('adds foo="a" from service="a:c" (doc example)', async () => {
    const data = [entry(1, 'err', { job: 'api-server', service: 'a:c' })];
    assert.deepEqual(await vector('label_replace(rate({job="api-server",service="a:c"} |= "err" [1m]), "foo", "$1", "service", "(.*):.*")', data, 60), [
      { metric: { foo: 'a', job: 'api-server', service: 'a:c' }, value: [60, String(1 / 60)] },
    ]);
    assert.deepEqual(await vector('label_replace(rate({job="api-server"}[1m]), "foo", "$1", "service", "(b):.*")', data, 60), [
      { metric: { job: 'api-server', service: 'a:c' }, value: [60, String(1 / 60)] },
    ]);
    assert.deepEqual(await vector('label_replace(rate({job="api-server"}[1m]), "service", "", "service", ".*")', data, 60), [{ metric: { job: 'api-server' }, value: [60, String(1 / 60)] }]);
  });
  it('vector(s) is a label-less series at every step', async () => {
    assert.deepEqual(await run('vector(2) * 3', [], range(0, 60, 30)), { resultType: 'matrix', result: [{ metric: {}, values: [[0, '6'], [30, '6'], [60, '6']] }] });
    assert.deepEqual(await run('vector(1)', [], instant(5)), { resultType: 'vector', result: [{ metric: {}, value: [5, '1'] }] });
    assert.deepEqual(await run('1 + 1', [], range(0, 20, 10)), { resultType: 'matrix', result: [{ metric: {}, values: [[0, '2'], [10, '2'], [20, '2']] }] });
  });
});

describe('metric query results and limits', () => {
  it('sorts matrix series by labels and omits steps without samples', async () => {
    const data = [entry(10, 'l', { app: 'b' }), entry(70, 'l', { app: 'a' })];
    assert.deepEqual(await matrix('count_over_time({app=~".+"}[30s])', data, range(0, 90, 30)), [
      { metric: { app: 'a' }, values: [[90, '1']] },
      { metric: { app: 'b' }, values: [[30, '1']] },
    ]);
  });
  it('uses Loki\'s default step when none is given', async () => {
    const r = (await run('vector(1)', [], { startNs: 0n, endNs: 1000n * SECOND, limit: 1, direction: 'forward' })) as MatrixResult;
    assert.equal(r.result[0]?.values.length, 251);
    assert.deepEqual(r.result[0]?.values[1], [4, '1']);
  });
  it('stops at maxSeries with an error naming the limit and how to narrow', async () => {
    await assert.rejects(evaluate(parse('count_over_time({host=~"x.+"}[1m])'), range(0, 60, 60), new MemorySource(counts), { maxSeries: 3 }), (e: unknown) => {
      assert.ok(e instanceof EvaluationError);
      assert.equal(e.code, 'series-limit');
      assert.equal(e.status, 400);
      assert.match(e.message, /^maximum number of series \(3\) reached for a single query; consider reducing query cardinality by adding more specific stream selectors/);
      return true;
    });
    await assert.rejects(evaluate(parse('count_over_time({host=~"x.+"}[1m])'), instant(60), new MemorySource(counts), { maxSeries: 3 }), { code: 'series-limit' });
  });
  it('refuses too many steps, bad steps and queries that do not validate', async () => {
    await rejects('vector(1)', [], range(0, 20_000, 1), 'too-many-steps', /exceeded maximum resolution of 11,000 points per timeseries/);
    await rejects('vector(1)', [], { ...range(0, 10, 1), stepMs: 0 }, 'invalid-params');
    await rejects('vector(1)', [], range(10, 0, 1), 'invalid-params');
    await rejects('sum_over_time({app="a"}[1m])', [], range(0, 10, 1), 'invalid-query', /unwrap/);
    await rejects('{app="a"} | json', [], instant(10), 'instant-log-query', /log queries are not supported as an instant query type/);
  });
  it('closes the host iterators when a query fails midway', async () => {
    let closed = 0;
    const source = {
      entries() {
        return {
          [Symbol.asyncIterator]() {
            let i = 0;
            return {
              next: () => Promise.resolve(i++ < 1 ? { done: false as const, value: [entry(1, 'not json', A)] } : { done: true as const, value: undefined }),
              return: () => {
                closed++;
                return Promise.resolve({ done: true as const, value: undefined });
              },
            };
          },
        };
      },
    };
    await assert.rejects(evaluate(parse('count_over_time({app="a"} | json [1m]) + count_over_time({app="a"}[1m])'), instant(60), source), { code: 'pipeline-error' });
    assert.equal(closed, 2);
  });
});

describe('sum of rates', () => {
  it('is the summed count divided by the range, bit for bit, however many series add up', async () => {
    // 34 series of one line each: 34 * (1/300) rounds differently from 34/300.
    const many = Array.from({ length: 34 }, (_, i) => entry(10 + i, 'x', { app: 'a', pod: `p${i}` }));
    const rates = await vector('sum by (app) (rate({app="a"}[5m]))', many, 100);
    assert.deepEqual(rates, [{ metric: { app: 'a' }, value: [100, String(34 / 300)] }]);
    const bytes = await vector('sum(bytes_rate({app="a"}[5m]))', many, 100);
    assert.deepEqual(bytes, [{ metric: {}, value: [100, String(34 / 300)] }]);
    // Unwrapped rates still add per-series rates.
    const unwrapped = await vector('sum(rate({app="a"} | label_format v="2" | unwrap v [5m]))', many, 100);
    assert.equal(unwrapped.length, 1);
  });
});
