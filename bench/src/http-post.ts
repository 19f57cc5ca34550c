/**
 * The benchmarks' HTTP sender: posts every body of a framed payload file
 * with C concurrent clients and retries 429/503 as exporters do, until each
 * request has its 2xx (a durable acknowledgement).
 */
import type { BenchServer } from './server-child.js';
import { readPayloads } from './payload-file.js';

export interface PostTarget {
  endpoint: string;
  contentType: string;
  /** Credentials the way this protocol's clients send them. */
  auth: (token: string) => Record<string, string>;
  /** A 2xx body that still reports a failure (OTLP partial success, ES per-item errors). */
  failed?: (body: string) => boolean;
}

export const otlpTarget = (contentType: string): PostTarget => ({
  endpoint: '/v1/logs',
  contentType,
  auth: (t) => ({ authorization: `Bearer ${t}` }),
  failed: (b) => b.includes('rejected'),
});

export interface PostResult {
  seconds: number;
  requests: number;
  bytes: number;
  retries: number;
}

export async function postAll(server: BenchServer, path: string, target: PostTarget, concurrency: number): Promise<PostResult> {
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
        for (let body = next(); body; body = next()) {
          for (;;) {
            const r = await fetch(`${server.url}${target.endpoint}`, { method: 'POST', headers: { 'content-type': target.contentType, ...target.auth(server.token) }, body });
            const text = await r.text();
            if (r.ok) {
              if (target.failed?.(text)) throw new Error(`ingest rejected records at ${target.endpoint}: ${text.slice(0, 300)}`);
              break;
            }
            if (r.status !== 429 && r.status !== 503) throw new Error(`ingest failed: ${r.status} ${text.slice(0, 300)}`);
            retries++;
            await new Promise((res) => setTimeout(res, 200));
          }
          requests++;
          bytes += body.length;
        }
      }),
    );
  } finally {
    payloads.return();
  }
  return { seconds: (performance.now() - started) / 1000, requests, bytes, retries };
}
