/** The component types the server role offers: an explicit map, no discovery. */
import type { ComponentRegistry } from '@meshlog/core';
import {
  datadogLogsSource,
  enrichK8sPathTransform,
  enrichMeshTransform,
  envoyAlsSource,
  esBulkSource,
  fluentSource,
  lokiPushSource,
  otlpGrpcSource,
  otlpSource,
  parseContainerTransform,
  parseTransform,
  splunkHecSource,
  stdoutSink,
  syslogSource,
  zipkinSource,
} from '@meshlog/components';
import { storeSink } from '@meshlog/store';

export const serverRegistry: ComponentRegistry = {
  sources: {
    otlp: otlpSource,
    otlp_grpc: otlpGrpcSource,
    envoy_als: envoyAlsSource,
    fluent: fluentSource,
    syslog: syslogSource,
    splunk_hec: splunkHecSource,
    datadog_logs: datadogLogsSource,
    zipkin: zipkinSource,
    loki_push: lokiPushSource,
    es_bulk: esBulkSource,
  },
  transforms: {
    parse: parseTransform,
    parse_container: parseContainerTransform,
    enrich_k8s_path: enrichK8sPathTransform,
    enrich_mesh: enrichMeshTransform,
  },
  sinks: { store: storeSink, stdout: stdoutSink },
};
