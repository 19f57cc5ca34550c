/**
 * The syslog source's defences, against a `meshlog server` child process
 * whose pipeline sets tight limits (syslog -> store and stdout, so the test
 * can see the attributes): lines that are not syslog are kept with the
 * reason and counted, oversized messages are cut and counted, random bytes
 * never take the server down, idle and slow (TLS handshake) connections are
 * closed, connections over the cap are refused, and TLS with
 * `client_auth: required` refuses a client without a certificate and tags
 * the records of one with one.
 *
 * Needs openssl for the test CA: skipped with a reason when it is missing,
 * failed under CI=true.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { freePort, linesOf, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { findOpenssl, makeTestPki, type TestPki } from '../helpers/test-pki.js';

const openssl = findOpenssl();
const dir = tempDir('meshlog-syslog-limits-');
let pki: TestPki | undefined;
let server: ServerProcess | undefined;
let port = 0;
let tlsPort = 0;

before(async () => {
  if (!openssl) return;
  pki = makeTestPki(join(dir, 'pki'), openssl);
  port = await freePort();
  tlsPort = await freePort();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    `sources:
  syslog:
    type: syslog
    port: ${port}
    tls_port: ${tlsPort}
    tls: { cert_file: ${pki.serverCert}, key_file: ${pki.serverKey}, ca_file: ${pki.ca}, client_auth: required }
    tenant: default
    idle_timeout_ms: 1500
    tls_handshake_timeout_ms: 1000
    max_connections: 3
    max_message_bytes: 2048
    batch_max_wait_ms: 20
sinks:
  store: { type: store, inputs: [syslog] }
  seen: { type: stdout, inputs: [syslog] }
`,
  );
  server = await startServerProcess({ args: ['--config', config] });
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function need(t: TestContext): boolean {
  if (server) return true;
  const why = 'openssl is not installed (the test makes its own CA)';
  if (process.env['CI'] === 'true') assert.fail(`${why}; .ci/run must install openssl`);
  t.skip(why);
  return false;
}

async function tcp(p: number): Promise<Socket> {
  const s = connect(p, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((res, rej) => s.once('connect', res).once('error', rej));
  return s;
}

function closedWithin(s: Socket): Promise<number> {
  const t = Date.now();
  return new Promise((res) => (s.destroyed ? res(0) : s.once('close', () => res(Date.now() - t))));
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${server!.url}/metrics`, { headers: { authorization: `Bearer ${server!.token}` } })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Records the stdout sink printed: the attributes as stored. */
function printedRecords(marker: string): { body: string; attributes: Record<string, unknown>; resource: Record<string, unknown>; severityNumber: number }[] {
  return server!
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(marker) && l.includes('"attributes"'))
    .map((l) => JSON.parse(l) as never);
}

async function waitFor<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(v)}\n${server!.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('lines that are not syslog are kept with the reason and counted; oversized ones are cut and counted', async (t) => {
  if (!need(t)) return;
  const m = randomUUID();
  const parseErrorsBefore = await metric('meshlog_component_errors_total', { component_id: 'syslog', error_type: 'syslog_parse_error' });
  const s = await tcp(port);
  s.end(`no priority here ${m}\n<13>1 not-a-time host app - - - bad header ${m}\n<13>1 - host e2e-limits - - - ${m} ${'x'.repeat(5000)}\n<13>1 - host e2e-limits - - - fine ${m}\n`);
  const lines = await waitFor(
    'the unparsed lines',
    async () => linesOf((await lokiQueryRange(server!, `{service_name="unknown_service"} |= "${m}"`)).body),
    (l) => l.length === 2,
  );
  assert.deepEqual([...lines].sort(), [`<13>1 not-a-time host app - - - bad header ${m}`, `no priority here ${m}`]);
  const good = await waitFor('the good lines', async () => linesOf((await lokiQueryRange(server!, `{service_name="e2e-limits"} |= "${m}"`)).body), (l) => l.length === 2);
  const cut = good.find((l) => l.startsWith(m))!;
  assert.equal(Buffer.byteLength(cut), 2048 - '<13>1 - host e2e-limits - - - '.length, 'cut at max_message_bytes');

  const printed = await waitFor('the stdout sink', () => printedRecords(m), (r) => r.length === 4);
  const noPri = printed.find((r) => r.body.startsWith('no priority'))!;
  assert.equal(noPri.attributes['syslog.parse_error'], 'missing <PRI> at the start of the line');
  assert.equal(noPri.severityNumber, 0);
  assert.match(String(printed.find((r) => r.body.includes('bad header'))!.attributes['syslog.parse_error']), /RFC 5424 TIMESTAMP/);
  assert.equal(printed.find((r) => r.body.startsWith(m))!.attributes['syslog.truncated_from_bytes'], 5000 + m.length + 1 + '<13>1 - host e2e-limits - - - '.length);
  assert.equal(await metric('meshlog_component_errors_total', { component_id: 'syslog', error_type: 'syslog_parse_error' }), parseErrorsBefore + 2);
  assert.ok((await metric('meshlog_component_errors_total', { component_id: 'syslog', error_type: 'message_truncated' })) >= 1);
});

test('random bytes over TCP and UDP never take the server down; it keeps taking good lines', async (t) => {
  if (!need(t)) return;
  const s = await tcp(port);
  for (let i = 0; i < 50; i++) s.write(randomBytes(1 + Math.floor(Math.random() * 3000)));
  s.end();
  await closedWithin(s);
  const u = createSocket('udp4');
  for (let i = 0; i < 50; i++) await new Promise<void>((res) => u.send(randomBytes(1 + Math.floor(Math.random() * 1400)), port, '127.0.0.1', () => res()));
  const m = randomUUID();
  await new Promise<void>((res) => u.send(`<14>1 - host e2e-after-noise - - - still here ${m}`, port, '127.0.0.1', () => res()));
  u.close();
  assert.equal((await fetch(`${server!.url}/ready`)).status, 200);
  const lines = await waitFor('the good line', async () => linesOf((await lokiQueryRange(server!, `{service_name="e2e-after-noise"} |= "${m}"`)).body), (l) => l.length === 1);
  assert.deepEqual(lines, [`still here ${m}`]);
  assert.equal(server!.proc.exitCode, null);
});

test('idle TCP connections are closed after idle_timeout_ms; connections over max_connections are refused', async (t) => {
  if (!need(t)) return;
  const idle = await tcp(port);
  const idleClosed = closedWithin(idle);
  const ms = await idleClosed;
  assert.ok(ms >= 1200 && ms < 5000, `idle connection closed after ${ms} ms (idle_timeout_ms 1500)`);

  const refusedBefore = await metric('meshlog_component_errors_total', { component_id: 'syslog', error_type: 'too_many_connections' });
  const held = [await tcp(port), await tcp(port), await tcp(port)];
  const extra = await tcp(port);
  const extraClosed = await closedWithin(extra);
  assert.ok(extraClosed < 1000, 'the connection over the cap is closed at once');
  await waitFor('the refusal to be counted', () => metric('meshlog_component_errors_total', { component_id: 'syslog', error_type: 'too_many_connections' }), (n) => n === refusedBefore + 1);
  for (const s of held) s.destroy();
});

test('TLS: a client that never completes its handshake is dropped; no client certificate is refused; a certified client is tagged', async (t) => {
  if (!need(t)) return;
  // Slowloris: connect to the TLS port and say nothing.
  const slow = await tcp(tlsPort);
  const ms = await closedWithin(slow);
  assert.ok(ms >= 800 && ms < 5000, `silent TLS client dropped after ${ms} ms (tls_handshake_timeout_ms 1000)`);
  await waitFor('the timeout to be counted', () => metric('meshlog_component_errors_total', { component_id: 'syslog', error_type: 'tls_handshake_timeout' }), (n) => n >= 1);

  // client_auth: required. TLS 1.3 reports the refusal after the handshake, on the first read.
  const anonymous = tlsConnect({ port: tlsPort, host: '127.0.0.1', ca: readFileSync(pki!.ca), servername: 'localhost' });
  const refused = await new Promise<string>((res) => {
    anonymous.once('error', (err) => res(err.message));
    anonymous.once('secureConnect', () => anonymous.write('<13>1 - h anon - - - should not be stored\n'));
    anonymous.once('close', () => res('closed'));
  });
  assert.match(refused, /certificate|alert|closed|reset/i);

  const m = randomUUID();
  const client = tlsConnect({ port: tlsPort, host: '127.0.0.1', ca: readFileSync(pki!.ca), cert: readFileSync(pki!.clientCert), key: readFileSync(pki!.clientKey), servername: 'localhost' });
  await new Promise<void>((res, rej) => client.once('secureConnect', res).once('error', rej));
  const body = `<85>1 ${new Date().toISOString()} host e2e-mtls 321 login [auth@32473 user="al\\"ice"] accepted ${m}`;
  client.end(`${Buffer.byteLength(body)} ${body}`);
  const lines = await waitFor('the certified client\'s line', async () => linesOf((await lokiQueryRange(server!, `{service_name="e2e-mtls"} |= "${m}"`)).body), (l) => l.length === 1);
  assert.deepEqual(lines, [`accepted ${m}`]);
  const [rec] = printedRecords(m);
  assert.equal(rec!.attributes['tls.protocol.version'], '1.3');
  assert.equal(rec!.attributes['network.transport'], 'tcp');
  assert.equal(rec!.attributes['syslog.sd.auth@32473.user'], 'al"ice');
  assert.equal(rec!.attributes['process.pid'], 321);
  assert.equal(rec!.attributes['syslog.msgid'], 'login');
  assert.equal(rec!.attributes['syslog.facility'], 'authpriv');
  assert.equal(rec!.severityNumber, 10);
  assert.deepEqual(rec!.resource, { 'host.name': 'host', 'service.name': 'e2e-mtls' });
});
