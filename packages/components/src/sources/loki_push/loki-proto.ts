/**
 * Loads Loki's push messages (proto/loki/push.proto) once. protobufjs
 * resolves `google/protobuf/timestamp.proto` from its bundled common
 * definitions; Timestamp seconds (int64) arrive as `Long` or number.
 */
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';

const PROTO_FILE = fileURLToPath(new URL('../../../proto/loki/push.proto', import.meta.url));

let root: protobuf.Root | undefined;

export function lokiType(name: 'PushRequest' | 'StreamAdapter' | 'EntryAdapter'): protobuf.Type {
  root ??= protobuf.loadSync(PROTO_FILE);
  return root.lookupType(`logproto.${name}`);
}
