/**
 * The server role: opens the store, builds the pipeline, serves HTTP and gRPC, and
 * shuts down in the order that keeps every acknowledgement honest:
 * stop accepting requests, let in-flight ones finish (their batches drain
 * through the pipeline), stop the pipeline, close the store. Retention
 * starts after the store opens and is stopped (a running enforcement
 * finishes) before the store closes.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GRPC_INGEST_SERVICE, HTTP_INGEST_SERVICE, Pipeline, PipelineMetrics, ServiceMap, createLogger, type Logger } from '@meshlog/core';
import { ApprovalCatalog, LogStore, RetentionScheduler, RetentionService, STORE_SERVICE, openEmbeddedStore, type EncryptionStatus } from '@meshlog/store';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './http/app.js';
import { FastifyIngestHost } from './http/ingest-host.js';
import { registerLokiRoutes } from './http/loki-routes.js';
import { registerTailRoute } from './http/loki-tail.js';
import { registerTraceRoutes } from './http/trace-routes.js';
import { registerAuditRoutes } from './http/audit-routes.js';
import { registerRetentionRoutes } from './http/retention-routes.js';
import { RetentionMetrics } from './retention/retention-metrics.js';
import { ApprovalService } from './approvals/approval-service.js';
import { registerApprovalRoutes } from './http/approval-routes.js';
import { registerKeyRoutes } from './http/key-routes.js';
import { TokenStore } from './auth/token-store.js';
import { AuditTrail } from './audit/audit-trail.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { Masker } from './privacy/masker.js';
import { rateLimitsOf } from './http/rate-limit-hook.js';
import { tokenAuthenticator } from './http/auth-hook.js';
import type { RouteRule } from './http/route-access.js';
import { GrpcJsIngestHost, bearerTokenAuthenticator } from './grpc/grpc-ingest-host.js';
import { encryptionSetting, type ServerConfig } from './config/server-config.js';
import { openClickHouseBackend } from './store-backend.js';

/**
 * The tenant of the bootstrap admin and of audit records of calls nobody
 * authenticated (failed sign-ins, 401s, health probes).
 */
export const OPERATOR_TENANT = 'default';

/** This server's version (what `/loki/api/v1/status/buildinfo` reports beside the Loki API version). */
export const SERVER_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunningServer {
  config: ServerConfig;
  dataDir: string;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:3100 (undefined when http_port is 0). */
  httpUrl: string | undefined;
  /** `host:port` of the gRPC listener (undefined when grpc_port is 0). */
  grpcAddress: string | undefined;
  adminTokenPath: string;
  adminTokenCreated: boolean;
  /** How the embedded store is kept at rest (key source and ids; never keys); undefined with storage.clickhouse. */
  encryption: EncryptionStatus | undefined;
  store: LogStore;
  retention: RetentionService;
  http: FastifyInstance;
  /** Every HTTP route with its access rule (the permission matrix test walks it). */
  routes: RouteRule[];
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, logger: Logger = createLogger()): Promise<RunningServer> {
  const dataDir = resolve(config.data_dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const limits = { timeoutMs: config.limits.query_timeout_ms, maxRowsToRead: config.limits.max_rows_to_read, maxBytesToRead: config.limits.max_bytes_to_read };
  let store: LogStore;
  let encryption: EncryptionStatus | undefined;
  let describe: string;
  if (config.storage.clickhouse) {
    const ch = openClickHouseBackend(config.storage.clickhouse, logger);
    describe = ch.describe;
    try {
      // No ingest WAL here: it is local state, and cluster servers stay stateless.
      store = await LogStore.open(ch.backend, { deployment: ch.deployment, limits });
    } catch (err) {
      // A ClickHouse client keeps sockets open; a failed start must not leave the process hanging on them.
      await ch.backend.close();
      throw err;
    }
  } else {
    // The store opens first: a data dir whose key is missing fails here, before anything else is written to it.
    ({ store, encryption } = await openEmbeddedStore({
      dataDir,
      encryption: encryptionSetting(config),
      readers: config.storage.embedded.readers,
      writers: config.storage.embedded.writers,
      limits,
      ...(config.storage.embedded.wal ? { wal: { dir: join(dataDir, 'wal'), logger: logger.child({ component: 'wal' }) } } : {}),
    }));
    describe = `embedded chDB under ${dataDir}`;
    if (encryption.encrypted) {
      logger.info('storage encrypted at rest', { algorithm: 'AES-256-CTR', keySource: encryption.keySource, keyIds: encryption.keyIds, currentKeyId: encryption.currentKeyId });
      if (encryption.newKeyIds.length > 0) logger.info('storage key rotation in effect: new data uses the current key', { newKeyIds: encryption.newKeyIds });
    } else {
      logger.warn('storage NOT encrypted at rest (storage.embedded.encryption.allow_plaintext_at_rest)');
    }
  }

  const tokens = new TokenStore(dataDir);
  const admin = tokens.bootstrapAdmin();

  const audit = new AuditTrail(store, logger.child({ component: 'audit' }));
  // One limiter for both listeners: an identity's HTTP requests and gRPC calls share its budget.
  const limiter = new RateLimiter();
  const rateLimits = rateLimitsOf(config.limits.rate);
  const metrics = new PipelineMetrics();
  let ready = false;
  const { app: http, routes } = createHttpApp({
    authenticators: [tokenAuthenticator(tokens)],
    store,
    audit,
    operatorTenant: OPERATOR_TENANT,
    limiter,
    rateLimits,
    masker: new Masker({ attributes: config.privacy.personal_attributes, patterns: config.privacy.personal_patterns }),
    metrics,
    logger,
    maxRequestBytes: config.server.max_request_bytes,
    keepAliveTimeoutMs: config.server.keep_alive_timeout_ms,
    requestTimeoutMs: config.server.request_timeout_ms,
    maxConnections: config.server.max_connections,
    isReady: () => ready,
  });
  const services = new ServiceMap().set(STORE_SERVICE, store).set(HTTP_INGEST_SERVICE, new FastifyIngestHost(http, config.server.max_request_bytes));
  // One gRPC listener for every gRPC source; they register their services on it while the pipeline starts.
  const grpcHost =
    config.server.grpc_port !== 0
      ? new GrpcJsIngestHost(
          {
            listenAddress: config.server.listen_address,
            port: config.server.grpc_port,
            maxReceiveMessageBytes: config.server.grpc.max_receive_message_bytes,
            maxConcurrentStreams: config.server.grpc.max_concurrent_streams,
            keepaliveTimeMs: config.server.grpc.keepalive_time_ms,
            keepaliveTimeoutMs: config.server.grpc.keepalive_timeout_ms,
            maxConnectionIdleMs: config.server.grpc.max_connection_idle_ms,
            shutdownGraceMs: config.server.grpc.shutdown_grace_ms,
            // Plaintext until TLS/mTLS is configured (the Security work); bind to loopback meanwhile.
            credentials: () => grpc.ServerCredentials.createInsecure(),
            authenticate: bearerTokenAuthenticator((token) => tokens.verify(token)),
            audit,
            operatorTenant: OPERATOR_TENANT,
            rateLimit: (principal, bytes) =>
              limiter.take([
                { key: `identity:${principal.id}`, spec: rateLimits.perIdentity },
                { key: `tenant:${principal.tenant}`, spec: rateLimits.perTenant },
                ...(bytes > 0 ? [{ key: `bytes:${principal.tenant}`, spec: rateLimits.ingestBytesPerTenant, cost: bytes }] : []),
              ]),
          },
          logger.child({ component: 'grpc' }),
        )
      : undefined;
  if (grpcHost) services.set(GRPC_INGEST_SERVICE, grpcHost);
  const pipeline = await Pipeline.build(config.pipeline, { dataDir, logger, metrics, services });
  await pipeline.start();

  const queryLimits = { maxEntriesLimit: config.limits.max_entries_limit, maxQueryRangeHours: config.limits.max_query_range_hours, maxQuerySeries: config.limits.max_query_series };
  registerLokiRoutes(http, { ...queryLimits, version: SERVER_VERSION });
  registerTailRoute(http, { maxEntriesLimit: config.limits.max_entries_limit, maxTailsPerIdentity: config.limits.max_concurrent_tail_requests, audit, logger: logger.child({ component: 'tail' }) });
  registerTraceRoutes(http, { maxEntriesLimit: config.limits.max_entries_limit });
  registerAuditRoutes(http);

  const retentionLogger = logger.child({ component: 'retention' });
  const retention = new RetentionService(store, { defaultKeepDays: config.retention.default_keep_days, logger: retentionLogger });
  const configured = await retention.applyConfigured(config.retention.policies);
  if (configured.length > 0) retentionLogger.info('retention policies applied from the config file', { policies: configured.map((p) => ({ tenant: p.tenant, selector: p.selector ?? '', keep_days: p.keep_days })) });
  const retentionMetrics = new RetentionMetrics(metrics.registry);
  const scheduler = new RetentionScheduler({
    intervalMs: config.retention.interval_minutes * 60_000,
    startDelayMs: config.retention.start_delay_seconds * 1000,
    run: () => retentionMetrics.observe('schedule', () => retention.enforce()),
    logger: retentionLogger,
  });
  const approvals = new ApprovalService(new ApprovalCatalog(store.backend, store.database), { logger: logger.child({ component: 'approvals' }) });
  registerRetentionRoutes(http, {
    retention,
    approvals,
    defaultKeepDays: config.retention.default_keep_days,
    enforce: (scope) => retentionMetrics.observe('api', () => retention.enforce(scope), scope.tenant),
  });

  registerKeyRoutes(http, { encryption, dataDir, operatorTenant: OPERATOR_TENANT, approvals });
  // After every route that registers an approval kind.
  registerApprovalRoutes(http, approvals);

  let grpcAddress: string | undefined;
  if (grpcHost) {
    try {
      const port = await grpcHost.listen();
      const host = config.server.listen_address.includes(':') ? `[${config.server.listen_address}]` : config.server.listen_address;
      grpcAddress = `${host}:${port}`;
    } catch (err) {
      await grpcHost.close();
      await pipeline.stop();
      await store.close();
      throw err;
    }
  }

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
  scheduler.start();
  ready = true;
  logger.info('meshlog server started', { http: httpUrl ?? 'off', grpc: grpcAddress ?? 'off', dataDir, store: describe, components: pipeline.componentIds });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      // Both listeners stop taking calls; in-flight ones finish (acknowledged) before the pipeline drains.
      await Promise.all([http.close(), grpcHost?.close()]);
      await scheduler.stop();
      await pipeline.stop();
      await retention.idle();
      await store.close();
      logger.info('meshlog server stopped');
    })();
    return stopping;
  };

  return { config, dataDir, httpUrl, grpcAddress, adminTokenPath: admin.path, adminTokenCreated: admin.created, encryption, store, retention, http, routes, stop };
}
