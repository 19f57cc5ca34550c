/**
 * The traffic generator: Poisson arrivals of visitor requests at a given
 * rate, each walked through the mesh, plus the logs nobody's request causes
 * (database checkpoints, snapshotting, a sidecar failing to renew its
 * certificate).
 *
 * Invariants: for one seed, the requests are the same whatever the chunking
 * of the calls (`requestsBefore` in 250 ms steps or `nextRequest` one by one),
 * because arrivals, request contents and background events draw from
 * separate seeded streams; background events are placed by hashing the seed
 * with the event's period index, so any time range can be asked for alone.
 * `generateTraffic` is pure: no clock, no network.
 */

import type { AppLogStyleName, LogLevel } from './app-log-formats.js';
import { LEVEL_SEVERITY, renderAppLog } from './app-log-formats.js';
import { activeIncidents, IncidentState, incidentWindows } from './incidents.js';
import type { DemoLogRecord, ExportLogsServiceRequest, ExportTraceServiceRequest } from './otlp-json.js';
import { buildLogsRequest, buildTracesRequest, stringAttr } from './otlp-json.js';
import { hash32, SeededRandom } from './random.js';
import type { RequestTelemetry } from './traffic.js';
import { RequestWalk } from './traffic.js';
import type { Pod, Topology } from './topology.js';
import { buildTopology } from './topology.js';

export interface TrafficGeneratorOptions {
  readonly seed: number;
  /** Epoch ms of the first possible arrival. */
  readonly startTimeMs: number;
  /** Visitor requests per second (mean of a Poisson process). */
  readonly rate: number;
}

const APP_STDOUT = [stringAttr('log.source', 'app'), stringAttr('log.iostream', 'stdout')];
const APP_STDERR = [stringAttr('log.source', 'app'), stringAttr('log.iostream', 'stderr')];
const PROXY_ATTRS = [stringAttr('log.source', 'envoy'), stringAttr('log.format', 'istio-proxy'), stringAttr('log.iostream', 'stderr')];

// Background event kinds, as hash salts.
const BG_POSTGRES_CHECKPOINT = 101;
const BG_REDIS_SAVE = 102;
const BG_TOO_MANY_CLIENTS = 103;
const BG_CERT = 104;
const CHECKPOINT_PERIOD_MS = 5 * 60_000; // PostgreSQL's checkpoint_timeout default
const REDIS_SAVE_PERIOD_MS = 5 * 60_000; // `save 300 100`

export class MeshTrafficGenerator {
  readonly topology: Topology;
  readonly seed: number;
  private readonly rng: SeededRandom;
  private readonly arrivals: SeededRandom;
  private readonly meanGapMs: number;
  private nextAt: number;
  private backgroundCursor: number;

  constructor(options: TrafficGeneratorOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate)) throw new RangeError(`rate must be a positive number, got ${options.rate}`);
    this.seed = options.seed >>> 0;
    this.topology = buildTopology(this.seed);
    this.rng = new SeededRandom(this.seed);
    this.arrivals = new SeededRandom(this.seed ^ 0x5bd1e995);
    this.meanGapMs = 1000 / options.rate;
    this.nextAt = options.startTimeMs + this.arrivals.exponential(this.meanGapMs);
    this.backgroundCursor = options.startTimeMs;
  }

  /** When the next request arrives. */
  get nextArrivalMs(): number {
    return this.nextAt;
  }

  /** Walks the next request and advances the arrival clock. */
  nextRequest(): RequestTelemetry {
    const at = this.nextAt;
    this.nextAt += this.arrivals.exponential(this.meanGapMs);
    const incidents = new IncidentState(activeIncidents(this.seed, at));
    return new RequestWalk(this.topology, this.rng, incidents).run(at);
  }

  /** Every request arriving before `untilMs`. */
  requestsBefore(untilMs: number): RequestTelemetry[] {
    const out: RequestTelemetry[] = [];
    while (this.nextAt < untilMs) out.push(this.nextRequest());
    return out;
  }

  /** Background logs timed in [previous call, untilMs). */
  backgroundBefore(untilMs: number): DemoLogRecord[] {
    if (untilMs <= this.backgroundCursor) return [];
    const out = backgroundLogs(this.topology, this.seed, this.backgroundCursor, untilMs);
    this.backgroundCursor = untilMs;
    return out;
  }

  /**
   * Skips arrivals and background events before `ms`: after the process was
   * suspended, replaying minutes of traffic in one burst would only flood the
   * server with records that are already late.
   */
  skipTo(ms: number): void {
    while (this.nextAt < ms) this.nextAt += this.arrivals.exponential(this.meanGapMs);
    if (this.backgroundCursor < ms) this.backgroundCursor = ms;
  }
}

interface BackgroundLine {
  readonly timeMs: number;
  readonly pod: Pod;
  readonly container: 'app' | 'proxy';
  readonly style: AppLogStyleName;
  readonly level: LogLevel;
  readonly msg: string;
  readonly logger: string;
  readonly pid: number;
}

/** Background logs in [fromMs, toMs), deterministic by seed and time. */
export function backgroundLogs(topology: Topology, seed: number, fromMs: number, toMs: number): DemoLogRecord[] {
  const lines: BackgroundLine[] = [];
  const postgres = topology.pods.get('postgres')?.[0];
  const redis = topology.pods.get('redis')?.[0];

  if (postgres) {
    for (let k = Math.floor((fromMs - CHECKPOINT_PERIOD_MS) / CHECKPOINT_PERIOD_MS); k * CHECKPOINT_PERIOD_MS < toMs; k++) {
      const r = new SeededRandom(hash32(seed, BG_POSTGRES_CHECKPOINT, k));
      const start = k * CHECKPOINT_PERIOD_MS + r.int(0, 2_000);
      const writeS = r.float(20, 150);
      const buffers = r.int(200, 9_000);
      const pid = 64;
      lines.push({ timeMs: start, pod: postgres, container: 'app', style: 'postgres', level: 'info', msg: 'checkpoint starting: time', logger: '', pid });
      lines.push({
        timeMs: start + writeS * 1000, pod: postgres, container: 'app', style: 'postgres', level: 'info', pid, logger: '',
        msg: `checkpoint complete: wrote ${buffers} buffers (${((buffers / 16_384) * 100).toFixed(1)}%); 0 WAL file(s) added, 0 removed, ${r.int(0, 3)} recycled; write=${writeS.toFixed(3)} s, sync=${r.float(0.002, 0.09).toFixed(3)} s, total=${(writeS + 0.1).toFixed(3)} s; sync files=${r.int(20, 120)}, longest=0.004 s, average=0.001 s; distance=${r.int(4_000, 40_000)} kB, estimate=${r.int(9_000, 40_000)} kB; lsn=3/${r.hex(8).toUpperCase()}, redo lsn=3/${r.hex(8).toUpperCase()}`,
      });
    }
  }

  if (redis) {
    for (let k = Math.floor(fromMs / REDIS_SAVE_PERIOD_MS); k * REDIS_SAVE_PERIOD_MS < toMs; k++) {
      const r = new SeededRandom(hash32(seed, BG_REDIS_SAVE, k));
      const start = k * REDIS_SAVE_PERIOD_MS + r.int(0, 3_000);
      const child = r.int(100, 30_000);
      const cow = r.int(1, 6);
      const redisLine = (dt: number, msg: string, pid: number): void => {
        lines.push({ timeMs: start + dt, pod: redis, container: 'app', style: 'redis', level: 'info', msg, logger: '', pid });
      };
      redisLine(0, `${r.int(100, 9_000)} changes in 300 seconds. Saving...`, 1);
      redisLine(1, `Background saving started by pid ${child}`, 1);
      redisLine(r.float(40, 400), 'DB saved on disk', child);
      redisLine(r.float(400, 500), `Fork CoW for RDB: current ${cow} MB, peak ${cow} MB, average ${Math.max(1, cow - 1)} MB`, child);
      redisLine(r.float(500, 600), 'Background saving terminated with success', 1);
    }
  }

  for (const w of incidentWindows(seed, fromMs - 60_000, toMs + 60_000)) {
    if (w.kind === 'payments-error-burst' && postgres) {
      // Payments' reconnect storm exhausts max_connections.
      for (let i = 0, t = w.startMs + 300; t < w.endMs; i++) {
        const r = new SeededRandom(hash32(seed, BG_TOO_MANY_CLIENTS, Math.floor(w.startMs / 1000), i));
        lines.push({ timeMs: t, pod: postgres, container: 'app', style: 'postgres', level: 'fatal', msg: 'sorry, too many clients already', logger: '', pid: r.int(2_000, 9_000) });
        t += r.float(1_200, 2_800);
      }
    }
    if (w.kind === 'mtls-cert-expired') {
      const pod = topology.pods.get(w.service)?.[w.podIndex ?? 0];
      const catalog = topology.pods.get('catalog')?.[0];
      if (!pod?.proxy) continue;
      const expiredAt = new Date(w.startMs - 37_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const r = new SeededRandom(hash32(seed, BG_CERT, Math.floor(w.startMs / 1000)));
      const agent = (timeMs: number, level: LogLevel, scope: string, msg: string): void => {
        lines.push({ timeMs, pod, container: 'proxy', style: 'istio-agent', level, msg, logger: scope, pid: 1 });
      };
      agent(w.startMs, 'warn', 'cache', `workload certificate expired at ${expiredAt}: rotation failed, serving expired certificate resourceName=default`);
      for (let t = w.startMs + r.float(200, 900); t < w.endMs; t += r.float(4_000, 6_000)) {
        const now = new Date(Math.floor(t)).toISOString().replace(/\.\d+Z$/, 'Z');
        agent(t, 'error', 'cache', `resource:default failed to generate secret for proxy from remote: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time ${now} is after ${expiredAt}"`);
        agent(t + r.float(5, 60), 'warn', 'envoy connection external/envoy/source/common/tls/ssl_socket.cc:242',
          `[C${r.int(1_000, 90_000)}] remote address:${catalog?.ip ?? '10.244.1.10'}:8080,TLS_error:|268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED:TLS_error_end: TLS handshake failed\tthread=${r.int(18, 30)}`);
      }
      agent(w.endMs, 'info', 'cache', `generated new workload certificate resourceName=default latency=${r.float(80, 400).toFixed(6)}ms ttl=23h59m59.${r.int(100_000_000, 999_999_999)}s`);
    }
  }

  const out: DemoLogRecord[] = [];
  for (const line of lines) {
    if (line.timeMs < fromMs || line.timeMs >= toMs) continue;
    const resource = line.container === 'proxy' ? line.pod.proxy : line.pod.app;
    if (!resource) continue;
    const rendered = renderAppLog(line.style, { timeMs: line.timeMs, level: line.level, msg: line.msg, fields: {}, logger: line.logger }, { service: line.pod.service.name, pod: line.pod.name, thread: 'main', pid: line.pid });
    const severity = LEVEL_SEVERITY[line.level];
    out.push({
      resource,
      timeMs: line.timeMs,
      observedMs: line.timeMs + 5,
      severityNumber: severity.number,
      severityText: severity.text,
      body: rendered.body,
      attributes: line.container === 'proxy' ? PROXY_ATTRS : rendered.stream === 'stdout' ? APP_STDOUT : APP_STDERR,
    });
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

export interface GeneratedTraffic {
  readonly logs: ExportLogsServiceRequest;
  readonly traces: ExportTraceServiceRequest;
  readonly requests: number;
  readonly logRecords: number;
  readonly spans: number;
  /** When the last request arrived. */
  readonly lastArrivalMs: number;
}

export interface GenerateTrafficOptions {
  /** Requests per second, which spaces the arrivals (default 50). */
  readonly rate?: number;
  /** Include background logs between the first and last arrival (default true). */
  readonly background?: boolean;
}

/**
 * `count` requests from `startTimeMs`, as one OTLP logs request and one OTLP
 * traces request. Pure and deterministic for a seed: the tests and the
 * benchmark use it without a network.
 */
export function generateTraffic(seed: number, startTimeMs: number, count: number, options: GenerateTrafficOptions = {}): GeneratedTraffic {
  const generator = new MeshTrafficGenerator({ seed, startTimeMs, rate: options.rate ?? 50 });
  const logs: DemoLogRecord[] = [];
  const spans: RequestTelemetry['spans'] = [];
  let lastArrivalMs = startTimeMs;
  for (let i = 0; i < count; i++) {
    const request = generator.nextRequest();
    lastArrivalMs = request.startMs;
    for (const record of request.logs) logs.push(record);
    for (const span of request.spans) spans.push(span);
  }
  if (options.background !== false) for (const record of generator.backgroundBefore(lastArrivalMs)) logs.push(record);
  return { logs: buildLogsRequest(logs), traces: buildTracesRequest(spans), requests: count, logRecords: logs.length, spans: spans.length, lastArrivalMs };
}
