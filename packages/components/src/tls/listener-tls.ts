/**
 * TLS of a listener, as configured: the server's `server.tls` (HTTP, gRPC,
 * Fluent forward, syslog over TLS) and the `tls` of sources that own a
 * listener. One schema, so every listener means the same by each key.
 *
 * Validation is pure; the files are read (and re-read on change) by
 * `CertificateFiles`. `tlsServerOptions` turns a config and its current
 * files into `node:tls` server options; `keepCertificateCurrent` keeps a running
 * server's certificate current (`setSecureContext`): new connections get the
 * new certificate, open ones keep theirs.
 */
import type { Server as TlsServer, TlsOptions, SecureContextOptions } from 'node:tls';
import { z } from 'zod';
import type { TransportSecurity } from '@meshlog/core';
import type { CertificateFiles } from './certificate-files.js';

export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export const CLIENT_AUTH_MODES = ['none', 'optional', 'required'] as const;
export type ClientAuth = (typeof CLIENT_AUTH_MODES)[number];

export const ListenerTlsSchema = z
  .object({
    /** Server certificate chain (PEM), leaf first. */
    cert_file: z.string().min(1),
    /** Its private key (PEM). */
    key_file: z.string().min(1),
    /** CA bundle (PEM) that client certificates must chain to; needed when client_auth is not none. */
    client_ca_file: z.string().min(1).optional(),
    /**
     * none: no client certificate asked for; optional: asked for, and a
     * presented one must verify (a request with an unverified one is
     * refused, one without falls back to tokens); required: the handshake
     * fails without a verified one.
     */
    client_auth: z.enum(CLIENT_AUTH_MODES).default('none'),
    /** Oldest protocol version accepted. */
    min_version: z.enum(TLS_MIN_VERSIONS).default('TLSv1.2'),
    /** A client that has not finished its handshake by then is disconnected (slowloris). */
    handshake_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.client_auth !== 'none' && t.client_ca_file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: `client_auth: ${t.client_auth} needs client_ca_file (the CA bundle that signs client certificates)` });
    }
    if (t.client_auth === 'none' && t.client_ca_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_auth'], message: 'client_ca_file is set but client_auth is none, so no client certificate is asked for: set client_auth: optional or required' });
    }
  });
export type ListenerTlsConfig = z.infer<typeof ListenerTlsSchema>;

/**
 * Cipher suites: Mozilla's "intermediate" profile. TLS 1.3's suites, and for
 * TLS 1.2 only ECDHE key exchange (forward secrecy) with AEAD ciphers (GCM,
 * ChaCha20-Poly1305); Node's default list would also offer CBC suites and
 * finite-field DHE. Every current client (OpenSSL, GnuTLS in rsyslog, Go,
 * Envoy's BoringSSL, Java 8+) speaks these.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** How often certificate files are re-read to notice a renewal. */
export const CERTIFICATE_POLL_MS = 5_000;

/** Options for `tls.createServer` / `https.createServer` / `http2.createSecureServer`. */
export function tlsServerOptions(
  config: Pick<ListenerTlsConfig, 'client_auth' | 'min_version'> & { handshake_timeout_ms?: number },
  files: CertificateFiles,
  opts: { handshakeTimeoutMs?: number } = {},
): TlsOptions {
  const handshakeTimeout = opts.handshakeTimeoutMs ?? config.handshake_timeout_ms;
  return {
    ...secureContextOptions(config, files),
    requestCert: config.client_auth !== 'none',
    // optional: the handshake completes with an unverified certificate; the request or connection is then refused by name.
    rejectUnauthorized: config.client_auth === 'required',
    ...(handshakeTimeout !== undefined ? { handshakeTimeout } : {}),
  };
}

/** The part of the options a reload replaces. */
export function secureContextOptions(config: Pick<ListenerTlsConfig, 'min_version'>, files: CertificateFiles): SecureContextOptions {
  const m = files.current;
  return { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}), minVersion: config.min_version, ciphers: TLS_CIPHERS, honorCipherOrder: true };
}

/**
 * Keeps a running server's certificate current: the files are re-read
 * every `pollMs` and whenever the host asks (SIGHUP, through
 * `TransportSecurity.onReloadRequest`); contents that check out replace the
 * server's secure context, so new connections get them while open ones keep
 * theirs. Returns the function that stops watching.
 */
export function keepCertificateCurrent(
  server: Pick<TlsServer, 'setSecureContext'>,
  config: Pick<ListenerTlsConfig, 'min_version'>,
  files: CertificateFiles,
  opts: { security?: TransportSecurity | undefined; pollMs?: number } = {},
): () => void {
  const off = files.onChange(() => server.setSecureContext(secureContextOptions(config, files)));
  files.watch(opts.pollMs ?? CERTIFICATE_POLL_MS);
  const unsubscribe = opts.security?.onReloadRequest(() => files.check('signal'));
  return () => {
    off();
    files.close();
    unsubscribe?.();
  };
}
