/**
 * Cluster mode for real: a `meshlog server` child process whose store is a
 * ClickHouse 18.16 cluster (Debian's clickhouse-server, two shards, shard 1
 * with two replicas, ZooKeeper), driven over OTLP/HTTP and the Loki and
 * Zipkin query APIs, with servers killed under it:
 *
 * - logs and spans come back complete and are spread over both shards;
 * - a replica of shard 1 (also meshlog's first URL) down: meshlog moves to
 *   the next server, ingest and queries keep working;
 * - shard 2 down: queries answer 503 `unavailable` naming shard 2; ingest
 *   answers 503 with Retry-After. (18.16's synchronous Distributed insert
 *   needs every shard, even for rows that all go to shard 1, so every
 *   request is refused; a server that skips idle shards may accept those,
 *   and the test accepts either, counting a 200 as acknowledged);
 * - shard 2 back: every acknowledged record is there exactly once, nothing
 *   refused was half-written, and the refused records resent by the client
 *   land exactly once;
 * - a second meshlog server reaches the same cluster over HTTPS with a
 *   client certificate (mutual TLS, 18.16's https_port in strict mode): it
 *   sees the same records, the first sees its writes; without the client
 *   certificate it refuses to start, saying why.
 *
 * Needs `clickhouse-server` and `zookeeper` (apt-get): skipped with a reason
 * when they are missing, failed under CI=true.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_NAME, findClusterTools, startClickHouseCluster, type ClickHouseCluster, type ClickHouseNode } from '../helpers/clickhouse-cluster.js';
import { linesOf, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs, otlpJsonTrace } from '../helpers/otlp-payloads.js';

const tools = findClusterTools();
let cluster: ClickHouseCluster | undefined;
const servers: ServerProcess[] = [];

after(async () => {
  // Graceful first (it drains the pipeline), but never wait long on a broken store.
  await Promise.all(
    servers.map(async (srv) => {
      const stopped = srv.stop();
      const timer = setTimeout(() => void srv.kill9(), 15_000);
      await stopped;
      clearTimeout(timer);
    }),
  );
  await cluster?.stop();
});

const SERVICES = Array.from({ length: 8 }, (_, i) => `svc-${i}`);

test('cluster mode: meshlog on a 2-shard ClickHouse 18.16 cluster, with a replica and then a shard down', { timeout: 240_000 }, async (t) => {
  if (typeof tools === 'string') {
    if (process.env['CI'] === 'true') assert.fail(`cluster suite cannot run: ${tools}; .ci/run must install clickhouse-server and zookeeper`);
    console.log(`# cluster suite skipped: ${tools}`);
    t.skip(`${tools}; apt-get install -y clickhouse-server zookeeper to run it`);
    return;
  }
  const began = Date.now();
  // TLS needs openssl for the throwaway PKI; CI installs it, so only a local run may go without.
  const tls = tools.openssl !== undefined;
  if (!tls && process.env['CI'] === 'true') assert.fail('the cluster suite needs openssl for its TLS part under CI');
  cluster = await startClickHouseCluster(tools, { tls });
  const c = cluster;
  const [ch1, ch2, ch3] = c.nodes as [ClickHouseNode, ClickHouseNode, ClickHouseNode];
  t.diagnostic(`cluster up in ${Date.now() - began} ms: ${c.nodes.map((n) => `${n.name} shard ${n.shard} ${n.url}`).join(', ')}`);

  const dir = tempDir('meshlog-cluster-test-');
  const passwordFile = join(dir, 'clickhouse.password');
  writeFileSync(passwordFile, `${c.password}\n`, { mode: 0o600 });
  const configFile = join(dir, 'meshlog.yaml');
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify({
      storage: {
        clickhouse: {
          urls: c.nodes.map((n) => n.url),
          username: c.user,
          password_file: passwordFile,
          database: 'meshlog',
          cluster: CLUSTER_NAME,
          timeout_ms: 20_000,
        },
      },
      sources: { otlp: { type: 'otlp' } },
      // Three attempts instead of ten keep a refused request short (~1.5 s) in this test.
      sinks: { store: { type: 'store', inputs: ['otlp'], buffer: { max_attempts: 3 } } },
    }),
  );
  const s = await startServerProcess({ args: ['--config', configFile] });
  servers.push(s);
  t.diagnostic(`meshlog ready ${Date.now() - began} ms after start`);

  const run = randomUUID().slice(0, 8);
  const auth = { authorization: `Bearer ${s.token}` };
  const postLogs = (service: string, lines: string[]): Promise<Response> =>
    fetch(`${s.url}/v1/logs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: otlpJsonLogs(lines, { service }) });
  const linesFor = (tag: string, service: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${tag} ${service} line ${i} run=${run}`);
  const query = (): ReturnType<typeof lokiQueryRange> => lokiQueryRange(s, `{service_name=~"svc-.+"} |= "run=${run}"`, { limit: '5000' });
  const count = async (node: ClickHouseNode, sql: string): Promise<number> => Number((await c.sql(node, sql)).trim());
  const assertExactly = (got: string[], want: string[], what: string): void => {
    assert.equal(got.length, want.length, `${what}: ${got.length} lines, expected ${want.length} (none lost, none duplicated)`);
    assert.deepEqual([...got].sort(), [...want].sort(), what);
  };

  const acknowledged: string[] = [];

  await t.test('logs and spans are stored and come back complete', async () => {
    const batchA = SERVICES.map((svc) => linesFor('A', svc, 25));
    const res = await Promise.all(SERVICES.map((svc, i) => postLogs(svc, batchA[i]!)));
    for (const r of res) assert.equal(r.status, 200, await r.text());
    acknowledged.push(...batchA.flat());

    const traces = Array.from({ length: 4 }, () => ({ id: randomBytes(16).toString('hex'), svc: SERVICES[0]! }));
    const sent = traces.map((tr) => ({ ...tr, ...otlpJsonTrace(tr.id, { service: tr.svc, children: 2 }) }));
    for (const tr of sent) {
      const r = await fetch(`${s.url}/v1/traces`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: tr.body });
      assert.equal(r.status, 200, await r.text());
    }

    const q = await query();
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assertExactly(linesOf(q.body), acknowledged, 'query_range after ingest');
    assert.equal(new Set(q.body.data.result.map((st) => st.stream['service_name'])).size, SERVICES.length);

    for (const tr of sent) {
      const r = await fetch(`${s.url}/api/v2/trace/${tr.id}`, { headers: auth });
      assert.equal(r.status, 200, await r.clone().text());
      const spans = (await r.json()) as { id: string; parentId?: string; traceId: string }[];
      assert.deepEqual(spans.map((sp) => sp.id).sort(), [...tr.spanIds].sort());
      assert.ok(spans.every((sp) => sp.traceId === tr.id));
    }

    // Both shards hold rows: direct SQL on one replica of each.
    const where = `WHERE position(body, 'run=${run}') > 0`;
    const shard1 = await count(ch1, `SELECT count() FROM meshlog.logs_local ${where}`);
    const shard2 = await count(ch3, `SELECT count() FROM meshlog.logs_local ${where}`);
    t.diagnostic(`logs per shard: shard 1 ${shard1}, shard 2 ${shard2}`);
    assert.ok(shard1 > 0 && shard2 > 0, `both shards should hold logs (shard 1: ${shard1}, shard 2: ${shard2})`);
    assert.equal(shard1 + shard2, acknowledged.length);
    const spans1 = await count(ch1, 'SELECT count() FROM meshlog.spans_local');
    const spans2 = await count(ch3, 'SELECT count() FROM meshlog.spans_local');
    assert.equal(spans1 + spans2, 12, 'every span on exactly one shard');
    // Shard 1's second replica has the same rows once replication caught up.
    await c.sql(ch2, 'SYSTEM SYNC REPLICA meshlog.logs_local');
    assert.equal(await count(ch2, `SELECT count() FROM meshlog.logs_local ${where}`), shard1);
    // Migration 5 (18.16 has no ADD COLUMN IF NOT EXISTS: added where system.columns lacks it): every host's local tables have ingest_row.
    for (const node of [ch1, ch2, ch3])
      assert.equal(await count(node, "SELECT count() FROM system.columns WHERE database = 'meshlog' AND table IN ('logs_local', 'spans_local', 'audit_log_local') AND name = 'ingest_row'"), 3);
    assert.ok((await count(ch1, 'SELECT count() FROM meshlog.schema_migrations WHERE version = 5')) >= 1, 'migration 5 is recorded');
  });

  await t.test('a replica of shard 1 down (meshlog\'s first URL): ingest and queries go on through the others', async () => {
    await c.stopServer(ch1, 'SIGKILL');
    try {
      const batchB = SERVICES.map((svc) => linesFor('B', svc, 5));
      for (const [i, svc] of SERVICES.entries()) {
        const r = await postLogs(svc, batchB[i]!);
        assert.equal(r.status, 200, await r.text());
      }
      acknowledged.push(...batchB.flat());
      const q = await query();
      assert.equal(q.status, 200, JSON.stringify(q.body));
      assertExactly(linesOf(q.body), acknowledged, 'query_range with one replica of shard 1 down');
    } finally {
      await c.startServer(ch1);
    }
    // The restarted replica fetches what it missed.
    await c.sql(ch1, 'SYSTEM SYNC REPLICA meshlog.logs_local');
    const where = `WHERE position(body, 'run=${run}') > 0`;
    assert.equal(await count(ch1, `SELECT count() FROM meshlog.logs_local ${where}`), await count(ch2, `SELECT count() FROM meshlog.logs_local ${where}`));
  });

  const refused: { service: string; lines: string[] }[] = [];

  await t.test('shard 2 down: queries answer 503 naming it; ingest refuses what it cannot store, with Retry-After', async () => {
    await c.stopServer(ch3, 'SIGKILL');
    const q = await query();
    assert.equal(q.status, 503, JSON.stringify(q.body));
    // Loki's API answers errors as plain text (the helper keeps it under `error`).
    const message = String(q.body['error']);
    assert.match(message, /unavailable/);
    assert.match(message, new RegExp(`shard 2 \\(replica 1, 127\\.0\\.0\\.1:${ch3.tcpPort}\\)`), message);
    t.diagnostic(`query while shard 2 is down: 503 ${message}`);

    const trace = await fetch(`${s.url}/api/v2/trace/${randomBytes(16).toString('hex')}`, { headers: auth });
    assert.equal(trace.status, 503);
    assert.equal(((await trace.json()) as { errorType: string }).errorType, 'unavailable');

    // One request per service: each is one stream, so its rows belong to one shard.
    for (const svc of SERVICES) {
      const lines = linesFor('C', svc, 6);
      const r = await postLogs(svc, lines);
      const body = await r.text();
      if (r.status === 200) {
        acknowledged.push(...lines);
      } else {
        assert.ok(r.status === 503 || r.status === 429, `refused ingest answers 503/429, got ${r.status}: ${body}`);
        assert.match(r.headers.get('retry-after') ?? '', /^\d+$/, 'a refused ingest carries Retry-After');
        assert.match(body, /shard 2/, body);
        refused.push({ service: svc, lines });
      }
    }
    t.diagnostic(`ingest with shard 2 down: ${SERVICES.length - refused.length} requests acknowledged, ${refused.length} refused`);
    assert.ok(refused.length > 0, 'streams of shard 2 must be refused');
  });

  await t.test('shard 2 back: every acknowledged record exactly once; refused ones absent until resent, then exactly once', async () => {
    await c.startServer(ch3);
    let q = await query();
    for (const deadline = Date.now() + 30_000; q.status !== 200 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250));
      q = await query();
    }
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assertExactly(linesOf(q.body), acknowledged, 'after shard 2 returned: exactly the acknowledged records');

    // A sender retries what was refused, after Retry-After.
    for (const { service, lines } of refused) {
      const r = await postLogs(service, lines);
      assert.equal(r.status, 200, await r.text());
      acknowledged.push(...lines);
    }
    q = await query();
    assert.equal(q.status, 200);
    assertExactly(linesOf(q.body), acknowledged, 'after the refused records were resent');
  });

  await t.test('a second meshlog server over mutual TLS shares the cluster; without a client certificate it does not start', { skip: tls ? false : 'openssl is missing' }, async () => {
    const pki = c.pki!;
    const tlsConfig = (withClientCert: boolean): string => {
      const file = join(dir, `meshlog-tls-${withClientCert}.yaml`);
      writeFileSync(
        file,
        JSON.stringify({
          storage: {
            clickhouse: {
              urls: c.nodes.map((n) => n.httpsUrl!),
              username: c.user,
              password_file: passwordFile,
              cluster: CLUSTER_NAME,
              tls: { ca_file: pki.ca, ...(withClientCert ? { cert_file: pki.clientCert, key_file: pki.clientKey } : {}) },
            },
          },
        }),
      );
      return file;
    };
    // Its own data dir: a meshlog server keeps nothing locally but its tokens.
    const s2 = await startServerProcess({ args: ['--config', tlsConfig(true)] });
    servers.push(s2);
    let q = await lokiQueryRange(s2, `{service_name=~"svc-.+"} |= "run=${run}"`, { limit: '5000' });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assertExactly(linesOf(q.body), acknowledged, 'the second server reads what the first wrote');

    const lines = linesFor('D', SERVICES[1]!, 10);
    const r = await fetch(`${s2.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s2.token}`, 'content-type': 'application/json' },
      body: otlpJsonLogs(lines, { service: SERVICES[1]! }),
    });
    assert.equal(r.status, 200, await r.text());
    acknowledged.push(...lines);
    // The second server wrote through ch1; the first reads shard 1 on ch2
    // (its preferred server since ch1 was down). Replicas of a shard catch up
    // asynchronously, so the rows show up there a moment later.
    const deadline = Date.now() + 20_000;
    for (q = await query(); linesOf(q.body).length < acknowledged.length && Date.now() < deadline; q = await query()) {
      await new Promise((res) => setTimeout(res, 200));
    }
    assertExactly(linesOf(q.body), acknowledged, 'the first server reads what the second wrote');

    await assert.rejects(startServerProcess({ args: ['--config', tlsConfig(false)] }), (err: Error) => {
      assert.match(err.message, /ClickHouse is unreachable: .*TLS: \w*CERTIFICATE_REQUIRED/, err.message);
      return true;
    });
    for (const srv of servers) assert.ok(!srv.output().includes(c.password), 'the ClickHouse password never appears in meshlog output');
  });

  assert.ok(!s.output().includes(c.password), 'the ClickHouse password never appears in meshlog output');
  t.diagnostic(`cluster suite took ${Date.now() - began} ms`);
});
