/**
 * `npm run bench -- agent`: one file tailed and shipped. The file (Envoy
 * access-log-like lines, ~180 B) is written first, then each shipper reads
 * it from the start and sends it over loopback, timed from its start until
 * the receiver has every line:
 *
 * - meshlog agent: `file` source -> `meshlog` sink (disk buffer, OTLP/HTTP
 *   protobuf + gzip) into (1) an acknowledging receiver in this process that
 *   does what the peers' receiver does (gunzip, count the log records in the
 *   protobuf, answer 200; nothing stored): agent.file_mib_per_s,
 *   agent.rss_mib; and (2) a local `meshlog server` that stores every record,
 *   until the server acknowledged them all: agent.to_server_mib_per_s,
 *   agent.to_server_rss_mib. RSS sampled from /proc every 50 ms.
 * - rsyslog imfile -> omfwd (TCP) and syslog-ng file() -> network() (TCP)
 *   into a line-counting Node receiver: peer.rsyslog_file_mib_per_s,
 *   peer.syslog_ng_file_mib_per_s; ratio.agent_vs_* compare them with (1).
 *
 * `--parts` picks runs (receiver,server,rsyslog,syslog-ng). What each figure
 * means is spelled out in docs/agent.md#performance.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzip } from 'node:zlib';
import { printTable, type Figures } from './results.js';
import { freePort, startBenchServer } from './server-child.js';
import { findRsyslog, startChild, syslogNgVersion, which } from './syslog-peers.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/meshlog.js', import.meta.url));
const MiB = 1024 * 1024;

function writeDataset(path: string, mib: number): { lines: number; bytes: number } {
  const fd = openSync(path, 'w');
  let lines = 0;
  let bytes = 0;
  const methods = ['GET', 'POST', 'PUT', 'DELETE'];
  const paths = ['/api/v1/orders', '/api/v1/cart', '/healthz', '/api/v2/users/42', '/checkout/confirm'];
  while (bytes < mib * MiB) {
    const chunk: string[] = [];
    for (let i = 0; i < 5000; i++, lines++) {
      const t = new Date(1_700_000_000_000 + lines * 7).toISOString();
      chunk.push(
        `[${t}] "${methods[lines % 4]} ${paths[lines % 5]}?id=${lines} HTTP/1.1" ${lines % 17 === 0 ? 503 : 200} - via_upstream - "-" 0 ${(lines * 37) % 9000} ${lines % 300} ${lines % 290} "-" "curl/8.5" "${(lines * 2654435761 >>> 0).toString(16)}-req" "svc.ns.svc.cluster.local" "10.0.${lines % 250}.7:8080"`,
      );
    }
    const text = chunk.join('\n') + '\n';
    writeSync(fd, text);
    bytes += Buffer.byteLength(text);
  }
  closeSync(fd);
  return { lines, bytes };
}

/** A TCP receiver counting newline-terminated messages. */
async function lineReceiver(): Promise<{ port: number; count(): number; close(): void }> {
  let n = 0;
  const server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) n++;
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, count: () => n, close: () => server.close() };
}

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * The agent's side of the fair comparison: an HTTP receiver that does what
 * the peers' line counter does for them, for the agent's protocol: take a
 * request, undo its gzip, walk the OTLP protobuf to count log records, and
 * acknowledge (200 with an empty ExportLogsServiceResponse). It stores
 * nothing, as the peers' receiver stores nothing.
 */
async function ackReceiver(): Promise<{ url: string; count(): number; close(): void }> {
  let n = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const done = (err: Error | null, body: Buffer): void => {
        if (err) {
          res.writeHead(400).end(err.message);
          return;
        }
        n += countOtlpLogRecords(body);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      };
      if (req.headers['content-encoding'] === 'gzip') gunzip(raw, done);
      else done(null, raw);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, count: () => n, close: () => server.close() };
}

/** Log records in an ExportLogsServiceRequest, by walking the wire format (resource_logs=1 > scope_logs=2 > log_records=2). */
export function countOtlpLogRecords(buf: Buffer): number {
  const fields = (b: Buffer, start: number, end: number, want: number, each: (s: number, e: number) => void): void => {
    let p = start;
    const varint = (): number => {
      let v = 0;
      let mul = 1;
      for (;;) {
        const byte = b[p++]!;
        v += (byte & 0x7f) * mul;
        if (byte < 0x80) return v;
        mul *= 128;
      }
    };
    while (p < end) {
      const key = varint();
      const wire = key & 7;
      if (wire === 0) varint();
      else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else if (wire === 2) {
        const len = varint();
        if (key >>> 3 === want) each(p, p + len);
        p += len;
      } else throw new Error(`unexpected wire type ${wire}`);
    }
  };
  let n = 0;
  fields(buf, 0, buf.length, 1, (rs, re) => fields(buf, rs, re, 2, (ss, se) => fields(buf, ss, se, 2, () => n++)));
  return n;
}

function sampleRss(pid: number | undefined): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      // exited
    }
  }, 50);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

/**
 * One agent run: `file` source -> `meshlog` sink (disk buffer, OTLP/HTTP
 * protobuf + gzip) -> `endpoint`; timed from the agent's start until
 * `delivered()` reaches every line. MESHLOG_BENCH_AGENT_PROFILE=DIR writes
 * a V8 CPU profile of the agent there.
 */
async function runAgent(dir: string, file: string, lines: number, endpoint: string, token: string | undefined, delivered: (metric: (name: string) => Promise<number>) => Promise<number>): Promise<{ seconds: number; readSeconds: number; rssMib: number }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'agent.yaml');
  if (token) writeFileSync(join(dir, 'token'), token);
  writeFileSync(
    config,
    `agent:\n  data_dir: ${join(dir, 'agent')}\n  http: { port: ${port} }\nsources:\n  f: { type: file, include: [${file}], start_at: beginning }\nsinks:\n  s: { type: meshlog, inputs: [f], endpoint: "${endpoint}"${token ? `, token_file: ${join(dir, 'token')}` : ''}, disk_buffer: { max_bytes: 1073741824 } }\n`,
  );
  const profileDir = process.env['MESHLOG_BENCH_AGENT_PROFILE'];
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...profile, BIN, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const peakRss = sampleRss(proc.pid);
  const metric = async (name: string): Promise<number> => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    } catch {
      return 0;
    }
  };
  let readSeconds = 0;
  const ok = await waitUntil(async () => {
    if (!readSeconds && (await metric('meshlog_component_sent_records_total')) >= lines) readSeconds = (performance.now() - t0) / 1000;
    return (await delivered(metric)) >= lines;
  }, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const rssMib = peakRss();
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  if (!ok) throw new Error(`bench agent: not every line reached ${endpoint} within 10 minutes`);
  return { seconds, readSeconds: readSeconds || seconds, rssMib };
}

async function runPeer(start: (port: number) => ReturnType<typeof startChild>, lines: number, bytes: number): Promise<number | string> {
  const rx = await lineReceiver();
  const t0 = performance.now();
  const child = start(rx.port);
  const ok = await waitUntil(() => rx.count() >= lines || child.proc.exitCode !== null, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  await child.stop();
  rx.close();
  if (!ok || rx.count() < lines) return `failed (${rx.count()} of ${lines} lines): ${child.output().slice(-300)}`;
  return Number((bytes / MiB / seconds).toFixed(1));
}

export async function agentSuite(opts: { mib: number; keep: boolean; parts?: string | undefined }): Promise<Figures> {
  const parts = new Set((opts.parts ?? 'receiver,server,rsyslog,syslog-ng').split(','));
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-bench-agent-'));
  const file = join(dir, 'access.log');
  const { lines, bytes } = writeDataset(file, opts.mib);
  process.stdout.write(`agent bench: ${lines} lines, ${(bytes / MiB).toFixed(1)} MiB in ${file}\n`);
  const figures: Figures = { 'agent.lines': lines, 'agent.file_mib': Number((bytes / MiB).toFixed(1)) };
  try {
    const mib = bytes / MiB;
    // 1. The fair side-by-side: the agent into a receiver that decodes, counts and acknowledges (what the peers' receiver does for them).
    if (parts.has('receiver')) {
      const rx = await ackReceiver();
      try {
        const r = await runAgent(join(dir, 'meshlog-rx'), file, lines, rx.url, undefined, () => Promise.resolve(rx.count()));
        figures['agent.file_mib_per_s'] = Number((mib / r.seconds).toFixed(1));
        figures['agent.read_mib_per_s'] = Number((mib / r.readSeconds).toFixed(1));
        figures['agent.rss_mib'] = Number(r.rssMib.toFixed(0));
        figures['agent.seconds'] = Number(r.seconds.toFixed(2));
      } finally {
        rx.close();
      }
    }
    // 2. End to end: the agent into a local meshlog server that stores every record (timed until the server acknowledged all of them).
    if (parts.has('server')) {
      const server = await startBenchServer(join(dir, 'server'));
      try {
        const r = await runAgent(join(dir, 'meshlog-server'), file, lines, server.url, server.token, (metric) => metric('meshlog_sink_delivered_records_total'));
        figures['agent.to_server_mib_per_s'] = Number((mib / r.seconds).toFixed(1));
        figures['agent.to_server_rss_mib'] = Number(r.rssMib.toFixed(0));
        figures['agent.to_server_seconds'] = Number(r.seconds.toFixed(2));
        figures['server.rss_mib'] = Number((server.peakRssBytes() / MiB).toFixed(0));
      } finally {
        await server.stop();
      }
    }

    const rs = findRsyslog();
    if (!parts.has('rsyslog')) figures['peer.rsyslog_file_mib_per_s'] = 'not run (--parts)';
    else if (typeof rs === 'string') figures['peer.rsyslog_file_mib_per_s'] = `skipped: ${rs}`;
    else {
      const d = join(dir, 'rsyslog');
      mkdirSync(d);
      figures['peer.rsyslog_file_mib_per_s'] = await runPeer((port) => {
        const conf = join(d, 'rsyslog.conf');
        writeFileSync(
          conf,
          [
            `global(workDirectory="${d}" maxMessageSize="64k")`,
            `module(load="imfile")`,
            `input(type="imfile" File="${file}" Tag="bench:" ruleset="fwd")`,
            `ruleset(name="fwd") { action(type="omfwd" target="127.0.0.1" port="${port}" protocol="tcp" template="RSYSLOG_ForwardFormat") }`,
            '',
          ].join('\n'),
        );
        return startChild(rs.bin, ['-n', '-f', conf, '-i', join(d, 'rsyslogd.pid'), '-M', rs.moduleDir], d);
      }, lines, bytes);
    }

    const ng = which('syslog-ng');
    const version = ng ? syslogNgVersion(ng) : undefined;
    if (!parts.has('syslog-ng')) figures['peer.syslog_ng_file_mib_per_s'] = 'not run (--parts)';
    else if (!ng || !version) figures['peer.syslog_ng_file_mib_per_s'] = 'skipped: syslog-ng not installed (apt-get install syslog-ng-core)';
    else {
      const d = join(dir, 'syslog-ng');
      mkdirSync(d);
      figures['peer.syslog_ng_file_mib_per_s'] = await runPeer((port) => {
        const conf = join(d, 'syslog-ng.conf');
        writeFileSync(
          conf,
          [
            `@version: ${version}`,
            `options { log-msg-size(65536); };`,
            `source s_file { file("${file}" flags(no-parse) follow-freq(1)); };`,
            `destination d_net { network("127.0.0.1" port(${port}) transport("tcp")); };`,
            // flow-control: without it the source never waits for the destination and syslog-ng drops what overflows the destination's log-fifo-size (10,000 messages) when TCP is slower than the file read; rsyslog's imfile waits by default.
            `log { source(s_file); destination(d_net); flags(flow-control); };`,
            '',
          ].join('\n'),
        );
        return startChild(ng, ['-F', '--no-caps', '-f', conf, '-p', join(d, 'syslog-ng.pid'), '-R', join(d, 'syslog-ng.persist'), '-c', join(d, 'syslog-ng.ctl')], d);
      }, lines, bytes);
    }
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
  const num = (k: string): number => (typeof figures[k] === 'number' ? (figures[k] as number) : NaN);
  if (Number.isFinite(num('peer.rsyslog_file_mib_per_s'))) figures['ratio.agent_vs_rsyslog_file'] = Number((num('agent.file_mib_per_s') / num('peer.rsyslog_file_mib_per_s')).toFixed(2));
  if (Number.isFinite(num('peer.syslog_ng_file_mib_per_s'))) figures['ratio.agent_vs_syslog_ng_file'] = Number((num('agent.file_mib_per_s') / num('peer.syslog_ng_file_mib_per_s')).toFixed(2));
  printTable(
    `agent: one ${(bytes / MiB).toFixed(0)} MiB file tailed and shipped over loopback`,
    Object.entries(figures).map(([k, v]) => [k, v]),
  );
  return figures;
}
