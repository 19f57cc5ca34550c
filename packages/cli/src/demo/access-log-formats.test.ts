/** Istio's access log encodings, checked against Istio's own documented example. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessLogEntry } from './access-log-formats.js';
import { accessLogSeverity, formatIstioJson, formatIstioText, ISTIO_JSON_FORMAT, ISTIO_TEXT_FORMAT, ISTIO_TEXT_LINE } from './access-log-formats.js';

// The client-side line of Istio's access-log task (curl → httpbin, /status/418).
const istioDocsEntry: AccessLogEntry = {
  startTimeMs: Date.parse('2020-11-25T21:26:18.409Z'),
  method: 'GET', path: '/status/418', protocol: 'HTTP/1.1', responseCode: 418, responseFlags: null,
  responseCodeDetails: 'via_upstream', connectionTerminationDetails: null, upstreamTransportFailureReason: null,
  bytesReceived: 0, bytesSent: 135, durationMs: 4, upstreamServiceTimeMs: 4, xForwardedFor: null,
  userAgent: 'curl/7.73.0-DEV', requestId: '84961386-6d84-929d-98bd-c5aee93b5c88', authority: 'httpbin:8000',
  upstreamHost: '10.44.1.27:80', upstreamCluster: 'outbound|8000||httpbin.foo.svc.cluster.local',
  upstreamLocalAddress: '10.44.1.23:37652', downstreamLocalAddress: '10.0.45.184:8000', downstreamRemoteAddress: '10.44.1.23:46520',
  requestedServerName: null, routeName: 'default', traceparent: null,
};

describe('Istio TEXT access log', () => {
  it('reproduces the line in Istio documentation byte for byte', () => {
    assert.equal(
      formatIstioText(istioDocsEntry),
      '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default',
    );
    assert.match(formatIstioText(istioDocsEntry), ISTIO_TEXT_LINE);
  });

  it('keeps every operator of the default format in order', () => {
    const operators = ISTIO_TEXT_FORMAT.match(/%[A-Z_]+(\([^)]*\))?%/g) ?? [];
    assert.equal(operators.length, 24);
    assert.ok(ISTIO_TEXT_FORMAT.endsWith('%ROUTE_NAME%\n'));
  });

  it('prints a TCP connection with dashes where HTTP fields would be', () => {
    const line = formatIstioText({ ...istioDocsEntry, method: null, path: null, protocol: null, responseCode: 0, responseCodeDetails: null, userAgent: null, requestId: null, authority: null, routeName: null, upstreamServiceTimeMs: null });
    assert.match(line, /^\[[^\]]+\] "- - -" 0 - - - "-" /);
    assert.match(line, ISTIO_TEXT_LINE);
  });
});

describe('Istio JSON access log', () => {
  it('has Istio default keys, numbers where Envoy prints numbers, null for absent values', () => {
    const parsed = JSON.parse(formatIstioJson({ ...istioDocsEntry, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), Object.keys(ISTIO_JSON_FORMAT));
    assert.equal(parsed['response_code'], 418);
    assert.equal(parsed['bytes_sent'], 135);
    assert.equal(parsed['duration'], 4);
    assert.equal(parsed['upstream_service_time'], '4');
    assert.equal(parsed['x_forwarded_for'], null);
    assert.equal(parsed['response_flags'], '-');
    assert.equal(parsed['upstream_cluster'], 'outbound|8000||httpbin.foo.svc.cluster.local');
    assert.equal(parsed['traceparent'], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });
});

describe('access log severity', () => {
  it('follows the status class', () => {
    assert.deepEqual(accessLogSeverity(200, null), { number: 9, text: 'INFO' });
    assert.deepEqual(accessLogSeverity(304, null), { number: 9, text: 'INFO' });
    assert.deepEqual(accessLogSeverity(404, 'NR'), { number: 13, text: 'WARN' });
    assert.deepEqual(accessLogSeverity(503, 'UF,URX'), { number: 17, text: 'ERROR' });
    assert.deepEqual(accessLogSeverity(0, 'DC'), { number: 13, text: 'WARN' });
    assert.deepEqual(accessLogSeverity(0, null), { number: 9, text: 'INFO' });
  });
});
