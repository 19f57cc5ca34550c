/**
 * The agent role as a node's local syslog receiver: `meshlog agent` with a
 * `syslog` source (TCP and UDP) into the stdout sink; what local daemons
 * forward comes out as records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MESHLOG_BIN, REPO_ROOT, freePort, tempDir } from '../helpers/server-process.js';

test('meshlog agent receives syslog over TCP and UDP and writes the records to stdout', async () => {
  const dir = tempDir();
  const port = await freePort();
  const config = join(dir, 'agent.yaml');
  writeFileSync(
    config,
    `agent:\n  data_dir: ${join(dir, 'data')}\n  http: { port: 0 }\nsources:\n  local_syslog: { type: syslog, port: ${port}, batch_max_wait_ms: 10 }\nsinks:\n  out: { type: stdout, inputs: [local_syslog] }\n`,
  );
  const proc = spawn(process.execPath, [MESHLOG_BIN, 'agent', '--config', config], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  try {
    for (let i = 0; i < 100 && !stderr.includes('syslog listening'); i++) await new Promise((res) => setTimeout(res, 100));
    assert.match(stderr, /syslog listening/);
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => s.once('connect', res).once('error', rej));
    s.end('<30>Jun 15 11:59:00 node-7 kubelet[812]: pod started\n');
    const u = createSocket('udp4');
    await new Promise<void>((res) => u.send('<27>1 2024-06-15T11:59:01Z node-7 containerd - - - task failed', port, '127.0.0.1', () => res()));
    u.close();
    for (let i = 0; i < 100 && stdout.trim().split('\n').filter(Boolean).length < 2; i++) await new Promise((res) => setTimeout(res, 50));
    const records = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { body: string; severityText: string; resource: Record<string, string>; attributes: Record<string, unknown>; tenant: string })
      .sort((a, b) => a.body.localeCompare(b.body));
    assert.equal(records.length, 2, stderr);
    assert.deepEqual(
      records.map((r) => [r.body, r.severityText, r.resource['service.name'], r.resource['host.name'], r.attributes['network.transport'], r.tenant]),
      [
        ['pod started', 'info', 'kubelet', 'node-7', 'tcp', 'default'],
        ['task failed', 'err', 'containerd', 'node-7', 'udp', 'default'],
      ],
    );
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  rmSync(dir, { recursive: true, force: true });
});
