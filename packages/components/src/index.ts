/**
 * @meshlog/components: sources, transforms and sinks that both roles use.
 * Nothing here depends on the store; the server adds its store sink on top.
 */
export { otlpSource } from './sources/otlp/otlp-source.js';
export { decodeOtlpLogs, decodeOtlpTraces, encodingOf, OtlpDecodeError } from './sources/otlp/otlp-decode.js';
export { otlpType } from './sources/otlp/otlp-proto.js';
export { lokiPushSource, LOKI_PUSH_PATH } from './sources/loki_push/loki-push-source.js';
export { decodeLokiPush, lokiStreamsToRecords, LokiDecodeError } from './sources/loki_push/loki-push-decode.js';
export { lokiType } from './sources/loki_push/loki-proto.js';
export { esBulkSource } from './sources/es_bulk/es-bulk-source.js';
export { parseBulkBody, EsBulkRequestError } from './sources/es_bulk/es-bulk-decode.js';
export { documentToRecord, parseDate } from './sources/es_bulk/ecs-mapping.js';
export { stdoutSink } from './sinks/stdout/stdout-sink.js';
