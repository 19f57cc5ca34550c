/** The component types the server role offers: an explicit map, no discovery. */
import type { ComponentRegistry } from '@meshlog/core';
import { datadogLogsSource, envoyAlsSource, esBulkSource, lokiPushSource, fluentSource, otlpGrpcSource, otlpSource, splunkHecSource, stdoutSink, syslogSource, zipkinSource } from '@meshlog/components';
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
  transforms: {},
  sinks: { store: storeSink, stdout: stdoutSink },
};
