/**
 * The generated traffic: deterministic, in Istio's formats, valid OTLP JSON,
 * and one trace per visitor request.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ISTIO_JSON_FORMAT, ISTIO_TEXT_LINE } from './access-log-formats.js';
import { generateTraffic, MeshTrafficGenerator } from './generator.js';
import { flattenLogs, flattenSpans, recordAttribute } from './otlp-json.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const SEVERITY_TEXT: Record<number, string> = { 5: 'DEBUG', 9: 'INFO', 13: 'WARN', 17: 'ERROR', 21: 'FATAL' };

describe('generateTraffic', () => {
  it('is deterministic for a seed', () => {
    const a = generateTraffic(11, T0, 200);
    const b = generateTraffic(11, T0, 200);
    assert.equal(JSON.stringify(a.logs), JSON.stringify(b.logs));
    assert.equal(JSON.stringify(a.traces), JSON.stringify(b.traces));
    const c = generateTraffic(12, T0, 200);
    assert.notEqual(JSON.stringify(a.logs), JSON.stringify(c.logs));
  });

  it('produces the same requests whatever the chunking', () => {
    const oneByOne = new MeshTrafficGenerator({ seed: 5, startTimeMs: T0, rate: 40 });
    const chunked = new MeshTrafficGenerator({ seed: 5, startTimeMs: T0, rate: 40 });
    const single = Array.from({ length: 100 }, () => oneByOne.nextRequest());
    const stepped = [];
    for (let t = T0 + 250; stepped.length < 100; t += 250) stepped.push(...chunked.requestsBefore(t));
    assert.deepEqual(stepped.slice(0, 100).map((r) => [r.traceId, r.logs.length, r.spans.length, r.status]), single.map((r) => [r.traceId, r.logs.length, r.spans.length, r.status]));
  });

  it('writes every TEXT access log line in Istio default format and every JSON one with Istio keys', () => {
    const g = generateTraffic(3, T0, 1500);
    let text = 0;
    let json = 0;
    for (const { resource, record } of flattenLogs(g.logs)) {
      if (recordAttribute(record, 'log.source') !== 'envoy') continue;
      const format = recordAttribute(record, 'log.format');
      assert.equal(resource['k8s.container.name'], 'istio-proxy');
      const body = record.body.stringValue;
      if (format === 'istio-text') {
        text++;
        assert.match(body, ISTIO_TEXT_LINE, body);
        const m = ISTIO_TEXT_LINE.exec(body);
        assert.ok(m);
        // The line's start time is the record's time; its request id the request's.
        assert.equal(Date.parse(m[1] ?? ''), Math.floor(Number(BigInt(record.timeUnixNano) / 1_000_000n)));
        const cluster = m[19] ?? '';
        assert.match(cluster, /^(outbound\|\d+\|\|[a-z-]+\.[a-z-]+\.svc\.cluster\.local|inbound\|\d+\|\||-)$/);
        if (cluster.startsWith('inbound')) assert.match(m[23] ?? '', /^outbound_\.\d+_\._\.[a-z-]+\.[a-z-]+\.svc\.cluster\.local$/);
      } else if (format === 'istio-json') {
        json++;
        const parsed = JSON.parse(body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(parsed), Object.keys(ISTIO_JSON_FORMAT));
        assert.equal(typeof parsed['response_code'], 'number');
        assert.equal(typeof parsed['duration'], 'number');
        if (parsed['method'] !== null) assert.match(String(parsed['traceparent']), new RegExp(`^00-${record.traceId ?? 'x'}-[0-9a-f]{16}-01$`));
      }
      // Severity follows the status class.
      const code = format === 'istio-json' ? (JSON.parse(body) as { response_code: number }).response_code : Number(ISTIO_TEXT_LINE.exec(body)?.[5] ?? NaN);
      if (code >= 500) assert.equal(record.severityNumber, 17);
      else if (code >= 400) assert.equal(record.severityNumber, 13);
      else if (code >= 200) assert.equal(record.severityNumber, 9);
    }
    assert.ok(text > 1000 && json > 300, `text ${text}, json ${json}`);
    assert.ok(json / (text + json) > 0.15 && json / (text + json) < 0.45);
  });

  it('emits valid OTLP JSON: string nanos, hex ids, severities with text, resources per pod and container', () => {
    const g = generateTraffic(8, T0, 300);
    const logs = flattenLogs(g.logs);
    assert.equal(logs.length, g.logRecords);
    const resourceKeys = new Set<string>();
    for (const { resource, record } of logs) {
      assert.match(record.timeUnixNano, /^\d{19}$/);
      assert.match(record.observedTimeUnixNano, /^\d{19}$/);
      assert.ok(BigInt(record.observedTimeUnixNano) >= BigInt(record.timeUnixNano) || recordAttribute(record, 'log.source') === 'envoy');
      assert.equal(record.severityText, SEVERITY_TEXT[record.severityNumber]);
      assert.equal(typeof record.body.stringValue, 'string');
      assert.ok(['envoy', 'app'].includes(recordAttribute(record, 'log.source') ?? ''));
      if (record.traceId !== undefined) {
        assert.match(record.traceId, /^[0-9a-f]{32}$/);
        assert.match(record.spanId ?? '', /^[0-9a-f]{16}$/);
        assert.equal(record.flags, 1);
      }
      for (const key of ['service.name', 'service.namespace', 'service.version', 'k8s.namespace.name', 'k8s.pod.name', 'k8s.container.name', 'k8s.node.name', 'k8s.cluster.name', 'deployment.environment.name']) {
        assert.ok(resource[key], `resource has ${key}`);
      }
      resourceKeys.add(`${resource['k8s.pod.name']}/${resource['k8s.container.name']}`);
    }
    assert.equal(resourceKeys.size, g.logs.resourceLogs.length, 'one resourceLogs entry per pod and container');
    for (const rl of g.logs.resourceLogs) assert.deepEqual(rl.scopeLogs.map((s) => s.scope.name), ['meshlog-demo']);

    const spans = flattenSpans(g.traces);
    assert.equal(spans.length, g.spans);
    for (const { span } of spans) {
      assert.match(span.traceId, /^[0-9a-f]{32}$/);
      assert.match(span.spanId, /^[0-9a-f]{16}$/);
      assert.ok(span.kind === 2 || span.kind === 3);
      assert.ok(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano));
      assert.ok([0, 1, 2].includes(span.status.code));
    }
  });

  it('gives every record of one request one trace id, and builds one tree of spans', () => {
    const generator = new MeshTrafficGenerator({ seed: 21, startTimeMs: T0, rate: 50 });
    for (let i = 0; i < 200; i++) {
      const request = generator.nextRequest();
      for (const record of request.logs) assert.equal(record.traceId, request.traceId);
      for (const span of request.spans) assert.equal(span.traceId, request.traceId);
      // Every access log of the request carries its x-request-id.
      for (const record of request.logs) {
        if (recordAttribute(record, 'log.source') === 'envoy' && !record.body.includes('"- - -"') && !record.body.includes('"method":null')) {
          assert.ok(record.body.includes(request.requestId), record.body);
        }
      }
      const ids = new Set(request.spans.map((s) => s.spanId));
      const roots = request.spans.filter((s) => s.parentSpanId === undefined);
      assert.equal(roots.length, 1, 'one root span (the gateway)');
      for (const span of request.spans) if (span.parentSpanId !== undefined) assert.ok(ids.has(span.parentSpanId), `parent of ${span.name} exists`);
      // Log records point at spans of the same request.
      for (const record of request.logs) if (record.spanId !== undefined) assert.ok(ids.has(record.spanId), `span of ${record.body.slice(0, 80)}`);
    }
  });

  it('pairs both access logs of a hop on one traceparent, the client span', () => {
    const generator = new MeshTrafficGenerator({ seed: 2, startTimeMs: T0, rate: 50 });
    for (let i = 0; i < 50; i++) {
      const request = generator.nextRequest();
      const byId = new Map(request.spans.map((s) => [s.spanId, s]));
      for (const record of request.logs) {
        if (recordAttribute(record, 'log.format') !== 'istio-json') continue;
        const parsed = JSON.parse(record.body) as { traceparent: string | null; upstream_cluster: string | null };
        if (parsed.traceparent === null || parsed.upstream_cluster === null) continue;
        const parent = parsed.traceparent.split('-')[2] ?? '';
        const own = byId.get(record.spanId ?? '');
        assert.ok(own, 'the record names a span of its request');
        if (parsed.upstream_cluster.startsWith('outbound')) assert.equal(record.spanId, parent, 'outbound log: the client span');
        else assert.equal(own.parentSpanId, parent, 'inbound log: the server span, child of the client span');
      }
    }
  });

  it('keeps 4xx and 5xx to a few percent, mixes app log styles and levels, and writes stack traces now and then', () => {
    const g = generateTraffic(4, T0, 2500);
    const app = flattenLogs(g.logs).filter(({ record }) => recordAttribute(record, 'log.source') === 'app');
    const bodies = app.map(({ record }) => record.body.stringValue);
    assert.ok(bodies.some((b) => b.startsWith('{"level":"info"')), 'zap JSON');
    assert.ok(bodies.some((b) => /^\{"level":\d+,"time":/.test(b)), 'pino JSON');
    assert.ok(bodies.some((b) => /^time="[^"]+" level=\w+ msg="/.test(b)), 'logfmt');
    assert.ok(bodies.some((b) => /^\d{4}-\d{2}-\d{2}T[\d:.]+Z +INFO 1 --- \[/.test(b)), 'Spring text');
    assert.ok(bodies.some((b) => /^\d{4}-\d{2}-\d{2} [\d:]+,\d{3} INFO \[/.test(b)), 'Python text');
    assert.ok(bodies.some((b) => b.includes('\n\tat ') || b.includes('\nTraceback (most recent call last):')), 'a multi-line stack trace');
    const levels = new Set(app.map(({ record }) => record.severityText));
    for (const level of ['INFO', 'WARN', 'ERROR']) assert.ok(levels.has(level), `has ${level}`);

    const generator = new MeshTrafficGenerator({ seed: 4, startTimeMs: T0, rate: 50 });
    let failed = 0;
    let total = 0;
    for (let i = 0; i < 5000; i++) {
      const r = generator.nextRequest();
      total++;
      if (r.status >= 400) failed++;
    }
    const share = failed / total;
    assert.ok(share > 0.005 && share < 0.05, `error share ${share}`);
  });
});
