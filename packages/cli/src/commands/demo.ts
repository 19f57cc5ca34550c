/** `meshlog demo`: sends realistic mesh traffic to a server until stopped or `--duration` ends. */
import { runDemo } from '../demo/index.js';
import { resolveClient, type ClientOptions } from './client.js';

export interface DemoCommandOptions extends ClientOptions {
  rate: number;
  duration?: number;
  seed?: number;
}

export async function demoCommand(opts: DemoCommandOptions): Promise<void> {
  const client = resolveClient(opts);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  process.stderr.write(`sending demo traffic to ${client.baseUrl} at ~${opts.rate} requests/s${opts.duration ? ` for ${opts.duration}s` : ''}\n`);
  const stats = await runDemo({
    url: client.baseUrl,
    token: client.token,
    rate: opts.rate,
    ...(opts.duration !== undefined ? { durationSec: opts.duration } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    signal: abort.signal,
    onError: (err) => process.stderr.write(`demo: ${err.message}\n`),
  });
  process.stderr.write(`demo done: ${JSON.stringify(stats)}\n`);
}
