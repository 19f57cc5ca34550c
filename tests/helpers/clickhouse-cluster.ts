/**
 * A real ClickHouse cluster for integration tests, built from Debian's
 * packages: one ZooKeeper (`zookeeper`, run straight from its jar) and three
 * `clickhouse-server` 18.16 processes, each with a generated config in a temp
 * dir. Topology (cluster `meshlog_test`):
 *
 *   shard 1: ch1 (replica r1), ch2 (replica r2)   internal_replication
 *   shard 2: ch3 (replica r1)
 *
 * With `tls`, each server also has an HTTPS port that demands a client
 * certificate from a throwaway CA (openssl), as 18.16's `https_port` with
 * `verificationMode` strict.
 *
 * Invariants: everything binds to 127.0.0.1 on free ports; nothing is read
 * from or written to /etc or /var; every child is killed by `stop()`, which
 * is safe to call twice and before a failed start finished. A server can be
 * stopped and started again on the same ports and data (`stopServer` /
 * `startServer`) to test shard failures. "Started" means ready for DDL and
 * inserts, not only answering: ClickHouse starts only once ZooKeeper serves
 * sessions, and `startServer` returns once no replica is read-only.
 * `MESHLOG_KEEP_CLUSTER=1` keeps the temp dir (configs, server logs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from './server-process.js';
import { makeTestPki, type TestPki } from './test-pki.js';

export const CLUSTER_NAME = 'meshlog_test';
/** The user meshlog connects as; the password goes to a file, never into a command line. */
export const CLUSTER_USER = 'meshlog';

export interface ClickHouseNode {
  name: string;
  shard: number;
  replica: string;
  httpPort: number;
  tcpPort: number;
  interserverPort: number;
  dir: string;
  /** The HTTP URL meshlog and tests talk to. */
  url: string;
  /** With `tls`: the HTTPS URL, which demands a client certificate signed by the test CA. */
  httpsUrl: string | undefined;
  proc: ChildProcess | undefined;
}

/** PEM files of a throwaway PKI: a CA, the servers' certificate (IP 127.0.0.1), a client certificate. */
export interface ClickHouseCluster {
  name: string;
  nodes: ClickHouseNode[];
  user: string;
  password: string;
  zookeeperPort: number;
  dir: string;
  /** With `tls`: the PKI whose CA the HTTPS ports trust and whose client certificate they accept. */
  pki: TestPki | undefined;
  /** Runs SQL on one node over HTTP as the meshlog user; returns the response text. */
  sql(node: ClickHouseNode, query: string): Promise<string>;
  stopServer(node: ClickHouseNode, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts a stopped server and resolves once it answers, has ZooKeeper and no read-only replica. */
  startServer(node: ClickHouseNode): Promise<void>;
  /** Server log tails, for assertion messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface ClusterTools {
  clickhouse: string[];
  java: string;
  zookeeperClasspath: string;
  /** For the optional TLS setup; undefined when openssl is missing. */
  openssl: string | undefined;
}

/**
 * Finds the binaries, or returns the reason they are missing.
 * Debian ships `/usr/sbin/clickhouse-server`; newer packages have
 * `clickhouse server`. ZooKeeper is `/usr/share/java/zookeeper.jar`, whose
 * manifest Class-Path pulls in its dependencies.
 */
export function findClusterTools(): ClusterTools | string {
  const path = (process.env['PATH'] ?? '').split(':').filter(Boolean);
  const dirs = [...path, '/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];
  const exe = (name: string): string | undefined =>
    dirs
      .map((d) => join(d, name))
      .find((p) => {
        try {
          accessSync(p, constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
  const chServer = exe('clickhouse-server');
  const chMulti = exe('clickhouse');
  const clickhouse = chServer ? [chServer] : chMulti ? [chMulti, 'server'] : undefined;
  const java = exe('java');
  const zkJar = ['/usr/share/java/zookeeper.jar', '/usr/share/zookeeper/zookeeper.jar'].find((p) => existsSync(p));
  const missing: string[] = [];
  if (!clickhouse) missing.push('clickhouse-server (apt-get install clickhouse-server)');
  if (!java || !zkJar) missing.push('zookeeper (apt-get install zookeeper)');
  if (missing.length > 0 || !clickhouse || !java || !zkJar) return `missing ${missing.join(' and ')}`;
  return { clickhouse, java, zookeeperClasspath: zkJar, openssl: exe('openssl') };
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function clickhouseConfig(node: ClickHouseNode, nodes: ClickHouseNode[], zkPort: number, password: string, pki: TestPki | undefined): string {
  const shards = [...new Set(nodes.map((n) => n.shard))].sort();
  const remote = shards
    .map(
      (s) => `      <shard>
        <internal_replication>true</internal_replication>
${nodes
  .filter((n) => n.shard === s)
  .map((n) => `        <replica><host>127.0.0.1</host><port>${n.tcpPort}</port><user>${CLUSTER_USER}</user><password>${xmlEscape(password)}</password></replica>`)
  .join('\n')}
      </shard>`,
    )
    .join('\n');
  const d = node.dir;
  // strict: the HTTPS port refuses a client without a certificate from the test CA (mutual TLS).
  const https = pki
    ? `
  <https_port>${new URL(node.httpsUrl!).port}</https_port>
  <openSSL>
    <server>
      <certificateFile>${pki.serverCert}</certificateFile>
      <privateKeyFile>${pki.serverKey}</privateKeyFile>
      <caConfig>${pki.ca}</caConfig>
      <verificationMode>strict</verificationMode>
      <loadDefaultCAFile>false</loadDefaultCAFile>
      <cacheSessions>true</cacheSessions>
      <disableProtocols>sslv2,sslv3</disableProtocols>
      <preferServerCiphers>true</preferServerCiphers>
    </server>
  </openSSL>`
    : '';
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${d}/log/server.log</log>
    <errorlog>${d}/log/server.err.log</errorlog>
    <size>50M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${node.httpPort}</http_port>${https}
  <tcp_port>${node.tcpPort}</tcp_port>
  <interserver_http_port>${node.interserverPort}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>512</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>${d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <${CLUSTER_NAME}>
${remote}
    </${CLUSTER_NAME}>
  </remote_servers>
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zkPort}</port></node>
    <!-- Short, so a SIGKILLed replica's ephemeral is_active node expires soon after it restarts. -->
    <session_timeout_ms>4000</session_timeout_ms>
  </zookeeper>
  <macros>
    <shard>${String(node.shard).padStart(2, '0')}</shard>
    <replica>${node.replica}</replica>
  </macros>
  <distributed_ddl>
    <path>/clickhouse/task_queue/ddl</path>
  </distributed_ddl>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
`;
}

function usersConfig(password: string): string {
  // `default` keeps no password but only answers loopback; meshlog has one.
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>in_order</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <${CLUSTER_USER}>
      <password>${xmlEscape(password)}</password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </${CLUSTER_USER}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * True once ZooKeeper serves sessions. `ruok` answers `imok` as soon as the
 * port listens, before sessions are served; ClickHouse 18.16 started in that
 * window gets its handshake cut, and its DDL worker never recovers (once it
 * even segfaulted). `srvr` reports `Mode:` only when serving.
 */
function zkServing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let data = '';
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('connect', () => s.write('srvr'));
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(/^Mode: (standalone|leader|follower)$/m.test(data)));
  });
}

function killAndWait(proc: ChildProcess | undefined, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill(signal);
  });
}

export async function startClickHouseCluster(tools: ClusterTools, opts: { tls?: boolean } = {}): Promise<ClickHouseCluster> {
  const dir = tempDir('meshlog-chcluster-');
  if (opts.tls && !tools.openssl) throw new Error('TLS needs openssl (apt-get install openssl)');
  const pki = opts.tls ? makeTestPki(join(dir, 'pki'), tools.openssl!) : undefined;
  const password = `pw-${Math.random().toString(36).slice(2)}'"<&>`;
  const outputs = new Map<string, string>();
  const append = (name: string, d: Buffer): void => {
    const prev = outputs.get(name) ?? '';
    outputs.set(name, (prev + d.toString()).slice(-8000));
  };
  const children = new Set<ChildProcess>();
  const spawnChild = (name: string, cmd: string, args: string[], cwd: string): ChildProcess => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
    p.stdout!.on('data', (d: Buffer) => append(name, d));
    p.stderr!.on('data', (d: Buffer) => append(name, d));
    p.on('error', (err) => append(name, Buffer.from(`spawn error: ${err.message}\n`)));
    children.add(p);
    p.once('exit', () => children.delete(p));
    return p;
  };
  const logs = (): string => [...outputs.entries()].map(([k, v]) => `--- ${k}\n${v.slice(-3000)}`).join('\n');

  // ZooKeeper, standalone, from its jar.
  const zkPort = await freePort();
  const zkDir = join(dir, 'zookeeper');
  mkdirSync(join(zkDir, 'data'), { recursive: true });
  writeFileSync(
    join(zkDir, 'zoo.cfg'),
    [
      'tickTime=500',
      `dataDir=${zkDir}/data`,
      `clientPort=${zkPort}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr',
      'maxClientCnxns=0',
      'minSessionTimeout=1000',
      '',
    ].join('\n'),
  );
  const zk = spawnChild(
    'zookeeper',
    tools.java,
    ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-Dzookeeper.jmx.log4j.disable=true', '-cp', tools.zookeeperClasspath, 'org.apache.zookeeper.server.ZooKeeperServerMain', join(zkDir, 'zoo.cfg')],
    zkDir,
  );

  const nodes: ClickHouseNode[] = [];
  const layout: [string, number, string][] = [
    ['ch1', 1, 'r1'],
    ['ch2', 1, 'r2'],
    ['ch3', 2, 'r1'],
  ];
  for (const [name, shard, replica] of layout) {
    const httpPort = await freePort();
    nodes.push({
      name,
      shard,
      replica,
      httpPort,
      tcpPort: await freePort(),
      interserverPort: await freePort(),
      dir: join(dir, name),
      url: `http://127.0.0.1:${httpPort}`,
      httpsUrl: pki ? `https://127.0.0.1:${await freePort()}` : undefined,
      proc: undefined,
    });
  }

  // HTTP basic auth: 18.16 predates the X-ClickHouse-User/Key headers.
  const authHeaders = { authorization: `Basic ${Buffer.from(`${CLUSTER_USER}:${password}`).toString('base64')}` };
  const sql = async (node: ClickHouseNode, query: string): Promise<string> => {
    const r = await fetch(`${node.url}/`, { method: 'POST', body: query, headers: authHeaders, signal: AbortSignal.timeout(30_000) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${node.name}: HTTP ${r.status}: ${text}`);
    return text;
  };

  const startServer = async (node: ClickHouseNode): Promise<void> => {
    if (node.proc && node.proc.exitCode === null && node.proc.signalCode === null) return;
    node.proc = spawnChild(node.name, tools.clickhouse[0]!, [...tools.clickhouse.slice(1), `--config-file=${join(node.dir, 'config.xml')}`], node.dir);
    const proc = node.proc;
    await waitFor(
      node.name,
      async () => {
        if (proc.exitCode !== null) throw new Error(`${node.name} exited with ${proc.exitCode}`);
        if ((await sql(node, 'SELECT 1')).trim() !== '1') return false;
        // Its ZooKeeper session works...
        await sql(node, "SELECT count() FROM system.zookeeper WHERE path = '/'");
        // ...and every replicated table is writable again: after a SIGKILL
        // the old session's is_active node keeps a replica read-only until
        // that session expires.
        return (await sql(node, 'SELECT count() FROM system.replicas WHERE is_readonly')).trim() === '0';
      },
      60_000,
      () => `${logs()}\n(server log: ${node.dir}/log/server.err.log)`,
    );
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...children].map((c) => killAndWait(c, 'SIGKILL')));
    if (process.env['MESHLOG_KEEP_CLUSTER'] === undefined) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor('zookeeper', () => zkServing(zkPort), 60_000, logs);
    for (const node of nodes) {
      mkdirSync(join(node.dir, 'log'), { recursive: true });
      mkdirSync(join(node.dir, 'data'), { recursive: true });
      writeFileSync(join(node.dir, 'config.xml'), clickhouseConfig(node, nodes, zkPort, password, pki));
      writeFileSync(join(node.dir, 'users.xml'), usersConfig(password));
    }
    await Promise.all(nodes.map((n) => startServer(n)));
  } catch (err) {
    await stop();
    throw err;
  }
  void zk;

  return {
    name: CLUSTER_NAME,
    nodes,
    user: CLUSTER_USER,
    password,
    zookeeperPort: zkPort,
    dir,
    pki,
    sql,
    startServer,
    stopServer: async (node, signal = 'SIGKILL') => {
      await killAndWait(node.proc, signal);
      node.proc = undefined;
    },
    logs,
    stop,
  };
}
