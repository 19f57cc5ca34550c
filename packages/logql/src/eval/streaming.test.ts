// Randomised check that streaming evaluation (the host delivers entries in
// small, random batches and the evaluator keeps only the current windows)
// gives exactly the result of one-shot evaluation (all entries in one batch),
// and that both agree with a brute-force reference that recomputes every
// window from all entries. Deterministic: a seeded generator, printed on failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogQuery } from '../ast.js';
import { parse } from '../parser.js';
import { evaluate } from './evaluate.js';
import { compilePipeline } from './pipeline.js';
import { MemorySource } from './testing/memory-source.js';
import { SECOND } from './testing/helpers.js';
import type { EvaluateParams, LogEntry, MatrixResult, QueryResult, StreamsResult } from './types.js';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEntries(rand: () => number): LogEntry[] {
  const n = Math.floor(rand() * 300);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) {
    // Timestamps on a coarse grid so that ties and window edges are common.
    const ts = BigInt(Math.floor(rand() * 120)) * 5n * SECOND + (rand() < 0.2 ? 1n : 0n);
    const level = pick(['info', 'warn', 'error']);
    const v = Math.floor(rand() * 100);
    const line = rand() < 0.05 ? 'garbage "line' : `level=${level} v=${v} size=${Math.floor(rand() * 9)}KB msg="m${i % 7}"`;
    const e: LogEntry = { ts, line, labels: { app: pick(['a', 'b', 'c']), host: pick(['h1', 'h2']) } };
    if (rand() < 0.2) e.metadata = { trace: pick(['t1', 't2']) };
    out.push(e);
  }
  return out;
}

const METRIC_QUERIES = [
  'count_over_time({app=~".+"}[30s])',
  'rate({app="a"} |= "error" [1m])',
  'sum by (app) (count_over_time({app=~".+"} | logfmt | level!="info" [45s]))',
  'sum by (host) (sum_over_time({app=~".+"} | logfmt | __error__="" | unwrap v [1m]))',
  'max_over_time({app=~".+"} | logfmt | __error__="" | unwrap v [2m]) by (app)',
  'avg_over_time({app=~".+"} | logfmt | __error__="" | unwrap v [1m] offset 30s) by (host)',
  'quantile_over_time(0.9, {app=~".+"} | logfmt | __error__="" | unwrap v [90s]) by (app)',
  'topk(2, sum by (app, host) (bytes_over_time({app=~".+"}[1m])))',
  'sum by (app, host) (count_over_time({app=~".+"}[1m])) / on (app) group_left sum by (app) (count_over_time({app=~".+"}[1m]))',
  'sum by (app) (count_over_time({app=~".+"}[1m])) > bool 3 or vector(0)',
  'absent_over_time({app="c", host="h1"} |= "error" [20s])',
  'stddev_over_time({app=~".+"} | logfmt | __error__="" | unwrap bytes(size) [1m]) by (host)',
  'last_over_time({app=~".+"} | logfmt | __error__="" | unwrap v [1m]) by (app) - first_over_time({app=~".+"} | logfmt | __error__="" | unwrap v [1m]) by (app)',
];

const LOG_QUERIES = ['{app=~".+"}', '{app="a"} |= "error"', '{host="h1"} | logfmt | v > 50 | line_format "{{.msg}} {{.v}}"', '{app=~"a|b"} | trace="t1"', '{app=~".+"} | logfmt | drop size, v'];

async function withBatches(q: string, entries: LogEntry[], params: EvaluateParams, batchSize: number | ((i: number) => number)): Promise<QueryResult> {
  return evaluate(parse(q), params, new MemorySource(entries, { batchSize }), { maxSeries: 10_000 });
}

/** Prometheus' label order: label by label, name then value, a prefix first. */
function compareMetrics(a: Record<string, string>, b: Record<string, string>): number {
  const x = Object.entries(a).sort(([p], [q]) => (p < q ? -1 : 1));
  const y = Object.entries(b).sort(([p], [q]) => (p < q ? -1 : 1));
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [xn, xv] = x[i] as [string, string];
    const [yn, yv] = y[i] as [string, string];
    if (xn !== yn) return xn < yn ? -1 : 1;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return x.length - y.length;
}

/** Brute force: every window recomputed from all entries (count, or sum of an unwrapped integer label). */
function reference(entries: LogEntry[], pipelineOf: string, unwrap: string | undefined, by: string[] | undefined, rangeS: number, params: EvaluateParams): MatrixResult['result'] {
  const run = compilePipeline((parse(pipelineOf) as LogQuery).pipeline);
  const sel = (parse(pipelineOf) as LogQuery).selector;
  const selected = entries.filter((e) => sel.matchers.every((m) => (m.op === '=~' ? new RegExp(`^(?:${m.value})$`).test(e.labels[m.name] ?? '') : e.labels[m.name] === m.value)));
  const series = new Map<string, { metric: Record<string, string>; values: Array<[number, string]> }>();
  const step = BigInt(params.stepMs as number) * 1_000_000n;
  for (let t = params.startNs; t <= params.endNs; t += step) {
    const sums = new Map<string, { metric: Record<string, string>; v: number }>();
    for (const e of selected) {
      if (!(e.ts > t - BigInt(rangeS) * SECOND && e.ts <= t)) continue;
      const out = run(e);
      if (!out) continue;
      let metric = { ...out.labels };
      let v = 1;
      if (unwrap) {
        if (metric[unwrap] === undefined || metric[unwrap] === '') continue;
        v = Number(metric[unwrap]);
        delete metric[unwrap];
      }
      if (by) metric = Object.fromEntries(Object.entries(metric).filter(([k]) => by.includes(k)));
      const key = JSON.stringify(Object.entries(metric).sort());
      const cur = sums.get(key) ?? { metric, v: 0 };
      cur.v += v;
      sums.set(key, cur);
    }
    for (const [key, { metric, v }] of sums) {
      const s = series.get(key) ?? { metric, values: [] };
      s.values.push([Number(t / 1_000_000n) / 1000, String(v)]);
      series.set(key, s);
    }
  }
  return [...series.values()].sort((a, b) => compareMetrics(a.metric, b.metric));
}

function referenceLogs(entries: LogEntry[], q: string, params: EvaluateParams): StreamsResult['result'] {
  const query = parse(q) as LogQuery;
  const run = compilePipeline(query.pipeline);
  const selected = entries
    .map((e, i) => [e, i] as const)
    .filter(([e]) => e.ts >= params.startNs && e.ts < params.endNs && query.selector.matchers.every((m) => (m.op === '=~' ? new RegExp(`^(?:${m.value})$`).test(e.labels[m.name] ?? '') : e.labels[m.name] === m.value)))
    .sort((a, b) => (a[0].ts === b[0].ts ? a[1] - b[1] : a[0].ts < b[0].ts ? -1 : 1))
    .map(([e]) => e);
  if (params.direction === 'backward') selected.reverse();
  const streams = new Map<string, { stream: Record<string, string>; values: Array<[string, string]> }>();
  let n = 0;
  for (const e of selected) {
    if (n >= params.limit) break;
    const out = run(e);
    if (!out) continue;
    const text = '{' + Object.entries(out.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') + '}';
    const s = streams.get(text) ?? { stream: out.labels, values: [] };
    s.values.push([e.ts.toString(), out.line]);
    streams.set(text, s);
    n++;
  }
  return [...streams.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
}

describe('streaming evaluation', () => {
  it('gives the one-shot result for random data, queries, ranges and batch sizes', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = mulberry32(seed);
      const entries = randomEntries(rand);
      const q = METRIC_QUERIES[seed % METRIC_QUERIES.length] as string;
      const startS = Math.floor(rand() * 200);
      const instant = rand() < 0.25;
      const params: EvaluateParams = instant
        ? { startNs: BigInt(startS) * SECOND, endNs: BigInt(startS) * SECOND, limit: 100, direction: 'backward', instant: true }
        : { startNs: BigInt(startS) * SECOND, endNs: BigInt(startS + Math.floor(rand() * 400)) * SECOND, stepMs: (1 + Math.floor(rand() * 60)) * 1000, limit: 100, direction: 'backward' };
      const oneShot = await withBatches(q, entries, params, entries.length);
      const streamed = await withBatches(q, entries, params, () => 1 + Math.floor(rand() * 7));
      assert.deepEqual(streamed, oneShot, `seed ${seed}: ${q}`);
    }
  });
  it('agrees with a brute-force recomputation of every window', async () => {
    for (let seed = 100; seed < 130; seed++) {
      const rand = mulberry32(seed);
      const entries = randomEntries(rand);
      const params: EvaluateParams = { startNs: 0n, endNs: BigInt(100 + Math.floor(rand() * 500)) * SECOND, stepMs: (5 + Math.floor(rand() * 40)) * 1000, limit: 100, direction: 'backward' };
      const rangeS = 10 + Math.floor(rand() * 100);
      const batch = () => 1 + Math.floor(rand() * 5);
      const count = (await withBatches(`count_over_time({app=~".+"} | logfmt | __error__="" [${rangeS}s])`, entries, params, batch)) as MatrixResult;
      assert.deepEqual(count.result, reference(entries, '{app=~".+"} | logfmt | __error__=""', undefined, undefined, rangeS, params), `seed ${seed} count`);
      const sum = (await withBatches(`sum by (app) (sum_over_time({app=~".+"} | logfmt | __error__="" | unwrap v [${rangeS}s]))`, entries, params, batch)) as MatrixResult;
      assert.deepEqual(sum.result, reference(entries, '{app=~".+"} | logfmt | __error__=""', 'v', ['app'], rangeS, params), `seed ${seed} sum`);
    }
  });
  it('returns the reference log lines for random limits and directions', async () => {
    for (let seed = 200; seed < 240; seed++) {
      const rand = mulberry32(seed);
      const entries = randomEntries(rand);
      const q = LOG_QUERIES[seed % LOG_QUERIES.length] as string;
      const params: EvaluateParams = { startNs: BigInt(Math.floor(rand() * 300)) * SECOND, endNs: BigInt(300 + Math.floor(rand() * 300)) * SECOND, limit: Math.floor(rand() * 80), direction: rand() < 0.5 ? 'forward' : 'backward' };
      const got = (await withBatches(q, entries, params, () => 1 + Math.floor(rand() * 9))) as StreamsResult;
      assert.deepEqual(got.result, referenceLogs(entries, q, params), `seed ${seed}: ${q}`);
    }
  });
});
