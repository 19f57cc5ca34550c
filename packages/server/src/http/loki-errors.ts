/**
 * Errors on `/loki/api/v1/*` leave as Loki 3 writes them (its
 * util/server.WriteError): the status, `Content-Type: text/plain;
 * charset=utf-8`, and the message alone as the body
 * (`parse error at line 1, col 5: ...`), so Grafana and logcli show them as
 * they show Loki's. Every other route keeps the server's JSON errors.
 */
import type { HostError, IngestResponse } from '@meshlog/core';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's own error shape (Loki's plain text, Splunk HEC's JSON, ...); see app.ts' error handler. */
    renderError?: (error: HostError) => IngestResponse;
  }
}

export function renderLokiError(e: HostError): IngestResponse {
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff' };
  if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="meshlog"';
  if (e.retryAfterSeconds !== undefined) headers['retry-after'] = String(e.retryAfterSeconds);
  return { status: e.status, contentType: 'text/plain; charset=utf-8', headers, body: e.message };
}
