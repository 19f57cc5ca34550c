/**
 * Config of the `fluent` source: the Fluentd Forward Protocol v1 on a TCP
 * listener of its own. Pure validation; the key files are read at build.
 *
 * Secure default: the forward protocol has no credential but the shared key,
 * so a listener on anything but a loopback address must have
 * `security.shared_key_file` (or `shared_keys`), or TLS with
 * `client_auth: required` (the client certificate is then the credential),
 * unless the operator opts out with the dangerous-sounding
 * `insecure_allow_unauthenticated: true`.
 *
 * `tls` is Fluent Bit's `tls on` / Fluentd's `<transport tls>`: the whole
 * stream is TLS (no STARTTLS); with a verified client certificate the host
 * decides the tenant from its SPIFFE ID (it wins over `tenant` and over
 * a shared key's tenant; the handshake, when configured, is still required).
 */
import { z } from 'zod';
import { ListenerTlsSchema } from '../../tls/listener-tls.js';

const port = z.number().int().min(0).max(65535);
const file = z.string().min(1);
const tenant = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a tenant is 1-63 letters, digits, "_", "." or "-"');
const noLiteral = (what: string, instead: string) =>
  z.undefined({ error: `a literal ${what} is not accepted: put it in a file (${instead}, mode 0600)` }).optional();

export const FluentSecuritySchema = z
  .object({
    /** The server's name in the handshake (PONG); default: the machine's hostname. Must differ from every client's. */
    self_hostname: z.string().min(1).optional(),
    /** A file holding the shared key (one line; a trailing newline is ignored). Its holders send as the source's `tenant`. */
    shared_key_file: file.optional(),
    shared_key: noLiteral('shared key', 'shared_key_file'),
    /** More keys, each mapped to the tenant whose events its holders send. */
    shared_keys: z
      .array(z.object({ key_file: file, tenant, key: noLiteral('shared key', 'key_file') }).strict())
      .optional(),
    /** Also require a username and password (Fluentd's `user_auth`). */
    user_auth: z.boolean().default(false),
    users: z
      .array(z.object({ username: z.string().min(1), password_file: file, password: noLiteral('password', 'password_file') }).strict())
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.shared_key_file === undefined && (s.shared_keys === undefined || s.shared_keys.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['shared_key_file'], message: 'security needs shared_key_file or shared_keys' });
    }
    if (s.user_auth && (s.users === undefined || s.users.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['users'], message: 'user_auth: true needs at least one entry in users' });
    }
  });

export const FluentSourceConfigSchema = z
  .object({
    listen_address: z.string().min(1).default('127.0.0.1'),
    port: port.default(24224),
    /** Tenant of connections without a shared key or client certificate, and of `security.shared_key_file`. */
    tenant: tenant.default('default'),
    /** Largest forward message (one msgpack value) on the wire; a larger one closes the connection. */
    max_message_bytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Largest decompressed CompressedPackedForward payload. */
    max_decompressed_bytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
    /** Bytes of incomplete messages all connections may hold together; a connection that would exceed it is closed (its sender resends). */
    max_buffered_bytes: z.number().int().min(1024).default(256 * 1024 * 1024),
    max_connections: z.number().int().min(1).max(100_000).default(1000),
    /** A connection with no traffic this long is closed. */
    idle_timeout_ms: z.number().int().min(100).default(120_000),
    /** A message that has begun must be complete within this long (slow senders are cut off). */
    message_timeout_ms: z.number().int().min(100).default(60_000),
    /** With security, the client must finish the handshake within this long. */
    handshake_timeout_ms: z.number().int().min(100).default(10_000),
    /** How long a message waits for pipeline queue space before the connection is closed unacknowledged. */
    max_wait_ms: z.number().int().min(0).max(600_000).default(30_000),
    /** Answer Fluentd v0.12-style UDP heartbeats on the same port. */
    udp_heartbeat: z.boolean().default(false),
    security: FluentSecuritySchema.optional(),
    /** TLS on the listener (certificate, key, client CA, client_auth, min_version). */
    tls: ListenerTlsSchema.optional(),
    /** Accept unauthenticated forward traffic on a non-loopback address. */
    insecure_allow_unauthenticated: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.max_buffered_bytes < c.max_message_bytes) {
      ctx.addIssue({ code: 'custom', path: ['max_buffered_bytes'], message: `must be at least max_message_bytes (${c.max_message_bytes}), or no message of the largest size could ever be received` });
    }
    const certificateRequired = c.tls?.client_auth === 'required';
    if (c.security === undefined && !certificateRequired && !c.insecure_allow_unauthenticated && !isLoopbackAddress(c.listen_address)) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen_address'],
        message:
          `the forward protocol carries no credential but the shared key: listening on ${c.listen_address} needs security.shared_key_file ` +
          'or tls with client_auth: required (or listen on 127.0.0.1, or set server.forward_port: 0 to turn the listener off; insecure_allow_unauthenticated: true accepts anyone who can connect)',
      });
    }
  });
export type FluentSourceConfig = z.infer<typeof FluentSourceConfigSchema>;
export type FluentSecurityConfig = z.infer<typeof FluentSecuritySchema>;

export function isLoopbackAddress(address: string): boolean {
  const a = address.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
