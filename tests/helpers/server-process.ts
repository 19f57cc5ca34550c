/**
 * Starts `meshlog server` as a real child process (the CLI the README
 * documents) on free loopback ports, waits for `/ready`, and hands back its
 * URL and admin token. `kill9()` is a real SIGKILL: nothing gets to flush.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { httpsRequest, type ClientTls } from './https-client.js';

// Compiled to tests/dist/helpers: three levels up is the repository root.
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const MESHLOG_BIN = join(REPO_ROOT, 'packages/cli/bin/meshlog.js');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export function tempDir(prefix = 'meshlog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  token: string;
  /** `127.0.0.1:<port>` of the gRPC listener when started with `grpc: true`. */
  grpcAddress: string | undefined;
  proc: ChildProcess;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  port?: number;
  args?: string[];
  env?: Record<string, string>;
  /** Open the gRPC listener (OTLP/gRPC, Envoy ALS) on a free port; off by default. */
  grpc?: boolean;
  /**
   * The server runs with server.tls (in the config passed in `args`): the
   * URL is https:// and readiness is probed over TLS with this CA (and
   * client certificate, when the server requires one).
   */
  tls?: ClientTls;
}

export async function startServerProcess(opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const port = opts.port ?? (await freePort());
  const grpcPort = opts.grpc ? await freePort() : 0;
  const proc = spawn(
    process.execPath,
    [MESHLOG_BIN, 'server', '--data-dir', dataDir, '--http-port', String(port), '--grpc-port', String(grpcPort), '--syslog-port', '0', '--syslog-tls-port', '0', '--forward-port', '0', ...(opts.args ?? [])],
    { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before ready:\n${out}`);
    try {
      const status = opts.tls ? (await httpsRequest(`${url}/ready`, { tls: opts.tls })).status : (await fetch(`${url}/ready`)).status;
      if (status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server not ready within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return {
    url,
    port,
    dataDir,
    token,
    grpcAddress: grpcPort ? `127.0.0.1:${grpcPort}` : undefined,
    proc,
    output: () => out,
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [MESHLOG_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  return { code, stdout, stderr };
}

export async function lokiQueryRange(
  server: Pick<ServerProcess, 'url' | 'token'>,
  query: string,
  params: Record<string, string> = {},
): Promise<{ status: number; body: { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } } & Record<string, unknown> }> {
  const u = new URL(`${server.url}/loki/api/v1/query_range`);
  u.searchParams.set('query', query);
  u.searchParams.set('since', '1h');
  u.searchParams.set('limit', '5000');
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const r = await fetch(u, { headers: { authorization: `Bearer ${server.token}` } });
  const text = await r.text();
  // Loki's API answers errors as plain text (the message alone); keep it under `error` like a JSON error.
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: text };
  }
  return { status: r.status, body: body as never };
}

export function linesOf(body: { data: { result: { values: [string, string][] }[] } }): string[] {
  return body.data.result.flatMap((s) => s.values.map((v) => v[1]));
}
