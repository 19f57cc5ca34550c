/**
 * Loads the OTLP protobuf messages (proto/opentelemetry/otlp.proto) once.
 * protobufjs compiles a decoder per message at load; int64/fixed64 fields
 * arrive as `Long` values and are turned into bigint by `otlp-decode`.
 */
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';

const PROTO_FILE = fileURLToPath(new URL('../../../proto/opentelemetry/otlp.proto', import.meta.url));

let root: protobuf.Root | undefined;

export function otlpRoot(): protobuf.Root {
  root ??= protobuf.loadSync(PROTO_FILE);
  return root;
}

export function otlpType(name: string): protobuf.Type {
  return otlpRoot().lookupType(`opentelemetry.proto.${name}`);
}
