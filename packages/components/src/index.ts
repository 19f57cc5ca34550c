/**
 * @meshlog/components: sources, transforms and sinks that both roles use.
 * Nothing here depends on the store; the server adds its store sink on top.
 */
export { otlpSource } from './sources/otlp/otlp-source.js';
export { decodeOtlpLogs, decodeOtlpTraces, encodingOf, OtlpDecodeError } from './sources/otlp/otlp-decode.js';
export { otlpType } from './sources/otlp/otlp-proto.js';
export { splunkHecSource } from './sources/splunk_hec/splunk-hec-source.js';
export { decodeHecEvents, decodeHecRaw, HecDecodeError, HecStatus } from './sources/splunk_hec/hec-decode.js';
export { datadogLogsSource } from './sources/datadog_logs/datadog-logs-source.js';
export { decodeDatadogLogs, DatadogDecodeError } from './sources/datadog_logs/datadog-decode.js';
export { zipkinSource } from './sources/zipkin/zipkin-source.js';
export { zipkinSpansToModel, spanToZipkin, ZipkinDecodeError, ZipkinAttr, type StoredSpan } from './sources/zipkin/zipkin-model.js';
export { decodeZipkinProto, zipkinListOfSpans } from './sources/zipkin/zipkin-proto.js';
export { stdoutSink } from './sinks/stdout/stdout-sink.js';
