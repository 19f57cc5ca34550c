/**
 * `npm run bench -- normalize [--records N] [--seed S]`
 *
 * The cost of the normalization transforms on the ingest path, in process
 * (no network, no store), on the demo mesh traffic (`generateTraffic`:
 * Istio TEXT and JSON access logs, zap/pino/logrus/structlog/... app logs):
 *
 * - records/s of each parser alone, on lines of its format;
 * - records/s of the server's ingest CPU work without a store: OTLP/HTTP
 *   protobuf request id (sha256) and decode, with and without `parse`
 *   (format auto) after it;
 * - the whole ingest path: a `meshlog server` child process ingesting the
 *   storage benchmark's dataset (Istio access logs and app logs, OTLP/HTTP
 *   protobuf, durable acks) without `parse`, with `parse` writing record
 *   fields only (`attributes: none`, the default pipeline) and with every
 *   attribute (`attributes: all`), in alternating rounds so that load on the
 *   shared machine falls on all three alike; records per server CPU second
 *   and bytes on disk per record.
 *
 * Each figure is the median of 5 passes after a warm-up pass, in records
 * per CPU second of this process (the machine is shared; wall time is not
 * a measure here).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbBackend, LogStore } from '@meshlog/store';
import { writeDataset } from './dataset.js';
import { startBenchServer } from './server-child.js';
import { generateTraffic, formatIstioText, type AccessLogEntry } from 'meshlog/demo';
import { ParseConfigSchema, ParseContainerConfigSchema, ParseContainerTransform, ParseTransform, decodeOtlpLogs, otlpType } from '@meshlog/components';
import { emptyLogRecord, type LogRecord } from '@meshlog/core';
import { median, printTable, type Figures } from './results.js';

export interface NormalizeOptions {
  records: number;
  seed: number;
  /** Records of the end-to-end server runs (0: skip them). */
  serverRecords: number;
  rounds: number;
}

type Json = Record<string, unknown>;

/** OTLP/JSON (hex ids) to the protobufjs object shape (id bytes), for encoding. */
function toProtoShape(req: Json): Json {
  const rls = req['resourceLogs'] as Json[];
  return {
    resourceLogs: rls.map((rl) => ({
      ...rl,
      scopeLogs: (rl['scopeLogs'] as Json[]).map((sl) => ({
        ...sl,
        logRecords: (sl['logRecords'] as Json[]).map((r) => ({
          ...r,
          ...(typeof r['traceId'] === 'string' ? { traceId: Buffer.from(r['traceId'], 'hex') } : {}),
          ...(typeof r['spanId'] === 'string' ? { spanId: Buffer.from(r['spanId'], 'hex') } : {}),
        })),
      })),
    })),
  };
}

/** Splits the demo request into requests of about `per` records, as an exporter batches. */
function chunk(req: Json, per: number): Json[] {
  const out: Json[] = [];
  for (const rl of req['resourceLogs'] as Json[]) {
    for (const sl of rl['scopeLogs'] as Json[]) {
      const records = sl['logRecords'] as Json[];
      for (let i = 0; i < records.length; i += per) {
        out.push({ resourceLogs: [{ resource: rl['resource'], scopeLogs: [{ scope: sl['scope'], logRecords: records.slice(i, i + per) }] }] });
      }
    }
  }
  return out;
}

/**
 * Records per CPU second (user + system time of this process, all threads,
 * GC included): this machine is shared, and CPU time, unlike wall time, does
 * not count the time other processes held the cores.
 */
function timePasses(fn: () => number): { perSecond: number; count: number } {
  fn(); // warm-up
  const rates: number[] = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    count = fn();
    const c = process.cpuUsage(c0);
    rates.push(count / ((c.user + c.system) / 1e6));
  }
  return { perSecond: median(rates), count };
}

const SAMPLE_ENTRY: AccessLogEntry = {
  startTimeMs: Date.parse('2024-05-01T12:00:00.123Z'),
  method: 'GET',
  path: '/api/v1/cart?id=1',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: null,
  responseCodeDetails: 'via_upstream',
  connectionTerminationDetails: null,
  upstreamTransportFailureReason: null,
  bytesReceived: 0,
  bytesSent: 512,
  durationMs: 7,
  upstreamServiceTimeMs: 6,
  xForwardedFor: null,
  userAgent: 'Go-http-client/1.1',
  requestId: '6f1c2a0e-9d1b-4c8e-8a51-3b2f0f3c9d11',
  authority: 'cart.shop.svc.cluster.local:8080',
  upstreamHost: '10.244.1.17:8080',
  upstreamCluster: 'outbound|8080||cart.shop.svc.cluster.local',
  upstreamLocalAddress: '10.244.2.5:41234',
  downstreamLocalAddress: '10.96.14.2:8080',
  downstreamRemoteAddress: '10.244.2.5:52000',
  requestedServerName: null,
  routeName: 'default',
  traceparent: null,
};

/** Lines of the formats the demo traffic does not produce, written as each mesh documents them. */
const OTHER_FORMATS: Record<string, string[]> = {
  envoy: ['[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"'],
  kuma: ['[2024-05-01T12:00:00.000Z] default "GET /x HTTP/1.1" 200 - 0 10 5 4 "-" "curl/8.5.0" "80f198ee56343ba864fe8b2a57d3eff7" "r-1" "web.x:80" "web_x_svc_80" "db_x_svc_5432" "10.0.0.1" "10.0.0.2:80"'],
  linkerd_apache: ['10.42.0.63:51160 traffic.booksapp.serviceaccount.identity.linkerd.cluster.local - [2022-08-23T20:28:20.071809491Z] "GET http://webapp:7000/ HTTP/2.0" 200'],
  linkerd_json: [
    '{"client.addr":"10.42.0.70:32996","client.id":"traffic.booksapp.serviceaccount.identity.linkerd.cluster.local","host":"webapp:7000","method":"GET","processing_ns":"39826","request_bytes":"","response_bytes":"19627","status":200,"timestamp":"2022-08-23T20:33:42.321746212Z","total_ns":"14441135","trace_id":"","uri":"http://webapp:7000/","user_agent":"Go-http-client/1.1","version":"HTTP/2.0"}',
  ],
  hubble: [
    '{"flow":{"time":"2024-05-01T12:00:00.123456789Z","verdict":"FORWARDED","IP":{"source":"10.244.2.5","destination":"10.244.1.17","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":52000,"destination_port":8080}},"source":{"identity":5678,"namespace":"shop","labels":["k8s:io.cilium.k8s.policy.serviceaccount=frontend"],"pod_name":"frontend-5c9d-abcde"},"destination":{"identity":9012,"namespace":"shop","pod_name":"cart-7d9f-x2x4z"},"Type":"L7","l7":{"type":"RESPONSE","latency_ns":"1840000","http":{"code":200,"method":"GET","url":"http://cart.shop:8080/api/v1/cart","protocol":"HTTP/1.1"}},"traffic_direction":"EGRESS"},"node_name":"kind-worker"}',
  ],
};

export async function normalizeSuite(opts: NormalizeOptions): Promise<Figures> {
  // About 9 records per visitor request in the demo traffic.
  const traffic = generateTraffic(opts.seed, Date.now() - 3_600_000, Math.max(1, Math.round(opts.records / 9)));
  const requests = chunk(traffic.logs as unknown as Json, 500);
  const Request = otlpType('ExportLogsServiceRequest');
  const bodies = requests.map((r) => Buffer.from(Request.encode(Request.fromObject(toProtoShape(r))).finish()));
  const decoded = bodies.flatMap((b) => decodeOtlpLogs(b, 'protobuf', 0n).records);
  const total = decoded.length;
  log(`demo traffic: ${total.toLocaleString()} records in ${bodies.length} OTLP/HTTP protobuf requests (${Math.round(bodies.reduce((n, b) => n + b.length, 0) / total)} B/record)`);

  // Lines by format, from the demo traffic and the documented samples.
  const byFormat = new Map<string, string[]>();
  for (const r of decoded) {
    const f = String(r.attributes['log.format'] ?? (r.attributes['log.source'] === 'app' ? 'app' : 'other'));
    (byFormat.get(f) ?? byFormat.set(f, []).get(f)!).push(r.body);
  }
  const istioText = byFormat.get('istio-text') ?? [formatIstioText(SAMPLE_ENTRY)];
  const lines: [string, string[], Record<string, unknown>][] = [
    ['istio_text', istioText, { format: 'istio' }],
    ['istio_json', byFormat.get('istio-json') ?? [], { format: 'istio' }],
    ['app_demo_mix', byFormat.get('app') ?? [], {}],
    ['envoy', OTHER_FORMATS['envoy']!, { format: 'envoy' }],
    ['kuma', OTHER_FORMATS['kuma']!, { format: 'kuma' }],
    ['linkerd_apache', OTHER_FORMATS['linkerd_apache']!, { format: 'linkerd' }],
    ['linkerd_json', OTHER_FORMATS['linkerd_json']!, { format: 'linkerd' }],
    ['hubble', OTHER_FORMATS['hubble']!, { format: 'hubble' }],
  ];
  const figures: Figures = { 'normalize.records': total };
  const rows: [string, string | number, string?][] = [];
  const PER_PARSER = 50_000;
  const BATCH = 500;
  for (const [name, samples, config] of lines) {
    if (samples.length === 0) continue;
    const t = new ParseTransform(ParseConfigSchema.parse(config));
    // Fresh records in batches of 500, dropped after parsing: the allocation pattern of ingest.
    const { perSecond } = timePasses(() => {
      for (let b = 0; b < PER_PARSER; b += BATCH) {
        const records: LogRecord[] = [];
        for (let i = b; i < b + BATCH; i++) records.push({ ...emptyLogRecord(), body: samples[i % samples.length]!, attributes: { 'log.source': 'envoy' } });
        t.process({ kind: 'logs', tenant: 't', source: 's', records });
      }
      return PER_PARSER;
    });
    figures[`normalize.parse_${name}_records_per_cpu_s`] = Math.round(perSecond);
    rows.push([`parse ${name}`, Math.round(perSecond), 'records/CPU-s']);
  }
  {
    const t = new ParseContainerTransform(ParseContainerConfigSchema.parse({}));
    const cri = Array.from({ length: PER_PARSER }, (_, i) => `2024-05-01T12:00:00.${String(i % 1e9).padStart(9, '0')}Z stdout ${i % 4 === 3 ? 'F' : 'P'} ${istioText[i % istioText.length]!.slice(0, 200)}`);
    const { perSecond } = timePasses(() => {
      const records = cri.map((body) => ({ ...emptyLogRecord(), body, attributes: { 'log.file.path': '/var/log/pods/shop_cart-1_u/cart/0.log' } }));
      t.process({ kind: 'logs', tenant: 't', source: 's', records });
      t.flush(true);
      return records.length;
    });
    figures['normalize.parse_container_cri_records_per_cpu_s'] = Math.round(perSecond);
    rows.push(['parse_container cri (3 P + 1 F)', Math.round(perSecond), 'records/CPU-s']);
  }

  // The ingest CPU path: request id + decode, then the same plus parse (auto).
  const decodeOnly = timePasses(() => {
    let n = 0;
    for (const b of bodies) {
      createHash('sha256').update(b).digest();
      n += decodeOtlpLogs(b, 'protobuf', 1n).records.length;
    }
    return n;
  });
  const ingestWith = (attributes: 'all' | 'none') => {
    const parse = new ParseTransform(ParseConfigSchema.parse({ attributes }));
    return timePasses(() => {
      let n = 0;
      for (const b of bodies) {
        createHash('sha256').update(b).digest();
        const records = decodeOtlpLogs(b, 'protobuf', 1n).records;
        parse.process({ kind: 'logs', tenant: 't', source: 'otlp', records });
        n += records.length;
      }
      return n;
    });
  };
  const withFields = ingestWith('none');
  const withAll = ingestWith('all');
  const usPerRecord = (r: { perSecond: number }): number => 1e6 / r.perSecond;
  figures['normalize.ingest_decode_records_per_cpu_s'] = Math.round(decodeOnly.perSecond);
  figures['normalize.ingest_decode_parse_record_fields_records_per_cpu_s'] = Math.round(withFields.perSecond);
  figures['normalize.ingest_decode_parse_all_attributes_records_per_cpu_s'] = Math.round(withAll.perSecond);
  rows.push(['ingest CPU: id + OTLP decode', Math.round(decodeOnly.perSecond), 'records/CPU-s']);
  rows.push(['  + parse auto, attributes: none', Math.round(withFields.perSecond), `records/CPU-s; parse adds ${(usPerRecord(withFields) - usPerRecord(decodeOnly)).toFixed(2)} µs/record`]);
  rows.push(['  + parse auto, attributes: all', Math.round(withAll.perSecond), `records/CPU-s; parse adds ${(usPerRecord(withAll) - usPerRecord(decodeOnly)).toFixed(2)} µs/record`]);
  if (opts.serverRecords > 0) await serverRounds(opts, figures, rows);
  printTable(`normalize (${total.toLocaleString()} demo records, median of 5, per CPU second)`, rows);
  return figures;
}

const PIPELINES: [string, string][] = [
  ['no_parse', 'sources:\n  otlp: { type: otlp }\nsinks:\n  store: { type: store, inputs: [otlp] }\n'],
  ['parse_record_fields', 'sources:\n  otlp: { type: otlp }\ntransforms:\n  parse: { type: parse, inputs: [otlp], attributes: none }\nsinks:\n  store: { type: store, inputs: [parse] }\n'],
  ['parse_all_attributes', 'sources:\n  otlp: { type: otlp }\ntransforms:\n  parse: { type: parse, inputs: [otlp], attributes: all }\nsinks:\n  store: { type: store, inputs: [parse] }\n'],
];

/** The whole ingest path, three pipelines in alternating rounds; medians per pipeline. */
async function serverRounds(opts: NormalizeOptions, figures: Figures, rows: [string, string | number, string?][]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-bench-normalize-'));
  const payloadPath = join(dir, 'payloads.bin');
  const ds = await writeDataset({ seed: opts.seed, count: opts.serverRecords, endMs: Date.now(), ndjsonPath: join(dir, 'dataset.ndjson'), payloadPath });
  log(`server rounds: ${ds.records.toLocaleString()} storage-dataset records per run, ${opts.rounds} rounds of ${PIPELINES.map((p) => p[0]).join(', ')}`);
  const cpu = new Map<string, number[]>();
  const bytes = new Map<string, number[]>();
  for (let round = 0; round < opts.rounds; round++) {
    for (const [name, yaml] of PIPELINES) {
      const config = join(dir, `${name}.yaml`);
      writeFileSync(config, yaml);
      const dataDir = join(dir, `data-${name}-${round}`);
      const server = await startBenchServer(dataDir, ['--config', config]);
      const cpu0 = server.cpuSeconds();
      const fd = openSync(payloadPath, 'r');
      let offset = 0;
      const next = (): Buffer | undefined => {
        const header = Buffer.alloc(4);
        if (readSync(fd, header, 0, 4, offset) < 4) return undefined;
        const body = Buffer.alloc(header.readUInt32LE());
        readSync(fd, body, 0, body.length, offset + 4);
        offset += 4 + body.length;
        return body;
      };
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let body = next(); body; body = next()) {
            for (;;) {
              const r = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${server.token}` }, body });
              await r.arrayBuffer();
              if (r.ok) break;
              if (r.status !== 429 && r.status !== 503) throw new Error(`ingest failed: ${r.status}`);
              await new Promise((res) => setTimeout(res, 200));
            }
          }
        }),
      );
      closeSync(fd);
      // The WAL applier's inserts are part of a record's cost: wait until the server is idle.
      for (let i = 0, last = server.cpuSeconds(); i < 60; i++) {
        await new Promise((res) => setTimeout(res, 500));
        const now = server.cpuSeconds();
        if (now - last < 0.03) break;
        last = now;
      }
      const seconds = server.cpuSeconds() - cpu0;
      await server.stop();
      const store = await LogStore.open(new ChdbBackend({ dataDir, readers: 1 }));
      await store.backend.exec('OPTIMIZE TABLE meshlog.logs FINAL');
      const size = await store.backend.query<{ b: string; n: string }>(`SELECT sum(bytes_on_disk) AS b, (SELECT count() FROM meshlog.logs) AS n FROM system.parts WHERE database = 'meshlog' AND table = 'logs' AND active`);
      await store.close();
      const stored = Number(size.rows[0]!.n);
      (cpu.get(name) ?? cpu.set(name, []).get(name)!).push(stored / seconds);
      (bytes.get(name) ?? bytes.set(name, []).get(name)!).push(Number(size.rows[0]!.b) / stored);
      log(`round ${round + 1} ${name}: ${Math.round(stored / seconds).toLocaleString()} records per server CPU second, ${(Number(size.rows[0]!.b) / stored).toFixed(1)} B/record`);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const base = median(cpu.get('no_parse')!);
  for (const [name] of PIPELINES) {
    const m = median(cpu.get(name)!);
    const b = median(bytes.get(name)!);
    figures[`normalize.server_${name}_records_per_cpu_s`] = Math.round(m);
    figures[`normalize.server_${name}_bytes_per_record`] = Number(b.toFixed(1));
    const cost = name === 'no_parse' ? '' : `, ${((base / m - 1) * 100).toFixed(0)} % more CPU per record`;
    rows.push([`server ingest, ${name}`, Math.round(m), `records/server-CPU-s${cost}; ${b.toFixed(1)} B/record on disk`]);
  }
}

function log(msg: string): void {
  process.stdout.write(`[normalize] ${msg}\n`);
}
