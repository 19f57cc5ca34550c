/** The component types the server role offers: an explicit map, no discovery. */
import type { ComponentRegistry } from '@meshlog/core';
import { envoyAlsSource, fluentSource, otlpGrpcSource, otlpSource, stdoutSink, syslogSource } from '@meshlog/components';
import { storeSink } from '@meshlog/store';

export const serverRegistry: ComponentRegistry = {
  sources: { otlp: otlpSource, otlp_grpc: otlpGrpcSource, envoy_als: envoyAlsSource, fluent: fluentSource, syslog: syslogSource },
  transforms: {},
  sinks: { store: storeSink, stdout: stdoutSink },
};
