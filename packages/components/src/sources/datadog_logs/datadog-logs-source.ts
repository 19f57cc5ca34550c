/**
 * The `datadog_logs` source: Datadog's HTTP log intake on the host's HTTP
 * listener, so a Datadog Agent (`logs_config.logs_dd_url`, HTTP transport)
 * or any client of Datadog's log API can point at Meshlog unchanged.
 *
 * - `POST /api/v2/logs` (and `/v1/input` unless turned off): a JSON array
 *   of logs, one log object, or text lines; gzip or deflate (the host
 *   undoes `Content-Encoding`); `ddsource`, `ddtags`, `hostname` and
 *   `service` in the query string apply to every log of the request.
 * - The API key is the Meshlog token, sent as `DD-API-KEY` (or Bearer).
 * - Answers as the intake does: 202 `{}` once the logs are durable; 400
 *   for malformed JSON; 413 over the payload (5 MB uncompressed) or entry
 *   (1000) limits; 401/403 for a missing/unknown key; 429 or 503 with
 *   Retry-After under back-pressure (the Agent retries those and drops on
 *   400/401/403/413). Error bodies are `{"errors": ["..."]}`.
 */
import {
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type HostError,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
} from '@meshlog/core';
import { emitWithOutcome, requestId } from '../shared/emit-outcome.js';
import { DatadogLogsSourceConfigSchema, type DatadogLogsSourceConfig } from './config.js';
import { DatadogDecodeError, decodeDatadogLogs, type DecodedDatadogLogs } from './datadog-decode.js';
import { HttpMountedSource } from '../shared/http-mounted-source.js';

export const datadogLogsSource: ComponentDefinition<DatadogLogsSourceConfig> = {
  kind: 'source',
  type: 'datadog_logs',
  description: "Datadog's HTTP log intake (/api/v2/logs, /v1/input; gzip, deflate) on the HTTP listener",
  schema: DatadogLogsSourceConfigSchema,
  build: (config, ctx) => new DatadogLogsSource(config, ctx),
};

const CREDENTIALS = [{ kind: 'header', name: 'dd-api-key' }] as const;

class DatadogLogsSource extends HttpMountedSource {
  constructor(
    private readonly config: DatadogLogsSourceConfig,
    ctx: BuildContext,
  ) {
    super(ctx, 'the Datadog log intake');
  }

  protected routes(): IngestRoute[] {
    const paths = ['/api/v2/logs', ...(this.config.v1_input ? ['/v1/input'] : [])];
    const routes: IngestRoute[] = paths.map((path) => ({
      method: 'POST',
      path,
      permission: 'ingest',
      credentials: CREDENTIALS,
      renderError: renderHostError,
      handler: (req) => this.handle(req, path),
    }));
    return routes;
  }

  private async handle(req: IngestRequest, path: string): Promise<IngestResponse> {
    if (req.body.length > this.config.max_payload_bytes) {
      this.ctx.metrics.error('payload_too_large');
      return errors(413, `payload of ${req.body.length} bytes (uncompressed) exceeds the limit of ${this.config.max_payload_bytes}; send smaller batches`);
    }
    let decoded: DecodedDatadogLogs;
    try {
      decoded = decodeDatadogLogs(
        req.body,
        req.contentType,
        nowUnixNano(),
        { ddsource: req.query['ddsource'], ddtags: req.query['ddtags'], hostname: req.query['hostname'], service: req.query['service'] },
        { maxLogBytes: this.config.max_log_bytes, maxEntries: this.config.max_entries },
      );
    } catch (err) {
      if (!(err instanceof DatadogDecodeError)) throw err;
      this.ctx.metrics.error(err.status === 413 ? 'payload_too_large' : 'decode_failed');
      return errors(err.status, err.message);
    }
    const { records, truncated, untimed } = decoded;
    if (records.length === 0) return accepted();
    this.ctx.metrics.received(records.length, req.body.length);
    // Counted once per cut log, like every other alteration of what a client sent.
    for (let i = 0; i < truncated; i++) this.ctx.metrics.error('log_truncated');
    // A resent request is recognised by its content only when every log
    // carries its own timestamp (the Agent always sends one): identical
    // untimed lines sent twice are two sets of logs.
    const query = JSON.stringify(Object.entries(req.query).sort());
    const id = untimed === 0 ? requestId(req.tenant, `datadog_logs${path}`, req.body, `${req.contentType}\0${query}`) : undefined;
    const batch = { kind: 'logs' as const, tenant: req.tenant, source: this.ctx.id, ...(id ? { id } : {}), records };
    const outcome = await emitWithOutcome(this.ctx, batch, this.config.max_wait_ms);
    if (outcome.ok) return accepted();
    if (!outcome.retryable) return errors(400, outcome.message);
    return { ...errors(outcome.status, outcome.message), headers: { 'retry-after': String(outcome.retryAfterSeconds) } };
  }
}

function accepted(): IngestResponse {
  return { status: 202, contentType: 'application/json', body: '{}' };
}

function errors(status: number, message: string): IngestResponse {
  return { status, contentType: 'application/json', body: JSON.stringify({ errors: [message] }) };
}

/** Host errors as the intake answers them: 401 without a key, 403 for an unknown one. */
function renderHostError(e: HostError): IngestResponse {
  const status = e.code === 'unauthenticated' ? (e.authFailure === 'invalid' ? 403 : 401) : e.status;
  const res = errors(status, e.message);
  return e.retryAfterSeconds !== undefined ? { ...res, headers: { 'retry-after': String(e.retryAfterSeconds) } } : res;
}
