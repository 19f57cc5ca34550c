/**
 * Loads the protobuf definitions under `packages/components/proto/` (OTLP,
 * google.rpc, Envoy ALS), each written from its published .proto with the
 * real package and message names, so the same files serve OTLP/HTTP bodies,
 * gRPC services and tests' clients. Imports resolve against that folder;
 * `google/protobuf/*` well-known types come bundled with protobufjs.
 *
 * protobufjs compiles a decoder per message on first use; roots are cached
 * per file set, so loading happens once per process.
 */
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join } from 'node:path';

/** The folder holding the .proto files (shipped with the package). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

const roots = new Map<string, protobuf.Root>();

/** A root holding the given files (paths relative to PROTO_DIR) and everything they import. */
export function protoRoot(files: readonly string[]): protobuf.Root {
  const key = files.join('\n');
  let root = roots.get(key);
  if (!root) {
    root = new protobuf.Root();
    // Imports name paths from the proto root (`opentelemetry/proto/common/v1/common.proto`),
    // not relative to the importing file.
    root.resolvePath = (_origin, target) => (isAbsolute(target) || target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target));
    root.loadSync(files.map((f) => join(PROTO_DIR, f)));
    root.resolveAll();
    roots.set(key, root);
  }
  return root;
}
