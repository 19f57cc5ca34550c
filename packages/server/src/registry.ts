/** The component types the server role offers: an explicit map, no discovery. */
import type { ComponentRegistry } from '@meshlog/core';
import { enrichK8sPathTransform, enrichMeshTransform, otlpSource, parseContainerTransform, parseTransform, stdoutSink } from '@meshlog/components';
import { storeSink } from '@meshlog/store';

export const serverRegistry: ComponentRegistry = {
  sources: { otlp: otlpSource },
  transforms: {
    parse: parseTransform,
    parse_container: parseContainerTransform,
    enrich_k8s_path: enrichK8sPathTransform,
    enrich_mesh: enrichMeshTransform,
  },
  sinks: { store: storeSink, stdout: stdoutSink },
};
