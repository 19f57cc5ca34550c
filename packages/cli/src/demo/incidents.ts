/**
 * The injected incidents and their schedule.
 *
 * Invariants: whether an incident is active at time T depends only on the
 * seed and T (wall-clock epoch milliseconds), never on the traffic generated
 * so far, so a test can ask "what was scheduled between A and B" and a
 * restarted demo with the same seed replays the same outages at the same
 * clock times. Each kind has a fixed period; within period k the window
 * starts at a seed-hashed offset and never crosses into period k+1, so two
 * windows of one kind never overlap.
 *
 * Schedule (periods are aligned to the Unix epoch):
 *
 * | kind                 | every  | lasts | what happens |
 * | -------------------- | ------ | ----- | ------------ |
 * | payments-error-burst | 4 min  | 20 s  | payments loses its postgres connections: ~75 % of charge attempts fail, half with the app answering 503 (inbound `via_upstream`), half with the app container restarting (inbound `503 UF`, `delayed_connect_error:_111`); checkout's sidecar retries twice and logs `503 URX`; payments logs "connection refused to postgres" errors with stack traces, postgres logs "too many clients" |
 * | latency-spike        | 6 min  | 45 s  | one of inventory, catalog, currency (seed-hashed per window) runs ×20 slower, its own work and its database calls; it warns about slow SQL, postgres logs `duration:` lines, callers with a route timeout see `504 UT` |
 * | mtls-cert-expired    | 15 min | 30 s  | pod 0 of recommendation has an expired workload certificate: its outbound calls fail the mTLS handshake (`503 UF,URX` with `SSLV3_ALERT_CERTIFICATE_EXPIRED`) and its istio-proxy logs secret-rotation errors; the frontend renders without recommendations |
 */

import { hashUnit } from './random.js';

export type IncidentKind = 'payments-error-burst' | 'latency-spike' | 'mtls-cert-expired';

export interface IncidentSchedule {
  readonly kind: IncidentKind;
  readonly periodMs: number;
  readonly durationMs: number;
  /** Candidate targets; one is chosen per window by the seed. */
  readonly services: readonly string[];
  /** For pod-scoped incidents: which replica. */
  readonly podIndex?: number;
  /** For latency spikes: the slowdown factor. */
  readonly factor?: number;
}

export const INCIDENT_SCHEDULES: readonly IncidentSchedule[] = [
  { kind: 'payments-error-burst', periodMs: 4 * 60_000, durationMs: 20_000, services: ['payments'] },
  { kind: 'latency-spike', periodMs: 6 * 60_000, durationMs: 45_000, services: ['inventory', 'catalog', 'currency'], factor: 20 },
  { kind: 'mtls-cert-expired', periodMs: 15 * 60_000, durationMs: 30_000, services: ['recommendation'], podIndex: 0 },
];

export interface IncidentWindow {
  readonly kind: IncidentKind;
  readonly service: string;
  readonly podIndex?: number;
  readonly factor?: number;
  /** Inclusive start, exclusive end, epoch ms. */
  readonly startMs: number;
  readonly endMs: number;
}

function windowInPeriod(seed: number, scheduleIndex: number, schedule: IncidentSchedule, period: number): IncidentWindow {
  const slack = schedule.periodMs - schedule.durationMs;
  // The middle half of the slack keeps consecutive windows 0.5 to 1.5 periods apart.
  const startMs = period * schedule.periodMs + Math.floor((0.25 + 0.5 * hashUnit(seed, scheduleIndex, period, 1)) * slack);
  const service = schedule.services[Math.floor(hashUnit(seed, scheduleIndex, period, 2) * schedule.services.length)] ?? schedule.services[0] ?? '';
  const window: IncidentWindow = { kind: schedule.kind, service, startMs, endMs: startMs + schedule.durationMs };
  return {
    ...window,
    ...(schedule.podIndex === undefined ? {} : { podIndex: schedule.podIndex }),
    ...(schedule.factor === undefined ? {} : { factor: schedule.factor }),
  };
}

/** Every window that overlaps [fromMs, toMs), ordered by start. */
export function incidentWindows(seed: number, fromMs: number, toMs: number): IncidentWindow[] {
  const out: IncidentWindow[] = [];
  INCIDENT_SCHEDULES.forEach((schedule, i) => {
    const first = Math.floor(fromMs / schedule.periodMs);
    const last = Math.floor((toMs - 1) / schedule.periodMs);
    for (let period = first; period <= last; period++) {
      const w = windowInPeriod(seed, i, schedule, period);
      if (w.endMs > fromMs && w.startMs < toMs) out.push(w);
    }
  });
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** The incidents active at one instant. */
export function activeIncidents(seed: number, timeMs: number): IncidentWindow[] {
  const out: IncidentWindow[] = [];
  INCIDENT_SCHEDULES.forEach((schedule, i) => {
    const w = windowInPeriod(seed, i, schedule, Math.floor(timeMs / schedule.periodMs));
    if (timeMs >= w.startMs && timeMs < w.endMs) out.push(w);
  });
  return out;
}

/**
 * A cheap view of one instant's incidents for the request walker, which asks
 * the same questions many times per request.
 */
export class IncidentState {
  readonly paymentsDown: boolean;
  readonly slowService: string | undefined;
  readonly slowFactor: number;
  readonly expiredCertPod: { service: string; podIndex: number } | undefined;

  constructor(readonly windows: readonly IncidentWindow[]) {
    let paymentsDown = false;
    let slowService: string | undefined;
    let slowFactor = 1;
    let expiredCertPod: { service: string; podIndex: number } | undefined;
    for (const w of windows) {
      if (w.kind === 'payments-error-burst') paymentsDown = true;
      else if (w.kind === 'latency-spike') {
        slowService = w.service;
        slowFactor = w.factor ?? 20;
      } else expiredCertPod = { service: w.service, podIndex: w.podIndex ?? 0 };
    }
    this.paymentsDown = paymentsDown;
    this.slowService = slowService;
    this.slowFactor = slowFactor;
    this.expiredCertPod = expiredCertPod;
  }

  /** Slowdown factor for a service's own work and its database calls. */
  slowdown(service: string): number {
    return service === this.slowService ? this.slowFactor : 1;
  }

  certExpired(service: string, podIndex: number): boolean {
    return this.expiredCertPod !== undefined && this.expiredCertPod.service === service && this.expiredCertPod.podIndex === podIndex;
  }
}
