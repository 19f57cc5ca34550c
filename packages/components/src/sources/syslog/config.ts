/**
 * Config of the `syslog` source: where it listens (TCP and UDP on `port`,
 * TLS on `tls_port`), which tenant its records belong to, what happens to
 * lines that are not syslog, and the limits that keep a listener safe.
 * Validation is pure: certificate files are read when the source is built
 * (and re-read while it runs, see tls/certificate-files.ts).
 *
 * `tls` keeps its own key names (`ca_file`, not the server's
 * `client_ca_file`): configs written for it before `server.tls` existed
 * keep working.
 */
import { z } from 'zod';
import { TLS_MIN_VERSIONS } from '../../tls/listener-tls.js';

const port = z.number().int().min(0).max(65535);

export const SyslogTlsSchema = z
  .object({
    /** Server certificate chain (PEM). */
    cert_file: z.string().min(1).optional(),
    /** Its private key (PEM). */
    key_file: z.string().min(1).optional(),
    /** CA bundle (PEM) that signs client certificates; needed when client_auth is not none. */
    ca_file: z.string().min(1).optional(),
    /**
     * none: no client certificate asked for; optional: asked for and checked
     * when sent; required: connections without a valid one are refused.
     */
    client_auth: z.enum(['none', 'optional', 'required']).default('none'),
    /** Oldest TLS version accepted. */
    min_version: z.enum(TLS_MIN_VERSIONS).default('TLSv1.2'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.cert_file !== undefined && t.key_file === undefined) ctx.addIssue({ code: 'custom', path: ['key_file'], message: 'key_file is required with cert_file' });
    if (t.key_file !== undefined && t.cert_file === undefined) ctx.addIssue({ code: 'custom', path: ['cert_file'], message: 'cert_file is required with key_file' });
    if (t.client_auth !== 'none' && t.ca_file === undefined) ctx.addIssue({ code: 'custom', path: ['ca_file'], message: `client_auth: ${t.client_auth} needs ca_file (the CA that signs client certificates)` });
  });
export type SyslogTlsConfig = z.infer<typeof SyslogTlsSchema>;

export const SyslogSourceConfigSchema = z
  .object({
    /** Address every listener binds to. No credentials travel with syslog: keep it on loopback or a trusted network. */
    address: z.string().min(1).default('127.0.0.1'),
    /** TCP and UDP port; 0 turns both off. */
    port: port.default(5514),
    tcp: z.boolean().default(true),
    udp: z.boolean().default(true),
    /** Syslog over TLS (RFC 5425); 0 = off. Stays off, with a warning, while no certificate is configured. */
    tls_port: port.default(0),
    tls: SyslogTlsSchema.optional(),
    /**
     * Tenant of every record, except on TLS connections whose client
     * certificate the server maps to a tenant (auth.certificate_rules).
     */
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, _ . - (at most 128)')
      .default('default'),
    /** A line that is not syslog: keep it whole as the body with `syslog.parse_error` (keep), or discard it, counted (drop). */
    on_parse_error: z.enum(['keep', 'drop']).default('keep'),
    /** Longer messages are cut to this many bytes (and counted). */
    max_message_bytes: z.number().int().min(480).max(16 * 1024 * 1024).default(64 * 1024),
    /** Per listener (TCP, TLS); further connections are refused and counted. */
    max_connections: z.number().int().min(1).max(100_000).default(1000),
    /** A TCP or TLS connection that sends nothing for this long is closed. */
    idle_timeout_ms: z.number().int().min(1000).default(600_000),
    /** A TLS client that has not finished its handshake by then is disconnected (slowloris). */
    tls_handshake_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    /** A batch goes to the pipeline when it has this many records ... */
    batch_max_records: z.number().int().min(1).max(100_000).default(1000),
    /** ... or when its first record has waited this long. */
    batch_max_wait_ms: z.number().int().min(1).max(10_000).default(100),
    /**
     * How long one hand-off waits for queue space. TCP and TLS then retry
     * (the connection stays paused: TCP flow control is syslog's only
     * backpressure); UDP drops the batch, counted as queue_full.
     */
    max_wait_ms: z.number().int().min(0).max(60_000).default(1000),
  })
  .strict();
export type SyslogSourceConfig = z.infer<typeof SyslogSourceConfigSchema>;
