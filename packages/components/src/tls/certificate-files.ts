/**
 * A listener's certificate, key and client CA files, read and checked at
 * start and re-read while it runs, so a renewed certificate (cert-manager,
 * a SPIFFE helper, an operator's `cp`) is served without a restart.
 *
 * Change detection reads the files and compares a SHA-256 of their
 * contents (they are a few KiB): a copy that keeps the mtime is seen, a
 * `touch` is not a change. New contents are checked as a whole before they
 * replace the old: every PEM block parses, the key belongs to the
 * certificate, Node accepts them as a secure context. Until then the old
 * certificate stays in use, and the error names the file and key at fault
 * (never the contents).
 *
 * A replacement written in steps (the certificate, then the key) can be
 * read half-done: a failed check found by polling is logged only once the
 * same contents fail twice in a row, so a renewal in progress logs nothing;
 * a check asked for explicitly (SIGHUP) logs at once.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from '@meshlog/core';

export interface CertificatePaths {
  cert_file: string;
  key_file: string;
  client_ca_file?: string | undefined;
}

/** Checked certificate material, ready for a secure context. */
export interface CertificateMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  /** The leaf certificate's serial number (upper-case hex), subject and expiry, for logs. */
  serial: string;
  subject: string;
  notAfter: string;
  /** SHA-256 over the three files' contents. */
  digest: string;
}

/** A file that cannot be used, named by its config key and path. */
export class CertificateFileError extends Error {
  constructor(
    /** The config key (`cert_file`, `key_file`, `client_ca_file`). */
    readonly key: string,
    readonly path: string,
    /** What is wrong with it, without the key and path. */
    readonly problem: string,
  ) {
    super(`${key} ${path}: ${problem}`);
    this.name = 'CertificateFileError';
  }
}

export type CheckOutcome = 'unchanged' | 'reloaded' | 'failed';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CertificateFileError(key, path, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function certificatesOf(key: string, path: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new CertificateFileError(key, path, 'no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new CertificateFileError(key, path, `certificate ${i + 1} does not parse (${(err as Error).message})`);
    }
  });
}

function digestOf(cert: Buffer, key: Buffer, ca: Buffer | undefined): string {
  const h = createHash('sha256').update(cert).update('\0').update(key).update('\0');
  if (ca) h.update(ca);
  return h.digest('hex');
}

/** Reads and checks the files; throws `CertificateFileError` naming the one at fault. */
export function loadCertificateMaterial(paths: CertificatePaths): CertificateMaterial {
  const cert = readPem('cert_file', paths.cert_file);
  const key = readPem('key_file', paths.key_file);
  const ca = paths.client_ca_file !== undefined ? readPem('client_ca_file', paths.client_ca_file) : undefined;
  return checkMaterial(paths, cert, key, ca);
}

function checkMaterial(paths: CertificatePaths, cert: Buffer, key: Buffer, ca: Buffer | undefined): CertificateMaterial {
  const leaf = certificatesOf('cert_file', paths.cert_file, cert)[0]!;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new CertificateFileError('key_file', paths.key_file, `not a PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CertificateFileError('key_file', paths.key_file, `the key does not belong to the certificate in cert_file ${paths.cert_file}`);
  }
  if (ca && paths.client_ca_file !== undefined) certificatesOf('client_ca_file', paths.client_ca_file, ca);
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new CertificateFileError('cert_file', paths.cert_file, `not usable with key_file ${paths.key_file} (${(err as Error).message})`);
  }
  return { cert, key, ca, serial: leaf.serialNumber.toUpperCase(), subject: leaf.subject.replace(/\n/g, ', '), notAfter: new Date(leaf.validTo).toISOString(), digest: digestOf(cert, key, ca) };
}

export class CertificateFiles {
  private material: CertificateMaterial;
  private readonly listeners = new Set<(m: CertificateMaterial) => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Digest of contents that failed a polled check once (logged if they fail again). */
  private failedOnce: string | undefined;
  /** Digest of contents whose failure was logged (not logged again). */
  private failedLogged: string | undefined;

  constructor(
    private readonly paths: CertificatePaths,
    private readonly opts: { label: string; logger: Logger },
  ) {
    this.material = loadCertificateMaterial(paths);
    this.warnIfExpiring();
  }

  get current(): CertificateMaterial {
    return this.material;
  }

  onChange(listener: (m: CertificateMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the files every `intervalMs` (the timer does not keep the process alive). */
  watch(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check('poll'), intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the files; swaps in new contents that check out, keeps the old ones otherwise. */
  check(reason: 'poll' | 'signal'): CheckOutcome {
    const { paths, opts } = this;
    let cert: Buffer;
    let key: Buffer;
    let ca: Buffer | undefined;
    let digest: string;
    try {
      cert = readPem('cert_file', paths.cert_file);
      key = readPem('key_file', paths.key_file);
      ca = paths.client_ca_file !== undefined ? readPem('client_ca_file', paths.client_ca_file) : undefined;
      digest = digestOf(cert, key, ca);
    } catch (err) {
      this.failed(reason, `unreadable:${(err as Error).message}`, err as Error);
      return 'failed';
    }
    if (digest === this.material.digest) {
      this.failedOnce = undefined;
      if (reason === 'signal') opts.logger.info('TLS certificate unchanged', { listener: opts.label, serial: this.material.serial });
      return 'unchanged';
    }
    let next: CertificateMaterial;
    try {
      next = checkMaterial(paths, cert, key, ca);
    } catch (err) {
      this.failed(reason, digest, err as Error);
      return 'failed';
    }
    const previous = this.material;
    this.material = next;
    this.failedOnce = undefined;
    this.failedLogged = undefined;
    opts.logger.info('TLS certificate reloaded: new connections get the new certificate', {
      listener: opts.label,
      trigger: reason === 'signal' ? 'SIGHUP' : 'file change',
      serial: next.serial,
      previousSerial: previous.serial,
      subject: next.subject,
      notAfter: next.notAfter,
      clientCa: next.ca !== undefined && previous.ca !== undefined && !next.ca.equals(previous.ca) ? 'changed' : 'unchanged',
    });
    this.warnIfExpiring();
    for (const l of this.listeners) {
      try {
        l(next);
      } catch (err) {
        opts.logger.error('applying the reloaded TLS certificate failed; connections keep the previous one', { listener: opts.label, error: (err as Error).message });
      }
    }
    return 'reloaded';
  }

  private failed(reason: 'poll' | 'signal', digest: string, err: Error): void {
    if (reason === 'poll') {
      // A renewal written in steps fails once; contents that fail twice are really broken.
      if (this.failedOnce !== digest) {
        this.failedOnce = digest;
        return;
      }
      if (this.failedLogged === digest) return;
    }
    this.failedLogged = digest;
    this.opts.logger.error('TLS certificate reload failed; still serving the previous certificate', {
      listener: this.opts.label,
      ...(err instanceof CertificateFileError ? { file: err.path, key: err.key } : {}),
      error: err.message,
      serial: this.material.serial,
    });
  }

  private warnIfExpiring(): void {
    const left = Date.parse(this.material.notAfter) - Date.now();
    if (left < 7 * 24 * 3600_000) {
      this.opts.logger.warn(left <= 0 ? 'TLS certificate has expired' : 'TLS certificate expires within 7 days', {
        listener: this.opts.label,
        file: this.paths.cert_file,
        serial: this.material.serial,
        notAfter: this.material.notAfter,
      });
    }
  }
}
