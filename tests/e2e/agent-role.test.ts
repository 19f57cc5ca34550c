/**
 * The agent role runs the same pipeline engine: a local OTLP/HTTP receiver
 * into the stdout sink, started as `meshlog agent --config FILE`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MESHLOG_BIN, REPO_ROOT, freePort, runCli, tempDir } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

test('meshlog agent receives OTLP locally and writes records to stdout; SIGTERM exits cleanly', async () => {
  const dir = tempDir();
  const port = await freePort();
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `agent:\n  data_dir: ${join(dir, 'data')}\n  http: { port: ${port} }\nsources:\n  local: { type: otlp }\nsinks:\n  out: { type: stdout, inputs: [local] }\n`);
  const proc = spawn(process.execPath, [MESHLOG_BIN, 'agent', '--config', config], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  try {
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: otlpJsonLogs(['hello from an app on this node'], { service: 'vm-app' }) });
        status = r.status;
      } catch {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    assert.equal(status, 200, stderr);
    // The sink acknowledged once the line was written to the pipe; reading it here may lag a moment.
    for (let i = 0; i < 100 && !stdout.includes('\n'); i++) await new Promise((res) => setTimeout(res, 50));
    const record = JSON.parse(stdout.trim().split('\n')[0]!) as { body: string; resource: Record<string, string>; tenant: string };
    assert.equal(record.body, 'hello from an app on this node');
    assert.equal(record.resource['service.name'], 'vm-app');
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});

test('an agent config with an unknown key fails with its line', async () => {
  const dir = tempDir();
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `agent:\n  data_dir: ${join(dir, 'data')}\n  htpp: { port: 0 }\n`);
  const r = await runCli(['agent', '--config', config]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /agent\.htpp: unknown key "htpp"; did you mean "http"\? \(line 3, column 3\)/);
});

test('an agent http.token_file that is missing or empty fails at start naming the key, not a stack trace or a listener that refuses everyone', async () => {
  const dir = tempDir();
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `agent:\n  data_dir: ${join(dir, 'data')}\n  http: { port: 0, token_file: ${join(dir, 'missing.token')} }\n`);
  let r = await runCli(['agent', '--config', config]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /agent\.http\.token_file: .*missing\.token: cannot read it \(ENOENT\)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  writeFileSync(join(dir, 'empty.token'), '\n');
  writeFileSync(config, `agent:\n  data_dir: ${join(dir, 'data')}\n  http: { port: 0, token_file: ${join(dir, 'empty.token')} }\n`);
  r = await runCli(['agent', '--config', config]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /agent\.http\.token_file: .*empty\.token: the file is empty/);
});

test('an agent without a local listener (http.port: 0) tailing a file keeps running until SIGTERM', async () => {
  const dir = tempDir();
  const file = join(dir, 'app.log');
  writeFileSync(file, 'first line\n');
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `agent:\n  data_dir: ${join(dir, 'data')}\n  http: { port: 0 }\nsources:\n  f: { type: file, include: [${file}], start_at: beginning, poll_interval_ms: 50 }\nsinks:\n  out: { type: stdout, inputs: [f] }\n`);
  const proc = spawn(process.execPath, [MESHLOG_BIN, 'agent', '--config', config], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  try {
    for (let i = 0; i < 100 && !stdout.includes('first line'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(stdout, /first line/);
    // Nothing but the file source is running: the process must still be there to see the next line.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(proc.exitCode, null, 'the agent exited on its own');
    appendFileSync(file, 'second line\n');
    for (let i = 0; i < 100 && !stdout.includes('second line'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(stdout, /second line/);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});
