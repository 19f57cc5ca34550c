/**
 * The agent end to end: real files tailed by a real `meshlog agent` child
 * process, forwarded over HTTPS with mutual TLS (a throwaway PKI; the
 * agent's certificate carries a SPIFFE ID that the server's
 * certificate_rules make an ingester) to a real `meshlog server` child
 * process, and read back with LogQL.
 *
 * Covered: rename-and-create rotation, copytruncate and rotation faster
 * than the poll interval under continuous writes (every line exactly
 * once); the agent kill -9'ed several times mid-stream (every line at least
 * once, duplicates within the at-least-once window); the server stopped
 * 30 s under load (zero loss); a full disk buffer (the agent stops reading,
 * its RSS stays bounded, everything arrives once the server is back); a
 * corrupted buffer segment (damage counted and logged, every intact record
 * delivered).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { httpsRequest } from '../helpers/https-client.js';
import { caOf, findOpenssl, issueCertificate, makeTestPki, needOpenssl, type IssuedCertificate, type TestPki } from '../helpers/test-pki.js';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';

const openssl = findOpenssl();
const dir = tempDir('meshlog-agent-e2e-');
let pki: TestPki;
let agentCert: IssuedCertificate;
let server: ServerProcess;
let serverPort: number;
const serverDataDir = join(dir, 'server-data');
const serverConfig = join(dir, 'meshlog.yaml');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startServer(): Promise<ServerProcess> {
  return startServerProcess({ dataDir: serverDataDir, port: serverPort, args: ['--config', serverConfig], tls: { ca: pki.ca } });
}

before(async () => {
  if (!openssl) return;
  pki = makeTestPki(join(dir, 'pki'), openssl);
  agentCert = issueCertificate(join(dir, 'pki'), 'agent', { ca: caOf(pki), cn: 'meshlog-agent', san: 'URI:spiffe://cluster.local/ns/meshlog/sa/meshlog-agent', usage: 'clientAuth' }, openssl);
  writeFileSync(
    serverConfig,
    `server:
  tls:
    cert_file: ${pki.serverCert}
    key_file: ${pki.serverKey}
    client_ca_file: ${pki.ca}
    client_auth: optional
auth:
  certificate_rules:
    - spiffe_id: "spiffe://cluster.local/ns/meshlog/sa/meshlog-agent"
      tenant: default
      roles: [ingester]
limits:
  max_entries_limit: 200000
`,
  );
  serverPort = await freePort();
  server = await startServer();
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface AgentSetup {
  config: string;
  port: number;
  dataDir: string;
}

async function agentConfig(name: string, source: string, sink = ''): Promise<AgentSetup> {
  const port = await freePort();
  const dataDir = join(dir, name, 'agent-data');
  const config = join(dir, name, 'agent.yaml');
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(
    config,
    `agent:
  data_dir: ${dataDir}
  http: { port: ${port} }
sources:
  files:
    type: file
${source}
sinks:
  server:
    type: meshlog
    inputs: [files]
    endpoint: https://127.0.0.1:${serverPort}
    tls: { ca_file: ${pki.ca}, cert_file: ${agentCert.cert}, key_file: ${agentCert.key} }
    initial_backoff_ms: 100
    max_backoff_ms: 1000
${sink}`,
  );
  return { config, port, dataDir };
}

/** Every line containing `marker` the server holds, as a count per line. */
async function linesOnServer(marker: string): Promise<Map<string, number>> {
  const u = new URL(`${server.url}/loki/api/v1/query_range`);
  u.searchParams.set('query', `{service_name="unknown_service"} |= "${marker}"`);
  u.searchParams.set('since', '1h');
  u.searchParams.set('limit', '200000');
  const r = await httpsRequest(u.toString(), { tls: { ca: pki.ca }, headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(r.status, 200, r.text);
  const body = JSON.parse(r.text) as { data: { result: { values: [string, string][] }[] } };
  const counts = new Map<string, number>();
  for (const s of body.data.result) for (const [, line] of s.values) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** Waits until every expected line is on the server; returns the counts. */
async function waitForLines(marker: string, expected: string[], timeoutMs = 90_000): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let counts = new Map<string, number>();
  for (;;) {
    counts = await linesOnServer(marker);
    const missing = expected.filter((l) => !counts.has(l));
    if (missing.length === 0) return counts;
    if (Date.now() > deadline) assert.fail(`${missing.length} of ${expected.length} lines never arrived, e.g. ${missing.slice(0, 3).join(' | ')}`);
    await sleep(500);
  }
}

function assertExactlyOnce(counts: Map<string, number>, expected: string[]): void {
  const dupes = expected.filter((l) => (counts.get(l) ?? 0) > 1);
  assert.equal(dupes.length, 0, `duplicated: ${dupes.slice(0, 3).join(' | ')}`);
  assert.equal(counts.size, expected.length);
}

/** Writes `total` lines at a steady pace, calling `rotate(k)` after every `every` lines. */
async function writeLines(path: string, marker: string, total: number, every: number, rotate: (k: number) => void, perTick = 50): Promise<string[]> {
  const lines: string[] = [];
  let fd = openSync(path, 'a');
  for (let i = 0; i < total; i++) {
    const line = `${marker} line ${i} ${randomBytes(12).toString('hex')}`;
    lines.push(line);
    writeSync(fd, line + '\n');
    if ((i + 1) % every === 0) {
      closeSync(fd);
      rotate((i + 1) / every);
      fd = openSync(path, 'a');
    }
    if (i % perTick === 0) await sleep(5);
  }
  closeSync(fd);
  return lines;
}

test('rename-and-create rotation under continuous writes: every line exactly once', { timeout: 180_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'rename', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('rename', `    include: [${logs}/app.log*]\n    start_at: beginning\n    poll_interval_ms: 100\n    glob_interval_ms: 200\n    rotate_wait_ms: 1000`);
  const agent = await startAgentProcess(setup.config, setup.port);
  try {
    const marker = randomUUID();
    const lines = await writeLines(join(logs, 'app.log'), marker, 6000, 1000, (k) => renameSync(join(logs, 'app.log'), join(logs, `app.log.${k}`)));
    assertExactlyOnce(await waitForLines(marker, lines), lines);
  } finally {
    await agent.stop();
  }
});

test('a file deleted while the writer still appends to it is drained to its end: every line exactly once', { timeout: 180_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'deleted', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('deleted', `    include: [${logs}/app.log]\n    start_at: beginning\n    poll_interval_ms: 100\n    glob_interval_ms: 200\n    rotate_wait_ms: 1000`);
  const agent = await startAgentProcess(setup.config, setup.port);
  try {
    const marker = randomUUID();
    const path = join(logs, 'app.log');
    const fd = openSync(path, 'a');
    const lines: string[] = [];
    const write = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const line = `${marker} line ${lines.length} ${randomBytes(8).toString('hex')}`;
        lines.push(line);
        writeSync(fd, line + '\n');
      }
    };
    write(1000);
    await waitForLines(marker, [...lines]);
    // Deleted (as a cleanup job or a careless rotation does) while the writer keeps its descriptor: the agent keeps reading through its own.
    rmSync(path);
    for (let k = 0; k < 10; k++) {
      write(200);
      await sleep(50);
    }
    closeSync(fd);
    assertExactlyOnce(await waitForLines(marker, lines), lines);
  } finally {
    await agent.stop();
  }
});

test('gzip: true: a rotated file compressed after it was read is not read again; a compressed file never seen is read whole', { timeout: 180_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'gzip', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('gzip', `    include: [${logs}/app.log*]\n    gzip: true\n    start_at: beginning\n    poll_interval_ms: 100\n    glob_interval_ms: 200\n    rotate_wait_ms: 500`);
  const agent = await startAgentProcess(setup.config, setup.port);
  try {
    const marker = randomUUID();
    const make = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `${marker} line ${from + i} ${randomBytes(8).toString('hex')}`);
    const first = make(0, 1500);
    writeFileSync(join(logs, 'app.log'), first.join('\n') + '\n');
    await waitForLines(marker, first);
    // logrotate with compress: rename, a new file, then the rotated one gzip'd and removed.
    renameSync(join(logs, 'app.log'), join(logs, 'app.log.1'));
    const second = make(1500, 1500);
    writeFileSync(join(logs, 'app.log'), second.join('\n') + '\n');
    await sleep(1500);
    writeFileSync(join(logs, 'app.log.1.gz'), gzipSync(readFileSync(join(logs, 'app.log.1'))));
    rmSync(join(logs, 'app.log.1'));
    // An archive the agent never saw uncompressed.
    const third = make(3000, 1500);
    writeFileSync(join(logs, 'app.log.0.gz'), gzipSync(third.join('\n') + '\n'));
    const all = [...first, ...second, ...third];
    await waitForLines(marker, all);
    // A few more looks at the directory: nothing is read twice.
    await sleep(2000);
    assertExactlyOnce(await linesOnServer(marker), all);
  } finally {
    await agent.stop();
  }
});

test('copytruncate rotation under continuous writes: every line exactly once (the rest of the old content is read from the copy)', { timeout: 180_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'copytruncate', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('copytruncate', `    include: [${logs}/app.log]\n    start_at: beginning\n    poll_interval_ms: 100\n    glob_interval_ms: 200`);
  const agent = await startAgentProcess(setup.config, setup.port);
  try {
    const marker = randomUUID();
    const path = join(logs, 'app.log');
    // The agent must have found the file before the first rotation: a file copytruncated before any tailer saw it is, for every tailer, a copy it was never told to read.
    const warmup = [`${marker} warmup`];
    writeFileSync(path, warmup[0] + '\n');
    await waitForLines(marker, warmup);
    // A rotation every ~0.5 s (logrotate runs hourly or daily): continuous writes, but each generation is seen by the agent.
    const lines = await writeLines(path, marker, 6000, 1000, (k) => {
      // logrotate's copytruncate: copy, then truncate in place (the writer keeps its O_APPEND descriptor).
      copyFileSync(path, join(logs, `app.log.${k}`));
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, 0);
      closeSync(fd);
    }, 10);
    lines.push(...warmup);
    assertExactlyOnce(await waitForLines(marker, lines, 30_000), lines);
  } catch (err) {
    console.log(agent.output().split('\n').filter((l) => /truncat|copy/.test(l)).join('\n'));
    throw err;
  } finally {
    await agent.stop();
  }
});

test('rotation faster than the poll interval (globs include the rotated names): every line exactly once', { timeout: 180_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'rapid', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('rapid', `    include: [${logs}/app.log*]\n    start_at: beginning\n    poll_interval_ms: 3000\n    glob_interval_ms: 3000\n    rotate_wait_ms: 500`);
  const agent = await startAgentProcess(setup.config, setup.port);
  try {
    const marker = randomUUID();
    // A rotation every 40 lines, i.e. several per poll interval.
    const lines = await writeLines(join(logs, 'app.log'), marker, 4000, 40, (k) => renameSync(join(logs, 'app.log'), join(logs, `app.log.${k}`)), 20);
    assertExactlyOnce(await waitForLines(marker, lines), lines);
  } finally {
    await agent.stop();
  }
});

test('the agent kill -9ed three times mid-stream: every line arrives after each restart (duplicates only within the at-least-once window)', { timeout: 240_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'kill9', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('kill9', `    include: [${logs}/app.log*]\n    start_at: beginning\n    poll_interval_ms: 100\n    glob_interval_ms: 200\n    batch_max_records: 500`);
  let agent: AgentProcess = await startAgentProcess(setup.config, setup.port);
  const marker = randomUUID();
  let stop = false;
  const writing = writeLines(join(logs, 'app.log'), marker, 20_000, 5000, (k) => renameSync(join(logs, 'app.log'), join(logs, `app.log.${k}`)), 100).finally(() => (stop = true));
  try {
    for (let i = 0; i < 3 && !stop; i++) {
      await sleep(1200);
      await agent.kill9();
      agent = await startAgentProcess(setup.config, setup.port);
    }
    const lines = await writing;
    const counts = await waitForLines(marker, lines);
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    t.diagnostic(`${lines.length} lines, ${duplicated} delivered more than once across 3 kills`);
    // The window: per kill at most the batches in flight (500 lines each) plus the checkpoint write lag.
    assert.ok(duplicated <= 3 * 2000, `${duplicated} duplicates exceeds the at-least-once window`);
  } finally {
    await writing;
    await agent.stop();
  }
});

test('CRI pieces held when the agent is kill -9ed are joined after the restart: the long line arrives whole, never as a fragment', { timeout: 120_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'cri', 'logs');
  mkdirSync(logs, { recursive: true });
  const file = join(logs, 'pod.log');
  const marker = randomUUID();
  const first = `2024-05-01T10:00:00.000000001Z stdout F ${marker} first`;
  writeFileSync(file, `${first}\n`);
  const setup = await agentConfig('cri', `    include: [${logs}/*.log]\n    start_at: beginning\n    poll_interval_ms: 100\n    glob_interval_ms: 200\n    container_format: cri`);
  let agent = await startAgentProcess(setup.config, setup.port);
  try {
    await waitForLines(marker, [first]);
    // The first 16 KiB of a long line: acknowledged nowhere until its last piece comes.
    const head = `${marker}-${'a'.repeat(16 * 1024)}`;
    appendFileSync(file, `2024-05-01T10:00:01.000000001Z stdout P ${head}\n`);
    await sleep(1000);
    await agent.kill9();
    appendFileSync(file, `2024-05-01T10:00:01.000000002Z stdout F -end\n`);
    agent = await startAgentProcess(setup.config, setup.port);
    const whole = `2024-05-01T10:00:01.000000001Z stdout F ${head}-end`;
    const counts = await waitForLines(marker, [first, whole]);
    const fragments = [...counts.keys()].filter((l) => l !== first && l !== whole);
    assert.deepEqual(fragments, [], 'no piece arrived on its own');
    assert.equal(counts.get(whole), 1);
  } finally {
    await agent.stop();
  }
});

test('the server stopped for 30 s under load, then restarted: zero loss, the backlog drained from the disk buffer', { timeout: 240_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'outage', 'logs');
  mkdirSync(logs, { recursive: true });
  const setup = await agentConfig('outage', `    include: [${logs}/app.log]\n    start_at: beginning\n    poll_interval_ms: 100`);
  const agent = await startAgentProcess(setup.config, setup.port);
  const marker = randomUUID();
  const outageMs = Number(process.env['MESHLOG_TEST_OUTAGE_MS'] ?? 30_000);
  try {
    let done = false;
    const writing = (async (): Promise<string[]> => {
      const lines: string[] = [];
      const path = join(logs, 'app.log');
      for (let i = 0; !done; i++) {
        const batch = Array.from({ length: 100 }, (_, j) => `${marker} line ${i * 100 + j} ${randomBytes(16).toString('hex')}`);
        lines.push(...batch);
        appendFileSync(path, batch.join('\n') + '\n');
        await sleep(20);
      }
      return lines;
    })();
    await sleep(2000);
    await server.stop();
    await sleep(outageMs);
    const buffered = await agent.metric('meshlog_buffer_bytes');
    assert.ok(buffered > 0, 'the disk buffer held the backlog during the outage');
    server = await startServer();
    await sleep(2000);
    done = true;
    const lines = await writing;
    t.diagnostic(`${lines.length} lines written, ${buffered} bytes buffered during a ${outageMs / 1000} s outage`);
    assertExactlyOnce(await waitForLines(marker, lines, 120_000), lines);
  } finally {
    await agent.stop();
  }
});

test('a full disk buffer stops the agent reading (RSS bounded); everything arrives once the server is back', { timeout: 240_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'full', 'logs');
  mkdirSync(logs, { recursive: true });
  const marker = randomUUID();
  // ~40 MiB of poorly compressible lines: many times the 2 MiB buffer (fewer lines than the query limit of 200,000).
  const lines: string[] = [];
  const fd = openSync(join(logs, 'app.log'), 'w');
  for (let i = 0; i < 150_000; i++) {
    const line = `${marker} line ${i} ${randomBytes(160).toString('base64')}`;
    lines.push(line);
    if (lines.length % 10_000 === 0) writeSync(fd, lines.slice(-10_000).join('\n') + '\n');
  }
  closeSync(fd);
  const size = statSync(join(logs, 'app.log')).size;
  await server.stop();
  const setup = await agentConfig('full', `    include: [${logs}/app.log]\n    start_at: beginning`, '    disk_buffer: { max_bytes: 2097152, max_segment_bytes: 524288 }\n');
  const agent = await startAgentProcess(setup.config, setup.port);
  try {
    await sleep(5000);
    const sent1 = await agent.metric('meshlog_component_sent_records_total', 'component_id="files"');
    const bytes1 = await agent.metric('meshlog_buffer_bytes');
    await sleep(3000);
    const sent2 = await agent.metric('meshlog_component_sent_records_total', 'component_id="files"');
    const rss = agent.rssMiB();
    t.diagnostic(`file ${(size / 1048576).toFixed(1)} MiB; acknowledged ${sent2} lines; buffer ${bytes1} bytes; RSS ${rss.toFixed(0)} MiB`);
    assert.equal(sent2, sent1, 'reading stopped while the buffer is full');
    assert.ok(sent2 < lines.length / 4, `only a buffer's worth was read (${sent2})`);
    assert.ok(bytes1 <= 2 * 2097152, `buffer bounded (${bytes1})`);
    assert.ok(rss < 150, `RSS ${rss} MiB stays under 150 MiB`);
    server = await startServer();
    const counts = await waitForLines(marker, lines, 180_000);
    assertExactlyOnce(counts, lines);
  } finally {
    await agent.stop();
  }
});

test('a corrupted disk buffer segment: the damage is counted and logged, every intact record is delivered', { timeout: 180_000 }, async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const logs = join(dir, 'corrupt', 'logs');
  mkdirSync(logs, { recursive: true });
  const marker = randomUUID();
  const lines = Array.from({ length: 5000 }, (_, i) => `${marker} line ${i} ${randomBytes(20).toString('hex')}`);
  await server.stop();
  // Small requests: one damaged record then costs 100 lines, not all of them.
  const setup = await agentConfig('corrupt', `    include: [${logs}/app.log]\n    start_at: beginning\n    batch_max_records: 100`, '    request_max_records: 100\n');
  let agent = await startAgentProcess(setup.config, setup.port);
  let stopped = false;
  try {
    writeFileSync(join(logs, 'app.log'), lines.join('\n') + '\n');
    const deadline = Date.now() + 30_000;
    while ((await agent.metric('meshlog_component_sent_records_total', 'component_id="files"')) < lines.length) {
      assert.ok(Date.now() < deadline, 'the agent buffered every line');
      await sleep(200);
    }
    assert.equal(await agent.stop(), 0);
    stopped = true;
    const bufDir = join(setup.dataDir, 'buffers', 'server');
    const seg = readdirSync(bufDir).filter((f) => f.endsWith('.seg')).sort().map((f) => join(bufDir, f)).find((f) => statSync(f).size > 0)!;
    // Overwrite bytes in the middle of the segment, inside some record.
    const fdc = openSync(seg, 'r+');
    writeSync(fdc, Buffer.alloc(64, 0x5a), 0, 64, Math.floor(statSync(seg).size / 2));
    closeSync(fdc);
    server = await startServer();
    agent = await startAgentProcess(setup.config, setup.port);
    stopped = false;
    const deadline2 = Date.now() + 60_000;
    while ((await agent.metric('meshlog_buffer_bytes')) > 0 || (await agent.metric('meshlog_buffer_damage_events_total')) === 0) {
      assert.ok(Date.now() < deadline2, 'the buffer drained');
      await sleep(300);
    }
    await sleep(500);
    const counts = await linesOnServer(marker);
    const missing = lines.filter((l) => !counts.has(l));
    const damaged = await agent.metric('meshlog_buffer_damaged_bytes_total');
    t.diagnostic(`${missing.length} lines lost with the damaged record(s); ${damaged} bytes skipped`);
    assert.ok(damaged > 0);
    assert.match(agent.output(), /disk buffer damage/);
    assert.ok(missing.length > 0 && missing.length <= 200, `only the damaged record's lines are missing (${missing.length})`);
    // The missing lines are consecutive: one request's worth.
    const idx = missing.map((l) => lines.indexOf(l));
    assert.equal(idx[idx.length - 1]! - idx[0]! + 1, missing.length);
  } finally {
    if (!stopped) await agent.stop();
  }
});
