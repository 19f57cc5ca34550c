/**
 * @meshlog/components: sources, transforms and sinks that both roles use.
 * Nothing here depends on the store; the server adds its store sink on top.
 */
export { otlpSource } from './sources/otlp/otlp-source.js';
export { decodeOtlpLogs, decodeOtlpTraces, encodingOf, OtlpDecodeError } from './sources/otlp/otlp-decode.js';
export { otlpType, otlpRoot, OTLP_LOGS_SERVICE, OTLP_TRACE_SERVICE } from './sources/otlp/otlp-proto.js';
export { otlpGrpcSource } from './sources/otlp_grpc/otlp-grpc-source.js';
export { envoyAlsSource } from './sources/envoy_als/envoy-als-source.js';
export { AlsStreamDecoder, AlsDecodeError, nodeResource, parseIstioNodeId, responseFlagsOf, renderDefaultFormat, traceContext } from './sources/envoy_als/als-decode.js';
export { ALS_SERVICE, ALS_METHOD, alsType } from './sources/envoy_als/als-proto.js';
export { protoRoot, PROTO_DIR } from './proto/proto-root.js';
export { encodeRetryStatus, decodeRetryDelayMs } from './proto/rpc-status.js';
export { splunkHecSource } from './sources/splunk_hec/splunk-hec-source.js';
export { decodeHecEvents, decodeHecRaw, HecDecodeError, HecStatus } from './sources/splunk_hec/hec-decode.js';
export { datadogLogsSource } from './sources/datadog_logs/datadog-logs-source.js';
export { decodeDatadogLogs, DatadogDecodeError } from './sources/datadog_logs/datadog-decode.js';
export { zipkinSource } from './sources/zipkin/zipkin-source.js';
export { zipkinSpansToModel, spanToZipkin, ZipkinDecodeError, ZipkinAttr, type StoredSpan } from './sources/zipkin/zipkin-model.js';
export { decodeZipkinProto, zipkinListOfSpans } from './sources/zipkin/zipkin-proto.js';

export { lokiPushSource, LOKI_PUSH_PATH } from './sources/loki_push/loki-push-source.js';
export { decodeLokiPush, lokiStreamsToRecords, LokiDecodeError } from './sources/loki_push/loki-push-decode.js';
export { lokiType } from './sources/loki_push/loki-proto.js';
export { esBulkSource } from './sources/es_bulk/es-bulk-source.js';
export { parseBulkBody, EsBulkRequestError } from './sources/es_bulk/es-bulk-decode.js';
export { documentToRecord, parseDate } from './sources/es_bulk/ecs-mapping.js';

export { stdoutSink } from './sinks/stdout/stdout-sink.js';
export { meshlogSink, MeshlogSinkConfigSchema } from './sinks/meshlog/meshlog-sink.js';
export { otlpSink, OtlpSinkConfigSchema } from './sinks/otlp/otlp-sink.js';
export { lokiSink, lokiProtocol, LokiSinkConfigSchema } from './sinks/loki/loki-sink.js';
export { BufferedPushSink, SHUTDOWN_SIGNAL_SERVICE, retryAfterMs, isPermanentStatus, type PushProtocol } from './sinks/shared/buffered-push-sink.js';
export { encodeOtlpLogs, encodeOtlpSpans } from './sinks/shared/otlp-encode.js';
export { DiskBuffer, BufferClosedError, RECORD_MAGIC, RECORD_HEADER_BYTES, type BufferedRecord, type BufferDamage } from './buffer/disk-buffer.js';
export { fileSource, FileSource } from './sources/file/file-source.js';
export { FileSourceConfigSchema, type FileSourceConfig } from './sources/file/config.js';
export { CheckpointStore, type CheckpointEntry } from './sources/file/checkpoints.js';
export { redactTransform, RedactTransform } from './transforms/redact/redact-transform.js';
export { RedactConfigSchema, BUILTIN_DETECTORS, DEFAULT_DETECTORS, type RedactConfig } from './transforms/redact/config.js';
export { luhnValid } from './transforms/redact/detectors.js';
export { fluentSource } from './sources/fluent/fluent-source.js';
export { syslogSource } from './sources/syslog/syslog-source.js';
export { SyslogSourceConfigSchema, SyslogTlsSchema, type SyslogSourceConfig, type SyslogTlsConfig } from './sources/syslog/config.js';
export { parseSyslog, type SyslogMessage, type SyslogParseResult, type SdElement } from './sources/syslog/syslog-parse.js';
export { SyslogFramer } from './sources/syslog/syslog-framing.js';
export { SYSLOG_SEVERITIES, SYSLOG_FACILITIES, ResourceCache, syslogRecord } from './sources/syslog/syslog-record.js';
export { parseTransform, ParseTransform, lineParserFor, PARSED, UNRECOGNIZED } from './transforms/parse/parse-transform.js';
export type { ParseOutcome, ParseErrorReason } from './transforms/parse/parse-transform.js';
export { ParseConfigSchema, PARSE_FORMATS } from './transforms/parse/config.js';
export type { ParseConfig, ParseFormat } from './transforms/parse/config.js';
export { parseContainerTransform, ParseContainerTransform, ParseContainerConfigSchema } from './transforms/parse_container/parse-container-transform.js';
export { parseCriLine, parseDockerLine } from './transforms/parse_container/container-line.js';
export { enrichK8sPathTransform, resourceWithPathMetadata } from './transforms/enrich_k8s_path/enrich-k8s-path-transform.js';
export { enrichMeshTransform } from './transforms/enrich_mesh/enrich-mesh-transform.js';
export { k8sMetadataFromPath } from './normalize/k8s-path.js';
export type { K8sPathMetadata } from './normalize/k8s-path.js';
export { enrichMeshIdentity, parseSpiffeId, parseIstioCluster, parseIstioSni, parseConsulName, parseLinkerdIdentity } from './normalize/mesh-identity.js';
export { parseTraceparent, parseB3Single, normalizeTraceId, normalizeSpanId, datadogIdToHex } from './normalize/trace-context.js';
export { parseTimestamp, parseRfc3339 } from './normalize/timestamp.js';

export { ListenerTlsSchema, TLS_MIN_VERSIONS, TLS_CIPHERS, CLIENT_AUTH_MODES, CERTIFICATE_POLL_MS, tlsServerOptions, secureContextOptions, keepCertificateCurrent, type ListenerTlsConfig, type ClientAuth } from './tls/listener-tls.js';
export { CertificateFiles, CertificateFileError, loadCertificateMaterial, type CertificateMaterial, type CertificatePaths, type CheckOutcome } from './tls/certificate-files.js';
export { presentedCertificate, describePeerCertificate, handshakeFailure, uriSans, type PresentedCertificate } from './tls/peer-certificate.js';
export { admitTlsConnection, recordFailedHandshake, type AdmittedConnection, type AdmissionOptions } from './tls/tls-connection-admission.js';
export { isLoopbackAddress } from './sources/fluent/config.js';
