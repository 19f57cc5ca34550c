/**
 * Starts `meshlog agent --config FILE` as a real child process, waits for
 * its `/health`, and reads its `/metrics`. `kill9()` is a real SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MESHLOG_BIN, REPO_ROOT } from './server-process.js';

export interface AgentProcess {
  proc: ChildProcess;
  port: number;
  output(): string;
  metrics(): Promise<string>;
  /** Sum of a metric's samples whose labels contain every `match` string. */
  metric(name: string, ...match: string[]): Promise<number>;
  rssMiB(): number;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

export async function startAgentProcess(config: string, port: number, env: Record<string, string> = {}): Promise<AgentProcess> {
  const proc = spawn(process.execPath, [MESHLOG_BIN, 'agent', '--config', config], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent exited with ${proc.exitCode} before it was healthy:\n${out}`);
    try {
      if ((await fetch(`${base}/health`)).status === 200) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`agent not healthy within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  return {
    proc,
    port,
    output: () => out,
    metrics,
    metric: async (name, ...match) => {
      let sum = 0;
      for (const line of (await metrics()).split('\n')) {
        if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
        if (match.every((m) => line.includes(m))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    rssMiB: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
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
