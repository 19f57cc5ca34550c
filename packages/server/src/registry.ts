/** The component types the server role offers: an explicit map, no discovery. */
import type { ComponentRegistry } from '@meshlog/core';
import { datadogLogsSource, otlpSource, splunkHecSource, stdoutSink, zipkinSource } from '@meshlog/components';
import { storeSink } from '@meshlog/store';

export const serverRegistry: ComponentRegistry = {
  sources: { otlp: otlpSource, splunk_hec: splunkHecSource, datadog_logs: datadogLogsSource, zipkin: zipkinSource },
  transforms: {},
  sinks: { store: storeSink, stdout: stdoutSink },
};
