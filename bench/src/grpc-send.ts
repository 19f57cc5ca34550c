/**
 * The benchmarks' gRPC senders, on `@grpc/grpc-js` (what the server's
 * listener runs) with the API token as `authorization: Bearer` metadata, as
 * OTLP exporters and Envoy's `initial_metadata` send it.
 *
 * Messages are pre-encoded protobuf from a framed payload file and go out
 * as raw bytes (identity serializers): the wire is what an encoding client
 * sends, but the bench process does not spend the measured interval
 * re-encoding them on the two cores the server needs.
 *
 * - `grpcUnaryAll`: C concurrent unary calls on one channel (one HTTP/2
 *   connection, as the OpenTelemetry Collector's exporter multiplexes its
 *   queue consumers), each retried after the server's RetryInfo delay on
 *   UNAVAILABLE or RESOURCE_EXHAUSTED, as OTLP clients do.
 * - `grpcStreamAll`: C client streams, each on a connection of its own (C
 *   Envoys), fed messages as HTTP/2 flow control allows; a stream is
 *   acknowledged as a whole by its response, which the server sends only
 *   once every message of it is durable.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { decodeRetryDelayMs } from '@meshlog/components';
import { sendAll, sleep, type SendResult } from './send-all.js';

export interface GrpcTarget {
  /** `host:port` of the server's gRPC listener. */
  address: string;
  token: string;
  /** `/package.Service/Method`. */
  method: string;
}

const identity = (b: Buffer): Buffer => b;

function authMetadata(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/**
 * Sends every message of `path` as one unary call; `failed` reads a
 * response that is OK but reports rejected records (OTLP partial success).
 */
export async function grpcUnaryAll(target: GrpcTarget, path: string, concurrency: number, failed?: (response: Buffer) => string | undefined): Promise<SendResult> {
  const client = new grpc.Client(target.address, grpc.credentials.createInsecure());
  const call = (body: Buffer): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(target.method, identity, identity, body, authMetadata(target.token), (err, res) => (err ? reject(err) : resolve(res!))),
    );
  const send = async (body: Buffer): Promise<number> => {
    for (let retries = 0; ; retries++) {
      try {
        const response = await call(body);
        const problem = failed?.(response);
        if (problem !== undefined) throw new Error(`${target.method} rejected records: ${problem}`);
        return retries;
      } catch (err) {
        const delay = retryDelayMs(err);
        if (delay === undefined) throw err;
        await sleep(delay);
      }
    }
  };
  try {
    return await sendAll(path, concurrency, async () => ({ send, close: async () => undefined }));
  } finally {
    client.close();
  }
}

/**
 * Streams every message of `path` over C client streams. `opening(i)` is
 * prepended to the first message of stream i: protobuf concatenation merges
 * two encoded messages into one, so that is how a stream's first message
 * carries what only it carries (Envoy's node identifier).
 */
export async function grpcStreamAll(target: GrpcTarget, path: string, concurrency: number, opening: (stream: number) => Buffer): Promise<SendResult> {
  let streams = 0;
  return sendAll(path, concurrency, async () => {
    const prefix = opening(streams++);
    // A channel of its own, so each stream is a connection of its own, as each Envoy's is.
    const client = new grpc.Client(target.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    let call!: grpc.ClientWritableStream<Buffer>;
    const answered = new Promise<void>((resolve, reject) => {
      call = client.makeClientStreamRequest(target.method, identity, identity, authMetadata(target.token), (err) => (err ? reject(err) : resolve()));
    });
    // A write waiting for flow control gives up when the stream ends under it (its error, or an early OK).
    const ended = answered.then(() => Promise.reject(new Error(`${target.method}: the server ended the stream early`)));
    // Until close() awaits `answered`, both surface only through send()'s race: never unhandled.
    answered.catch(() => undefined);
    ended.catch(() => undefined);
    let first = true;
    return {
      send: async (body) => {
        const message = first ? Buffer.concat([prefix, body]) : body;
        first = false;
        if (!call.write(message)) await Promise.race([once(call, 'drain'), ended]);
        return 0;
      },
      close: async () => {
        call.end();
        try {
          await answered;
        } finally {
          client.close();
        }
      },
    };
  });
}

/** The delay an OTLP client waits before resending, or undefined when the error is not retryable. */
function retryDelayMs(err: unknown): number | undefined {
  const e = err as Partial<grpc.ServiceError>;
  if (e.code !== grpc.status.UNAVAILABLE && e.code !== grpc.status.RESOURCE_EXHAUSTED) return undefined;
  const details = e.metadata?.get('grpc-status-details-bin')[0];
  return (Buffer.isBuffer(details) ? decodeRetryDelayMs(details) : undefined) ?? 200;
}
