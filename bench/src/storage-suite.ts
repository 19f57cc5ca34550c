/**
 * `npm run bench -- storage [--records N] [--seed S] [--concurrency C] [--plaintext]`
 *
 * Generates the seeded dataset, ingests it through the real path (OTLP/HTTP
 * protobuf into a `meshlog server` child process, durable acks), then
 * measures bytes on disk per record (after merges) and store query
 * latencies (median of 5 runs, through the store's own query compiler where
 * one exists), and two LogQL queries through the Loki API of a server
 * restarted on the same data (the metric fast path; the evaluator over a
 * `| json` pipeline). Peers in the same run: `grep -c` over the raw NDJSON
 * and `zstd -3` of it.
 *
 * The store is encrypted at rest as the server's default has it (a key file
 * generated beside the bench's data dir); `--plaintext` measures the same
 * run with `allow_plaintext_at_rest`, for the cost of encryption. The store
 * is reopened for the queries through the server's own open path, with the
 * same config, so it reads what the server wrote.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileLogSelect, openEmbeddedStore, type LogSelect } from '@meshlog/store';
import { encryptionSetting, loadServerConfig, serverRegistry } from '@meshlog/server';
import { NEEDLE, writeDataset } from './dataset.js';
import { startBenchServer } from './server-child.js';
import { median, printTable, type Figures } from './results.js';
import { otlpTarget, postAll } from './http-post.js';

export interface StorageOptions {
  records: number;
  seed: number;
  concurrency: number;
  keep: boolean;
  plaintext: boolean;
}

export async function storageSuite(opts: StorageOptions): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-bench-storage-'));
  const ndjsonPath = join(dir, 'dataset.ndjson');
  const payloadPath = join(dir, 'payloads.bin');
  const dataDir = join(dir, 'data');
  log(`generating ${opts.records.toLocaleString()} records in ${dir}`);
  const ds = await writeDataset({ seed: opts.seed, count: opts.records, endMs: Date.now(), ndjsonPath, payloadPath });
  log(`dataset: ${(ds.ndjsonBytes / ds.records).toFixed(0)} B/record NDJSON, ${(ds.protobufBytes / ds.records).toFixed(0)} B/record OTLP protobuf, ${ds.payloads} requests`);

  let configFile = process.env['MESHLOG_BENCH_CONFIG'];
  if (opts.plaintext) {
    if (configFile) throw new Error('--plaintext and MESHLOG_BENCH_CONFIG: set allow_plaintext_at_rest in that config instead');
    configFile = join(dir, 'plaintext.yaml');
    writeFileSync(configFile, 'storage:\n  embedded:\n    encryption:\n      allow_plaintext_at_rest: true\n');
  }
  const encryption = encryptionSetting(loadServerConfig(configFile, {}, serverRegistry));
  log(`store encryption at rest: ${encryption.kind === 'plaintext' ? 'off' : 'on'}`);

  // Ingest through the real path.
  const server = await startBenchServer(dataDir, configFile ? ['--config', configFile] : []);
  const posted = await postAll(server, payloadPath, otlpTarget('application/x-protobuf'), opts.concurrency);
  const ingestSeconds = posted.seconds;
  // Server CPU per record: on a shared machine this holds where wall time does not.
  const serverCpuSeconds = server.cpuSeconds();
  const peakRss = server.peakRssBytes();
  const peakAnon = server.peakAnonBytes();
  await server.stop();
  log(`ingested in ${ingestSeconds.toFixed(1)} s (${posted.requests} requests, ${posted.retries} retried)`);

  // Storage and queries, on the same data directory.
  const { store } = await openEmbeddedStore({ dataDir, encryption, readers: 1 });
  const count = await store.backend.query<{ c: string }>(`SELECT count() AS c FROM meshlog.logs`);
  const stored = Number(count.rows[0]!.c);
  log(`merging parts (OPTIMIZE FINAL) to measure settled size`);
  await store.backend.exec('OPTIMIZE TABLE meshlog.logs FINAL');
  const size = await store.backend.query<{ b: string; parts: string }>(`SELECT sum(bytes_on_disk) AS b, count() AS parts FROM system.parts WHERE database = 'meshlog' AND table = 'logs' AND active`);
  const bytesOnDisk = Number(size.rows[0]!.b);
  const columns = await store.backend.query<{ name: string; c: string }>(
    `SELECT name, sum(data_compressed_bytes) AS c FROM system.columns WHERE database = 'meshlog' AND table = 'logs' GROUP BY name ORDER BY sum(data_compressed_bytes) DESC LIMIT 6`,
  );

  const startNs = BigInt(ds.startMs) * 1_000_000n;
  const endNs = BigInt(ds.endMs + 1000) * 1_000_000n;
  const base: LogSelect = { tenant: 'default', matchers: [], lineFilters: [], startNs, endNs, limit: 100, direction: 'backward' };
  const needleNs = BigInt(Math.floor(ds.needleTimesMs[0] ?? ds.startMs)) * 1_000_000n;
  const timed = async (name: string, sql: { sql: string; params: Record<string, unknown> }, check?: (rows: unknown[]) => void): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = await store.backend.query(sql.sql, { params: sql.params });
      times.push(performance.now() - t);
      if (i === 0) check?.(r.rows);
    }
    const m = median(times);
    log(`${name}: ${m.toFixed(1)} ms`);
    return m;
  };
  const expectRows = (min: number, what: string) => (rows: unknown[]) => {
    if (rows.length < min) throw new Error(`${what}: expected at least ${min} rows, got ${rows.length}`);
  };
  const needleAll = await timed('needle over all data', compileLogSelect({ ...base, lineFilters: [{ op: '|=', values: [NEEDLE] }] }, 'meshlog'), expectRows(Math.min(8, ds.needleTimesMs.length), 'needle'));
  const needle5m = await timed(
    'needle in a 5-minute window',
    compileLogSelect({ ...base, startNs: needleNs - 150_000_000_000n, endNs: needleNs + 150_000_000_000n, lineFilters: [{ op: '|=', values: [NEEDLE] }] }, 'meshlog'),
    expectRows(1, 'needle 5m'),
  );
  const p = { tenant: 'default', s: Math.floor(ds.startMs / 1000), e: Math.ceil(ds.endMs / 1000) };
  const errorsByService = await timed(
    '5xx count by service',
    {
      sql: `SELECT service_name, count() AS c FROM meshlog.logs WHERE tenant = {tenant:String} AND ts >= toDateTime({s:UInt32}) AND ts <= toDateTime({e:UInt32}) AND scope_name = 'envoy' AND severity_number >= 17 GROUP BY service_name ORDER BY c DESC`,
      params: p,
    },
    expectRows(10, 'errors by service'),
  );
  const histogram = await timed(
    'per-minute histogram, 24 h',
    { sql: `SELECT intDiv(timestamp_ns, 60000000000) AS minute, count() AS c FROM meshlog.logs WHERE tenant = {tenant:String} AND ts >= toDateTime({s:UInt32}) AND ts <= toDateTime({e:UInt32}) GROUP BY minute ORDER BY minute`, params: p },
    expectRows(1000, 'histogram'),
  );
  const latest100 = await timed('latest 100 of one service', compileLogSelect({ ...base, matchers: [{ name: 'service_name', op: '=', value: ds.busiestService }] }, 'meshlog'), expectRows(100, 'latest 100'));
  const traceLookup = await timed(
    'lookup by trace id',
    { sql: `SELECT timestamp_ns, service_name, body FROM meshlog.logs WHERE tenant = {tenant:String} AND ts >= toDateTime({s:UInt32}) AND ts <= toDateTime({e:UInt32}) AND trace_id = {trace:String} ORDER BY timestamp_ns`, params: { ...p, trace: ds.sampleTraceId } },
    expectRows(1, 'trace lookup'),
  );
  await store.close();

  // LogQL through the Loki API, on the same (merged) data: a server on the data directory again.
  const logql = await logqlTimings(dataDir, configFile, ds.startMs, ds.endMs);

  // Peers over the raw NDJSON.
  const grepTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const g = spawnSync('grep', ['-c', NEEDLE, ndjsonPath], { encoding: 'utf8' });
    grepTimes.push(performance.now() - t);
    if (g.status !== 0) throw new Error(`grep failed: ${g.stderr}`);
  }
  // A floor for the LogQL count: one sequential scan of the raw text for the same word.
  const grepErrorTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const g = spawnSync('grep', ['-c', 'error', ndjsonPath], { encoding: 'utf8' });
    grepErrorTimes.push(performance.now() - t);
    if (g.status !== 0) throw new Error(`grep failed: ${g.stderr}`);
  }
  const z = spawnSync('sh', ['-c', `zstd -3 -q -c ${JSON.stringify(ndjsonPath)} | wc -c`], { encoding: 'utf8' });
  const zstdBytes = Number(z.stdout.trim());

  const figures: Figures = {
    'storage.encrypted_at_rest': encryption.kind === 'plaintext' ? 0 : 1,
    'storage.records': stored,
    'storage.ingest_records_per_s': Math.round(stored / ingestSeconds),
    'storage.ingest_records_per_server_cpu_s': serverCpuSeconds > 0 ? Math.round(stored / serverCpuSeconds) : 0,
    'storage.ingest_mib_per_s_ndjson_equivalent': Number((ds.ndjsonBytes / 2 ** 20 / ingestSeconds).toFixed(1)),
    'storage.server_peak_rss_mib': Math.round(peakRss / 2 ** 20),
    'storage.server_peak_anon_rss_mib': Math.round(peakAnon / 2 ** 20),
    'storage.bytes_per_record': Number((bytesOnDisk / stored).toFixed(1)),
    'storage.ndjson_bytes_per_record': Number((ds.ndjsonBytes / ds.records).toFixed(1)),
    'query.needle_all_ms': round(needleAll),
    'query.needle_5m_ms': round(needle5m),
    'query.errors_by_service_ms': round(errorsByService),
    'query.histogram_ms': round(histogram),
    'query.latest100_ms': round(latest100),
    'query.trace_lookup_ms': round(traceLookup),
    'query.logql_count_over_time_ms': round(logql.countMs),
    'query.logql_topk_json_ms': round(logql.topkMs),
    'peer.grep_needle_ms': round(median(grepTimes)),
    'peer.grep_error_count_ms': round(median(grepErrorTimes)),
    'peer.zstd_bytes_per_record': Number((zstdBytes / ds.records).toFixed(1)),
    'ratio.needle_vs_grep': Number((needleAll / median(grepTimes)).toFixed(3)),
    'ratio.logql_count_vs_grep': Number((logql.countMs / median(grepErrorTimes)).toFixed(3)),
    'ratio.bytes_vs_zstd': Number((bytesOnDisk / stored / (zstdBytes / ds.records)).toFixed(3)),
  };
  printTable(`storage: ${stored.toLocaleString()} records, ${encryption.kind === 'plaintext' ? 'plaintext' : 'encrypted (AES-256-CTR)'} at rest`, [
    ['ingest records/s (OTLP protobuf, durable acks)', figures['storage.ingest_records_per_s']!, 'target >= 100,000'],
    ['ingest records per server CPU second', figures['storage.ingest_records_per_server_cpu_s']!, 'holds on a shared machine; 2 cores give twice this at most'],
    ['server peak RSS MiB', figures['storage.server_peak_rss_mib']!, 'target <= 1024'],
    ['  of which anonymous (not library text)', figures['storage.server_peak_anon_rss_mib']!],
    ['bytes on disk per record', figures['storage.bytes_per_record']!, `target <= 90; raw NDJSON ${figures['storage.ndjson_bytes_per_record']}`],
    ['zstd -3 of NDJSON, bytes per record (peer)', figures['peer.zstd_bytes_per_record']!],
    ['needle, all data ms', figures['query.needle_all_ms']!, 'target <= 300'],
    ['grep -c needle ms (peer)', figures['peer.grep_needle_ms']!],
    ['needle, 5-minute window ms', figures['query.needle_5m_ms']!],
    ['5xx count by service ms', figures['query.errors_by_service_ms']!, 'target <= 300'],
    ['per-minute histogram ms', figures['query.histogram_ms']!, 'target <= 300'],
    ['latest 100 of one service ms', figures['query.latest100_ms']!, 'target <= 50'],
    ['lookup by trace id ms', figures['query.trace_lookup_ms']!, 'target <= 50'],
    ['LogQL sum by (service_name) (count_over_time(|= "error" [1m])), 24 h, step 1m, ms', figures['query.logql_count_over_time_ms']!, 'target <= 300 (at 10 M)'],
    ['grep -c error ms (peer)', figures['peer.grep_error_count_ms']!],
    ['LogQL topk(5, sum by (service_name) (rate(| json | response_code >= 500 [5m]))), 24 h, step 5m, ms', figures['query.logql_topk_json_ms']!, 'no target in the brief'],
  ]);
  process.stdout.write(`largest columns (compressed bytes/record): ${columns.rows.map((c) => `${c.name} ${(Number(c.c) / stored).toFixed(1)}`).join(', ')}\n`);
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
  return figures;
}

/** The fast-path count (one GROUP BY in ClickHouse). */
export const LOGQL_COUNT = 'sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [1m]))';
/**
 * The evaluator path: a parser and a numeric label filter. Istio's JSON
 * access lines (one service in ten) carry response_code; the line filter
 * keeps the parser to those lines, as a Grafana user would write it.
 */
export const LOGQL_TOPK = 'topk(5, sum by (service_name) (rate({service_name=~".+"} |= `"response_code"` | json | response_code >= 500 [5m])))';

/** Median of 5 runs of each LogQL query over the whole 24 h through `/loki/api/v1/query_range`. */
async function logqlTimings(dataDir: string, configFile: string | undefined, startMs: number, endMs: number): Promise<{ countMs: number; topkMs: number }> {
  const server = await startBenchServer(dataDir, configFile ? ['--config', configFile] : []);
  try {
    const run = async (name: string, query: string, stepS: number): Promise<number> => {
      const u = new URL(`${server.url}/loki/api/v1/query_range`);
      u.searchParams.set('query', query);
      u.searchParams.set('start', String(BigInt(startMs) * 1_000_000n));
      u.searchParams.set('end', String(BigInt(endMs + 1000) * 1_000_000n));
      u.searchParams.set('step', String(stepS));
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const r = await fetch(u, { headers: { authorization: `Bearer ${server.token}` } });
        const text = await r.text();
        times.push(performance.now() - t);
        if (!r.ok) throw new Error(`${name}: HTTP ${r.status} ${text}`);
        if (i === 0) {
          const series = (JSON.parse(text) as { data: { result: unknown[] } }).data.result.length;
          if (series === 0) throw new Error(`${name}: no series; the dataset should have matching lines`);
          log(`${name}: ${series} series`);
        }
      }
      const m = median(times);
      log(`${name}: ${m.toFixed(1)} ms`);
      return m;
    };
    const countMs = await run('LogQL count_over_time by service', LOGQL_COUNT, 60);
    const topkMs = await run('LogQL topk over | json', LOGQL_TOPK, 300);
    return { countMs, topkMs };
  } finally {
    await server.stop();
  }
}

function round(ms: number): number {
  return Number(ms.toFixed(1));
}

function log(msg: string): void {
  process.stderr.write(`[storage] ${msg}\n`);
}
