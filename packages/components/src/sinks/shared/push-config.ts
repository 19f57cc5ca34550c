/**
 * Config keys every shipping sink (`meshlog`, `otlp`, `loki`) shares: where
 * to send, TLS (server verification and the client certificate for mutual
 * TLS), credentials by reference (a file or an environment variable, never a
 * literal in the config), the disk buffer, request sizes and retry pacing.
 * Validation is pure; files are read when the sink is built.
 */
import { z } from 'zod';
import { TLS_MIN_VERSIONS } from '../../tls/listener-tls.js';

export const ClientTlsSchema = z
  .object({
    /** CA bundle (PEM) that signs the server's certificate; without it the system's CAs. */
    ca_file: z.string().min(1).optional(),
    /** Client certificate chain (PEM) for mutual TLS; re-read when it changes (renewals need no restart). */
    cert_file: z.string().min(1).optional(),
    /** Its private key (PEM). */
    key_file: z.string().min(1).optional(),
    /** Name checked against the server certificate, when it differs from the endpoint's host. */
    server_name: z.string().min(1).optional(),
    min_version: z.enum(TLS_MIN_VERSIONS).default('TLSv1.2'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.cert_file !== undefined && t.key_file === undefined) ctx.addIssue({ code: 'custom', path: ['key_file'], message: 'key_file is required with cert_file' });
    if (t.key_file !== undefined && t.cert_file === undefined) ctx.addIssue({ code: 'custom', path: ['cert_file'], message: 'cert_file is required with key_file' });
  });
export type ClientTlsConfig = z.infer<typeof ClientTlsSchema>;

export const DiskBufferSchema = z
  .object({
    /** Unacknowledged bytes at most (compressed requests as stored); then `when_full`. */
    max_bytes: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
    /** Segment file size; a fully acknowledged segment is deleted. */
    max_segment_bytes: z.number().int().min(64 * 1024).default(16 * 1024 * 1024),
    /** block: sources stop reading until the destination catches up; drop_newest: refuse new batches, counted. */
    when_full: z.enum(['block', 'drop_newest']).default('block'),
  })
  .strict();

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const PushSinkBaseSchema = z.object({
  /** Bearer token read from this file (re-read when it changes). */
  token_file: z.string().min(1).optional(),
  /** ... or from this environment variable. */
  token_env: z.string().regex(ENV_NAME, 'an environment variable name').optional(),
  tls: ClientTlsSchema.optional(),
  /**
   * DANGEROUS: send over plain http:// to a host that is not loopback. Logs
   * (and the token) then cross the network readable by anyone on the path.
   */
  allow_plaintext: z.boolean().default(false),
  compression: z.enum(['gzip', 'none']).default('gzip'),
  disk_buffer: DiskBufferSchema.default({ max_bytes: 256 * 1024 * 1024, max_segment_bytes: 16 * 1024 * 1024, when_full: 'block' }),
  /** One request carries at most this many records ... */
  request_max_records: z.number().int().min(1).max(1_000_000).default(10_000),
  /** ... and about this many bytes before compression. */
  request_max_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024),
  /** Requests in flight at once. */
  concurrency: z.number().int().min(1).max(32).default(2),
  /** The whole request (sent, answered, answer read), not only the time between bytes. */
  timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
  /** Retryable failures wait initial_backoff_ms, doubling up to max_backoff_ms, with jitter; Retry-After wins when sent. */
  initial_backoff_ms: z.number().int().min(1).max(60_000).default(250),
  max_backoff_ms: z.number().int().min(1).max(3_600_000).default(30_000),
  /** Extra request headers (not credentials: use token_file / token_env). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name'), z.string()).default({}),
});

export function refineEndpoint(value: { endpoint: string; allow_plaintext: boolean; token_file?: string | undefined; token_env?: string | undefined }, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(value.endpoint);
  } catch {
    ctx.addIssue({ code: 'custom', path: ['endpoint'], message: `not a URL: ${JSON.stringify(value.endpoint)} (e.g. https://meshlog.example:3100)` });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'must be an http:// or https:// URL' });
  if (url.username || url.password) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'put credentials in token_file or token_env, not in the URL' });
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !value.allow_plaintext) {
    ctx.addIssue({ code: 'custom', path: ['endpoint'], message: `plain http:// to ${url.hostname} would send logs unencrypted; use https:// (with tls), or set allow_plaintext: true if you must` });
  }
  if (value.token_file !== undefined && value.token_env !== undefined) ctx.addIssue({ code: 'custom', path: ['token_env'], message: 'set token_file or token_env, not both' });
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}
