/**
 * @meshlog/core: the data model and the pipeline engine shared by both roles
 * (server and agent). Nothing here touches the store or the network.
 */
export * from './model/index.js';
export * from './pipeline/component.js';
export * from './pipeline/errors.js';
export * from './pipeline/pipeline.js';
export * from './pipeline/sink-queue.js';
export * from './pipeline/services.js';
export * from './pipeline/clone.js';
export * from './config/config-file.js';
export * from './fs/fsync-dir.js';
export * from './config/pipeline-config.js';
export * from './telemetry/logger.js';
export * from './telemetry/metrics.js';
export * from './ingest/http-ingest.js';
export * from './ingest/grpc-ingest.js';
export * from './ingest/transport-security.js';
export * from './integrity/index.js';
