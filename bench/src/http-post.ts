/**
 * The benchmarks' HTTP sender: posts every body of a framed payload file
 * with C concurrent clients (send-all.ts) and retries 429/503 as exporters
 * do, until each request has its 2xx (a durable acknowledgement).
 */
import type { BenchServer } from './server-child.js';
import { sendAll, sleep, type SendResult } from './send-all.js';

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

export function postAll(server: BenchServer, path: string, target: PostTarget, concurrency: number): Promise<SendResult> {
  return sendAll(path, concurrency, async () => ({ send: (body) => post(server, target, body), close: async () => undefined }));
}

/** One request, retried on 429/503 as exporters do; resolves with the number of retries once it has its 2xx. */
async function post(server: BenchServer, target: PostTarget, body: Buffer): Promise<number> {
  for (let retries = 0; ; retries++) {
    const r = await fetch(`${server.url}${target.endpoint}`, { method: 'POST', headers: { 'content-type': target.contentType, ...target.auth(server.token) }, body });
    const text = await r.text();
    if (r.ok) {
      if (target.failed?.(text)) throw new Error(`ingest rejected records at ${target.endpoint}: ${text.slice(0, 300)}`);
      return retries;
    }
    if (r.status !== 429 && r.status !== 503) throw new Error(`ingest failed at ${target.endpoint}: ${r.status} ${text.slice(0, 300)}`);
    await sleep(200);
  }
}
