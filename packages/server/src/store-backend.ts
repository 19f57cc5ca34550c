/**
 * The backend for `storage.clickhouse`: an existing ClickHouse server or
 * cluster instead of embedded chDB (which `openEmbeddedStore` opens, with
 * encryption at rest). Reads the secrets the config points at (the password
 * file or variable, TLS files) here, at start, and never logs them.
 *
 * With ClickHouse, a meshlog server keeps nothing locally but its API tokens
 * (`<data-dir>/admin.token` and friends): many servers can share one cluster,
 * but each needs the same token files until tokens move into the store.
 */
import { readFileSync, statSync } from 'node:fs';
import { ClickHouseBackend, clusterDeployment, embeddedDeployment, type Deployment, type SqlBackend } from '@meshlog/store';
import type { Logger } from '@meshlog/core';
import type { ServerConfig } from './config/server-config.js';

export interface StoreBackend {
  backend: SqlBackend;
  deployment: Deployment;
  /** For the start-up log line: where the data lives (no secrets). */
  describe: string;
}

export class StorageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageConfigError';
  }
}

export function openClickHouseBackend(ch: NonNullable<ServerConfig['storage']['clickhouse']>, logger: Logger): StoreBackend {
  const urls = ch.urls ?? [ch.url!];
  const backend = new ClickHouseBackend({
    urls,
    username: ch.username,
    password: readPassword(ch, logger),
    requestTimeoutMs: ch.timeout_ms,
    ...(ch.cluster ? { cluster: ch.cluster } : {}),
    ...(ch.tls
      ? {
          tls: {
            ...(ch.tls.ca_file ? { ca: readSecretFile('storage.clickhouse.tls.ca_file', ch.tls.ca_file) } : {}),
            ...(ch.tls.cert_file ? { cert: readSecretFile('storage.clickhouse.tls.cert_file', ch.tls.cert_file) } : {}),
            ...(ch.tls.key_file ? { key: readSecretFile('storage.clickhouse.tls.key_file', ch.tls.key_file, logger) } : {}),
          },
        }
      : {}),
  });
  const hosts = urls.map((u) => new URL(u).host).join(', ');
  return {
    backend,
    // Without a cluster name: one server, the same plain MergeTree tables as embedded.
    deployment: ch.cluster ? clusterDeployment({ cluster: ch.cluster, database: ch.database }) : embeddedDeployment(ch.database),
    describe: ch.cluster ? `ClickHouse cluster ${ch.cluster} via ${hosts}, database ${ch.database}` : `ClickHouse at ${hosts}, database ${ch.database}`,
  };
}

function readPassword(ch: NonNullable<ServerConfig['storage']['clickhouse']>, logger: Logger): string {
  if (ch.password_env !== undefined) {
    const value = process.env[ch.password_env];
    if (value === undefined) throw new StorageConfigError(`storage.clickhouse.password_env: the environment variable ${ch.password_env} is not set`);
    return value;
  }
  if (ch.password_file !== undefined) {
    // One trailing newline is what `echo secret > file` leaves; it is not part of the password.
    return readSecretFile('storage.clickhouse.password_file', ch.password_file, logger).toString('utf8').replace(/\r?\n$/, '');
  }
  return '';
}

/** Reads a file the config names; with a logger, warns when others may read it (a secret). */
function readSecretFile(key: string, path: string, logger?: Logger): Buffer {
  try {
    if (logger && (statSync(path).mode & 0o077) !== 0) logger.warn('a secret file is readable by group or others; chmod 600 it', { key, path });
    return readFileSync(path);
  } catch (err) {
    throw new StorageConfigError(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
