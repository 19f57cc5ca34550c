/**
 * Zipkin's proto3 `ListOfSpans` (zipkin-api's zipkin.proto, package
 * `zipkin.proto3`), written out from its published field numbers, and its
 * conversion to the JSON shape so one validator serves both encodings.
 * Ids are bytes (8 or 16), IPs are bytes (4 or 16), times fixed64
 * microseconds; zero values mean absent, as proto3 cannot tell them apart.
 */
import protobuf from 'protobufjs';
import { ZipkinDecodeError } from './zipkin-model.js';

const DESCRIPTOR = {
  nested: {
    zipkin: {
      nested: {
        proto3: {
          nested: {
            Span: {
              fields: {
                traceId: { type: 'bytes', id: 1 },
                parentId: { type: 'bytes', id: 2 },
                id: { type: 'bytes', id: 3 },
                kind: { type: 'Kind', id: 4 },
                name: { type: 'string', id: 5 },
                timestamp: { type: 'fixed64', id: 6 },
                duration: { type: 'uint64', id: 7 },
                localEndpoint: { type: 'Endpoint', id: 8 },
                remoteEndpoint: { type: 'Endpoint', id: 9 },
                annotations: { rule: 'repeated', type: 'Annotation', id: 10 },
                tags: { keyType: 'string', type: 'string', id: 11 },
                debug: { type: 'bool', id: 12 },
                shared: { type: 'bool', id: 13 },
              },
              nested: { Kind: { values: { SPAN_KIND_UNSPECIFIED: 0, CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 } } },
            },
            Endpoint: {
              fields: {
                serviceName: { type: 'string', id: 1 },
                ipv4: { type: 'bytes', id: 2 },
                ipv6: { type: 'bytes', id: 3 },
                port: { type: 'int32', id: 4 },
              },
            },
            Annotation: { fields: { timestamp: { type: 'fixed64', id: 1 }, value: { type: 'string', id: 2 } } },
            ListOfSpans: { fields: { spans: { rule: 'repeated', type: 'Span', id: 1 } } },
          },
        },
      },
    },
  },
};

let listType: protobuf.Type | undefined;
export function zipkinListOfSpans(): protobuf.Type {
  listType ??= protobuf.Root.fromJSON(DESCRIPTOR).lookupType('zipkin.proto3.ListOfSpans');
  return listType;
}

type Obj = Record<string, unknown>;

function hex(b: unknown, sizes: number[], path: string): string | undefined {
  if (!(b instanceof Uint8Array) || b.length === 0) return undefined;
  if (!sizes.includes(b.length)) throw new ZipkinDecodeError(`${path}: expected ${sizes.join(' or ')} bytes, got ${b.length}`);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function ipv4(b: unknown, path: string): string | undefined {
  if (!(b instanceof Uint8Array) || b.length === 0) return undefined;
  if (b.length !== 4) throw new ZipkinDecodeError(`${path}: expected 4 bytes, got ${b.length}`);
  return Array.from(b).join('.');
}

function ipv6(b: unknown, path: string): string | undefined {
  if (!(b instanceof Uint8Array) || b.length === 0) return undefined;
  if (b.length !== 16) throw new ZipkinDecodeError(`${path}: expected 16 bytes, got ${b.length}`);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // The URL parser prints IPv6 in its canonical compressed form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Copies the entries whose value is set (proto3 zero values mean absent). */
function present(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '' && v !== 0 && v !== false) out[k] = v;
  return out;
}

function endpointJson(e: Obj | undefined, path: string): Obj | undefined {
  if (!e) return undefined;
  const out = present({ serviceName: e['serviceName'], ipv4: ipv4(e['ipv4'], `${path}.ipv4`), ipv6: ipv6(e['ipv6'], `${path}.ipv6`), port: e['port'] });
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Decodes a protobuf `ListOfSpans` into the JSON span shape `zipkinSpansToModel` takes. */
export function decodeZipkinProto(body: Buffer): unknown[] {
  let decoded: Obj;
  try {
    const t = zipkinListOfSpans();
    decoded = t.toObject(t.decode(body), { longs: Number, enums: String }) as Obj;
  } catch (err) {
    throw new ZipkinDecodeError(`invalid protobuf ListOfSpans: ${(err as Error).message}`);
  }
  return ((decoded['spans'] as Obj[] | undefined) ?? []).map((s, i) => {
    const path = `spans[${i}]`;
    return present({
      traceId: hex(s['traceId'], [8, 16], `${path}.traceId`),
      parentId: hex(s['parentId'], [8], `${path}.parentId`),
      id: hex(s['id'], [8], `${path}.id`),
      kind: s['kind'] === 'SPAN_KIND_UNSPECIFIED' ? undefined : s['kind'],
      name: s['name'],
      timestamp: s['timestamp'],
      duration: s['duration'],
      localEndpoint: endpointJson(s['localEndpoint'] as Obj | undefined, `${path}.localEndpoint`),
      remoteEndpoint: endpointJson(s['remoteEndpoint'] as Obj | undefined, `${path}.remoteEndpoint`),
      annotations: Array.isArray(s['annotations']) && s['annotations'].length > 0 ? s['annotations'] : undefined,
      tags: s['tags'] && Object.keys(s['tags']).length > 0 ? s['tags'] : undefined,
      debug: s['debug'],
      shared: s['shared'],
    });
  });
}
