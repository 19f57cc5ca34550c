/** The component types the server role offers: an explicit map, no discovery. */
import type { ComponentRegistry } from '@meshlog/core';
import { esBulkSource, lokiPushSource, otlpSource, stdoutSink } from '@meshlog/components';
import { storeSink } from '@meshlog/store';

export const serverRegistry: ComponentRegistry = {
  sources: { otlp: otlpSource, loki_push: lokiPushSource, es_bulk: esBulkSource },
  transforms: {},
  sinks: { store: storeSink, stdout: stdoutSink },
};
