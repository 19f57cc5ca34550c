/**
 * `meshlog server`: starts the server role; with `--demo`, also sends live
 * demo mesh traffic to itself over OTLP/HTTP so there is something to look at.
 * SIGTERM/SIGINT shut down gracefully (in-flight batches are acknowledged);
 * SIGHUP re-reads the TLS certificate files of every listener (a bad file
 * is logged and the old certificate kept).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, createLogger } from '@meshlog/core';
import { AuthConfigError, StorageEncryptionError, loadServerConfig, serverRegistry, startServer, type RunningServer, type ServerFlags } from '@meshlog/server';
import { runDemo } from '../demo/index.js';
import { CliError } from './client.js';

export interface ServerCommandOptions {
  config?: string;
  dataDir?: string;
  listen?: string;
  httpPort?: number;
  grpcPort?: number;
  syslogPort?: number;
  syslogTlsPort?: number;
  forwardPort?: number;
  storageKeyFile?: string;
  demo?: boolean;
  demoRate?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export async function serverCommand(opts: ServerCommandOptions): Promise<void> {
  const flags: ServerFlags = {
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    ...(opts.listen !== undefined ? { listenAddress: opts.listen } : {}),
    ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
    ...(opts.grpcPort !== undefined ? { grpcPort: opts.grpcPort } : {}),
    ...(opts.syslogPort !== undefined ? { syslogPort: opts.syslogPort } : {}),
    ...(opts.syslogTlsPort !== undefined ? { syslogTlsPort: opts.syslogTlsPort } : {}),
    ...(opts.forwardPort !== undefined ? { forwardPort: opts.forwardPort } : {}),
    ...(opts.storageKeyFile !== undefined ? { storageKeyFile: opts.storageKeyFile } : {}),
  };
  let config;
  try {
    config = loadServerConfig(opts.config, flags, serverRegistry);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`invalid configuration:\n${err.message}`, 2);
    throw err;
  }
  const logger = createLogger({ level: opts.logLevel ?? 'info' });
  let server: RunningServer;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    // A missing or unsafe key is a configuration problem with a message of its own, not a crash.
    if (err instanceof StorageEncryptionError) throw new CliError(`cannot open the store: ${err.message}`, 2);
    if (err instanceof AuthConfigError) throw new CliError(`invalid configuration: ${err.message}`, 2);
    throw err;
  }

  const demoAbort = new AbortController();
  let demo: Promise<unknown> | undefined;
  const say = (s: string): boolean => process.stderr.write(s + '\n');
  say('');
  say(`Meshlog server is up: ${server.httpUrl ?? '(HTTP listener off)'}`);
  const tls = config.server.tls;
  if (server.grpcAddress) say(`  gRPC         ${server.grpcAddress}${tls ? ' over TLS' : ''} (OTLP/gRPC, Envoy ALS; metadata authorization: Bearer <token>)`);
  if (tls) say(`  TLS          every listener; client certificates ${tls.client_auth}; certificate files re-read every 5 s and on SIGHUP`);
  say(`  data dir     ${server.dataDir}`);
  say(`  admin token  ${server.adminTokenPath}${server.adminTokenCreated ? ' (created now, mode 0600)' : ''}`);
  const enc = server.encryption;
  if (!enc) say('  storage      the ClickHouse cluster in storage.clickhouse (encryption at rest is the cluster\'s)');
  else if (!enc.encrypted) say('  encryption   OFF: logs are stored in plain text (allow_plaintext_at_rest)');
  else {
    say(`  encryption   AES-256 at rest, key id ${enc.currentKeyId} current; keys from ${enc.keySource}${enc.keyFileCreated ? ' (created now, mode 0600)' : ''}`);
    if (enc.keyFileCreated) say('               keep a copy of it apart from the data: without it the data cannot be read');
  }
  if (opts.demo && server.httpUrl) {
    const token = readFileSync(server.adminTokenPath, 'utf8').trim();
    demo = runDemo({
      url: server.httpUrl,
      token,
      rate: opts.demoRate ?? 20,
      signal: demoAbort.signal,
      onError: (err) => logger.warn('demo traffic', { error: err.message }),
    });
    say(`  demo traffic ~${opts.demoRate ?? 20} requests/s through ~20 services (Istio access logs, app logs, traces, incidents)`);
  }
  say('Try:');
  say(`  npx meshlog query '{service_name=~".+"} |= "GET"' --since 5m${opts.dataDir ? ` --data-dir ${opts.dataDir}` : ''}`);
  say(`  curl -s${tls ? ` --cacert <the CA of ${tls.cert_file}>` : ''} -H "Authorization: Bearer $(cat ${server.adminTokenPath})" '${server.httpUrl ?? 'http://127.0.0.1:3100'}/loki/api/v1/labels'`);
  say('');

  // Without a handler SIGHUP would end the process; with one it is the conventional "re-read your files".
  const onHangup = (): void => server.reloadCertificates();
  process.on('SIGHUP', onHangup);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      process.off('SIGHUP', onHangup);
      logger.info('shutting down', { signal });
      demoAbort.abort();
      void Promise.resolve(demo)
        .catch(() => undefined)
        .then(() => server.stop())
        .then(resolve, (err: unknown) => {
          logger.error('shutdown failed', { error: (err as Error).message });
          resolve();
        });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
