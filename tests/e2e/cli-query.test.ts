/**
 * `meshlog query`, `labels`, `series` and `query --tail` as a user runs
 * them: the CLI as a child process against a real server process, the token
 * from MESHLOG_TOKEN, each output format checked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { MESHLOG_BIN, REPO_ROOT, runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const S = 1_000_000_000n;
let server: ServerProcess;
let env: Record<string, string>;
const T = (BigInt(Math.floor(Date.now() / 60_000) * 60) - 300n) * S;

async function push(streams: { stream: Record<string, string>; values: [string, string][] }[]): Promise<void> {
  const r = await fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ streams }) });
  assert.equal(r.status, 204);
}

before(async () => {
  server = await startServerProcess();
  env = { MESHLOG_TOKEN: server.token, MESHLOG_SERVER: server.url };
  await push([
    { stream: { app: 'cli', env: 'prod' }, values: [[String(T), 'first line'], [String(T + 30n * S), 'second line'], [String(T + 60n * S), 'third line']] },
    { stream: { app: 'other', env: 'dev' }, values: [[String(T + 10n * S), 'dev line']] },
  ]);
});

after(async () => {
  await server?.stop();
});

const from = String(T - 60n * S);
const to = String(T + 120n * S);

test('log queries in each output format, oldest first, batched past --batch', async () => {
  const raw = await runCli(['query', '{app="cli"}', '--from', from, '--to', to], env);
  assert.equal(raw.code, 0, raw.stderr);
  assert.deepEqual(raw.stdout.trim().split('\n'), ['first line', 'second line', 'third line']);

  const dflt = await runCli(['query', '{app="cli"} |= "second"', '--from', from, '--to', to, '--output', 'default'], env);
  assert.equal(dflt.stdout.trim(), `${new Date(Number(T / 1_000_000n) + 30_000).toISOString().slice(0, 19)}.000000000Z {app="cli", env="prod", service_name="cli"} second line`);

  const jsonl = await runCli(['query', '{env=~".+"}', '--from', from, '--to', to, '--output', 'jsonl'], env);
  const rows = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { timestamp: string; labels: Record<string, string>; line: string });
  assert.deepEqual(rows.map((r) => r.line), ['first line', 'dev line', 'second line', 'third line']);
  assert.equal(rows[1]!.labels['app'], 'other');

  const table = await runCli(['query', '{env=~".+"}', '--from', from, '--to', to, '--output', 'table', '--limit', '3', '--batch', '1'], env);
  const lines = table.stdout.trim().split('\n');
  assert.equal(lines.length, 3, table.stdout);
  assert.match(lines[2]!, /^\S+Z {2}\{app="cli", env="prod", service_name="cli"\} {2,}third line$/);
  assert.ok(lines[0]!.includes('dev line'), 'the newest three, printed oldest first');
});

test('metric queries: range with --step, --instant at --time', async () => {
  const range = await runCli(['query', 'sum by (app) (count_over_time({env=~".+"}[1m]))', '--from', String(T), '--to', String(T + 60n * S), '--step', '60s', '--output', 'default'], env);
  assert.equal(range.code, 0, range.stderr);
  const at = (t: bigint): string => new Date(Number(t / 1_000_000n)).toISOString();
  assert.deepEqual(range.stdout.trim().split('\n'), [`${at(T)} {app="cli"} 1`, `${at(T + 60n * S)} {app="cli"} 2`, `${at(T + 60n * S)} {app="other"} 1`]);
  const instant = await runCli(['query', 'sum(count_over_time({app="cli"}[5m]))', '--instant', '--time', String(T + 60n * S)], env);
  assert.equal(instant.stdout.trim(), '3');
  const jsonl = await runCli(['query', 'sum(count_over_time({app="cli"}[5m]))', '--instant', '--time', String(T + 60n * S), '--output', 'jsonl'], env);
  assert.deepEqual(JSON.parse(jsonl.stdout), { timestamp: at(T + 60n * S), metric: {}, value: '3' });
});

test('labels [name], series, and errors with the server message and exit code 1', async () => {
  const names = await runCli(['labels', '--since', '1h'], env);
  assert.deepEqual(names.stdout.trim().split('\n'), ['app', 'env', 'service_name']);
  const values = await runCli(['query', 'labels', 'app'], env);
  assert.deepEqual(values.stdout.trim().split('\n'), ['cli', 'other']);
  const restricted = await runCli(['labels', 'app', '--query', '{env="dev"}'], env);
  assert.deepEqual(restricted.stdout.trim().split('\n'), ['other']);
  const series = await runCli(['series', '{app="cli"}', '{env="dev"}'], env);
  assert.deepEqual(series.stdout.trim().split('\n'), ['{app="cli", env="prod", service_name="cli"}', '{app="other", env="dev", service_name="other"}']);
  const bad = await runCli(['query', '{app="cli"'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^meshlog: 400 Bad Request: parse error at line 1, col 11: /);
  const noToken = await runCli(['query', '{app="cli"}', '--server', server.url, '--data-dir', '/nonexistent'], { MESHLOG_TOKEN: '' });
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /no API token/);
});

test('query --tail prints lines pushed after it starts, until interrupted', async () => {
  const marker = randomUUID().slice(0, 8);
  const child = spawn(process.execPath, [MESHLOG_BIN, 'query', '--tail', `{app="tail-${marker}"}`, '--output', 'jsonl'], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  try {
    // Push until the tail (connecting in the child) prints it.
    const deadline = Date.now() + 20_000;
    while (!out.includes(`tailed ${marker}`)) {
      if (Date.now() > deadline) throw new Error(`no tailed line; stdout: ${out} stderr: ${err}`);
      await push([{ stream: { app: `tail-${marker}` }, values: [[String(BigInt(Date.now()) * 1_000_000n), `tailed ${marker}`]] }]);
      await new Promise((r) => setTimeout(r, 700));
    }
    const first = JSON.parse(out.split('\n')[0]!) as { line: string; labels: Record<string, string> };
    assert.equal(first.line, `tailed ${marker}`);
    assert.equal(first.labels['app'], `tail-${marker}`);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, err);
});
