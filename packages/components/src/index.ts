/**
 * @meshlog/components: sources, transforms and sinks that both roles use.
 * Nothing here depends on the store; the server adds its store sink on top.
 */
export { otlpSource } from './sources/otlp/otlp-source.js';
export { decodeOtlpLogs, decodeOtlpTraces, encodingOf, OtlpDecodeError } from './sources/otlp/otlp-decode.js';
export { otlpType } from './sources/otlp/otlp-proto.js';
export { stdoutSink } from './sinks/stdout/stdout-sink.js';
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
