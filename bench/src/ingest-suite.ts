/**
 * `npm run bench -- ingest [--records N] [--messages N] [--concurrency C]`
 *
 * Ingest throughput per protocol into a `meshlog server` child process
 * (a fresh data dir each, embedded store, durable acknowledgements):
 *
 * - OTLP/HTTP protobuf and OTLP/HTTP JSON: the storage suite's seeded mesh
 *   dataset (Envoy/Istio access logs and app logs, ~580 B per record),
 *   pre-encoded, posted by C concurrent clients; records/s and request
 *   MiB/s (wire bytes) until every request is acknowledged.
 * - Syslog over TCP: one connection, N messages of 300 bytes from `loggen`
 *   (syslog-ng's generator; a Node sender when it is missing); records/s
 *   and MiB/s until the server's syslog source reports all N handed to the
 *   pipeline and durable (`meshlog_component_sent_records_total`).
 *
 * The same syslog stream, from the same sender, is received side by side
 * by rsyslog (imtcp -> omfile) and syslog-ng (network() -> file()) on this
 * machine, each in its own temp dir, timed until all N lines are in the
 * file. The ratio compares unlike guarantees on purpose: Meshlog counts a
 * record once it is fsynced in its write-ahead log; the peers write to a
 * file without fsync (page cache). Each measurement is a fixed count with a
 * deadline, and every process started here is stopped at the end.
 */
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceCache, SyslogFramer, otlpType, parseSyslog, syslogRecord } from '@meshlog/components';
import { writeDataset } from './dataset.js';
import { freePort, startBenchServer, type BenchServer } from './server-child.js';
import { printTable, type Figures } from './results.js';
import {
  LineCounter,
  cpuSecondsOf,
  findRsyslog,
  startRsyslogReceiver,
  startSyslogNgReceiver,
  syslogNgVersion,
  waitForPort,
  which,
  type Child,
} from './syslog-peers.js';

export interface IngestOptions {
  records: number;
  messages: number;
  concurrency: number;
  seed: number;
  keep: boolean;
}

const MESSAGE_BYTES = 300;
const MiB = 2 ** 20;

export async function ingestSuite(opts: IngestOptions): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-bench-ingest-'));
  const children: Child[] = [];
  const servers: BenchServer[] = [];
  try {
    const figures: Figures = {};
    const notes: [string, string | number, string?][] = [];

    // ---- OTLP/HTTP, protobuf and JSON
    log(`generating ${opts.records.toLocaleString()} records`);
    const protoPath = join(dir, 'payloads.bin');
    const ds = await writeDataset({ seed: opts.seed, count: opts.records, endMs: Date.now(), ndjsonPath: join(dir, 'dataset.ndjson'), payloadPath: protoPath });
    const jsonPath = join(dir, 'payloads.json.bin');
    const jsonBytes = await writeJsonPayloads(protoPath, jsonPath);
    log(`OTLP: ${ds.payloads} requests; ${(ds.protobufBytes / ds.records).toFixed(0)} B/record protobuf, ${(jsonBytes / ds.records).toFixed(0)} B/record JSON`);

    for (const [encoding, path, contentType] of [
      ['protobuf', protoPath, 'application/x-protobuf'],
      ['json', jsonPath, 'application/json'],
    ] as const) {
      const server = await startBenchServer(join(dir, `data-otlp-${encoding}`));
      servers.push(server);
      const cpu0 = cpuSecondsOf(server.proc.pid);
      const r = await postAll(server, path, contentType, opts.concurrency);
      const cpu = cpuSecondsOf(server.proc.pid) - cpu0;
      await server.stop();
      const key = encoding === 'protobuf' ? 'otlp_http' : 'otlp_json';
      figures[`ingest.${key}_records_per_s`] = Math.round(ds.records / r.seconds);
      figures[`ingest.${key}_mib_per_s`] = round1(r.bytes / MiB / r.seconds);
      figures[`ingest.${key}_server_cpu_cores`] = round2(cpu / r.seconds);
      log(`OTLP/HTTP ${encoding}: ${ds.records} records in ${r.seconds.toFixed(2)} s (${r.retries} retried requests)`);
    }

    // ---- Syslog over TCP: meshlog, rsyslog, syslog-ng, one sender
    const loggen = which('loggen');
    const sender = loggen ? `loggen (syslog-ng), ${MESSAGE_BYTES}-byte messages, one TCP connection` : `Node sender in the bench process (loggen missing), ${MESSAGE_BYTES}-byte messages, one TCP connection`;
    figures['ingest.syslog_sender'] = loggen ? 'loggen' : 'node';
    log(`syslog sender: ${sender}`);
    const send = (port: number): Promise<void> => (loggen ? runLoggen(loggen, port, opts.messages) : nodeSender(port, opts.messages));
    const deadlineMs = Math.max(120_000, (opts.messages / 2_000) * 1000);

    {
      const port = await freePort();
      const server = await startBenchServer(join(dir, 'data-syslog'), ['--syslog-port', String(port)]);
      servers.push(server);
      await waitForPort(port, undefined, 'meshlog syslog');
      // Records the syslog source handed to the pipeline and got acknowledged (durable).
      const sent = async (): Promise<number> => metricValue(await (await fetch(`${server.url}/metrics`)).text(), 'meshlog_component_sent_records_total', 'syslog');
      const r = await timeReceive('meshlog', server.proc.pid, send(port), sent, opts.messages, deadlineMs);
      await server.stop();
      figures['ingest.syslog_tcp_records_per_s'] = Math.round(opts.messages / r.seconds);
      figures['ingest.syslog_tcp_mib_per_s'] = round1((opts.messages * MESSAGE_BYTES) / MiB / r.seconds);
      figures['ingest.syslog_tcp_server_cpu_cores'] = round2(r.cpuSeconds / r.seconds);
    }

    const rsyslog = findRsyslog();
    if (typeof rsyslog === 'string') {
      notes.push(['rsyslog', 'skipped', rsyslog]);
      log(`rsyslog skipped: ${rsyslog}`);
    } else {
      const peerDir = join(dir, 'rsyslog');
      mkdirSync(peerDir);
      const port = await freePort();
      const out = join(peerDir, 'out.log');
      const child = startRsyslogReceiver(rsyslog, peerDir, port, out);
      children.push(child);
      await waitForPort(port, child, 'rsyslog');
      const counter = new LineCounter(out);
      const r = await timeReceive('rsyslog', child.proc.pid, send(port), async () => counter.count(), opts.messages, deadlineMs);
      await child.stop();
      figures['peer.rsyslog_tcp_records_per_s'] = Math.round(opts.messages / r.seconds);
      figures['peer.rsyslog_tcp_cpu_cores'] = round2(r.cpuSeconds / r.seconds);
    }

    const ng = which('syslog-ng');
    const ngVersion = ng ? syslogNgVersion(ng) : undefined;
    if (!ng || !ngVersion) {
      notes.push(['syslog-ng', 'skipped', 'syslog-ng not installed (apt-get install syslog-ng-core)']);
      log('syslog-ng skipped: not installed (apt-get install syslog-ng-core)');
    } else {
      const peerDir = join(dir, 'syslog-ng');
      mkdirSync(peerDir);
      const port = await freePort();
      const out = join(peerDir, 'out.log');
      const child = startSyslogNgReceiver(ng, ngVersion, peerDir, port, out);
      children.push(child);
      await waitForPort(port, child, 'syslog-ng');
      const counter = new LineCounter(out);
      const r = await timeReceive('syslog-ng', child.proc.pid, send(port), async () => counter.count(), opts.messages, deadlineMs);
      await child.stop();
      figures['peer.syslog_ng_tcp_records_per_s'] = Math.round(opts.messages / r.seconds);
      figures['peer.syslog_ng_tcp_cpu_cores'] = round2(r.cpuSeconds / r.seconds);
    }

    // Ceilings on this machine, same stream: a bare Node `net` server counting lines, and
    // the syslog source's own decoding (framing, parsing, mapping to records) on one core.
    {
      const r = await nodeLineCounter(send, opts.messages, deadlineMs);
      figures['peer.node_net_line_count_records_per_s'] = Math.round(opts.messages / r.seconds);
      figures['peer.node_net_line_count_cpu_cores'] = round2(r.cpuSeconds / r.seconds);
      figures['ingest.syslog_decode_records_per_s'] = Math.round(decodeCeiling(Math.min(opts.messages, 500_000)));
    }

    const ours = figures['ingest.syslog_tcp_records_per_s'] as number;
    if (typeof figures['peer.rsyslog_tcp_records_per_s'] === 'number') figures['ratio.syslog_vs_rsyslog'] = round3(ours / figures['peer.rsyslog_tcp_records_per_s']);
    if (typeof figures['peer.syslog_ng_tcp_records_per_s'] === 'number') figures['ratio.syslog_vs_syslog_ng'] = round3(ours / figures['peer.syslog_ng_tcp_records_per_s']);
    figures['ingest.syslog_messages'] = opts.messages;
    figures['ingest.otlp_records'] = ds.records;

    const durable = 'meshlog: acknowledged at WAL fsync; peers: file, no fsync';
    printTable(`ingest: ${ds.records.toLocaleString()} OTLP records per encoding, ${opts.messages.toLocaleString()} syslog messages`, [
      ['OTLP/HTTP protobuf records/s', figures['ingest.otlp_http_records_per_s']!, `${figures['ingest.otlp_http_mib_per_s']} MiB/s, ${figures['ingest.otlp_http_server_cpu_cores']} cores`],
      ['OTLP/HTTP JSON records/s', figures['ingest.otlp_json_records_per_s']!, `${figures['ingest.otlp_json_mib_per_s']} MiB/s, ${figures['ingest.otlp_json_server_cpu_cores']} cores`],
      ['syslog TCP records/s (meshlog)', ours, `${figures['ingest.syslog_tcp_mib_per_s']} MiB/s, ${figures['ingest.syslog_tcp_server_cpu_cores']} cores`],
      ...(figures['peer.rsyslog_tcp_records_per_s'] !== undefined
        ? ([['rsyslog imtcp -> omfile records/s (peer)', figures['peer.rsyslog_tcp_records_per_s'], `${figures['peer.rsyslog_tcp_cpu_cores']} cores`]] as [string, number, string][])
        : []),
      ...(figures['peer.syslog_ng_tcp_records_per_s'] !== undefined
        ? ([['syslog-ng network -> file records/s (peer)', figures['peer.syslog_ng_tcp_records_per_s'], `${figures['peer.syslog_ng_tcp_cpu_cores']} cores`]] as [string, number, string][])
        : []),
      ['bare Node net server counting lines (ceiling)', figures['peer.node_net_line_count_records_per_s']!, `${figures['peer.node_net_line_count_cpu_cores']} cores`],
      ['syslog decode only, one core (ceiling)', figures['ingest.syslog_decode_records_per_s']!, 'framing + RFC 3164/5424 parse + mapping, no I/O'],
      ...(figures['ratio.syslog_vs_rsyslog'] !== undefined ? ([['ratio meshlog / rsyslog', figures['ratio.syslog_vs_rsyslog'], durable]] as [string, number, string][]) : []),
      ...(figures['ratio.syslog_vs_syslog_ng'] !== undefined ? ([['ratio meshlog / syslog-ng', figures['ratio.syslog_vs_syslog_ng'], durable]] as [string, number, string][]) : []),
      ...notes,
    ]);
    process.stdout.write(`syslog sender: ${sender}\n`);
    return figures;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

/** Posts every framed payload of a file with `concurrency` clients; retries 429/503 as exporters do. */
async function postAll(server: BenchServer, path: string, contentType: string, concurrency: number): Promise<{ seconds: number; bytes: number; retries: number }> {
  const fd = openSync(path, 'r');
  let offset = 0;
  const next = (): Buffer | undefined => {
    const header = Buffer.alloc(4);
    if (readSync(fd, header, 0, 4, offset) < 4) return undefined;
    const len = header.readUInt32LE();
    const body = Buffer.alloc(len);
    readSync(fd, body, 0, len, offset + 4);
    offset += 4 + len;
    return body;
  };
  let bytes = 0;
  let retries = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let body = next(); body; body = next()) {
          for (;;) {
            const r = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${server.token}` }, body });
            const text = await r.text();
            if (r.ok) {
              if (text.includes('rejected')) throw new Error(`ingest rejected records: ${text.slice(0, 300)}`);
              break;
            }
            if (r.status !== 429 && r.status !== 503) throw new Error(`ingest failed: ${r.status} ${text.slice(0, 300)}`);
            retries++;
            await new Promise((res) => setTimeout(res, 200));
          }
          bytes += body.length;
        }
      }),
    );
  } finally {
    closeSync(fd);
  }
  return { seconds: (performance.now() - started) / 1000, bytes, retries };
}

/** Re-encodes the protobuf payloads as OTLP/JSON (hex ids, decimal string int64), framed the same way. */
async function writeJsonPayloads(protoPath: string, jsonPath: string): Promise<number> {
  const Request = otlpType('ExportLogsServiceRequest');
  const fd = openSync(protoPath, 'r');
  const out = createWriteStream(jsonPath);
  let offset = 0;
  let total = 0;
  try {
    for (;;) {
      const header = Buffer.alloc(4);
      if (readSync(fd, header, 0, 4, offset) < 4) break;
      const len = header.readUInt32LE();
      const body = Buffer.alloc(len);
      readSync(fd, body, 0, len, offset + 4);
      offset += 4 + len;
      const obj = Request.toObject(Request.decode(body), { longs: String, bytes: String, enums: Number, defaults: false }) as {
        resourceLogs?: { scopeLogs?: { logRecords?: { traceId?: string; spanId?: string }[] }[] }[];
      };
      for (const rl of obj.resourceLogs ?? [])
        for (const sl of rl.scopeLogs ?? [])
          for (const lr of sl.logRecords ?? []) {
            // protobufjs gives bytes as base64; OTLP/JSON wants hex.
            if (lr.traceId) lr.traceId = Buffer.from(lr.traceId, 'base64').toString('hex');
            if (lr.spanId) lr.spanId = Buffer.from(lr.spanId, 'base64').toString('hex');
          }
      const json = Buffer.from(JSON.stringify(obj));
      const h = Buffer.alloc(4);
      h.writeUInt32LE(json.length);
      if (!out.write(h)) await once(out, 'drain');
      if (!out.write(json)) await once(out, 'drain');
      total += json.length;
    }
  } finally {
    closeSync(fd);
    out.end();
    await once(out, 'finish');
  }
  return total;
}

/** Starts the sender and waits until `received()` reaches `n` (deadline: an error naming the receiver). */
async function timeReceive(
  what: string,
  pid: number | undefined,
  sending: Promise<void>,
  received: () => Promise<number>,
  n: number,
  deadlineMs: number,
): Promise<{ seconds: number; cpuSeconds: number }> {
  const cpu0 = cpuSecondsOf(pid);
  const started = performance.now();
  let senderError: unknown;
  sending.catch((err: unknown) => (senderError = err));
  for (;;) {
    const got = await received();
    if (got >= n) break;
    if (senderError) throw new Error(`syslog sender failed against ${what}: ${(senderError as Error).message}`);
    if (performance.now() - started > deadlineMs) throw new Error(`${what} received ${got} of ${n} messages within ${deadlineMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsOf(pid) - cpu0;
  await sending.catch(() => undefined);
  log(`${what}: ${n.toLocaleString()} messages in ${seconds.toFixed(2)} s, ${cpuSeconds.toFixed(2)} CPU s`);
  return { seconds, cpuSeconds };
}

/** The same stream into a Node `net` server in this process that only counts LFs. */
async function nodeLineCounter(send: (port: number) => Promise<void>, n: number, deadlineMs: number): Promise<{ seconds: number; cpuSeconds: number }> {
  let lines = 0;
  const server = createServer((s) =>
    s.on('data', (d: Buffer) => {
      for (let i = d.indexOf(0x0a); i >= 0; i = d.indexOf(0x0a, i + 1)) lines++;
    }),
  );
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as { port: number }).port;
  const cpu0 = process.cpuUsage();
  try {
    const r = await timeReceive('node net line counter', undefined, send(port), async () => lines, n, deadlineMs);
    const cpu = process.cpuUsage(cpu0);
    return { seconds: r.seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    server.close();
  }
}

/** Records/s of framing + parsing + mapping loggen-shaped messages, in this process, no I/O. */
function decodeCeiling(n: number): number {
  const stamp = new Date().toISOString().slice(0, 19);
  const chunks: Buffer[] = [];
  let batch: string[] = [];
  for (let i = 0; i < n; i++) {
    const head = `<38>${stamp} localhost prg00000[1234]: seq: ${String(i).padStart(10, '0')}, thread: 0000, runid: 1, stamp: ${stamp} `;
    batch.push(head.padEnd(MESSAGE_BYTES - 1, 'PADD') + '\n');
    if (batch.length === 218 || i === n - 1) {
      chunks.push(Buffer.from(batch.join('')));
      batch = [];
    }
  }
  const framer = new SyslogFramer(64 * 1024);
  const cache = new ResourceCache();
  const arrival = { peerAddress: '127.0.0.1', transport: 'tcp' as const };
  let records = 0;
  const started = performance.now();
  for (const chunk of chunks) {
    const now = Date.now();
    const observed = BigInt(now) * 1_000_000n;
    framer.push(chunk, (frame) => {
      const p = parseSyslog(frame.toString('utf8'), now);
      if (p.ok && syslogRecord(p.message, observed, arrival, cache)) records++;
    });
  }
  const seconds = (performance.now() - started) / 1000;
  if (records !== n) throw new Error(`decode ceiling: ${records} of ${n} messages parsed`);
  log(`decode only: ${n.toLocaleString()} messages in ${seconds.toFixed(2)} s`);
  return n / seconds;
}

function runLoggen(loggen: string, port: number, n: number): Promise<void> {
  // --rate is per second: high enough to never throttle; --interval only bounds the run, --number ends it.
  const p = spawn(loggen, ['--inet', '--stream', '--size', String(MESSAGE_BYTES), '--rate', '100000000', '--interval', '3600', '--number', String(n), '--quiet', '127.0.0.1', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) =>
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`loggen exited with ${code}: ${err}`)))),
  );
}

/** loggen's message shape from Node: RFC 3164 with an ISO timestamp, padded to MESSAGE_BYTES with its LF. */
async function nodeSender(port: number, n: number): Promise<void> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  const stamp = new Date().toISOString().slice(0, 19);
  const chunk: string[] = [];
  for (let i = 0; i < n; i++) {
    const head = `<38>${stamp} localhost prg00000[1234]: seq: ${String(i).padStart(10, '0')}, thread: 0000, runid: 1, stamp: ${stamp} `;
    chunk.push(head.padEnd(MESSAGE_BYTES - 1, 'PADD') + '\n');
    if (chunk.length === 1000 || i === n - 1) {
      if (!s.write(chunk.join(''))) await once(s, 'drain');
      chunk.length = 0;
    }
  }
  s.end();
  await once(s, 'close');
}

function metricValue(text: string, name: string, componentId: string): number {
  let v = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(`component_id="${componentId}"`)) v += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return v;
}

const round1 = (x: number): number => Number(x.toFixed(1));
const round2 = (x: number): number => Number(x.toFixed(2));
const round3 = (x: number): number => Number(x.toFixed(3));

function log(msg: string): void {
  process.stderr.write(`[ingest] ${msg}\n`);
}
