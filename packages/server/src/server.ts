/**
 * The server role: opens the store, builds the pipeline, serves HTTP, and
 * shuts down in the order that keeps every acknowledgement honest:
 * stop accepting requests, let in-flight ones finish (their batches drain
 * through the pipeline), stop the pipeline, close the store.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { HTTP_INGEST_SERVICE, Pipeline, PipelineMetrics, ServiceMap, createLogger, type Logger } from '@meshlog/core';
import { STORE_SERVICE, openEmbeddedStore, type EncryptionStatus, type LogStore } from '@meshlog/store';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './http/app.js';
import { FastifyIngestHost } from './http/ingest-host.js';
import { registerLokiRoutes } from './http/loki-routes.js';
import { registerTraceRoutes } from './http/trace-routes.js';
import { TokenStore } from './auth/token-store.js';
import { encryptionSetting, type ServerConfig } from './config/server-config.js';

export interface RunningServer {
  config: ServerConfig;
  dataDir: string;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:3100 (undefined when http_port is 0). */
  httpUrl: string | undefined;
  adminTokenPath: string;
  adminTokenCreated: boolean;
  /** How the store is kept at rest (key source and ids; never keys). */
  encryption: EncryptionStatus;
  store: LogStore;
  http: FastifyInstance;
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, logger: Logger = createLogger()): Promise<RunningServer> {
  const dataDir = resolve(config.data_dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  // The store opens first: a data dir whose key is missing fails here, before anything else is written to it.
  const { store, encryption } = await openEmbeddedStore({
    dataDir,
    encryption: encryptionSetting(config),
    readers: config.storage.embedded.readers,
    writers: config.storage.embedded.writers,
    limits: { timeoutMs: config.limits.query_timeout_ms, maxRowsToRead: config.limits.max_rows_to_read },
  });
  if (encryption.encrypted) {
    logger.info('storage encrypted at rest', { algorithm: 'AES-256-CTR', keySource: encryption.keySource, keyIds: encryption.keyIds, currentKeyId: encryption.currentKeyId });
    if (encryption.newKeyIds.length > 0) logger.info('storage key rotation in effect: new data uses the current key', { newKeyIds: encryption.newKeyIds });
  } else {
    logger.warn('storage NOT encrypted at rest (storage.embedded.encryption.allow_plaintext_at_rest)');
  }

  const tokens = new TokenStore(dataDir);
  const admin = tokens.bootstrapAdmin();

  const metrics = new PipelineMetrics();
  let ready = false;
  const http = createHttpApp({
    tokens,
    metrics,
    logger,
    maxRequestBytes: config.server.max_request_bytes,
    keepAliveTimeoutMs: config.server.keep_alive_timeout_ms,
    requestTimeoutMs: config.server.request_timeout_ms,
    isReady: () => ready,
  });
  const services = new ServiceMap().set(STORE_SERVICE, store).set(HTTP_INGEST_SERVICE, new FastifyIngestHost(http, config.server.max_request_bytes));
  const pipeline = await Pipeline.build(config.pipeline, { dataDir, logger, metrics, services });
  await pipeline.start();

  registerLokiRoutes(http, { store, maxEntriesLimit: config.limits.max_entries_limit, maxQueryRangeHours: config.limits.max_query_range_hours });
  registerTraceRoutes(http, store);

  let httpUrl: string | undefined;
  if (config.server.http_port !== 0) {
    await http.listen({ host: config.server.listen_address, port: config.server.http_port });
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.server.http_port;
    const host = config.server.listen_address.includes(':') ? `[${config.server.listen_address}]` : config.server.listen_address;
    httpUrl = `http://${host}:${port}`;
  } else {
    await http.ready();
  }
  ready = true;
  logger.info('meshlog server started', { http: httpUrl ?? 'off', dataDir, components: pipeline.componentIds });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      await http.close();
      await pipeline.stop();
      await store.close();
      logger.info('meshlog server stopped');
    })();
    return stopping;
  };

  return { config, dataDir, httpUrl, adminTokenPath: admin.path, adminTokenCreated: admin.created, encryption, store, http, stop };
}
