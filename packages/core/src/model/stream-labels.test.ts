import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOKI_LABEL_PREFIX, formatLabels, streamLabelsOf } from './stream-labels.js';

test('OTLP resources: promoted attributes become labels, service_name always present', () => {
  assert.deepEqual(streamLabelsOf({ 'service.name': 'checkout', 'k8s.namespace.name': 'shop', 'host.name': 'n1' }), [
    ['k8s_namespace_name', 'shop'],
    ['service_name', 'checkout'],
  ]);
  assert.deepEqual(streamLabelsOf({ 'k8s.container.name': 'web' }), [
    ['k8s_container_name', 'web'],
    ['service_name', 'web'],
  ]);
  assert.deepEqual(streamLabelsOf({}), [['service_name', 'unknown_service']]);
});

test('Loki streams keep exactly the labels their sender chose, plus service_name', () => {
  const resource = {
    [`${LOKI_LABEL_PREFIX}app`]: 'cart',
    [`${LOKI_LABEL_PREFIX}namespace`]: 'shop',
    // Semantic-convention copies the source adds do not become extra labels.
    'k8s.namespace.name': 'shop',
    'service.name': 'cart',
  };
  assert.equal(formatLabels(streamLabelsOf(resource)), '{app="cart", namespace="shop", service_name="cart"}');
  // A sender's own service_name label is the service.name, listed once.
  assert.deepEqual(streamLabelsOf({ [`${LOKI_LABEL_PREFIX}service_name`]: 'api', 'service.name': 'api' }), [['service_name', 'api']]);
  assert.deepEqual(streamLabelsOf({ [`${LOKI_LABEL_PREFIX}job`]: 'x' }), [
    ['job', 'x'],
    ['service_name', 'unknown_service'],
  ]);
});
