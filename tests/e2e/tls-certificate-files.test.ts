/**
 * `CertificateFiles` (packages/components/src/tls/certificate-files.ts) in
 * process, on certificates made with openssl for the run: what a reload
 * takes, what it refuses and what it logs. The same watcher serves every
 * listener; tests/e2e/tls.test.ts drives it through a server process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '@meshlog/core';
import { CertificateFileError, CertificateFiles } from '@meshlog/components';
import { tempDir } from '../helpers/server-process.js';
import { caOf, findOpenssl, issueCertificate, makeTestPki, needOpenssl, type IssuedCertificate, type TestPki } from '../helpers/test-pki.js';

const openssl = findOpenssl();
const dir = tempDir('meshlog-cert-files-');
let pki: TestPki;
let renewed: IssuedCertificate;
const live = { cert_file: join(dir, 'live', 'tls.crt'), key_file: join(dir, 'live', 'tls.key'), client_ca_file: join(dir, 'live', 'ca.crt') };

before(() => {
  if (!openssl) return;
  pki = makeTestPki(join(dir, 'pki'), openssl);
  renewed = issueCertificate(join(dir, 'renewed'), 'server', { ca: caOf(pki), cn: 'localhost', san: 'DNS:localhost', usage: 'serverAuth' }, openssl);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function installOriginal(): void {
  mkdirSync(join(dir, 'live'), { recursive: true });
  copyFileSync(pki.serverCert, live.cert_file);
  copyFileSync(pki.serverKey, live.key_file);
  copyFileSync(pki.ca, live.client_ca_file);
}

function recordingLogger(): { logger: Logger; errors: Record<string, unknown>[]; infos: string[] } {
  const errors: Record<string, unknown>[] = [];
  const infos: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    info: (msg) => void infos.push(msg),
    error: (msg, fields) => void errors.push({ msg, ...fields }),
    child: () => logger,
  };
  return { logger, errors, infos };
}

test('a renewal written in two steps: the half-done state fails quietly, the finished one is taken and announced', (t) => {
  if (!needOpenssl(t, openssl)) return;
  installOriginal();
  const { logger, errors, infos } = recordingLogger();
  const files = new CertificateFiles(live, { label: 'test', logger });
  assert.equal(files.current.serial, pki.serverSerial);
  const seen: string[] = [];
  files.onChange((m) => seen.push(m.serial));
  assert.equal(files.check('poll'), 'unchanged');
  // A touch is not a change.
  utimesSync(live.cert_file, new Date(), new Date(Date.now() + 5000));
  assert.equal(files.check('poll'), 'unchanged');

  writeFileSync(live.key_file, readFileSync(renewed.key));
  assert.equal(files.check('poll'), 'failed');
  assert.deepEqual(errors, [], 'one failed poll of new contents is a renewal in progress');
  writeFileSync(live.cert_file, readFileSync(renewed.cert));
  assert.equal(files.check('poll'), 'reloaded');
  assert.equal(files.current.serial, renewed.serial);
  assert.deepEqual(seen, [renewed.serial]);
  assert.deepEqual(errors, []);
  assert.ok(infos.includes('TLS certificate reloaded: new connections get the new certificate'));
});

test('contents that stay broken are logged once, naming the file; SIGHUP reports at once; the old certificate stays', (t) => {
  if (!needOpenssl(t, openssl)) return;
  installOriginal();
  const { logger, errors } = recordingLogger();
  const files = new CertificateFiles(live, { label: 'test', logger });
  writeFileSync(live.key_file, readFileSync(renewed.key));
  assert.equal(files.check('poll'), 'failed');
  assert.equal(files.check('poll'), 'failed');
  assert.equal(files.check('poll'), 'failed');
  assert.equal(errors.length, 1, 'logged once, not at every poll');
  assert.equal(errors[0]!['file'], live.key_file);
  assert.equal(errors[0]!['key'], 'key_file');
  assert.match(String(errors[0]!['error']), /the key does not belong to the certificate in cert_file/);
  assert.equal(files.current.serial, pki.serverSerial, 'still the previous certificate');

  writeFileSync(live.client_ca_file, 'garbage\n');
  writeFileSync(live.key_file, readFileSync(pki.serverKey));
  assert.equal(files.check('signal'), 'failed');
  assert.equal(errors.length, 2, 'a SIGHUP reports at once');
  assert.equal(errors[1]!['file'], live.client_ca_file);
  assert.match(String(errors[1]!['error']), /client_ca_file .*: no PEM certificate in it/);
});

test('at start a missing or broken file is an error naming its key and path', (t) => {
  if (!needOpenssl(t, openssl)) return;
  installOriginal();
  const missing = join(dir, 'nope.crt');
  assert.throws(
    () => new CertificateFiles({ ...live, cert_file: missing }, { label: 'test', logger: silentLogger }),
    (err: unknown) => err instanceof CertificateFileError && err.key === 'cert_file' && err.path === missing && /cannot read it \(ENOENT\)/.test(err.message),
  );
  writeFileSync(join(dir, 'bad.key'), '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n');
  assert.throws(() => new CertificateFiles({ ...live, key_file: join(dir, 'bad.key') }, { label: 'test', logger: silentLogger }), /key_file .*bad\.key: not a PEM private key/);
});
