/**
 * The server role: opens the store, builds the pipeline, serves HTTP and gRPC, and
 * shuts down in the order that keeps every acknowledgement honest:
 * stop accepting requests, let in-flight ones finish (their batches drain
 * through the pipeline), stop the pipeline, close the store. Retention
 * starts after the store opens and is stopped (a running enforcement
 * finishes) before the store closes.
 *
 * Transport security: with `server.tls` every listener speaks TLS (HTTPS,
 * gRPC, Fluent forward, syslog over TLS), each keeps its certificate
 * current from the files (polling, and `reloadCertificates()` on SIGHUP),
 * and client certificates become principals through
 * `auth.certificate_rules` (transport/transport-security.ts). The files are
 * read before anything else, so a bad one fails the start naming it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { GRPC_INGEST_SERVICE, HTTP_INGEST_SERVICE, Pipeline, PipelineMetrics, ServiceMap, TRANSPORT_SECURITY_SERVICE, createLogger, type Logger } from '@meshlog/core';
import { CertificateFileError, CertificateFiles, isLoopbackAddress, keepCertificateCurrent, recordFailedHandshake, tlsServerOptions, type ListenerTlsConfig } from '@meshlog/components';
import { ApprovalCatalog, IntegrityLedger, LogStore, RetentionScheduler, RetentionService, STORE_SERVICE, openEmbeddedStore, type EncryptionStatus } from '@meshlog/store';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './http/app.js';
import { FastifyIngestHost } from './http/ingest-host.js';
import { registerLokiRoutes } from './http/loki-routes.js';
import { registerTailRoute } from './http/loki-tail.js';
import { registerTraceRoutes } from './http/trace-routes.js';
import { registerUiRoutes } from './http/ui-routes.js';
import { registerAuditRoutes } from './http/audit-routes.js';
import { registerRetentionRoutes } from './http/retention-routes.js';
import { RetentionMetrics } from './retention/retention-metrics.js';
import { registerWalMetrics } from './wal-metrics.js';
import { ApprovalService } from './approvals/approval-service.js';
import { registerApprovalRoutes } from './http/approval-routes.js';
import { registerKeyRoutes } from './http/key-routes.js';
import { TokenStore } from './auth/token-store.js';
import { UserStore } from './auth/user-store.js';
import { SessionStore } from './auth/session-store.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { OidcSignIn } from './auth/oidc.js';
import { oidcClientSecret } from './auth/auth-config.js';
import { AuditTrail } from './audit/audit-trail.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { Masker } from './privacy/masker.js';
import { rateLimitsOf } from './http/rate-limit-hook.js';
import { tokenAuthenticator } from './http/auth-hook.js';
import { certificateAuthenticator } from './http/certificate-auth.js';
import { sessionAuthenticator } from './http/session-auth.js';
import { registerIdentityRoutes } from './http/identity-routes.js';
import { registerAuthRoutes } from './http/auth-routes.js';
import type { RouteRule } from './http/route-access.js';
import { GrpcJsIngestHost, bearerTokenAuthenticator, certificateAuthenticator as grpcCertificateAuthenticator } from './grpc/grpc-ingest-host.js';
import { CertificateIdentities } from './auth/certificate-rules.js';
import { ServerTransportSecurity } from './transport/transport-security.js';
import { encryptionSetting, type ServerConfig } from './config/server-config.js';
import { openClickHouseBackend } from './store-backend.js';
import { registerIntegrityRoutes } from './http/integrity-routes.js';
import { defaultKeyFile, loadSigningKey } from './integrity/signing-key.js';

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
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:3100 or https://… with server.tls (undefined when http_port is 0). */
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
  /** Every listener re-reads its certificate files now (SIGHUP); a bad file is logged and the old certificate kept. */
  reloadCertificates(): void;
  stop(): Promise<void>;
}

/** A listener's certificate files, read now; an unusable one is an error naming its server.tls key. */
function listenerCertificates(tls: ListenerTlsConfig, label: string, logger: Logger): CertificateFiles {
  try {
    return new CertificateFiles(tls, { label, logger });
  } catch (err) {
    if (err instanceof CertificateFileError) throw new Error(`server.tls.${err.message}`, { cause: err });
    throw err;
  }
}

export async function startServer(config: ServerConfig, logger: Logger = createLogger()): Promise<RunningServer> {
  const dataDir = resolve(config.data_dir);
  const tlsConfig = config.server.tls;
  const tlsLogger = logger.child({ component: 'tls' });
  const httpCertificates = tlsConfig && config.server.http_port !== 0 ? listenerCertificates(tlsConfig, 'http', tlsLogger) : undefined;
  const grpcCertificates = tlsConfig && config.server.grpc_port !== 0 ? listenerCertificates(tlsConfig, 'grpc', tlsLogger) : undefined;
  warnAboutTransport(config, tlsLogger);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Read before the store opens: a missing secret stops the start with nothing to clean up.
  const oidcSecret = config.auth.oidc ? oidcClientSecret(config.auth.oidc, (m, f) => logger.warn(m, f)) : undefined;

  const limits = { timeoutMs: config.limits.query_timeout_ms, maxRowsToRead: config.limits.max_rows_to_read, maxBytesToRead: config.limits.max_bytes_to_read };
  let store: LogStore;
  let ledger: IntegrityLedger | undefined;
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
    // The ledger opens before the store so the WAL's recovery can rebuild the leaves it lacks.
    if (config.integrity.enabled && config.storage.embedded.wal) {
      const signing = loadSigningKey(config.integrity.key_file ?? defaultKeyFile(dataDir), dataDir, { create: true });
      if (signing.created) logger.info('created the integrity signing key; give auditors the public key', { publicKey: signing.publicKeyFile });
      ledger = IntegrityLedger.open({
        dir: join(dataDir, 'ledger'),
        signingKey: signing.key,
        ...(config.integrity.previous_key_file ? { previousKey: loadSigningKey(config.integrity.previous_key_file, dataDir, { create: false }).key } : {}),
        logger: logger.child({ component: 'integrity' }),
        witness: config.integrity.witness,
      });
    }
    // The store opens first: a data dir whose key is missing fails here, before anything else is written to it.
    ({ store, encryption } = await openEmbeddedStore({
      dataDir,
      encryption: encryptionSetting(config),
      readers: config.storage.embedded.readers,
      writers: config.storage.embedded.writers,
      limits,
      ...(config.storage.embedded.wal ? { wal: { dir: join(dataDir, 'wal'), logger: logger.child({ component: 'wal' }), ...(ledger ? { ledger } : {}) } } : {}),
    }));
    await ledger?.start();
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
  const auth = config.auth;
  const users = new UserStore(dataDir);
  const sessions = new SessionStore(dataDir, { idleMs: auth.sessions.idle_timeout_seconds * 1000, absoluteMs: auth.sessions.absolute_timeout_seconds * 1000 });
  const oidc = auth.oidc ? new OidcSignIn(auth.oidc, oidcSecret) : undefined;

  const audit = new AuditTrail(store, logger.child({ component: 'audit' }));
  const identities = new CertificateIdentities(config.auth.certificate_rules);
  const transportSecurity = new ServerTransportSecurity(identities, audit, OPERATOR_TENANT, tlsLogger);
  // One limiter for both listeners: an identity's HTTP requests and gRPC calls share its budget.
  const limiter = new RateLimiter();
  const rateLimits = rateLimitsOf(config.limits.rate);
  const metrics = new PipelineMetrics();
  let ready = false;
  const { app: http, routes } = createHttpApp({
    // A client certificate that maps to an identity comes first (http/certificate-auth.ts);
    // then a request with an API token is the token's; only without one does a session cookie count.
    authenticators: [certificateAuthenticator(identities), tokenAuthenticator(tokens), sessionAuthenticator(sessions, users)],
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
    ...(tlsConfig && httpCertificates ? { https: tlsServerOptions(tlsConfig, httpCertificates) } : {}),
  });
  if (httpCertificates) {
    const admission = { security: transportSecurity, source: 'http', protocol: 'https', logger: tlsLogger };
    http.server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      socket.destroy();
      void recordFailedHandshake(err, socket, admission);
    });
  }
  const services = new ServiceMap()
    .set(STORE_SERVICE, store)
    .set(HTTP_INGEST_SERVICE, new FastifyIngestHost(http, config.server.max_request_bytes))
    .set(TRANSPORT_SECURITY_SERVICE, transportSecurity);
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
            maxConnections: config.server.grpc.max_connections,
            ...(tlsConfig && grpcCertificates ? { tls: { config: tlsConfig, files: grpcCertificates } } : {}),
            transportSecurity,
            authenticate: grpcCertificateAuthenticator(identities, bearerTokenAuthenticator((token) => tokens.verify(token))),
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
  registerUiRoutes(http);
  // Segregation of duties: actions a second admin approves (retention cuts, purges, grants, key rotation).
  const approvals = new ApprovalService(new ApprovalCatalog(store.backend, store.database), { logger: logger.child({ component: 'approvals' }) });
  registerIdentityRoutes(http, { tokens, users, sessions, passwordMinLength: auth.passwords.min_length, approvals });
  const t = auth.login_throttle;
  registerAuthRoutes(http, {
    users,
    sessions,
    tokens,
    throttle: new LoginThrottle({
      freeFailures: t.free_failures,
      freeFailuresPerAddress: t.free_failures_per_address,
      baseDelayMs: t.base_delay_seconds * 1000,
      maxDelayMs: t.max_delay_seconds * 1000,
      forgetMs: t.forget_after_seconds * 1000,
    }),
    oidc,
    postLoginRedirect: auth.oidc?.post_login_redirect ?? '/',
    passwordMinLength: auth.passwords.min_length,
    idleTimeoutSeconds: auth.sessions.idle_timeout_seconds,
  });
  registerAuditRoutes(http);

  const retentionLogger = logger.child({ component: 'retention' });
  const retention = new RetentionService(store, { defaultKeepDays: config.retention.default_keep_days, logger: retentionLogger });
  const configured = await retention.applyConfigured(config.retention.policies);
  if (configured.length > 0) retentionLogger.info('retention policies applied from the config file', { policies: configured.map((p) => ({ tenant: p.tenant, selector: p.selector ?? '', keep_days: p.keep_days })) });
  const retentionMetrics = new RetentionMetrics(metrics.registry);
  registerWalMetrics(metrics.registry, store);
  const scheduler = new RetentionScheduler({
    intervalMs: config.retention.interval_minutes * 60_000,
    startDelayMs: config.retention.start_delay_seconds * 1000,
    run: () => retentionMetrics.observe('schedule', () => retention.enforce()),
    logger: retentionLogger,
  });
  registerRetentionRoutes(http, {
    retention,
    approvals,
    defaultKeepDays: config.retention.default_keep_days,
    enforce: (scope) => retentionMetrics.observe('api', () => retention.enforce(scope), scope.tenant),
  });

  registerIntegrityRoutes(http, { store, ledger, operatorTenant: OPERATOR_TENANT });
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
  let stopWatchingHttpCertificate: (() => void) | undefined;
  if (config.server.http_port !== 0) {
    await http.listen({ host: config.server.listen_address, port: config.server.http_port });
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.server.http_port;
    const host = config.server.listen_address.includes(':') ? `[${config.server.listen_address}]` : config.server.listen_address;
    httpUrl = `${httpCertificates ? 'https' : 'http'}://${host}:${port}`;
    if (tlsConfig && httpCertificates) {
      stopWatchingHttpCertificate = keepCertificateCurrent(http.server as unknown as TlsServer, tlsConfig, httpCertificates, { security: transportSecurity });
    }
  } else {
    await http.ready();
  }
  scheduler.start();
  const checkpointTimer = ledger
    ? setInterval(() => void ledger.checkpoint().catch((err: Error) => logger.error('integrity: checkpoint failed', { error: err.message })), config.integrity.checkpoint_interval_seconds * 1000)
    : undefined;
  checkpointTimer?.unref();
  ready = true;
  logger.info('meshlog server started', {
    http: httpUrl ?? 'off',
    grpc: grpcAddress ?? 'off',
    tls: tlsConfig ? { client_auth: tlsConfig.client_auth, min_version: tlsConfig.min_version, certificate_rules: identities.size } : 'off',
    dataDir,
    store: describe,
    components: pipeline.componentIds,
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      stopWatchingHttpCertificate?.();
      // Both listeners stop taking calls; in-flight ones finish (acknowledged) before the pipeline drains.
      await Promise.all([http.close(), grpcHost?.close()]);
      await scheduler.stop();
      await pipeline.stop();
      await retention.idle();
      clearInterval(checkpointTimer);
      // The WAL drains into the store on close; every leaf it took is already in the ledger, so this covers all acknowledged batches.
      await ledger?.checkpoint();
      await store.close();
      tokens.flushLastUse();
      logger.info('meshlog server stopped');
    })();
    return stopping;
  };

  const reloadCertificates = (): void => transportSecurity.requestReload();
  return { config, dataDir, httpUrl, grpcAddress, adminTokenPath: admin.path, adminTokenCreated: admin.created, encryption, store, retention, http, routes, reloadCertificates, stop };
}

/** Warnings about how the listeners are exposed (the hard rule, TLS off the loopback, is in the config check). */
function warnAboutTransport(config: ServerConfig, logger: Logger): void {
  const s = config.server;
  const exposed = !isLoopbackAddress(s.listen_address);
  if (exposed && !s.tls) {
    logger.warn('listeners are PLAINTEXT on a non-loopback address (server.allow_plaintext): logs and API tokens cross the network unencrypted', { listen_address: s.listen_address });
  }
  if (exposed && s.syslog_port !== 0) {
    logger.warn('syslog over TCP and UDP (server.syslog_port) is plaintext by protocol; set server.syslog_port: 0 and send to syslog_tls_port unless the network is trusted', {
      listen_address: s.listen_address,
      syslog_port: s.syslog_port,
    });
  }
  const rules = config.auth.certificate_rules.length;
  if (rules > 0 && (!s.tls || s.tls.client_auth === 'none')) {
    logger.warn('auth.certificate_rules has no effect: no listener asks for client certificates (set server.tls.client_auth: optional or required)', { rules });
  }
  if (s.tls && s.tls.client_auth !== 'none' && rules === 0) {
    logger.warn('client certificates are verified but auth.certificate_rules is empty: HTTP and gRPC refuse every certificate unless the call also carries an API token (syslog and Fluent keep their source tenant)', {
      client_auth: s.tls.client_auth,
    });
  }
}
