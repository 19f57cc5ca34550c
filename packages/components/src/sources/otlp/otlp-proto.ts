/**
 * The OTLP messages (logs and traces collector services, google.rpc.Status),
 * loaded once from the .proto files under `proto/` with their real package
 * names, shared by the OTLP/HTTP and OTLP/gRPC sources. int64/fixed64 fields
 * arrive as `Long` values and are turned into bigint by `otlp-decode`.
 */
import type protobuf from 'protobufjs';
import { protoRoot } from '../../proto/proto-root.js';

const OTLP_FILES = [
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'google/rpc/status.proto',
] as const;

/** Fully qualified gRPC service names. */
export const OTLP_LOGS_SERVICE = 'opentelemetry.proto.collector.logs.v1.LogsService';
export const OTLP_TRACE_SERVICE = 'opentelemetry.proto.collector.trace.v1.TraceService';

/** Short names callers use, mapped to the messages' full names. */
const SHORT_NAMES: Record<string, string> = {
  ExportLogsServiceRequest: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  ExportLogsServiceResponse: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse',
  ExportTraceServiceRequest: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  ExportTraceServiceResponse: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
  RpcStatus: 'google.rpc.Status',
};

export function otlpRoot(): protobuf.Root {
  return protoRoot(OTLP_FILES);
}

/** A message type by short name (`ExportLogsServiceRequest`, `RpcStatus`) or full name. */
export function otlpType(name: string): protobuf.Type {
  return otlpRoot().lookupType(SHORT_NAMES[name] ?? name);
}
