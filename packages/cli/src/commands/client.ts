/**
 * How CLI commands reach a server: `--server` (or MESHLOG_SERVER, default
 * http://127.0.0.1:3100) and a token from `--token`, MESHLOG_TOKEN, or the
 * local server's `<data-dir>/admin.token` (so the quick start needs no
 * copy-paste). The token is never printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientOptions {
  server?: string;
  token?: string;
  dataDir?: string;
}

export interface Client {
  baseUrl: string;
  token: string;
}

export function resolveClient(opts: ClientOptions): Client {
  const baseUrl = (opts.server ?? process.env['MESHLOG_SERVER'] ?? 'http://127.0.0.1:3100').replace(/\/+$/, '');
  let token = opts.token ?? process.env['MESHLOG_TOKEN'];
  if (!token) {
    const file = join(opts.dataDir ?? process.env['MESHLOG_DATA_DIR'] ?? 'data', 'admin.token');
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
  }
  if (!token) throw new CliError(`no API token: pass --token, set MESHLOG_TOKEN, or run where <data-dir>/admin.token exists`);
  return { baseUrl, token };
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** GETs JSON; `repeated` adds parameters that may occur more than once (`match[]`). Errors carry the server's message (JSON or Loki's plain text). */
export async function getJson<T>(client: Client, path: string, params: Record<string, string | undefined>, repeated: [string, string][] = []): Promise<T> {
  const url = new URL(client.baseUrl + path);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  for (const [k, v] of repeated) url.searchParams.append(k, v);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${client.token}`, accept: 'application/json' } });
  } catch (err) {
    throw new CliError(`cannot reach ${client.baseUrl}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new CliError(`${res.status} ${res.statusText}: ${message.trim()}`);
  }
  return JSON.parse(text) as T;
}
