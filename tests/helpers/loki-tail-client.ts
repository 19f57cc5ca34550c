/**
 * A Loki tail client for tests: opens `/loki/api/v1/tail` over a real
 * WebSocket with a bearer token and collects every message. A refused
 * upgrade (Loki's plain-text HTTP errors) rejects with TailRefused carrying
 * the status and body, and its connection is closed, or it would keep the
 * test process alive.
 */
import WebSocket from 'ws';

export interface TailMessage {
  streams: { stream: Record<string, string>; values: [string, string][] }[];
  dropped_entries?: unknown[];
}

export interface OpenTail {
  ws: WebSocket;
  messages: TailMessage[];
  /** Every line received so far, in order. */
  lines(): string[];
}

export class TailRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body}`);
  }
}

/** Resolves once the socket is open. */
export function openTail(serverUrl: string, query: string, token: string, params: Record<string, string> = {}): Promise<OpenTail> {
  const u = new URL(`${serverUrl.replace('http', 'ws')}/loki/api/v1/tail`);
  u.searchParams.set('query', query);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const ws = new WebSocket(u, { headers: { authorization: `Bearer ${token}` } });
  const messages: TailMessage[] = [];
  ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as TailMessage));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, lines: () => messages.flatMap((m) => m.streams.flatMap((s) => s.values.map((v) => v[1]))) }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        req.destroy();
        res.socket?.destroy();
        reject(new TailRefused(res.statusCode ?? 0, body));
      });
    });
    ws.once('error', reject);
  });
}
