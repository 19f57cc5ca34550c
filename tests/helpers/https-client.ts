/**
 * A small HTTPS client over `node:https` for TLS tests: a CA to trust, an
 * optional client certificate, and what the connection proved (the
 * server's certificate serial, the local port that identifies the socket).
 * Global `fetch` cannot take a private CA or a client certificate without
 * another package; this is the real Node TLS stack either way.
 */
import { request, Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';

export interface ClientTls {
  /** Path of the CA bundle the server's certificate chains to. */
  ca: string;
  /** Client certificate and key paths (mutual TLS). */
  cert?: string;
  key?: string;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** The server certificate's serial (upper-case hex) as this connection saw it. */
  serverSerial: string;
  /** Local port of the connection: equal ports, same socket. */
  localPort: number;
}

export function tlsOptionsOf(tls: ClientTls): { ca: Buffer; cert?: Buffer; key?: Buffer } {
  return { ca: readFileSync(tls.ca), ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}), ...(tls.key ? { key: readFileSync(tls.key) } : {}) };
}

/** A keep-alive agent of one socket: requests through it share a connection. */
export function keepAliveAgent(tls: ClientTls): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, ...tlsOptionsOf(tls) });
}

export function httpsRequest(
  url: string,
  opts: { tls: ClientTls; method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: { ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
        ...(opts.agent ? { agent: opts.agent } : { agent: false, ...tlsOptionsOf(opts.tls) }),
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const serverSerial = (socket.getPeerCertificate()?.serialNumber ?? '').toUpperCase().replace(/^0+/, '');
        const localPort = socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8'), serverSerial, localPort });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
