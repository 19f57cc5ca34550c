/**
 * A throwaway PKI for TLS tests, made with `openssl`: a CA, a server
 * certificate for `localhost` and 127.0.0.1 (peers that check names, like
 * rsyslog's x509/name mode, see `localhost`), and a client certificate for
 * mutual TLS. P-256 keys, valid two days, written to `dir`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
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

export function makeTestPki(dir: string, openssl = 'openssl'): TestPki {
  mkdirSync(dir, { recursive: true });
  const f = (name: string): string => join(dir, name);
  const run = (...args: string[]): void => void execFileSync(openssl, args, { cwd: dir, stdio: 'ignore' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('req', '-x509', ...key, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=meshlog test CA');
  for (const [name, cn, ext] of [
    ['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'meshlog-test-client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(f(`${name}.ext`), ext);
    run('req', ...key, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    run('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`));
  }
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}
