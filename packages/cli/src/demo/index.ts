/**
 * Demo mesh traffic for `meshlog demo` and `meshlog server --demo`.
 *
 * `runDemo` sends live traffic to a server; `generateTraffic` and
 * `MeshTrafficGenerator` produce the same payloads without a network, for
 * tests and benchmarks. See README.md beside this file for what the traffic
 * contains and when incidents happen.
 */

export type { DemoOptions, DemoStats } from './run-demo.js';
export { runDemo, validateDemoOptions } from './run-demo.js';
export type { GeneratedTraffic, GenerateTrafficOptions, TrafficGeneratorOptions } from './generator.js';
export { backgroundLogs, generateTraffic, MeshTrafficGenerator } from './generator.js';
export type { RequestTelemetry } from './traffic.js';
export type { IncidentKind, IncidentSchedule, IncidentWindow } from './incidents.js';
export { activeIncidents, INCIDENT_SCHEDULES, incidentWindows } from './incidents.js';
export type { AccessLogEntry } from './access-log-formats.js';
export { formatIstioJson, formatIstioText, ISTIO_JSON_FORMAT, ISTIO_TEXT_FORMAT, ISTIO_TEXT_LINE } from './access-log-formats.js';
export type { DemoLogRecord, DemoResource, DemoSpan, ExportLogsServiceRequest, ExportTraceServiceRequest, OtlpKeyValue, OtlpLogRecord, OtlpSpan } from './otlp-json.js';
export { buildLogsRequest, buildTracesRequest, countLogRecords, countSpans, flattenLogs, flattenSpans, recordAttribute } from './otlp-json.js';
export type { FlatLogRecord, FlatSpan } from './otlp-json.js';
export type { OtlpHttpSenderOptions, SenderStats } from './otlp-http-sender.js';
export { OtlpHttpSender } from './otlp-http-sender.js';
export type { Pod, ServiceSpec, Topology } from './topology.js';
export { buildTopology, ENDPOINTS, SERVICES } from './topology.js';
