/**
 * Dataset records as Fluent Bit's `forward` output sends them, and the
 * sender that waits for each acknowledgement the way it does.
 *
 * Encoding (`ForwardChunker`): records as Fluent Bit's `tail` input (CRI
 * parser, `Tag kube.*`) and `kubernetes` filter leave them: tagged with
 * their container's log file, the line in `log`, pod metadata under
 * `kubernetes`, an EventTime each. Fluent Bit buffers records in chunks of
 * one tag and sends a chunk as one PackedForward message
 * (`[tag, <bin: concatenated [time, record]>, {size, chunk, fluent_signal}]`);
 * a chunk here closes at ENTRIES_PER_CHUNK records of its tag, and what is
 * left of each tag goes out at the end, as a flush would send it.
 *
 * Sending (`forwardAll`): C TCP connections, each with one chunk in flight
 * (`Require_ack_response`): a chunk counts once its `{ack: <chunk id>}` is
 * back, which the server writes only after the records are durable. A
 * connection that closes without the ack is reopened and the same chunk
 * (same id, so stored once) sent again, as Fluent Bit retries.
 *
 * msgpack is `@msgpack/msgpack`, the library the server's fluent source
 * decodes with (here the 2.x copy the root's `@fluent-org/logger` brings;
 * the source has 3.x; the wire format is msgpack either way).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ExtensionCodec, decode, decodeMultiStream, encode } from '@msgpack/msgpack';
import { sendAll, sleep, type Sender, type SendResult } from './send-all.js';
import { svc, type FlatRecord, type PayloadEncoder } from './reencode.js';

const ENTRIES_PER_CHUNK = 2000;
const MAX_RESENDS = 20;

/** Fluentd's EventTime (msgpack ext type 0: big-endian uint32 seconds, uint32 nanoseconds). */
class EventTime {
  constructor(readonly unixNano: bigint) {}
}
const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: 0,
  encode: (value: unknown) => {
    if (!(value instanceof EventTime)) return null;
    const out = Buffer.alloc(8);
    out.writeUInt32BE(Number(value.unixNano / 1_000_000_000n), 0);
    out.writeUInt32BE(Number(value.unixNano % 1_000_000_000n), 4);
    return out;
  },
  decode: () => {
    throw new Error('the bench never decodes an EventTime');
  },
});

export class ForwardChunker implements PayloadEncoder {
  private readonly pending = new Map<string, Uint8Array[]>();

  encode(records: FlatRecord[]): Buffer[] {
    const full: Buffer[] = [];
    for (const r of records) {
      const tag = tagOf(r);
      let entries = this.pending.get(tag);
      if (!entries) this.pending.set(tag, (entries = []));
      entries.push(encode([new EventTime(BigInt(r.timeUnixNano)), fluentBitRecord(r)], { extensionCodec }));
      if (entries.length === ENTRIES_PER_CHUNK) {
        full.push(packedForward(tag, entries));
        this.pending.delete(tag);
      }
    }
    return full;
  }

  end(): Buffer[] {
    const rest = [...this.pending].map(([tag, entries]) => packedForward(tag, entries));
    this.pending.clear();
    return rest;
  }
}

/** `kube.var.log.containers.<pod>_<namespace>_<container>-<container id>.log`: the tail input's tag for the container's log file. */
function tagOf(r: FlatRecord): string {
  const { pod, namespace, container } = k8s(r);
  return `kube.var.log.containers.${pod}_${namespace}_${container}-${containerId(r)}.log`;
}

function k8s(r: FlatRecord): { pod: string; namespace: string; container: string } {
  return { pod: r.resource['k8s.pod.name'] ?? 'unknown', namespace: r.resource['k8s.namespace.name'] ?? 'default', container: r.resource['k8s.container.name'] ?? 'unknown' };
}

const containerId = (r: FlatRecord): string => createHash('sha256').update(`${r.resource['k8s.pod.name']}/${r.resource['k8s.container.name']}`).digest('hex');

function fluentBitRecord(r: FlatRecord): Record<string, unknown> {
  const { pod, namespace, container } = k8s(r);
  return {
    stream: 'stdout',
    logtag: 'F',
    log: r.body,
    kubernetes: {
      pod_name: pod,
      namespace_name: namespace,
      labels: { app: svc(r) },
      host: 'bench-node-1',
      container_name: container,
      docker_id: containerId(r),
      container_image: container === 'istio-proxy' ? 'docker.io/istio/proxyv2:1.22.0' : `registry.local/${svc(r)}:1.0.0`,
    },
  };
}

function packedForward(tag: string, entries: Uint8Array[]): Buffer {
  const option = { size: entries.length, chunk: randomBytes(16).toString('base64'), fluent_signal: 0 };
  return Buffer.from(encode([tag, Buffer.concat(entries), option]));
}

/** Sends every PackedForward message of `path` over C connections to the forward port, one acknowledged chunk at a time each. */
export function forwardAll(port: number, path: string, concurrency: number): Promise<SendResult> {
  return sendAll(path, concurrency, async () => forwardSender(port));
}

interface Connection {
  socket: Socket;
  /** The server's next msgpack reply, or undefined once the connection is gone. */
  reply(): Promise<unknown>;
}

async function openConnection(port: number): Promise<Connection> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  const replies = decodeMultiStream(socket)[Symbol.asyncIterator]();
  return {
    socket,
    reply: () =>
      replies.next().then(
        (r) => (r.done ? undefined : r.value),
        () => undefined,
      ),
  };
}

function forwardSender(port: number): Sender {
  let conn: Connection | undefined;
  return {
    send: async (body) => {
      const chunk = ((decode(body) as unknown[])[2] as { chunk: string }).chunk;
      for (let resends = 0; ; resends++) {
        conn ??= await openConnection(port);
        conn.socket.write(body);
        const reply = await conn.reply();
        if ((reply as { ack?: unknown } | undefined)?.ack === chunk) return resends;
        conn.socket.destroy();
        conn = undefined;
        if (reply !== undefined) throw new Error(`fluent forward: expected the ack of chunk ${chunk}, got ${JSON.stringify(reply)}`);
        if (resends === MAX_RESENDS) throw new Error(`fluent forward: chunk ${chunk} unacknowledged after ${MAX_RESENDS} resends`);
        await sleep(200);
      }
    },
    close: async () => {
      if (!conn) return;
      const closed = once(conn.socket, 'close');
      conn.socket.end();
      await closed;
    },
  };
}
