/**
 * The server's configuration: listeners, data directory, storage, query
 * limits and the pipeline graph. Loaded once at start from an optional YAML
 * file, overridden by command-line flags, validated strictly (unknown keys
 * are errors naming their line), then frozen.
 */
import { z } from 'zod';
import { ConfigSource, buildPipelineSpec, type ComponentRegistry, type PipelineSpec } from '@meshlog/core';
import type { EncryptionSetting } from '@meshlog/store';

const port = z.number().int().min(0).max(65535);

export const ServerSectionSchema = z
  .object({
    listen_address: z.string().min(1).default('127.0.0.1'),
    http_port: port.default(3100),
    grpc_port: port.default(4317),
    syslog_port: port.default(5514),
    syslog_tls_port: port.default(6514),
    forward_port: port.default(24224),
    /** Largest accepted request body after decompression. */
    max_request_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Idle keep-alive sockets are closed after this long. */
    keep_alive_timeout_ms: z.number().int().positive().default(65_000),
    request_timeout_ms: z.number().int().positive().default(120_000),
  })
  .strict();

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
        encryption: EncryptionSchema.optional(),
      })
      .strict()
      .default({ readers: 2, writers: 1 }),
  })
  .strict();

export const LimitsSchema = z
  .object({
    max_query_range_hours: z.number().positive().default(30 * 24),
    max_entries_limit: z.number().int().positive().default(5000),
    query_timeout_ms: z.number().int().positive().default(30_000),
    max_rows_to_read: z.number().int().min(0).default(0),
  })
  .strict();

export const ServerFileSchema = z
  .object({
    server: ServerSectionSchema.default(ServerSectionSchema.parse({})),
    data_dir: z.string().min(1).default('data'),
    storage: StorageSchema.default(StorageSchema.parse({})),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
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

/** The pipeline every server runs when its config names none: OTLP into the store. */
export const DEFAULT_PIPELINE = {
  sources: { otlp: { type: 'otlp' } },
  sinks: { store: { type: 'store', inputs: ['otlp'] } },
};

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
  const hasPipeline = parsed.sources !== undefined || parsed.sinks !== undefined || parsed.transforms !== undefined;
  const pipelineRaw = hasPipeline ? { sources: parsed.sources, transforms: parsed.transforms, sinks: parsed.sinks } : DEFAULT_PIPELINE;
  const pipeline = buildPipelineSpec(hasPipeline ? source : ConfigSource.fromValue(DEFAULT_PIPELINE), pipelineRaw, registry);
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
