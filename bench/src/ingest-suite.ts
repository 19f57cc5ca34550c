/**
 * `npm run bench -- ingest [--records N] [--messages N] [--concurrency C]`
 *
 * Ingest throughput per protocol into a `meshlog server` child process
 * (a fresh data dir each, embedded store, durable acknowledgements):
 *
 * - Every other ingest protocol carrying the same records: the storage
 *   suite's seeded mesh dataset (Envoy/Istio access logs and app logs, ~580
 *   B per record), pre-encoded as each protocol's real senders shape them,
 *   sent by C concurrent clients; records/s, MiB/s (wire bytes) and server
 *   CPU until every request is acknowledged (durable):
 *   - OTLP/HTTP protobuf and JSON, OTLP/gRPC (unary Export calls);
 *   - Loki push JSON and protobuf+snappy, Elasticsearch _bulk, Splunk HEC,
 *     Datadog logs, Zipkin v2 JSON spans (http-protocols.ts);
 *   - Envoy ALS: C gRPC client streams of ~500-entry messages, acknowledged
 *     when each stream ends (envoy-als-encode.ts, grpc-send.ts);
 *   - Fluent forward: C TCP connections of PackedForward chunks, each
 *     acknowledged before the next (fluent-send.ts).
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
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLP_LOGS_SERVICE, ResourceCache, SyslogFramer, otlpType, parseSyslog, syslogRecord } from '@meshlog/components';
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
import { otlpTarget, postAll } from './http-post.js';
import { HTTP_PROTOCOLS } from './http-protocols.js';
import { grpcUnaryAll, grpcStreamAll } from './grpc-send.js';
import { ALS_PATH, alsIdentifier, alsMessages } from './envoy-als-encode.js';
import { ForwardChunker, forwardAll } from './fluent-send.js';
import { reencodePayloads, writeJsonPayloads, type PayloadEncoder } from './reencode.js';
import type { SendResult } from './send-all.js';

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

    log(`generating ${opts.records.toLocaleString()} records`);
    const protoPath = join(dir, 'payloads.bin');
    const ds = await writeDataset({ seed: opts.seed, count: opts.records, endMs: Date.now(), ndjsonPath: join(dir, 'dataset.ndjson'), payloadPath: protoPath });
    const jsonPath = join(dir, 'payloads.json.bin');
    const jsonBytes = await writeJsonPayloads(protoPath, jsonPath);
    log(`OTLP: ${ds.payloads} requests; ${(ds.protobufBytes / ds.records).toFixed(0)} B/record protobuf, ${(jsonBytes / ds.records).toFixed(0)} B/record JSON`);

    // One row per protocol: a fresh server, the same records, figures until the last acknowledgement.
    const rows: { key: string; label: string }[] = [];
    const measure = async (key: string, label: string, send: (server: BenchServer, port: number) => Promise<SendResult>, listener?: '--grpc-port' | '--forward-port'): Promise<void> => {
      const port = listener ? await freePort() : 0;
      const dataDir = join(dir, `data-${key}`);
      const server = await startBenchServer(dataDir, listener ? [listener, String(port)] : []);
      servers.push(server);
      const cpu0 = cpuSecondsOf(server.proc.pid);
      const r = await send(server, port);
      const cpu = cpuSecondsOf(server.proc.pid) - cpu0;
      // Every acknowledgement is in: the store must hold every record, none discarded on the way.
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
      const stored = metricValue(metrics, 'meshlog_component_sent_records_total', 'store');
      const discarded = metricTotal(metrics, 'meshlog_component_discarded_records_total');
      if (stored < ds.records || discarded > 0) throw new Error(`${label}: the store holds ${stored} of ${ds.records} records, ${discarded} discarded`);
      await server.stop();
      // Its files go now, not at the end: left on disk, they were still being written back while later
      // rows waited on their own fsyncs, which halved those rows (docs/ingest-benchmark.md).
      if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
      figures[`ingest.${key}_records_per_s`] = Math.round(ds.records / r.seconds);
      figures[`ingest.${key}_mib_per_s`] = round1(r.bytes / MiB / r.seconds);
      figures[`ingest.${key}_server_cpu_cores`] = round2(cpu / r.seconds);
      rows.push({ key, label });
      log(`${label}: ${ds.records} records in ${r.seconds.toFixed(2)} s, ${r.requests} requests of ${(r.bytes / r.requests / 1024).toFixed(0)} KiB (${r.retries} resent)`);
    };
    /** The records re-encoded for one protocol, in a framed file of their own. */
    const reencoded = async (key: string, encoder: PayloadEncoder): Promise<string> => {
      const path = join(dir, `payloads.${key}.bin`);
      await reencodePayloads(jsonPath, path, encoder);
      return path;
    };

    // ---- OTLP: HTTP (protobuf, JSON) and gRPC, the dataset's own requests
    await measure('otlp_http', 'OTLP/HTTP protobuf', (server) => postAll(server, protoPath, otlpTarget('application/x-protobuf'), opts.concurrency));
    await measure('otlp_json', 'OTLP/HTTP JSON', (server) => postAll(server, jsonPath, otlpTarget('application/json'), opts.concurrency));
    await measure(
      'otlp_grpc',
      'OTLP/gRPC',
      (server, port) => grpcUnaryAll({ address: `127.0.0.1:${port}`, token: server.token, method: `/${OTLP_LOGS_SERVICE}/Export` }, protoPath, opts.concurrency, otlpPartialSuccess),
      '--grpc-port',
    );

    // ---- The other HTTP protocols, same records re-encoded as their senders would
    for (const proto of HTTP_PROTOCOLS) {
      const path = await reencoded(proto.key, proto);
      await measure(proto.key, proto.label, (server) => postAll(server, path, proto.target, opts.concurrency));
    }

    // ---- Envoy ALS (gRPC client streams) and Fluent forward (TCP, chunk acks)
    const alsPath = await reencoded('envoy_als', { encode: alsMessages });
    await measure('envoy_als', 'Envoy ALS (gRPC streams)', (server, port) => grpcStreamAll({ address: `127.0.0.1:${port}`, token: server.token, method: ALS_PATH }, alsPath, opts.concurrency, alsIdentifier), '--grpc-port');
    const fluentPath = await reencoded('fluent', new ForwardChunker());
    await measure('fluent', 'Fluent forward (PackedForward, acks)', (_server, port) => forwardAll(port, fluentPath, opts.concurrency), '--forward-port');

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
      const sent = async (): Promise<number> => metricValue(await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text(), 'meshlog_component_sent_records_total', 'syslog');
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
    printTable(`ingest: ${ds.records.toLocaleString()} records per protocol, ${opts.messages.toLocaleString()} syslog messages`, [
      ...rows.map(
        (p) => [`${p.label} records/s`, figures[`ingest.${p.key}_records_per_s`]!, `${figures[`ingest.${p.key}_mib_per_s`]} MiB/s, ${figures[`ingest.${p.key}_server_cpu_cores`]} cores`] as [string, number, string],
      ),
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

/** What an OTLP/gRPC Export response that is OK still rejected (`partial_success`), or undefined. */
function otlpPartialSuccess(response: Buffer): string | undefined {
  const Response = otlpType('ExportLogsServiceResponse');
  const partial = (Response.decode(response) as { partialSuccess?: { rejectedLogRecords?: unknown; errorMessage?: string } }).partialSuccess;
  const rejected = Number(partial?.rejectedLogRecords ?? 0);
  return rejected > 0 ? `${rejected} rejected: ${partial?.errorMessage ?? ''}` : undefined;
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
  return metricTotal(text, name, (labels) => labels.includes(`component_id="${componentId}"`));
}

/** The sum of a Prometheus counter's series (those whose labels pass `which`). */
function metricTotal(text: string, name: string, which: (labels: string) => boolean = () => true): number {
  let v = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && which(line.slice(name.length, line.lastIndexOf(' ')))) v += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return v;
}

const round1 = (x: number): number => Number(x.toFixed(1));
const round2 = (x: number): number => Number(x.toFixed(2));
const round3 = (x: number): number => Number(x.toFixed(3));

function log(msg: string): void {
  process.stderr.write(`[ingest] ${msg}\n`);
}
