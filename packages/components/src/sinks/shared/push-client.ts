/**
 * The HTTP(S) client of the shipping sinks: keep-alive connections to one
 * endpoint, server verification against `tls.ca_file` (or the system CAs),
 * a client certificate for mutual TLS that is re-read when its files change
 * (the same CertificateFiles the listeners use: a renewal swaps in new
 * connections' certificate, in-flight requests finish on the old one), and
 * a bearer token read by reference (file re-read when it changes, or an
 * environment variable). The token never appears in a log line or error.
 */
import { readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from '@meshlog/core';
import { CertificateFileError, CertificateFiles } from '../../tls/certificate-files.js';
import { CERTIFICATE_POLL_MS, TLS_CIPHERS } from '../../tls/listener-tls.js';
import type { ClientTlsConfig } from './push-config.js';

export interface PushResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface PushClientOptions {
  endpoint: string;
  tls?: ClientTlsConfig | undefined;
  tokenFile?: string | undefined;
  tokenEnv?: string | undefined;
  headers: Record<string, string>;
  label: string;
  logger: Logger;
}

/** Thrown when a request could not be made or answered (connection, TLS, timeout): always retryable. */
export class PushTransportError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'PushTransportError';
  }
}

export class PushClient {
  private readonly url: URL;
  private agent: HttpAgent | HttpsAgent;
  private readonly certificates: CertificateFiles | undefined;
  private readonly ca: Buffer | undefined;
  private token: { value: string; mtimeMs: number; checkedAt: number } | undefined;

  constructor(private readonly opts: PushClientOptions) {
    this.url = new URL(opts.endpoint);
    const tls = opts.tls;
    if (tls?.ca_file !== undefined) {
      try {
        this.ca = readFileSync(tls.ca_file);
      } catch (err) {
        throw new Error(`${opts.label}: tls.ca_file ${tls.ca_file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
      }
    }
    if (tls?.cert_file !== undefined && tls.key_file !== undefined) {
      try {
        this.certificates = new CertificateFiles({ cert_file: tls.cert_file, key_file: tls.key_file }, { label: opts.label, logger: opts.logger });
      } catch (err) {
        if (err instanceof CertificateFileError) throw new Error(`${opts.label}: tls.${err.key} ${err.path}: ${err.problem}`, { cause: err });
        throw err;
      }
      this.certificates.onChange(() => {
        const old = this.agent;
        this.agent = this.makeAgent();
        // Idle sockets go now; busy ones close after their request.
        old.destroy();
      });
      this.certificates.watch(CERTIFICATE_POLL_MS);
    }
    this.agent = this.makeAgent();
    this.readToken();
  }

  private makeAgent(): HttpAgent | HttpsAgent {
    if (this.url.protocol === 'http:') return new HttpAgent({ keepAlive: true, maxSockets: 64 });
    const m = this.certificates?.current;
    const tls = this.opts.tls;
    return new HttpsAgent({
      keepAlive: true,
      maxSockets: 64,
      ...(this.ca ? { ca: this.ca } : {}),
      ...(m ? { cert: m.cert, key: m.key } : {}),
      ...(tls?.server_name ? { servername: tls.server_name } : {}),
      minVersion: tls?.min_version ?? 'TLSv1.2',
      ciphers: TLS_CIPHERS,
    });
  }

  /** The current bearer token, re-read from token_file at most once a second when its mtime moved. */
  private readToken(): string | undefined {
    const { tokenFile, tokenEnv } = this.opts;
    if (tokenEnv !== undefined) {
      const v = process.env[tokenEnv]?.trim();
      if (!v) throw new Error(`${this.opts.label}: token_env ${tokenEnv} is not set or empty`);
      return v;
    }
    if (tokenFile === undefined) return undefined;
    const now = Date.now();
    if (this.token && now - this.token.checkedAt < 1000) return this.token.value;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(tokenFile).mtimeMs;
      if (!this.token || this.token.mtimeMs !== mtimeMs) {
        const value = readFileSync(tokenFile, 'utf8').trim();
        if (!value) throw new Error('the file is empty');
        this.token = { value, mtimeMs, checkedAt: now };
      } else this.token.checkedAt = now;
    } catch (err) {
      if (this.token) return this.token.value;
      throw new Error(`${this.opts.label}: token_file ${tokenFile}: cannot read a token from it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    return this.token.value;
  }

  post(path: string, body: Buffer, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<PushResponse> {
    const token = this.readToken();
    const target = new URL(path, this.url);
    // A base path in the endpoint (https://host/prefix) is kept.
    if (this.url.pathname !== '/' && !path.startsWith(this.url.pathname)) target.pathname = this.url.pathname.replace(/\/$/, '') + path;
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<PushResponse>((resolveOnce, rejectOnce) => {
      // `timeout` below is an idle timeout (no bytes for that long); the deadline bounds the whole
      // exchange, so a server that trickles its answer cannot hold a batch (and its file) forever.
      let settled = false;
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        req.destroy(new PushTransportError(`no complete answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      const resolve = (r: PushResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolveOnce(r);
      };
      const reject = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        rejectOnce(err);
      };
      const req = send(
        target,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            ...this.opts.headers,
            ...headers,
            'content-length': String(body.length),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          timeout: timeoutMs,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            // Answers are small; keep at most 64 KiB of one for the log.
            if (size < 65536) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', (err) => reject(new PushTransportError(`reading the answer failed: ${err.message}`, (err as NodeJS.ErrnoException).code)));
          // Cut off mid-answer (the deadline, or the connection): the answer never ends.
          res.on('close', () => {
            if (res.complete) return;
            reject(timedOut ? new PushTransportError(`no complete answer within ${timeoutMs} ms`, 'ETIMEDOUT') : new PushTransportError('the connection closed before the answer ended', 'ECONNRESET'));
          });
        },
      );
      req.on('timeout', () => req.destroy(new PushTransportError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')));
      req.on('error', (err) => reject(err instanceof PushTransportError ? err : new PushTransportError(err.message, (err as NodeJS.ErrnoException).code)));
      req.end(body);
    });
  }

  close(): void {
    this.certificates?.close();
    this.agent.destroy();
  }
}
