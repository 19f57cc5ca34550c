/**
 * A throwaway PKI for TLS tests, made with `openssl`: a CA, a server
 * certificate for `localhost` and 127.0.0.1 (peers that check names, like
 * rsyslog's x509/name mode, see `localhost`), and a client certificate for
 * mutual TLS. P-256 keys, valid two days, written to `dir`.
 *
 * `issueCertificate` adds more: client certificates carrying a SPIFFE ID
 * (URI SAN), a second server certificate (a renewal: new serial), or
 * anything signed by another CA (`makeCa`), e.g. one the server does not
 * trust.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  /** The CA's key (for issuing more certificates). */
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The server certificate's serial (upper-case hex, as Node reports it). */
  serverSerial: string;
  clientCert: string;
  clientKey: string;
  dir: string;
  openssl: string;
}

/** The CA of a TestPki, for issueCertificate. */
export function caOf(pki: TestPki): TestCa {
  return { cert: pki.ca, key: pki.caKey };
}

export interface TestCa {
  cert: string;
  key: string;
}

export interface IssuedCertificate {
  cert: string;
  key: string;
  /** Serial number, upper-case hex without leading zeros (as Node reports it). */
  serial: string;
}

/** The openssl binary, or undefined when it is not installed. */
export function findOpenssl(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return 'openssl';
  } catch {
    return undefined;
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed CA named `name` in `dir` (`<name>.crt`, `<name>.key`). */
export function makeCa(dir: string, name: string, openssl = 'openssl'): TestCa {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(openssl, ['req', '-x509', ...KEY, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=meshlog test CA ${name}`], { cwd: dir, stdio: 'ignore' });
  return { cert, key };
}

/**
 * A certificate signed by `ca`: `cn` as the subject, `san` as the
 * subjectAltName extension (`URI:spiffe://td/ns/a/sa/b`, `DNS:localhost,IP:127.0.0.1`),
 * `usage` serverAuth or clientAuth. Each gets a random serial.
 */
export function issueCertificate(
  dir: string,
  name: string,
  opts: { ca: TestCa; cn: string; san?: string; usage?: 'serverAuth' | 'clientAuth' },
  openssl = 'openssl',
): IssuedCertificate {
  mkdirSync(dir, { recursive: true });
  const f = (ext: string): string => join(dir, `${name}.${ext}`);
  const run = (...args: string[]): void => void execFileSync(openssl, args, { cwd: dir, stdio: 'ignore' });
  writeFileSync(f('ext'), `${opts.san ? `subjectAltName=${opts.san}\n` : ''}extendedKeyUsage=${opts.usage ?? 'clientAuth'}\n`);
  run('req', ...KEY, '-keyout', f('key'), '-out', f('csr'), '-subj', `/CN=${opts.cn}`);
  run('x509', '-req', '-in', f('csr'), '-CA', opts.ca.cert, '-CAkey', opts.ca.key, '-set_serial', `0x${randomSerial()}`, '-out', f('crt'), '-days', '2', '-extfile', f('ext'));
  const serial = execFileSync(openssl, ['x509', '-in', f('crt'), '-noout', '-serial'], { encoding: 'utf8' }).trim().replace(/^serial=/, '').replace(/^0+/, '').toUpperCase();
  return { cert: f('crt'), key: f('key'), serial };
}

function randomSerial(): string {
  // 15 random bytes with the top bit clear: a positive serial of fixed length.
  const bytes = Array.from({ length: 15 }, () => Math.floor(Math.random() * 256));
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function makeTestPki(dir: string, openssl = 'openssl'): TestPki {
  mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'ca', openssl);
  const server = issueCertificate(dir, 'server', { ca, cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1', usage: 'serverAuth' }, openssl);
  const client = issueCertificate(dir, 'client', { ca, cn: 'meshlog-test-client' }, openssl);
  return { ca: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key, serverSerial: server.serial, clientCert: client.cert, clientKey: client.key, dir, openssl };
}

/** The contents of a PEM file (for client options that take PEM, not paths). */
export function pem(path: string): Buffer {
  return readFileSync(path);
}

/** openssl, or the test skips with the reason (and fails under CI=true, where it must be installed). */
export function needOpenssl(t: { name: string; skip(message?: string): void }, openssl: string | undefined): openssl is string {
  if (openssl !== undefined) return true;
  if (process.env['CI'] === 'true') throw new Error('openssl is not installed; .ci/run must install it');
  console.log(`# ${t.name}: skipped: openssl is not installed`);
  t.skip('openssl is not installed');
  return false;
}
