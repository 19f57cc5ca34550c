/**
 * TLS and mutual TLS on a real `meshlog server` child process, with
 * `server.tls` (client_auth: optional) and one `auth.certificate_rules`
 * rule, and the clients users run: Node's HTTPS stack, the OpenTelemetry
 * SDK's gRPC log exporter, grpc-js. A throwaway PKI is made with openssl
 * for the run (tests/helpers/test-pki.ts): the server's CA, client
 * certificates with SPIFFE IDs, and a second CA the server does not trust.
 *
 * Covered: HTTPS with a token; an unknown CA's certificate refused (401
 * naming why, even beside a valid token); a SPIFFE identity writing into
 * the tenant its rule names (read back with a token of that tenant, and
 * audited with the certificate as actor); a certificate no rule matches
 * (refused naming its SPIFFE ID, unless a token decides); OTLP/gRPC over
 * TLS with a token and with a client certificate alone;
 * `server.grpc.max_connections`; certificate reload (a new connection gets
 * the new serial, an open one keeps working; a bad file keeps the old
 * certificate and the log names the file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { otlpType } from '@meshlog/components';
import { TokenStore } from '@meshlog/server';
import { freePort, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { httpsRequest, keepAliveAgent, type ClientTls } from '../helpers/https-client.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';
import { caOf, findOpenssl, issueCertificate, makeCa, makeTestPki, needOpenssl, type IssuedCertificate, type TestPki } from '../helpers/test-pki.js';

const openssl = findOpenssl();
const dir = tempDir('meshlog-tls-e2e-');
const MAX_GRPC_CONNECTIONS = 4;
let pki: TestPki;
let payments: IssuedCertificate;
let shop: IssuedCertificate;
let rogue: IssuedCertificate;
let server: ServerProcess;
let grpcPort: number;
/** A token of tenant `payments` (auditor: reads logs and the audit trail). */
let paymentsToken: string;
const live = { cert: join(dir, 'live', 'server.crt'), key: join(dir, 'live', 'server.key') };

before(async () => {
  if (!openssl) return;
  pki = makeTestPki(join(dir, 'pki'), openssl);
  const ca = caOf(pki);
  payments = issueCertificate(join(dir, 'clients'), 'payments', { ca, cn: 'checkout', san: 'URI:spiffe://cluster.local/ns/payments/sa/checkout' }, openssl);
  shop = issueCertificate(join(dir, 'clients'), 'shop', { ca, cn: 'cart', san: 'URI:spiffe://cluster.local/ns/shop/sa/cart' }, openssl);
  const other = makeCa(join(dir, 'other'), 'other', openssl);
  rogue = issueCertificate(join(dir, 'other'), 'rogue', { ca: other, cn: 'checkout', san: 'URI:spiffe://cluster.local/ns/payments/sa/checkout' }, openssl);
  mkdirSync(join(dir, 'live'));
  copyFileSync(pki.serverCert, live.cert);
  copyFileSync(pki.serverKey, live.key);

  // Tokens are created before the start: the server reads the token file when it starts.
  const dataDir = join(dir, 'data');
  paymentsToken = new TokenStore(dataDir).create('payments', ['auditor']);
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    `server:
  tls:
    cert_file: ${live.cert}
    key_file: ${live.key}
    client_ca_file: ${pki.ca}
    client_auth: optional
  grpc:
    max_connections: ${MAX_GRPC_CONNECTIONS}
auth:
  certificate_rules:
    - spiffe_id: "spiffe://cluster.local/ns/payments/sa/*"
      tenant: payments
      roles: [ingester]
`,
  );
  grpcPort = await freePort();
  // Later flags win over the helper's --grpc-port.
  server = await startServerProcess({ dataDir, args: ['--config', config, '--grpc-port', String(grpcPort)], tls: { ca: pki.ca } });
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const trustOnly = (): ClientTls => ({ ca: pki.ca });
const withCert = (c: IssuedCertificate): ClientTls => ({ ca: pki.ca, cert: c.cert, key: c.key });
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function queryLines(token: string, logql: string, tls: ClientTls = trustOnly()): Promise<string[]> {
  const u = new URL(`${server.url}/loki/api/v1/query_range`);
  u.searchParams.set('query', logql);
  u.searchParams.set('since', '1h');
  u.searchParams.set('limit', '1000');
  const r = await httpsRequest(u.toString(), { tls, headers: bearer(token) });
  assert.equal(r.status, 200, r.text);
  const body = JSON.parse(r.text) as { data: { result: { values: [string, string][] }[] } };
  return body.data.result.flatMap((s) => s.values.map((v) => v[1]));
}

function postLogs(lines: string[], service: string, tls: ClientTls, headers: Record<string, string> = {}): ReturnType<typeof httpsRequest> {
  return httpsRequest(`${server.url}/v1/logs`, { tls, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: otlpJsonLogs(lines, { service }) });
}

test('HTTPS: a query with a token works; plaintext HTTP on the same port gets no answer', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  assert.match(server.url, /^https:/);
  const r = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: trustOnly(), headers: bearer(server.token) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.serverSerial, pki.serverSerial);
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/ready`));
  // Below TLS 1.2, and TLS 1.2 with a CBC suite only: no handshake.
  const handshake = (opts: object): Promise<string> =>
    new Promise((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: server.port, ca: readFileSync(pki.ca), ...opts }, () => {
        resolve(`connected with ${s.getCipher().name} over ${s.getProtocol()}`);
        s.destroy();
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  assert.match(await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }), /ERR_SSL|alert/i);
  assert.match(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' }), /ERR_SSL|alert/i);
  assert.match(await handshake({ maxVersion: 'TLSv1.2' }), /connected with ECDHE-ECDSA-AES\d+-GCM-SHA\d+ over TLSv1\.2/);
});

test('a client certificate from an unknown CA is refused: 401 naming why, even beside a valid token', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const write = await postLogs(['from a rogue CA'], 'rogue', withCert(rogue));
  assert.equal(write.status, 401, write.text);
  assert.match(write.text, /the client certificate CN=checkout \(serial [0-9A-F]+\) is not signed by the listener's client CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  const read = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: withCert(rogue), headers: bearer(server.token) });
  assert.equal(read.status, 401, 'a token does not paper over a bad certificate');
});

test('a SPIFFE identity writes into the tenant its rule names; a token of that tenant reads it back, others do not see it; the audit record names the certificate', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const marker = randomUUID();
  const line = `charge accepted ${marker}`;
  const w = await postLogs([line], 'checkout-mtls', withCert(payments));
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(await queryLines(paymentsToken, `{service_name="checkout-mtls"} |= "${marker}"`), [line]);
  assert.deepEqual(await queryLines(server.token, `{service_name="checkout-mtls"} |= "${marker}"`), [], 'the admin token is of tenant default');

  const audit = await queryLines(paymentsToken, `{meshlog_stream="audit"} |= "spiffe://cluster.local/ns/payments/sa/checkout" |= "/v1/logs"`);
  assert.ok(audit.length >= 1, 'the ingest request is audited');
  const record = JSON.parse(audit[0]!) as { tenant: string; outcome: string; actor: { id: string; kind: string; method: string; roles: string[] } };
  assert.equal(record.tenant, 'payments');
  assert.equal(record.outcome, 'success');
  assert.deepEqual(record.actor, { id: 'spiffe://cluster.local/ns/payments/sa/checkout', kind: 'certificate', name: 'CN=checkout', roles: ['ingester'], method: 'mtls' });
});

test('a verified certificate that matches no rule is refused naming its SPIFFE ID; with a token beside it, the token decides', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const w = await postLogs(['from the shop'], 'shop', withCert(shop));
  assert.equal(w.status, 401, w.text);
  assert.match(w.text, /client certificate spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart matches none of the 1 auth\.certificate_rules; add a rule for it/);
  const r = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: withCert(shop), headers: bearer(server.token) });
  assert.equal(r.status, 200, r.text);
});

test('a certificate a rule matches is the identity: its roles apply and a token beside it is not used', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const r = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: withCert(payments), headers: bearer(server.token) });
  assert.equal(r.status, 403, r.text);
  // /loki/api/v1/* answer errors as Loki does: the message alone, as text.
  assert.match(r.text, /needs the "logs:read" permission .*this identity has ingester/);
});

function grpcMetadata(token?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

async function exportWithSdk(credentials: grpc.ChannelCredentials, metadata: grpc.Metadata, service: string, lines: string[]): Promise<void> {
  const exporter = new OTLPLogExporter({ url: `https://127.0.0.1:${grpcPort}`, credentials, metadata, compression: 'gzip' as never });
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service }), processors: [new BatchLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('e2e-tls');
  for (const body of lines) logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body });
  await provider.forceFlush();
  await provider.shutdown();
}

/** One raw OTLP Export call (grpc-js), resolving with the error or null. */
async function exportRaw(credentials: grpc.ChannelCredentials, metadata: grpc.Metadata): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  const t = otlpType('ExportLogsServiceRequest');
  const body = Buffer.from(t.encode(t.fromObject({ resourceLogs: [] })).finish());
  const id = (b: Buffer): Buffer => b;
  try {
    return await new Promise((resolve) =>
      client.makeUnaryRequest('/opentelemetry.proto.collector.logs.v1.LogsService/Export', id, id, body, metadata, { deadline: Date.now() + 10_000 }, (err) => resolve(err)),
    );
  } finally {
    client.close();
  }
}

test('OTLP/gRPC over TLS: the SDK exporter with a token, and with a client certificate alone (mTLS) into its rule\'s tenant', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const ca = readFileSync(pki.ca);
  const marker = randomUUID();
  await exportWithSdk(grpc.credentials.createSsl(ca), grpcMetadata(server.token), 'grpc-tls-token', [`token ${marker}`]);
  assert.deepEqual(await queryLines(server.token, `{service_name="grpc-tls-token"} |= "${marker}"`), [`token ${marker}`]);

  await exportWithSdk(grpc.credentials.createSsl(ca, readFileSync(payments.key), readFileSync(payments.cert)), grpcMetadata(), 'grpc-mtls', [`mtls ${marker}`]);
  assert.deepEqual(await queryLines(paymentsToken, `{service_name="grpc-mtls"} |= "${marker}"`), [`mtls ${marker}`]);
  assert.deepEqual(await queryLines(server.token, `{service_name="grpc-mtls"} |= "${marker}"`), []);

  const plaintext = await exportRaw(grpc.credentials.createInsecure(), grpcMetadata(server.token));
  assert.equal(plaintext?.code, grpc.status.UNAVAILABLE, 'plaintext HTTP/2 to the TLS port');
  const unknownCa = await exportRaw(grpc.credentials.createSsl(ca, readFileSync(rogue.key), readFileSync(rogue.cert)), grpcMetadata(server.token));
  assert.equal(unknownCa?.code, grpc.status.UNAUTHENTICATED);
  assert.match(unknownCa!.details, /not signed by the listener's client CA/);
  const noRule = await exportRaw(grpc.credentials.createSsl(ca, readFileSync(shop.key), readFileSync(shop.cert)), grpcMetadata());
  assert.equal(noRule?.code, grpc.status.UNAUTHENTICATED);
  assert.match(noRule!.details, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart matches none/);
});

/** Opens a TCP connection; resolves true when the server keeps it open, false when it closes it at once (refused at accept). */
function holdConnection(port: number, held: Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.on('error', () => undefined);
    const timer = setTimeout(() => {
      held.push(s);
      resolve(true);
    }, 300);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

test('gRPC max_connections: a connection beyond the limit is refused at accept; once others close, calls succeed again', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const ca = readFileSync(pki.ca);
  const held: Socket[] = [];
  try {
    let refused = false;
    for (let i = 0; i <= MAX_GRPC_CONNECTIONS && !refused; i++) refused = !(await holdConnection(grpcPort, held));
    assert.ok(refused, `a connection beyond ${MAX_GRPC_CONNECTIONS} was accepted`);
    assert.ok(held.length <= MAX_GRPC_CONNECTIONS);
    const err = await exportRaw(grpc.credentials.createSsl(ca), grpcMetadata(server.token));
    assert.equal(err?.code, grpc.status.UNAVAILABLE, 'the exporter cannot connect while the listener is full');
    assert.match(server.output(), /gRPC connection refused: server\.grpc\.max_connections reached/);
  } finally {
    for (const s of held) s.destroy();
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await exportRaw(grpc.credentials.createSsl(ca), grpcMetadata(server.token)), null);
});

/** The serial of the certificate a new TLS connection to `port` gets. */
function serialOfNewConnection(port: number, alpn?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), ...(alpn ? { ALPNProtocols: [alpn] } : {}) }, () => {
      const serial = s.getPeerCertificate().serialNumber.toUpperCase().replace(/^0+/, '');
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('certificate reload: new connections get the renewed certificate, an open one keeps working; a bad file keeps it and the log names the file', async (t) => {
  if (!needOpenssl(t, openssl)) return;
  const agent = keepAliveAgent(trustOnly());
  try {
    const before = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: trustOnly(), headers: bearer(server.token), agent });
    assert.equal(before.serverSerial, pki.serverSerial);

    const renewed = issueCertificate(join(dir, 'renewed'), 'server', { ca: caOf(pki), cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1', usage: 'serverAuth' }, openssl);
    // Written in two steps, as a careless renewal does: for a moment the key does not match the certificate.
    writeFileSync(live.key, readFileSync(renewed.key));
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(live.cert, readFileSync(renewed.cert));

    await until('HTTPS to serve the renewed certificate', async () => (await httpsRequest(`${server.url}/ready`, { tls: trustOnly() })).serverSerial === renewed.serial);
    await until('gRPC to serve the renewed certificate', async () => (await serialOfNewConnection(grpcPort, 'h2')) === renewed.serial);
    const again = await httpsRequest(`${server.url}/loki/api/v1/labels`, { tls: trustOnly(), headers: bearer(server.token), agent });
    assert.equal(again.status, 200);
    assert.equal(again.localPort, before.localPort, 'the same connection');
    assert.equal(again.serverSerial, pki.serverSerial, 'it keeps the certificate it was opened with');
    assert.match(server.output(), /TLS certificate reloaded: new connections get the new certificate.*"listener":"http"/);
    assert.doesNotMatch(server.output(), /TLS certificate reload failed/, 'a renewal written in two steps is not an error');

    // A broken file, and SIGHUP: the error names the file, the renewed certificate stays.
    writeFileSync(live.cert, 'not a certificate\n');
    server.proc.kill('SIGHUP');
    await until('the reload error in the log', async () => /TLS certificate reload failed/.test(server.output()));
    const failure = server.output().split('\n').find((l) => l.includes('TLS certificate reload failed'))!;
    assert.ok(failure.includes(live.cert) && failure.includes('cert_file') && failure.includes('no PEM certificate'), failure);
    assert.equal((await httpsRequest(`${server.url}/ready`, { tls: trustOnly() })).serverSerial, renewed.serial);
    assert.equal(await serialOfNewConnection(grpcPort, 'h2'), renewed.serial);
    writeFileSync(live.cert, readFileSync(renewed.cert));
  } finally {
    agent.destroy();
  }
});
