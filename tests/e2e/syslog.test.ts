/**
 * Syslog end to end with the senders users run, over real sockets, into a
 * `meshlog server` child process on its default pipeline (syslog on
 * --syslog-port, TLS on --syslog-tls-port with the certificate from
 * `server.syslog_tls`), read back through Loki's `query_range` by the app
 * name (`{service_name="<app>"}`):
 *
 * - util-linux `logger`: RFC 5424 and RFC 3164 over UDP, RFC 5424 over TCP
 *   with newline and with octet-counting framing;
 * - rsyslog (omfwd) forwarding over TCP, octet-counted RFC 5424 and
 *   newline-framed RSYSLOG_ForwardFormat and traditional format, and over
 *   TLS (gtls driver, x509/name);
 * - syslog-ng forwarding over TCP (`network()`: BSD, newline; `syslog()`:
 *   IETF, octet-counted) and over TLS (`syslog()` with transport("tls")).
 *
 * The peers run as throwaway instances in temp dirs (tests/helpers/syslog-peers.ts).
 * Missing tools skip their test with the reason; under CI=true they fail.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, lokiQueryRange, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { findSyslogPeers, runLogger, startRsyslog, startSyslogNg, type SyslogPeer } from '../helpers/syslog-peers.js';
import { findOpenssl, makeTestPki, type TestPki } from '../helpers/test-pki.js';

const tools = findSyslogPeers();
const openssl = findOpenssl();
const dir = tempDir('meshlog-syslog-e2e-');
let pki: TestPki | undefined;
let server: ServerProcess;
let syslogPort = 0;
let tlsPort = 0;
const peers: SyslogPeer[] = [];

/** A free port number for both TCP and UDP. */
async function freeTcpUdpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const free = await new Promise<boolean>((res) => {
      const u = createSocket('udp4');
      u.once('error', () => res(false));
      u.bind(port, '127.0.0.1', () => u.close(() => res(true)));
    });
    if (free) return port;
  }
}

before(async () => {
  if (openssl) pki = makeTestPki(join(dir, 'pki'), openssl);
  syslogPort = await freeTcpUdpPort();
  tlsPort = await freePort();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, pki ? `server:\n  syslog_tls:\n    cert_file: ${pki.serverCert}\n    key_file: ${pki.serverKey}\n` : '{}\n');
  // Later flags win: these override the helper's --syslog-port 0 --syslog-tls-port 0.
  server = await startServerProcess({ args: ['--config', config, '--syslog-port', String(syslogPort), '--syslog-tls-port', String(tlsPort)] });
});

after(async () => {
  await Promise.all(peers.map((p) => p.stop()));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Skips (locally) or fails (CI=true) when something the test needs is missing. */
function need(t: TestContext, missing: string | undefined): boolean {
  if (missing === undefined) return true;
  if (process.env['CI'] === 'true') assert.fail(`${missing}; .ci/run must install it`);
  console.log(`# ${t.name}: skipped: ${missing}`);
  t.skip(missing);
  return false;
}

interface Entry {
  ns: bigint;
  line: string;
}

/** Polls query_range until `n` lines match (records become visible once the store has applied the WAL). */
async function waitForLines(query: string, n: number, timeoutMs = 30_000): Promise<Entry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await lokiQueryRange(server, query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const got = res.body.data.result.flatMap((s) => s.values.map(([ts, line]) => ({ ns: BigInt(ts), line })));
    if (got.length >= n) return got;
    if (Date.now() > deadline) assert.fail(`expected ${n} lines for ${query}, got ${got.length}: ${JSON.stringify(got.map((g) => g.line))}\nserver output:\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function assertRecent(entries: Entry[], what: string): void {
  const now = BigInt(Date.now()) * 1_000_000n;
  for (const e of entries) {
    const skew = Number(now - e.ns) / 1e9;
    assert.ok(Math.abs(skew) < 120, `${what}: timestamp ${e.ns} is ${skew} s from now (parsed from the message, not invented)`);
  }
}

const sorted = (xs: string[]): string[] => [...xs].sort();

test('logger: RFC 5424 and RFC 3164 over UDP, RFC 5424 over TCP with newline and octet-counting framing', async (t) => {
  if (!need(t, tools.logger ? undefined : 'logger (util-linux, package bsdutils) is not installed')) return;
  const m = randomUUID();
  const app = 'e2e-logger';
  const base = ['--server', '127.0.0.1', '--port', String(syslogPort), '-t', app];
  await runLogger(tools.logger!, [...base, '--udp', '--rfc5424', '-p', 'local3.warning', '--sd-id', 'order@32473', '--sd-param', 'id="42"', `udp rfc5424 ${m}`]);
  await runLogger(tools.logger!, [...base, '--udp', '--rfc3164', '-p', 'user.err', `udp rfc3164 ${m}`]);
  await runLogger(tools.logger!, [...base, '--tcp', '--rfc5424', `tcp newline ${m}`]);
  await runLogger(tools.logger!, [...base, '--tcp', '--octet-count', '--rfc5424', `tcp octet-counted ${m}`]);
  const got = await waitForLines(`{service_name="${app}"} |= "${m}"`, 4);
  assert.deepEqual(sorted(got.map((e) => e.line)), sorted([`udp rfc5424 ${m}`, `udp rfc3164 ${m}`, `tcp newline ${m}`, `tcp octet-counted ${m}`]));
  assertRecent(got, 'logger');
});

test('rsyslog forwards over TCP: octet-counted RFC 5424, newline-framed ForwardFormat and traditional format', async (t) => {
  if (!need(t, tools.logger ? undefined : 'logger (util-linux) is not installed')) return;
  if (!need(t, tools.rsyslogProblem)) return;
  const peerDir = join(dir, 'rsyslog-tcp');
  mkdirSync(peerDir);
  const target = `target="127.0.0.1" port="${syslogPort}" protocol="tcp"`;
  const peer = await startRsyslog(tools, peerDir, [
    `action(type="omfwd" ${target} TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`,
    `action(type="omfwd" ${target} template="RSYSLOG_ForwardFormat")`,
    `action(type="omfwd" ${target} template="RSYSLOG_TraditionalForwardFormat")`,
  ]);
  peers.push(peer);
  const m = randomUUID();
  const app = 'e2e-rsyslog-tcp';
  await peer.send(app, 'daemon.notice', `first ${m}`);
  await peer.send(app, 'daemon.err', `second ${m}`);
  const got = await waitForLines(`{service_name="${app}"} |= "${m}"`, 6);
  // RSYSLOG_SyslogProtocol23Format keeps the space rsyslog's msg property starts with.
  assert.deepEqual(sorted(got.map((e) => e.line.trim())), sorted([1, 2, 3].flatMap(() => [`first ${m}`, `second ${m}`])));
  assertRecent(got, 'rsyslog');
  await peer.stop();
});

test('rsyslog forwards over TLS (gtls, x509/name) to the RFC 5425 port', async (t) => {
  if (!need(t, tools.logger ? undefined : 'logger (util-linux) is not installed')) return;
  if (!need(t, tools.rsyslogProblem)) return;
  if (!need(t, tools.rsyslog?.tls ? undefined : `rsyslog's gtls driver (lmnsd_gtls.so, package rsyslog-gnutls) is missing in ${tools.rsyslog?.moduleDir}`)) return;
  if (!need(t, pki ? undefined : 'openssl is not installed (the test makes its own CA)')) return;
  const peerDir = join(dir, 'rsyslog-tls');
  mkdirSync(peerDir);
  const peer = await startRsyslog(
    tools,
    peerDir,
    [
      `action(type="omfwd" target="127.0.0.1" port="${tlsPort}" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`,
    ],
    { caFile: pki!.ca },
  );
  peers.push(peer);
  const m = randomUUID();
  const app = 'e2e-rsyslog-tls';
  await peer.send(app, 'auth.warning', `over tls ${m}`);
  const got = await waitForLines(`{service_name="${app}"} |= "${m}"`, 1);
  assert.deepEqual(got.map((e) => e.line.trim()), [`over tls ${m}`]);
  await peer.stop();
});

test('syslog-ng forwards over TCP: network() (BSD, newline) and syslog() (IETF, octet-counted)', async (t) => {
  if (!need(t, tools.logger ? undefined : 'logger (util-linux) is not installed')) return;
  if (!need(t, tools.syslogNg ? undefined : 'syslog-ng is not installed (package syslog-ng-core)')) return;
  const peerDir = join(dir, 'syslog-ng-tcp');
  mkdirSync(peerDir);
  const peer = await startSyslogNg(tools, peerDir, [
    `network("127.0.0.1" transport("tcp") port(${syslogPort}) persist-name("bsd"));`,
    `syslog("127.0.0.1" transport("tcp") port(${syslogPort}) persist-name("ietf"));`,
  ]);
  peers.push(peer);
  const m = randomUUID();
  const app = 'e2e-syslog-ng-tcp';
  await peer.send(app, 'local1.info', `first ${m}`);
  await peer.send(app, 'local1.crit', `second ${m}`);
  const got = await waitForLines(`{service_name="${app}"} |= "${m}"`, 4);
  assert.deepEqual(sorted(got.map((e) => e.line)), sorted([`first ${m}`, `first ${m}`, `second ${m}`, `second ${m}`]));
  assertRecent(got, 'syslog-ng');
  await peer.stop();
});

test('syslog-ng forwards over TLS: syslog() with transport("tls"), peer verification against the test CA', async (t) => {
  if (!need(t, tools.logger ? undefined : 'logger (util-linux) is not installed')) return;
  if (!need(t, tools.syslogNg ? undefined : 'syslog-ng is not installed (package syslog-ng-core)')) return;
  if (!need(t, pki ? undefined : 'openssl is not installed (the test makes its own CA)')) return;
  const peerDir = join(dir, 'syslog-ng-tls');
  mkdirSync(peerDir);
  const peer = await startSyslogNg(tools, peerDir, [`syslog("127.0.0.1" transport("tls") port(${tlsPort}) tls(ca-file("${pki!.ca}") peer-verify(required-trusted)));`]);
  peers.push(peer);
  const m = randomUUID();
  const app = 'e2e-syslog-ng-tls';
  await peer.send(app, 'local2.notice', `over tls ${m}`);
  const got = await waitForLines(`{service_name="${app}"} |= "${m}"`, 1);
  assert.deepEqual(got.map((e) => e.line), [`over tls ${m}`]);
  await peer.stop();
});
