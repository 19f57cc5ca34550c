/**
 * Encryption at rest, through the real CLI and a real server process:
 *
 *   - a planted token (a random UUID in log bodies and in the service name)
 *     is in no file under the data dir, nor in the private directory the
 *     chDB config is written to, after a graceful stop and after kill -9;
 *     the scan looks for UTF-8, UTF-16 (both byte orders), hex and base64
 *     forms. A control run with encryption off shows the same scan finds the
 *     token, so a pass means something;
 *   - a restart without the key, with a key file others can read, or with
 *     a key file that lost an old id, exits non-zero with a message naming
 *     what is wrong (not an engine stack trace);
 *   - after `meshlog storage-key rotate`, records written before and after
 *     the rotation read back through /loki/api/v1/query_range, also with the
 *     keys given in an environment variable instead of the file;
 *   - no key ever appears in the server's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MESHLOG_BIN, REPO_ROOT, freePort, linesOf, lokiQueryRange, runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

interface Setup {
  root: string;
  dataDir: string;
  keyFile: string;
  /** $XDG_RUNTIME_DIR of the server: where the chDB config (with keys) is written and must be gone from. */
  runtimeDir: string;
  env: Record<string, string>;
}

function setup(): Setup {
  const root = tempDir('meshlog-enc-');
  const runtimeDir = join(root, 'run');
  mkdirSync(runtimeDir, { mode: 0o700 });
  // An empty MESHLOG_STORAGE_KEYS counts as unset: the outer environment cannot leak a key in.
  return { root, dataDir: join(root, 'data'), keyFile: join(root, 'secrets', 'storage.keys'), runtimeDir, env: { XDG_RUNTIME_DIR: runtimeDir, MESHLOG_STORAGE_KEYS: '' } };
}

function configFile(s: Setup, name: string, encryption: string | undefined): string {
  const path = join(s.root, name);
  writeFileSync(path, encryption === undefined ? '{}\n' : `storage:\n  embedded:\n    encryption:\n${encryption}`);
  return path;
}

async function ingest(server: ServerProcess, token: string, round: string): Promise<string[]> {
  const lines = Array.from({ length: 50 }, (_, i) => `${round} line ${i} user=${token} GET /checkout 200`);
  const r = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: otlpJsonLogs(lines, { service: `svc-${token}` }),
  });
  assert.equal(r.status, 200, await r.text());
  return lines;
}

async function readBack(server: ServerProcess, token: string): Promise<string[]> {
  const res = await lokiQueryRange(server, `{service_name="svc-${token}"} |= "${token}"`);
  assert.equal(res.status, 200);
  return linesOf(res.body);
}

/** The forms a token could take in a file: UTF-8, UTF-16LE/BE, upper case, hex of its bytes, base64 at each alignment. */
function needles(token: string): { form: string; bytes: Buffer }[] {
  const out = [
    { form: 'utf8', bytes: Buffer.from(token, 'utf8') },
    { form: 'utf8 upper', bytes: Buffer.from(token.toUpperCase(), 'utf8') },
    { form: 'utf8 without dashes', bytes: Buffer.from(token.replace(/-/g, ''), 'utf8') },
    { form: 'utf16le', bytes: Buffer.from(token, 'utf16le') },
    { form: 'utf16be', bytes: Buffer.from(token, 'utf16le').swap16() },
    { form: 'hex of utf8', bytes: Buffer.from(Buffer.from(token).toString('hex'), 'utf8') },
  ];
  for (let pad = 0; pad < 3; pad++) {
    // base64 of the token after `pad` bytes of anything: the middle characters do not depend on the neighbours.
    const b64 = Buffer.from('x'.repeat(pad) + token).toString('base64');
    out.push({ form: `base64 (offset ${pad})`, bytes: Buffer.from(b64.slice(4, -4), 'utf8') });
  }
  return out;
}

/** Every regular file under `dirs` (symbolic links are not followed: their targets are under the same roots) that holds the token in any form. */
function findToken(dirs: string[], token: string): string[] {
  const forms = needles(token);
  const hits: string[] = [];
  let files = 0;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) walk(join(p, e));
    } else if (st.isFile()) {
      files++;
      const content = readFileSync(p);
      for (const f of forms) if (content.includes(f.bytes)) hits.push(`${p} (${f.form})`);
    }
  };
  for (const d of dirs) walk(d);
  assert.ok(files > 10, `expected a store's worth of files, scanned ${files}`);
  return hits;
}

/** Runs `meshlog server` expecting it to exit (it must not start); returns its exit code and output. */
async function serverMustFail(s: Setup, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [MESHLOG_BIN, 'server', '--data-dir', s.dataDir, '--http-port', String(port), '--grpc-port', '0', '--syslog-port', '0', '--syslog-tls-port', '0', '--forward-port', '0', ...args],
    { cwd: REPO_ROOT, env: { ...process.env, ...s.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  clearTimeout(timer);
  return { code, output };
}

function keyHexes(keyFile: string): string[] {
  return readFileSync(keyFile, 'utf8')
    .split('\n')
    .filter((l) => /^\d+ [0-9a-f]{64}$/.test(l))
    .map((l) => l.split(' ')[1]!);
}

function assertNoKeyIn(output: string, keyFile: string): void {
  for (const k of keyHexes(keyFile)) assert.ok(!output.toLowerCase().includes(k.slice(0, 24)), 'a storage key appeared in the server output');
}

test('control: with encryption off, the same scan finds the planted token', async () => {
  const s = setup();
  const config = configFile(s, 'plain.yaml', '      allow_plaintext_at_rest: true\n');
  const server = await startServerProcess({ dataDir: s.dataDir, args: ['--config', config], env: s.env });
  const token = randomUUID();
  try {
    await ingest(server, token, 'plain');
    assert.equal((await readBack(server, token)).length, 50);
    assert.match(server.output(), /encryption {3}OFF/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
  assert.notDeepEqual(findToken([s.dataDir], token), [], 'the scan must be able to see plaintext storage');
});

test('encryption at rest: no plaintext on disk (SIGTERM and kill -9), a clear refusal without the key, rotation keeps old and new readable', async () => {
  const s = setup();
  const withKeyFile = configFile(s, 'meshlog.yaml', `      key_file: ${s.keyFile}\n`);
  const tokens: string[] = [];
  const written = new Map<string, string[]>();
  const outputs: string[] = [];

  // First start: the named key file does not exist yet, so it is created (0600) outside the data dir.
  let server = await startServerProcess({ dataDir: s.dataDir, args: ['--config', withKeyFile], env: s.env });
  try {
    assert.match(server.output(), /encryption {3}AES-256 at rest, key id 0 current; keys from key file .*storage\.keys \(created now, mode 0600\)/);
    assert.equal(lstatSync(s.keyFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(s.runtimeDir), [], 'the chDB config holds keys: removed once the store is open');
    tokens.push(randomUUID());
    written.set(tokens[0]!, await ingest(server, tokens[0]!, 'first'));
    assert.equal((await readBack(server, tokens[0]!)).length, 50);
  } finally {
    assert.equal(await server.stop(), 0, server.output());
    outputs.push(server.output());
  }
  for (const t of tokens) assert.deepEqual(findToken([s.dataDir, s.runtimeDir], t), [], 'token in plain text after a graceful stop');

  // kill -9 right after the acknowledgement: nothing gets to tidy up.
  server = await startServerProcess({ dataDir: s.dataDir, args: ['--config', withKeyFile], env: s.env });
  tokens.push(randomUUID());
  written.set(tokens[1]!, await ingest(server, tokens[1]!, 'killed'));
  await server.kill9();
  outputs.push(server.output());
  for (const t of tokens) assert.deepEqual(findToken([s.dataDir, s.runtimeDir], t), [], 'token in plain text after kill -9');

  // Without the key: no key configured (the default looks beside the data dir, where there is none).
  const noKey = await serverMustFail(s, ['--config', configFile(s, 'nokey.yaml', undefined)]);
  assert.equal(noKey.code, 2, noKey.output);
  assert.match(noKey.output, /meshlog: cannot open the store: data dir .*data is encrypted at rest with key id 0, but no key for it was found/);
  assert.match(noKey.output, /storage\.embedded\.encryption\.key_file/);
  assert.doesNotMatch(noKey.output, /DB::Exception|at .*\.js:\d+/, 'our message, not an engine or JavaScript stack trace');
  // The key file readable by others.
  const loose = join(s.root, 'loose.keys');
  writeFileSync(loose, readFileSync(s.keyFile));
  chmodSync(loose, 0o644);
  const looseRun = await serverMustFail(s, ['--storage-key-file', loose]);
  assert.equal(looseRun.code, 2);
  assert.match(looseRun.output, /key file .*loose\.keys has mode 0644.*chmod 600/);
  // The key file inside the data dir.
  const inside = join(s.dataDir, 'storage.keys');
  writeFileSync(inside, readFileSync(s.keyFile), { mode: 0o600 });
  const insideRun = await serverMustFail(s, ['--storage-key-file', inside]);
  assert.equal(insideRun.code, 2);
  assert.match(insideRun.output, /is inside the data dir .*protects nothing/);
  // Opened as plaintext.
  const asPlain = await serverMustFail(s, ['--config', configFile(s, 'plain.yaml', '      allow_plaintext_at_rest: true\n')]);
  assert.equal(asPlain.code, 2);
  assert.match(asPlain.output, /is encrypted at rest with key id 0; allow_plaintext_at_rest cannot open it/);

  // Rotation: a new key id becomes current; the data written before stays readable.
  const rotate = await runCli(['storage-key', 'rotate', '--key-file', s.keyFile]);
  assert.equal(rotate.code, 0, rotate.stderr);
  assert.match(rotate.stderr, /added key id 1 to .*storage\.keys/);
  assert.equal(keyHexes(s.keyFile).length, 2);
  assertNoKeyIn(rotate.stdout + rotate.stderr, s.keyFile);
  server = await startServerProcess({ dataDir: s.dataDir, args: ['--config', withKeyFile], env: s.env });
  try {
    assert.match(server.output(), /key id 1 current/);
    tokens.push(randomUUID());
    written.set(tokens[2]!, await ingest(server, tokens[2]!, 'rotated'));
    for (const t of tokens) assert.deepEqual(new Set(await readBack(server, t)), new Set(written.get(t)), `records of ${t} after the rotation`);
  } finally {
    assert.equal(await server.stop(), 0);
    outputs.push(server.output());
  }

  // The old id is still needed: a key file without it is refused, by name.
  const newOnly = join(s.root, 'new-only.keys');
  writeFileSync(newOnly, readFileSync(s.keyFile, 'utf8').split('\n').filter((l) => !l.startsWith('0 ')).join('\n'), { mode: 0o600 });
  const newOnlyRun = await serverMustFail(s, ['--storage-key-file', newOnly]);
  assert.equal(newOnlyRun.code, 2);
  assert.match(newOnlyRun.output, /has data encrypted with key id 0, missing from key file .*new-only\.keys \(it has key id 1\)/);

  // The same keys from an environment variable read everything back.
  const viaEnv = configFile(s, 'env.yaml', '      key_env: TEST_MESHLOG_KEYS\n');
  server = await startServerProcess({ dataDir: s.dataDir, args: ['--config', viaEnv], env: { ...s.env, TEST_MESHLOG_KEYS: readFileSync(s.keyFile, 'utf8') } });
  try {
    assert.match(server.output(), /keys from environment variable TEST_MESHLOG_KEYS/);
    for (const t of tokens) assert.deepEqual(new Set(await readBack(server, t)), new Set(written.get(t)));
  } finally {
    assert.equal(await server.stop(), 0);
    outputs.push(server.output());
  }

  for (const t of tokens) assert.deepEqual(findToken([s.dataDir, s.runtimeDir], t), [], `token ${t} in plain text at the end`);
  for (const out of [...outputs, noKey.output, looseRun.output, insideRun.output, newOnlyRun.output]) assertNoKeyIn(out, s.keyFile);
});
