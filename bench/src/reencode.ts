/**
 * The dataset's OTLP requests re-encoded as other protocols' requests,
 * before a measurement, so every ingest row carries the same records: each
 * framed OTLP/protobuf body becomes an OTLP/JSON body, and each OTLP/JSON
 * body's records (flattened to `FlatRecord`) become one or more bodies of
 * another protocol, framed the same way (payload-file.ts).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { otlpType } from '@meshlog/components';
import { readPayloads, writePayload } from './payload-file.js';

/** One log record of the dataset with its resource, as OTLP/JSON spells it (ids hex, times decimal nanoseconds). */
export interface FlatRecord {
  timeUnixNano: string;
  severityText: string;
  body: string;
  resource: Record<string, string>;
  traceId?: string;
  spanId?: string;
}

/**
 * Turns the records of one OTLP request into bodies: one, several where the
 * protocol caps a request (Datadog: 1000 logs), or none yet where records
 * are regrouped across requests (Fluent forward chunks per tag), which
 * `end` then returns.
 */
export interface PayloadEncoder {
  encode(records: FlatRecord[]): Buffer | Buffer[];
  end?(): Buffer[];
}

export const svc = (r: FlatRecord): string => r.resource['service.name'] ?? 'unknown';

export const unixNanoToMs = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

export function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Re-encodes the protobuf payloads as OTLP/JSON (hex ids, decimal string int64), framed the same way; returns the JSON bytes. */
export async function writeJsonPayloads(protoPath: string, jsonPath: string): Promise<number> {
  const Request = otlpType('ExportLogsServiceRequest');
  let total = 0;
  await writeFramed(jsonPath, function* () {
    for (const body of readPayloads(protoPath)) {
      const obj = Request.toObject(Request.decode(body), { longs: String, bytes: String, enums: Number, defaults: false }) as {
        resourceLogs?: { scopeLogs?: { logRecords?: { traceId?: string; spanId?: string }[] }[] }[];
      };
      for (const rl of obj.resourceLogs ?? [])
        for (const sl of rl.scopeLogs ?? [])
          for (const lr of sl.logRecords ?? []) {
            // protobufjs gives bytes as base64; OTLP/JSON wants hex.
            if (lr.traceId) lr.traceId = Buffer.from(lr.traceId, 'base64').toString('hex');
            if (lr.spanId) lr.spanId = Buffer.from(lr.spanId, 'base64').toString('hex');
          }
      const json = Buffer.from(JSON.stringify(obj));
      total += json.length;
      yield json;
    }
  });
  return total;
}

/** Each framed OTLP/JSON payload of `jsonPath` becomes the bodies `encoder` makes of its records, framed the same way. */
export async function reencodePayloads(jsonPath: string, outPath: string, encoder: PayloadEncoder): Promise<void> {
  await writeFramed(outPath, function* () {
    for (const body of readPayloads(jsonPath)) {
      const result = encoder.encode(flatRecords(body));
      yield* Array.isArray(result) ? result : [result];
    }
    yield* encoder.end?.() ?? [];
  });
}

function flatRecords(otlpJson: Buffer): FlatRecord[] {
  type Kv = { key: string; value: { stringValue?: string } };
  const req = JSON.parse(otlpJson.toString('utf8')) as {
    resourceLogs?: {
      resource?: { attributes?: Kv[] };
      scopeLogs?: { logRecords?: { timeUnixNano?: string; severityText?: string; body?: { stringValue?: string }; traceId?: string; spanId?: string }[] }[];
    }[];
  };
  const records: FlatRecord[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const resource = Object.fromEntries((rl.resource?.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? '']));
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? [])
        records.push({
          timeUnixNano: lr.timeUnixNano ?? '0',
          severityText: lr.severityText ?? 'INFO',
          body: lr.body?.stringValue ?? '',
          resource,
          ...(lr.traceId ? { traceId: lr.traceId } : {}),
          ...(lr.spanId ? { spanId: lr.spanId } : {}),
        });
  }
  return records;
}

async function writeFramed(path: string, bodies: () => Iterable<Buffer>): Promise<void> {
  const out = createWriteStream(path);
  try {
    for (const body of bodies()) await writePayload(out, body);
  } finally {
    out.end();
    await once(out, 'finish');
  }
}
