/**
 * @meshlog/components: sources, transforms and sinks that both roles use.
 * Nothing here depends on the store; the server adds its store sink on top.
 */
export { otlpSource } from './sources/otlp/otlp-source.js';
export { decodeOtlpLogs, decodeOtlpTraces, encodingOf, OtlpDecodeError } from './sources/otlp/otlp-decode.js';
export { otlpType } from './sources/otlp/otlp-proto.js';
export { stdoutSink } from './sinks/stdout/stdout-sink.js';
export { syslogSource } from './sources/syslog/syslog-source.js';
export { SyslogSourceConfigSchema, SyslogTlsSchema, type SyslogSourceConfig, type SyslogTlsConfig } from './sources/syslog/config.js';
export { parseSyslog, type SyslogMessage, type SyslogParseResult, type SdElement } from './sources/syslog/syslog-parse.js';
export { SyslogFramer } from './sources/syslog/syslog-framing.js';
export { SYSLOG_SEVERITIES, SYSLOG_FACILITIES, ResourceCache, syslogRecord } from './sources/syslog/syslog-record.js';
