/** Incidents: a pure schedule, and their symptoms inside their windows only. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ISTIO_TEXT_LINE } from './access-log-formats.js';
import { generateTraffic, MeshTrafficGenerator } from './generator.js';
import { activeIncidents, INCIDENT_SCHEDULES, incidentWindows } from './incidents.js';
import { flattenLogs } from './otlp-json.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const HOUR = 3_600_000;

describe('incident schedule', () => {
  it('is a pure function of seed and time, one window per period, never overlapping', () => {
    assert.deepEqual(incidentWindows(9, T0, T0 + HOUR), incidentWindows(9, T0, T0 + HOUR));
    assert.notDeepEqual(incidentWindows(9, T0, T0 + HOUR), incidentWindows(10, T0, T0 + HOUR));
    for (const schedule of INCIDENT_SCHEDULES) {
      const windows = incidentWindows(9, T0, T0 + 6 * HOUR).filter((w) => w.kind === schedule.kind);
      assert.ok(Math.abs(windows.length - (6 * HOUR) / schedule.periodMs) <= 1);
      for (const w of windows) assert.equal(w.endMs - w.startMs, schedule.durationMs);
      for (let i = 1; i < windows.length; i++) assert.ok((windows[i]?.startMs ?? 0) >= (windows[i - 1]?.endMs ?? 0));
    }
  });

  it('agrees with activeIncidents at window edges', () => {
    for (const w of incidentWindows(3, T0, T0 + HOUR)) {
      assert.ok(activeIncidents(3, w.startMs).some((a) => a.kind === w.kind));
      assert.ok(activeIncidents(3, w.endMs - 1).some((a) => a.kind === w.kind));
      assert.ok(!activeIncidents(3, w.endMs).some((a) => a.kind === w.kind && a.startMs === w.startMs));
    }
  });
});

/** Every access log line, TEXT or JSON, as (time, caller pod, fields). */
function accessLines(logs: ReturnType<typeof generateTraffic>['logs']): Array<{ timeMs: number; pod: string; code: number; flags: string; cluster: string; details: string; duration: number }> {
  const out = [];
  for (const { resource, record } of flattenLogs(logs)) {
    const body = record.body.stringValue;
    const timeMs = Number(BigInt(record.timeUnixNano) / 1_000_000n);
    const m = ISTIO_TEXT_LINE.exec(body);
    if (m) {
      out.push({ timeMs, pod: resource['k8s.pod.name'] ?? '', code: Number(m[5]), flags: m[6] ?? '', details: m[7] ?? '', cluster: m[19] ?? '', duration: Number(m[12]) });
    } else if (body.startsWith('{"start_time"')) {
      const j = JSON.parse(body) as { response_code: number; response_flags: string; upstream_cluster: string | null; response_code_details: string | null; duration: number };
      out.push({ timeMs, pod: resource['k8s.pod.name'] ?? '', code: j.response_code, flags: j.response_flags, details: j.response_code_details ?? '-', cluster: j.upstream_cluster ?? '-', duration: j.duration });
    }
  }
  return out;
}

const inWindow = (seed: number, kind: string, timeMs: number, slackMs = 0): boolean =>
  incidentWindows(seed, timeMs - 60_000, timeMs + 60_000).some((w) => w.kind === kind && timeMs >= w.startMs - slackMs && timeMs < w.endMs + slackMs);

describe('incident symptoms', () => {
  const seed = 17;
  const burst = incidentWindows(seed, T0, T0 + HOUR).find((w) => w.kind === 'payments-error-burst');
  const mtls = incidentWindows(seed, T0, T0 + HOUR).find((w) => w.kind === 'mtls-cert-expired');
  const spike = incidentWindows(seed, T0, T0 + HOUR).find((w) => w.kind === 'latency-spike');
  assert.ok(burst && mtls && spike);

  it('payments answers 503 (UF inbound, URX at checkout) inside the error burst only', () => {
    // 90 s around the burst at 100 requests per second.
    const g = generateTraffic(seed, burst.startMs - 40_000, 9_000, { rate: 100 });
    const payments = accessLines(g.logs).filter((l) => l.cluster.includes('payments.payments') || (l.pod.startsWith('payments-') && l.cluster.startsWith('inbound')));
    const failures = payments.filter((l) => l.code === 503);
    assert.ok(failures.length > 20, `${failures.length} payments 503s`);
    for (const f of failures) assert.ok(inWindow(seed, 'payments-error-burst', f.timeMs, 10_000), `503 at ${new Date(f.timeMs).toISOString()}`);
    assert.ok(failures.some((f) => f.flags === 'URX' || f.flags === 'UF,URX'), 'URX on the client side');
    assert.ok(failures.some((f) => f.flags === 'UF' && f.details.includes('delayed_connect_error')), 'UF on the server side');
    const appErrors = flattenLogs(g.logs).filter(({ record }) => record.body.stringValue.includes('connection refused to postgres'));
    assert.ok(appErrors.length > 5);
    for (const { record } of appErrors) assert.ok(inWindow(seed, 'payments-error-burst', Number(BigInt(record.timeUnixNano) / 1_000_000n)));
    const tooMany = flattenLogs(g.logs).filter(({ record }) => record.body.stringValue.includes('too many clients'));
    assert.ok(tooMany.length > 3, 'postgres complains');
  });

  it('one recommendation pod fails mTLS with an expired certificate inside its window only', () => {
    const g = generateTraffic(seed, mtls.startMs - 20_000, 6_000, { rate: 100 });
    const tls = flattenLogs(g.logs).filter(({ record }) => record.body.stringValue.includes('CERTIFICATE_EXPIRED') || record.body.stringValue.includes('certificate has expired'));
    assert.ok(tls.length > 10, `${tls.length} TLS lines`);
    const pods = new Set(tls.map(({ resource }) => resource['k8s.pod.name']));
    assert.equal(pods.size, 1, 'one sidecar');
    for (const { resource, record } of tls) {
      assert.equal(resource['k8s.container.name'], 'istio-proxy');
      assert.ok(inWindow(seed, 'mtls-cert-expired', Number(BigInt(record.timeUnixNano) / 1_000_000n), 1_000));
    }
  });

  it('slows one service twentyfold inside the latency spike', () => {
    const service = spike.service;
    const before = new MeshTrafficGenerator({ seed, startTimeMs: spike.startMs - 30_000, rate: 100 });
    const during = new MeshTrafficGenerator({ seed, startTimeMs: spike.startMs + 1_000, rate: 100 });
    const median = (g: MeshTrafficGenerator, n: number): number => {
      const durations: number[] = [];
      for (let i = 0; i < n; i++) {
        for (const span of g.nextRequest().spans) {
          const attrs = Object.fromEntries(span.resource.attributes.map((kv) => [kv.key, kv.value.stringValue]));
          if (span.kind === 2 && attrs['service.name'] === service) durations.push(span.endMs - span.startMs);
        }
      }
      durations.sort((a, b) => a - b);
      return durations[Math.floor(durations.length / 2)] ?? 0;
    };
    const normal = median(before, 1_500);
    const slow = median(during, 1_500);
    assert.ok(slow > normal * 8, `${service}: median ${normal.toFixed(2)} ms before, ${slow.toFixed(2)} ms during`);
  });
});
