/**
 * A `meshlog server` child process for benchmarks, with its peak RSS
 * sampled from /proc (the figure the design brief budgets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/meshlog.js', import.meta.url));

export interface BenchServer {
  url: string;
  token: string;
  proc: ChildProcess;
  peakRssBytes(): number;
  /** Peak anonymous RSS: RSS less file-backed pages (chDB's ~500 MB library text is file-backed). */
  peakAnonBytes(): number;
  /** CPU time the server process has used (user + system, all threads), in seconds; read from /proc. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export async function startBenchServer(dataDir: string, extraArgs: string[] = []): Promise<BenchServer> {
  const port = await freePort();
  // MESHLOG_BENCH_PROFILE=DIR writes a V8 CPU profile of the server there.
  const profile = process.env['MESHLOG_BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['MESHLOG_BENCH_PROFILE']}`] : [];
  const proc = spawn(process.execPath, [...profile, BIN, 'server', '--data-dir', dataDir, '--http-port', String(port), '--grpc-port', '0', '--syslog-port', '0', '--syslog-tls-port', '0', '--forward-port', '0', '--log-level', 'warn', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {
      // starting
    }
    if (i > 600) throw new Error('bench server did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  let peak = 0;
  let peakAnon = 0;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      const a = /RssAnon:\s+(\d+) kB/.exec(status);
      if (a) peakAnon = Math.max(peakAnon, Number(a[1]) * 1024);
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 200);
  return {
    url,
    token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(),
    proc,
    peakRssBytes: () => (sample(), peak),
    peakAnonBytes: () => (sample(), peakAnon),
    cpuSeconds: () => {
      try {
        // /proc/<pid>/stat: fields 14 and 15 (after the parenthesized name) are utime and stime in clock ticks (100/s on Linux).
        const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return 0;
      }
    },
    stop: async () => {
      clearInterval(timer);
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
