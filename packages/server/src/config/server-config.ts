/**
 * The server's configuration: listeners, data directory, storage, query
 * limits, retention and the pipeline graph. Loaded once at start from an
 * optional YAML file, overridden by command-line flags, validated strictly
 * (unknown keys are errors naming their line), then frozen.
 */
import { z } from 'zod';
import { ConfigError, ConfigSource, buildPipelineSpec, type ComponentRegistry, type PipelineSpec } from '@meshlog/core';
import { MAX_KEEP_DAYS, SelectorError, canonicalSelector, type EncryptionSetting } from '@meshlog/store';
import { ListenerTlsSchema, SyslogTlsSchema, isLoopbackAddress, type ListenerTlsConfig, type SyslogTlsConfig } from '@meshlog/components';
import { AuthSchema } from '../auth/auth-config.js';
import { DEFAULT_MASK_RULES } from '../privacy/masker.js';

const port = z.number().int().min(0).max(65535);

/** Limits of the gRPC listener (OTLP/gRPC, Envoy ALS). */
export const GrpcSectionSchema = z
  .object({
    /** Largest request message after decompression; larger ones get RESOURCE_EXHAUSTED. */
    max_receive_message_bytes: z.number().int().positive().max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
    /** HTTP/2 streams (calls) one connection may have open at once. */
    max_concurrent_streams: z.number().int().positive().default(100),
    /** Ping a connection after this long without activity; 0 = never. */
    keepalive_time_ms: z.number().int().min(0).default(60_000),
    /** A peer that does not answer a ping within this is dropped. */
    keepalive_timeout_ms: z.number().int().positive().default(20_000),
    /** A connection with no open call for this long is closed (clients reconnect transparently). */
    max_connection_idle_ms: z.number().int().positive().default(300_000),
    /** On shutdown, in-flight calls get this long to finish before they are cancelled. */
    shutdown_grace_ms: z.number().int().min(0).default(10_000),
    /** Open gRPC connections at most; more are refused at accept (each Envoy or exporter holds one or a few). */
    max_connections: z.number().int().positive().default(4096),
  })
  .strict();

export const ServerSectionSchema = z
  .object({
    listen_address: z.string().min(1).default('127.0.0.1'),
    http_port: port.default(3100),
    grpc_port: port.default(4317),
    syslog_port: port.default(5514),
    syslog_tls_port: port.default(6514),
    forward_port: port.default(24224),
    /**
     * TLS of every listener that speaks it: HTTP (HTTPS), gRPC, Fluent
     * forward, and syslog over TLS (syslog_tls_port). Client certificates
     * (client_auth optional/required) are mapped to tenants by
     * auth.certificate_rules. The files are re-read every few seconds and on
     * SIGHUP; new connections get a renewed certificate.
     */
    tls: ListenerTlsSchema.optional(),
    /**
     * Serve plaintext on a listen_address that is not loopback. Without
     * server.tls the server refuses to start there unless this is set.
     */
    allow_plaintext: z.boolean().default(false),
    /**
     * Certificate of the syslog TLS listener (RFC 5425) in the default
     * pipeline, when it must differ from server.tls (its own keys: ca_file
     * for the client CA). Without it syslog over TLS uses server.tls; with
     * neither, syslog_tls_port stays closed and the start logs a warning
     * naming the missing key.
     */
    syslog_tls: SyslogTlsSchema.optional(),
    /** Largest accepted request body after decompression. */
    max_request_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Idle keep-alive sockets are closed after this long. */
    keep_alive_timeout_ms: z.number().int().positive().default(65_000),
    request_timeout_ms: z.number().int().positive().default(120_000),
    /** Open HTTP connections at most; more are refused at accept (a flood cannot exhaust file descriptors). */
    max_connections: z.number().int().positive().default(4096),
    grpc: GrpcSectionSchema.default(GrpcSectionSchema.parse({})),
  })
  .strict();

/** A ClickHouse identifier spliced into DDL (database, cluster): plain names only. */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use letters, digits and underscores (it is spliced into DDL)');

const clickhouseUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  },
  { message: 'expected an http:// or https:// URL without credentials (user and password go in username and password_file)' },
);

/**
 * `storage.clickhouse`: an existing ClickHouse server or cluster instead of
 * embedded chDB. The password is never a literal in the config: it comes
 * from a file or an environment variable, read at start.
 */
export const ClickHouseStorageSchema = z
  .object({
    url: clickhouseUrl.optional(),
    /** Several servers of the cluster; the next is tried when one cannot be reached. */
    urls: z.array(clickhouseUrl).min(1).optional(),
    username: z.string().min(1).default('default'),
    password_file: z.string().min(1).optional(),
    /** Name of an environment variable holding the password. */
    password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
    password: z
      .undefined({ error: 'a literal password is not accepted: put it in a file (password_file, mode 0600) or an environment variable (password_env)' })
      .optional(),
    database: identifier.default('meshlog'),
    /** The cluster name from the servers' remote_servers; absent = one server, plain MergeTree tables. */
    cluster: identifier.optional(),
    tls: z
      .object({
        /** CA bundle (PEM) that signs the servers' certificates; default: the public roots. */
        ca_file: z.string().min(1).optional(),
        /** Client certificate and key (PEM) for mutual TLS. */
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** Timeout of inserts and DDL (queries use limits.query_timeout_ms). */
    timeout_ms: z.number().int().positive().default(30_000),
    /** A query that cannot reach every shard fails (503 naming the shard); partial answers are not offered. */
    on_partial: z.enum(['fail']).default('fail'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.url === undefined) === (c.urls === undefined)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set exactly one of url or urls' });
    if (c.password_file !== undefined && c.password_env !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password_env'], message: 'set at most one of password_file or password_env' });
    }
    if (c.tls && (c.tls.cert_file === undefined) !== (c.tls.key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'cert_file and key_file go together (mutual TLS needs both)' });
    }
    const urls = c.urls ?? (c.url !== undefined ? [c.url] : []);
    if (c.tls && urls.some((u) => u.startsWith('http:'))) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls applies to https:// URLs only; use https:// for every server' });
    }
  });

/**
 * Encryption at rest of the embedded store. At most one of the three; with
 * none, `MESHLOG_STORAGE_KEYS` is used if set, else a key file generated
 * beside the data dir (see docs/storage.md). The opt-out is named so that
 * it sounds like what it is.
 */
export const EncryptionSchema = z
  .object({
    /** A key file (mode 0600, outside the data dir); created with a new key if missing on a fresh data dir. */
    key_file: z.string().min(1).optional(),
    /** An environment variable holding the keys, in the key file format. */
    key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, _)')
      .optional(),
    /** Store logs unencrypted on disk. */
    allow_plaintext_at_rest: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const set = [v.key_file !== undefined && 'key_file', v.key_env !== undefined && 'key_env', v.allow_plaintext_at_rest === true && 'allow_plaintext_at_rest'].filter(
      (x): x is string => typeof x === 'string',
    );
    if (set.length > 1) ctx.addIssue({ code: 'custom', message: `set one of key_file, key_env, allow_plaintext_at_rest, not ${set.join(' and ')}` });
  });

export const StorageSchema = z
  .object({
    embedded: z
      .object({
        /** Read sessions: queries run in parallel with ingest on these. */
        readers: z.number().int().min(1).max(16).default(2),
        /** Write sessions: set the store sink's `buffer.concurrency` to match. */
        writers: z.number().int().min(1).max(16).default(1),
        /**
         * Acknowledge at the ingest write-ahead log's fsync and insert into
         * the store in big deduplicated batches (see docs/storage.md).
         * Off: every acknowledgement waits for its own store insert.
         */
        wal: z.boolean().default(true),
        encryption: EncryptionSchema.optional(),
      })
      .strict()
      .default({ readers: 2, writers: 1, wal: true }),
    /** When present, the server stores in this ClickHouse instead of embedded chDB. */
    clickhouse: ClickHouseStorageSchema.optional(),
  })
  .strict();

const bucket = (rate: number, burst: number) =>
  z
    .object({
      /** Sustained rate; 0 = unlimited. */
      per_second: z.number().min(0),
      /** What may arrive at once above the rate. */
      burst: z.number().positive(),
    })
    .strict()
    .default({ per_second: rate, burst });

/**
 * Rate limits and quotas (token buckets, per server; see limits/rate-limiter.ts).
 * Over a limit, HTTP answers 429 `rate_limited` with Retry-After, gRPC
 * RESOURCE_EXHAUSTED with a RetryInfo delay.
 */
export const RateLimitsSchema = z
  .object({
    /** Requests (HTTP requests, gRPC calls) per identity. */
    per_identity: bucket(500, 1000),
    /** Requests per tenant, all its identities together. */
    per_tenant: bucket(2000, 4000),
    /** Ingest volume per tenant, in MiB of request bodies (as received, before decompression). */
    ingest_mib_per_tenant: bucket(64, 256),
    /** Failed authentications per client address (guessing tokens): past it, the address gets 429 before its credentials are checked. */
    auth_failures_per_address: bucket(1, 20),
  })
  .strict();

export const LimitsSchema = z
  .object({
    rate: RateLimitsSchema.default(RateLimitsSchema.parse({})),
    max_query_range_hours: z.number().positive().default(30 * 24),
    max_entries_limit: z.number().int().positive().default(5000),
    query_timeout_ms: z.number().int().positive().default(30_000),
    max_rows_to_read: z.number().int().min(0).default(0),
    max_bytes_to_read: z.number().int().min(0).default(0),
    /** Series one metric query (or volume query) may return; Loki's `max_query_series`. */
    max_query_series: z.number().int().positive().default(500),
    /** Live tails (`/loki/api/v1/tail`) one identity may have open at once; Loki's `max_concurrent_tail_requests`. */
    max_concurrent_tail_requests: z.number().int().positive().default(10),
  })
  .strict();

const keepDays = z.number().int().min(0).max(MAX_KEEP_DAYS);

/** A LogQL stream selector, validated as a query's selector is (the message says why not). */
export const selectorText = z.string().superRefine((text, ctx) => {
  try {
    canonicalSelector(text);
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    ctx.addIssue({ code: 'custom', message: `invalid stream selector: ${err.message}` });
  }
});

export const RetentionSchema = z
  .object({
    /** Enforcement runs this often (measured from the end of the previous run). */
    interval_minutes: z.number().positive().max(7 * 24 * 60).default(60),
    /** The first run, this long after start (seconds). */
    start_delay_seconds: z.number().min(0).max(24 * 3600).default(60),
    /** Days kept for every tenant without a default policy of its own; 0 = forever. */
    default_keep_days: keepDays.default(90),
    /** Applied at start; authoritative for the (tenant, selector) pairs they name. */
    policies: z
      .array(
        z
          .object({
            tenant: z.string().min(1),
            selector: selectorText.optional(),
            keep_days: keepDays,
          })
          .strict(),
      )
      .default([])
      .superRefine((policies, ctx) => {
        // One policy per (tenant, selector): a second entry would silently override the first.
        const seen = new Map<string, number>();
        policies.forEach((p, i) => {
          let selector: string;
          try {
            selector = p.selector === undefined ? '' : canonicalSelector(p.selector).text;
          } catch {
            return; // reported on the selector itself
          }
          const key = JSON.stringify([p.tenant, selector]);
          const first = seen.get(key);
          if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate policy: policies[${first}] has the same tenant and selector` });
          else seen.set(key, i);
        });
      }),
  })
  .strict();

/**
 * Personal data shown masked to readers without `logs:read_personal`
 * (viewers); see privacy/masker.ts. Each list replaces its default.
 */
export const PrivacySchema = z
  .object({
    /** Attribute names whose values are masked whole. */
    personal_attributes: z.array(z.string().min(1)).default([...DEFAULT_MASK_RULES.attributes]),
    /** Regular expressions masked wherever they match in bodies and attribute values. */
    personal_patterns: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _ (it is shown as [masked:<name>])'),
            regex: z.string().superRefine((r, ctx) => {
              try {
                new RegExp(r);
              } catch (err) {
                ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
              }
            }),
          })
          .strict(),
      )
      .default(DEFAULT_MASK_RULES.patterns.map((p) => ({ ...p }))),
  })
  .strict();

/**
 * The integrity ledger (embedded store with the ingest WAL only; see
 * docs/integrity.md): signed checkpoints of the Merkle log of every batch.
 */
export const IntegritySchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Ed25519 private key (PKCS#8 PEM) that signs checkpoints; must be outside
     * the data dir (who can rewrite the data must not hold the key). Created
     * when missing. Default: `<data_dir>-integrity/signing-key.pem`.
     */
    key_file: z.string().min(1).optional(),
    /** The key being rotated out: it signs one checkpoint that vouches for the new key's leaf. */
    previous_key_file: z.string().min(1).optional(),
    checkpoint_interval_seconds: z.number().int().min(1).max(86_400).default(60),
    witness: z
      .object({
        /** Every checkpoint is appended to this file (one JSON line each). */
        file: z.string().min(1).optional(),
        /** Every checkpoint is POSTed as JSON to this URL. */
        url: z.string().url().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export const ServerFileSchema = z
  .object({
    server: ServerSectionSchema.default(ServerSectionSchema.parse({})),
    data_dir: z.string().min(1).default('data'),
    storage: StorageSchema.default(StorageSchema.parse({})),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    retention: RetentionSchema.default(RetentionSchema.parse({})),
    /** Sessions, passwords, sign-in throttling, OpenID Connect (auth/auth-config.ts). */
    auth: AuthSchema.default(AuthSchema.parse({})),
    privacy: PrivacySchema.default(PrivacySchema.parse({})),
    integrity: IntegritySchema.default(IntegritySchema.parse({})),
    sources: z.record(z.string(), z.unknown()).optional(),
    transforms: z.record(z.string(), z.unknown()).optional(),
    sinks: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ServerFileConfig = z.infer<typeof ServerFileSchema>;

export interface ServerConfig extends ServerFileConfig {
  pipeline: PipelineSpec;
  file: string | undefined;
}

/** Flags from the command line; each overrides the config file. */
export interface ServerFlags {
  dataDir?: string;
  listenAddress?: string;
  httpPort?: number;
  grpcPort?: number;
  syslogPort?: number;
  syslogTlsPort?: number;
  forwardPort?: number;
  /** `--storage-key-file`: overrides `storage.embedded.encryption`. */
  storageKeyFile?: string;
}

type ServerSection = z.infer<typeof ServerSectionSchema>;

/**
 * The pipeline every server runs when its config names none: every ingest
 * source the server speaks, on the ports of the `server` section (a port of
 * 0 leaves that source out), through `parse`, into the store. Sources on the
 * HTTP port mount on the shared HTTP listener; listener sources get their
 * address and port here. To add a source: one entry below, and its type in
 * registry.ts.
 *
 * `parse` runs by default with `attributes: none`: it sets what the line
 * itself says of the record (its time, severity, trace context: logs and
 * spans of a request join on trace id) for Envoy/Istio/Linkerd/Kuma/Consul/
 * Hubble access logs and JSON/logfmt app logs, and writes no attributes.
 * Measured with `npm run bench -- normalize` (a server child process
 * ingesting 150,000 records of the storage benchmark's dataset, Istio TEXT
 * and JSON access logs and app logs over OTLP/HTTP protobuf with durable
 * acks, three pipelines in alternating rounds, median of 3), in records per
 * server CPU second: this 2-core machine is shared, so wall time is no
 * measure here.
 *   no parse                  33,937 records/CPU-s, 102.0 B/record on disk
 *   parse, attributes: none   32,538 records/CPU-s (+4 % CPU/record), 101.3 B/record
 *   parse, attributes: all    14,006 records/CPU-s (+142 %), 171.4 B/record (+68 %)
 * Record fields cost well under the ~15% budget, so they are on. Attributes
 * (about 25 per access log line) cost far more, most of it in the store
 * (parse itself adds ~3 µs per record of the ~30 µs a record costs), so they
 * are opt-in: set `attributes: all` in a config's own `parse` transform.
 */
export function defaultPipeline(server: ServerSection): { sources: Record<string, unknown>; transforms: Record<string, unknown>; sinks: Record<string, unknown> } {
  // HTTP sources mount on the HTTP app, which exists (for in-process
  // `inject`) even when http_port is 0 and nothing listens.
  const sources: Record<string, unknown> = {
    otlp: { type: 'otlp' },
    splunk_hec: { type: 'splunk_hec' },
    datadog_logs: { type: 'datadog_logs' },
    zipkin: { type: 'zipkin' },
    loki_push: { type: 'loki_push' },
    es_bulk: { type: 'es_bulk' },
  };
  // Both register on the one gRPC listener (server.grpc_port).
  if (server.grpc_port !== 0) {
    sources['otlp_grpc'] = { type: 'otlp_grpc' };
    sources['envoy_als'] = { type: 'envoy_als' };
  }
  // Without a shared key (or client_auth: required) the fluent source refuses non-loopback addresses (see its config): the error says how to proceed.
  if (server.forward_port !== 0) {
    sources['fluent'] = { type: 'fluent', listen_address: server.listen_address, port: server.forward_port, ...(server.tls ? { tls: server.tls } : {}) };
  }
  if (server.syslog_port !== 0 || server.syslog_tls_port !== 0) {
    // TCP and UDP on syslog_port; TLS on syslog_tls_port once a certificate is configured
    // (the source warns, naming the key, while it is not).
    const tls = server.syslog_tls ?? (server.tls ? syslogTlsOf(server.tls) : undefined);
    sources['syslog'] = {
      type: 'syslog',
      address: server.listen_address,
      port: server.syslog_port,
      tls_port: server.syslog_tls_port,
      ...(tls ? { tls } : {}),
      ...(!server.syslog_tls && server.tls ? { tls_handshake_timeout_ms: server.tls.handshake_timeout_ms } : {}),
    };
  }
  const transforms = { parse: { type: 'parse', inputs: Object.keys(sources), format: 'auto', attributes: 'none' } };
  return { sources, transforms, sinks: { store: { type: 'store', inputs: ['parse'] } } };
}

/** server.tls in the syslog source's own key names. */
function syslogTlsOf(tls: ListenerTlsConfig): SyslogTlsConfig {
  return {
    cert_file: tls.cert_file,
    key_file: tls.key_file,
    ...(tls.client_ca_file !== undefined ? { ca_file: tls.client_ca_file } : {}),
    client_auth: tls.client_auth,
    min_version: tls.min_version,
  };
}

/** The store's encryption setting for a loaded config. */
export function encryptionSetting(config: Pick<ServerFileConfig, 'storage'>): EncryptionSetting {
  const e = config.storage.embedded.encryption;
  if (e?.key_file !== undefined) return { kind: 'key-file', path: e.key_file };
  if (e?.key_env !== undefined) return { kind: 'key-env', name: e.key_env };
  if (e?.allow_plaintext_at_rest === true) return { kind: 'plaintext' };
  return { kind: 'default' };
}

export function loadServerConfig(file: string | undefined, flags: ServerFlags, registry: ComponentRegistry): ServerConfig {
  const source = file ? ConfigSource.fromFile(file) : ConfigSource.fromValue({});
  const parsed = source.validate(ServerFileSchema, source.value ?? {}, []);
  const server = { ...parsed.server };
  if (flags.listenAddress !== undefined) server.listen_address = flags.listenAddress;
  if (flags.httpPort !== undefined) server.http_port = flags.httpPort;
  if (flags.grpcPort !== undefined) server.grpc_port = flags.grpcPort;
  if (flags.syslogPort !== undefined) server.syslog_port = flags.syslogPort;
  if (flags.syslogTlsPort !== undefined) server.syslog_tls_port = flags.syslogTlsPort;
  if (flags.forwardPort !== undefined) server.forward_port = flags.forwardPort;
  if (!isLoopbackAddress(server.listen_address) && server.tls === undefined && !server.allow_plaintext) {
    // Secure by default: anything beyond this machine gets TLS, or an explicit, dangerous-sounding opt-out.
    throw new ConfigError(
      [
        {
          path: 'server.tls',
          message:
            `listen_address ${server.listen_address} is not a loopback address, so the listeners must use TLS: set server.tls (cert_file, key_file; ` +
            'see docs/security.md), or listen on 127.0.0.1, or set server.allow_plaintext: true to serve logs and tokens unencrypted',
          ...source.locate(['server', 'listen_address']),
        },
      ],
      file,
    );
  }
  const hasPipeline = parsed.sources !== undefined || parsed.sinks !== undefined || parsed.transforms !== undefined;
  const defaults = defaultPipeline(server);
  const pipelineRaw = hasPipeline ? { sources: parsed.sources, transforms: parsed.transforms, sinks: parsed.sinks } : defaults;
  const pipeline = buildPipelineSpec(hasPipeline ? source : ConfigSource.fromValue(defaults), pipelineRaw, registry);
  const storage =
    flags.storageKeyFile !== undefined ? { ...parsed.storage, embedded: { ...parsed.storage.embedded, encryption: { key_file: flags.storageKeyFile } } } : parsed.storage;
  return Object.freeze({
    ...parsed,
    server: Object.freeze(server),
    storage,
    data_dir: flags.dataDir ?? parsed.data_dir,
    pipeline,
    file,
  });
}
