/**
 * The one send loop of the ingest benchmarks, whatever the transport (HTTP,
 * gRPC unary or client streams, Fluent forward): C workers share one
 * iterator over a framed payload file, each sending a body at a time on its
 * own connection, call or stream, and the clock stops only when every worker
 * has its last acknowledgement (durable on the server). Transports differ
 * only in their `Sender`: how one body is sent and acknowledged, and what
 * closing a worker waits for (an ALS stream is acknowledged as a whole when
 * it ends).
 */
import { readPayloads } from './payload-file.js';

export interface SendResult {
  seconds: number;
  /** Bodies sent (requests, stream messages, forward chunks). */
  requests: number;
  /** Wire bytes of those bodies. */
  bytes: number;
  /** Bodies sent again after the server pushed back (429/503, UNAVAILABLE, an unacknowledged chunk). */
  retries: number;
}

/** One worker's connection, call or stream. */
export interface Sender {
  /** Sends one body and resolves, with how many times it had to be resent, once it is acknowledged. */
  send(body: Buffer): Promise<number>;
  /** Resolves once everything sent is acknowledged, and releases the connection. */
  close(): Promise<void>;
}

export async function sendAll(path: string, concurrency: number, open: () => Promise<Sender>): Promise<SendResult> {
  const payloads = readPayloads(path);
  const next = (): Buffer | undefined => {
    const r = payloads.next();
    return r.done ? undefined : r.value;
  };
  let requests = 0;
  let bytes = 0;
  let retries = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const sender = await open();
        try {
          for (let body = next(); body; body = next()) {
            retries += await sender.send(body);
            requests++;
            bytes += body.length;
          }
        } finally {
          await sender.close();
        }
      }),
    );
  } finally {
    payloads.return();
  }
  return { seconds: (performance.now() - started) / 1000, requests, bytes, retries };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
