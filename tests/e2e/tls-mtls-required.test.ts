/**
 * Mutual TLS required (`server.tls.client_auth: required`) on every listener
 * of a real `meshlog server` child process: HTTPS, gRPC, Fluent forward over
 * TLS and syslog over TLS (RFC 5425), with the clients users run
 * (@fluent-org/logger with its `tls` options, Node's TLS stack as a syslog
 * sender, grpc-js). A throwaway PKI is made with openssl for the run.
 *
 * Covered: a client without a certificate, or with one of an unknown CA,
 * fails the handshake on every listener and each refusal leaves an audit
 * record; a person's certificate that no rule maps still lets a token
 * decide; Fluent and syslog connections write into the tenant of their
 * certificate's rule (not the source's tenant), each accepted connection is
 * audited with the certificate as actor, and a certificate whose roles
 * cannot write is refused on them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FluentClient } from '@fluent-org/logger';
import { otlpType } from '@meshlog/components';
import { TokenStore } from '@meshlog/server';
import { freePort, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { httpsRequest, type ClientTls } from '../helpers/https-client.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';
import { caOf, findOpenssl, issueCertificate, makeCa, makeTestPki, needOpenssl, type IssuedCertificate, type TestPki } from '../helpers/test-pki.js';

const openssl = findOpenssl();
const dir = tempDir('meshlog-mtls-e2e-');
let pki: TestPki;
const certs: Record<'checkout' | 'fluentbit' | 'dashboard' | 'alice' | 'rogue', IssuedCertificate> = {} as never;
let server: ServerProcess;
let grpcPort: number;
let forwardPort: number;
let syslogTlsPort: number;
let paymentsToken: string;

before(async () => {
  if (!openssl) return;
  pki = makeTestPki(join(dir, 'pki'), openssl);
  const ca = caOf(pki);
  const issue = (name: keyof typeof certs, san: string): void => void (certs[name] = issueCertificate(join(dir, 'clients'), name, { ca, cn: name, san }, openssl));
  issue('checkout', 'URI:spiffe://cluster.local/ns/payments/sa/checkout');
  issue('fluentbit', 'URI:spiffe://cluster.local/ns/payments/sa/fluent-bit');
  issue('dashboard', 'URI:spiffe://cluster.local/ns/ops/sa/dashboard');
  issue('alice', 'URI:spiffe://cluster.local/people/alice');
  certs.rogue = issueCertificate(join(dir, 'other'), 'rogue', { ca: makeCa(join(dir, 'other'), 'other', openssl), cn: 'rogue', san: 'URI:spiffe://cluster.local/ns/payments/sa/checkout' }, openssl);

  const dataDir = join(dir, 'data');
  paymentsToken = new TokenStore(dataDir).create('payments', ['auditor']);
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    `server:
  tls:
    cert_file: ${pki.serverCert}
    key_file: ${pki.serverKey}
    client_ca_file: ${pki.ca}
    client_auth: required
auth:
  certificate_rules:
    - spiffe_id: "spiffe://cluster.local/ns/payments/sa/*"
      tenant: payments
      roles: [ingester]
    - spiffe_id: "spiffe://cluster.local/ns/ops/**"
      tenant: payments
      roles: [viewer]
`,
  );
  [grpcPort, forwardPort, syslogTlsPort] = [await freePort(), await freePort(), await freePort()];
  server = await startServerProcess({
    dataDir,
    args: ['--config', config, '--grpc-port', String(grpcPort), '--forward-port', String(forwardPort), '--syslog-tls-port', String(syslogTlsPort)],
    // /ready is public, but the handshake needs a certificate: a person's, which no rule maps.
    tls: { ca: pki.ca, cert: certs.alice.cert, key: certs.alice.key },
  });
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const as = (c: IssuedCertificate): ClientTls => ({ ca: pki.ca, cert: c.cert, key: c.key });
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Query as a person: alice's certificate (no rule) and a token, which then decides. */
async function queryLines(token: string, logql: string): Promise<string[]> {
  const u = new URL(`${server.url}/loki/api/v1/query_range`);
  u.searchParams.set('query', logql);
  u.searchParams.set('since', '1h');
  u.searchParams.set('limit', '1000');
  const r = await httpsRequest(u.toString(), { tls: as(certs.alice), headers: bearer(token) });
  assert.equal(r.status, 200, r.text);
  return (JSON.parse(r.text) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap((s) => s.values.map((v) => v[1]));
}

async function waitForLines(token: string, logql: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lines = await queryLines(token, logql);
    if (lines.length >= n) return lines;
    if (Date.now() > deadline) assert.fail(`expected ${n} lines for ${logql}, got ${JSON.stringify(lines)}\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface AuditBody {
  tenant: string;
  action: string;
  target: string;
  outcome: string;
  status: string;
  reason?: string;
  actor: { id: string; kind: string; method: string } | null;
  detail?: { listener: string; certificate?: { spiffe_id: string | null } };
}

/** Audit records of TLS connections whose line contains `text`, once at least `n` do. */
const auditOf = async (token: string, text: string, n: number): Promise<AuditBody[]> =>
  (await waitForLines(token, `{meshlog_stream="audit", action="transport.tls"} |= ${JSON.stringify(text)}`, n)).map((l) => JSON.parse(l) as AuditBody);

/** A TLS connection attempt: resolves with how it ended (`open` once it was usable for 300 ms). */
function tryTls(port: number, tls: Partial<ClientTls>, alpn?: string): Promise<'open' | 'closed'> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), ...(tls.cert ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key!) } : {}), ...(alpn ? { ALPNProtocols: [alpn] } : {}) });
    let settled = false;
    const done = (v: 'open' | 'closed'): void => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve(v);
    };
    s.on('error', () => done('closed'));
    s.on('close', () => done('closed'));
    s.on('secureConnect', () => setTimeout(() => done('open'), 300));
    s.resume();
  });
}

test('without a certificate, or with one of an unknown CA, the handshake fails on every listener, and each refusal is audited', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const noCert: ClientTls = { ca: pki.ca };
  await assert.rejects(httpsRequest(`${server.url}/ready`, { tls: noCert }));
  await assert.rejects(httpsRequest(`${server.url}/ready`, { tls: as(certs.rogue) }));
  for (const [port, alpn] of [[grpcPort, 'h2'], [forwardPort, undefined], [syslogTlsPort, undefined]] as const) {
    assert.equal(await tryTls(port, {}, alpn), 'closed', `no certificate, port ${port}`);
    assert.equal(await tryTls(port, as(certs.rogue), alpn), 'closed', `unknown CA, port ${port}`);
  }
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createSsl(readFileSync(pki.ca), readFileSync(certs.rogue.key), readFileSync(certs.rogue.cert)));
  const t2 = otlpType('ExportLogsServiceRequest');
  const body = Buffer.from(t2.encode(t2.fromObject({ resourceLogs: [] })).finish());
  const err = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest('/opentelemetry.proto.collector.logs.v1.LogsService/Export', (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e)),
  );
  client.close();
  assert.equal(err?.code, grpc.status.UNAVAILABLE);

  // Refusals nobody authenticated are in the operator tenant: the admin token reads them.
  const refused = await auditOf(server.token, '"status":"refused"', 8);
  for (const listener of ['http', 'grpc', 'fluent', 'syslog']) {
    const mine = refused.filter((r) => r.detail?.listener === listener);
    assert.ok(mine.some((r) => /not signed by the listener's client CA/.test(r.reason ?? '')), `${listener}: unknown CA refusal recorded: ${JSON.stringify(mine)}`);
    assert.ok(mine.some((r) => /no client certificate presented/.test(r.reason ?? '')), `${listener}: missing certificate refusal recorded`);
    assert.ok(mine.every((r) => r.outcome === 'unauthenticated' && r.tenant === 'default' && r.actor === null));
  }
});

test('HTTPS: a certificate no rule maps lets a token decide; a certificate with a rule writes into its tenant', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const labels = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: as(certs.alice), headers: bearer(server.token) });
  assert.equal(labels.status, 200, labels.text);
  const alone = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: as(certs.alice) });
  assert.equal(alone.status, 401);
  assert.match(alone.text, /spiffe:\/\/cluster\.local\/people\/alice matches none of the 2 auth\.certificate_rules/);
  const marker = randomUUID();
  const w = await httpsRequest(`${server.url}/v1/logs`, { tls: as(certs.checkout), method: 'POST', headers: { 'content-type': 'application/json' }, body: otlpJsonLogs([`paid ${marker}`], { service: 'checkout-required' }) });
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(await waitForLines(paymentsToken, `{service_name="checkout-required"} |= "${marker}"`, 1), [`paid ${marker}`]);
});

test('Fluent forward over TLS (@fluent-org/logger): the client certificate decides the tenant, and the connection is audited', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const marker = randomUUID();
  const tlsOptions = { ca: readFileSync(pki.ca), cert: readFileSync(certs.fluentbit.cert), key: readFileSync(certs.fluentbit.key) };
  const client = new FluentClient('e2e', {
    eventMode: 'PackedForward',
    socket: { host: '127.0.0.1', port: forwardPort, timeout: -1, reconnect: { delay: 100, maxDelay: 500 }, tls: tlsOptions },
    ack: { ackTimeout: 15_000 },
  });
  try {
    await Promise.all([1, 2, 3].map((i) => client.emit('payments', { log: `fluent over tls ${i} ${marker}`, service: 'fluent-tls' })));
  } finally {
    await client.shutdown().catch(() => undefined);
  }
  const lines = await waitForLines(paymentsToken, `{service_name="fluent-tls"} |= "${marker}"`, 3);
  assert.deepEqual(lines.sort(), [1, 2, 3].map((i) => `fluent over tls ${i} ${marker}`));
  assert.deepEqual(await queryLines(server.token, `{service_name="fluent-tls"} |= "${marker}"`), [], 'not in the source\'s tenant (default)');

  const accepted = await auditOf(paymentsToken, 'spiffe://cluster.local/ns/payments/sa/fluent-bit', 1);
  const record = accepted.find((r) => r.detail?.listener === 'fluent')!;
  assert.equal(record.status, 'accepted');
  assert.equal(record.outcome, 'success');
  assert.equal(record.tenant, 'payments');
  assert.deepEqual([record.actor?.id, record.actor?.kind, record.actor?.method], ['spiffe://cluster.local/ns/payments/sa/fluent-bit', 'certificate', 'mtls']);
});

/** Sends RFC 5424 lines over TLS as `cert` and closes (or is closed: a refused connection is reset). */
async function sendSyslogOverTls(cert: IssuedCertificate, lines: string[]): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: syslogTlsPort, ca: readFileSync(pki.ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, () => {
      const now = new Date().toISOString();
      // Octet-counted framing (RFC 5425).
      for (const msg of lines.map((l) => `<134>1 ${now} node-1 syslog-tls - - - ${l}`)) s.write(`${Buffer.byteLength(msg)} ${msg}`);
      s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.resume();
  });
}

test('syslog over TLS: a client certificate puts the records in its rule\'s tenant; one whose roles cannot write is refused, naming why', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const marker = randomUUID();
  await sendSyslogOverTls(certs.checkout, [`first ${marker}`, `second ${marker}`]);
  const lines = await waitForLines(paymentsToken, `{service_name="syslog-tls"} |= "${marker}"`, 2);
  assert.deepEqual(lines.sort(), [`first ${marker}`, `second ${marker}`]);
  assert.deepEqual(await queryLines(server.token, `{service_name="syslog-tls"} |= "${marker}"`), []);

  await sendSyslogOverTls(certs.dashboard, [`from a viewer ${marker}`]);
  const refused = await auditOf(server.token, 'spiffe://cluster.local/ns/ops/sa/dashboard', 1);
  const r = refused.find((x) => x.detail?.listener === 'syslog')!;
  assert.equal(r.status, 'refused');
  assert.match(r.reason!, /maps to the roles viewer in tenant payments, which lack "logs:write"/);
  assert.equal(r.detail?.certificate?.spiffe_id, 'spiffe://cluster.local/ns/ops/sa/dashboard');
  await new Promise((res) => setTimeout(res, 500));
  assert.deepEqual(await queryLines(paymentsToken, `{service_name="syslog-tls"} |= "from a viewer ${marker}"`), []);

  const accepted = (await auditOf(paymentsToken, 'spiffe://cluster.local/ns/payments/sa/checkout', 1)).filter((x) => x.status === 'accepted');
  assert.ok(accepted.some((x) => x.detail?.listener === 'syslog' && x.target === 'syslog connection'));
});
