/**
 * The `splunk_hec` source: Splunk's HTTP Event Collector on the host's HTTP
 * listener, answering as Splunk does so the Splunk OpenTelemetry Collector,
 * Fluent Bit's `splunk` output, Vector's `splunk_hec_logs` sink and
 * Splunk's logging libraries need nothing but a new URL and token:
 *
 * - `POST /services/collector`, `/services/collector/event`,
 *   `/services/collector/event/1.0`: JSON events (hec-decode.ts);
 * - `POST /services/collector/raw`, `/services/collector/raw/1.0`: one event
 *   per line, metadata in the query string (`host`, `source`,
 *   `sourcetype`, `index`, `time`);
 * - `GET /services/collector/health`, `/services/collector/health/1.0`:
 *   `{"text":"HEC is healthy","code":17}`;
 * - `POST /services/collector/ack`: `{"text":"ACK is disabled","code":14}`,
 *   as Splunk answers for a token without indexer acknowledgement: a
 *   success here already means durable, so there is nothing to poll.
 *
 * The token comes as `Authorization: Splunk <token>` (or Bearer); a channel
 * (`X-Splunk-Request-Channel` or `?channel=`) is optional and, when sent,
 * must be a GUID. Every answer is a HEC body `{"text","code"}`; the exact
 * problem of a rejected request is in the `X-Meshlog-Error` header, so the
 * body stays byte for byte what HEC clients parse. Success (200, code 0)
 * is sent only once the events are durable; back-pressure answers 503
 * "Server is busy" (code 9) with Retry-After, which HEC clients retry.
 */
import {
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type HostError,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
  type LogRecord,
} from '@meshlog/core';
import { emitWithOutcome, requestId } from '../shared/emit-outcome.js';
import { SplunkHecSourceConfigSchema, type SplunkHecSourceConfig } from './config.js';
import { HecDecodeError, HecStatus, decodeHecEvents, decodeHecRaw, parseHecTime, type HecMetadata } from './hec-decode.js';
import { HttpMountedSource } from '../shared/http-mounted-source.js';

export const splunkHecSource: ComponentDefinition<SplunkHecSourceConfig> = {
  kind: 'source',
  type: 'splunk_hec',
  description: 'Splunk HTTP Event Collector (/services/collector/event and /raw, gzip) on the HTTP listener',
  schema: SplunkHecSourceConfigSchema,
  build: (config, ctx) => new SplunkHecSource(config, ctx),
};

const CHANNEL = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const CREDENTIALS = [{ kind: 'authorization', scheme: 'Splunk' }] as const;

class SplunkHecSource extends HttpMountedSource {
  constructor(
    private readonly config: SplunkHecSourceConfig,
    ctx: BuildContext,
  ) {
    super(ctx, 'Splunk HEC');
  }

  protected routes(): IngestRoute[] {
    const route = (method: IngestRoute['method'], path: string, handler: IngestRoute['handler']): IngestRoute => ({
      method,
      path,
      permission: 'ingest',
      credentials: CREDENTIALS,
      renderError: renderHostError,
      handler,
    });
    const routes: IngestRoute[] = [];
    if (this.config.event) {
      for (const p of ['/services/collector', '/services/collector/event', '/services/collector/event/1.0']) routes.push(route('POST', p, (req) => this.handle(req, 'event')));
    }
    if (this.config.raw) {
      for (const p of ['/services/collector/raw', '/services/collector/raw/1.0']) routes.push(route('POST', p, (req) => this.handle(req, 'raw')));
    }
    for (const p of ['/services/collector/health', '/services/collector/health/1.0']) routes.push(route('GET', p, async () => hecResponse(HecStatus.Healthy)));
    routes.push(route('POST', '/services/collector/ack', async () => hecResponse(HecStatus.AckDisabled)));
    return routes;
  }

  private async handle(req: IngestRequest, endpoint: 'event' | 'raw'): Promise<IngestResponse> {
    const channel = header(req, 'x-splunk-request-channel') ?? req.query['channel'];
    if (channel !== undefined && !CHANNEL.test(channel)) {
      this.ctx.metrics.error('invalid_channel');
      return hecResponse(HecStatus.InvalidDataChannel, { detail: `channel ${JSON.stringify(channel.slice(0, 60))} is not a GUID` });
    }
    const now = nowUnixNano();
    let records: LogRecord[];
    let timed: boolean;
    try {
      const meta = metadataFromQuery(req.query);
      if (endpoint === 'event') {
        const d = decodeHecEvents(req.body, now, meta);
        records = d.records;
        timed = d.untimed === 0;
      } else {
        records = decodeHecRaw(req.body, now, meta);
        timed = meta.timeUnixNano !== undefined;
      }
    } catch (err) {
      if (!(err instanceof HecDecodeError)) throw err;
      this.ctx.metrics.error('decode_failed');
      return hecResponse(err.hec, { eventNumber: err.eventNumber, detail: err.message });
    }
    this.ctx.metrics.received(records.length, req.body.length);
    // A resent request is recognised by its content only when every event
    // carries its own time: identical untimed lines sent twice are two
    // sets of events. Query parameters are part of what a request means.
    const id = timed ? requestId(req.tenant, `splunk_hec/${endpoint}`, req.body, JSON.stringify(Object.entries(req.query).sort())) : undefined;
    const batch = { kind: 'logs' as const, tenant: req.tenant, source: this.ctx.id, ...(id ? { id } : {}), records };
    const outcome = await emitWithOutcome(this.ctx, batch, this.config.max_wait_ms);
    if (outcome.ok) return hecResponse(HecStatus.Success);
    if (!outcome.retryable) return hecResponse(HecStatus.InvalidDataFormat, { detail: outcome.message });
    return hecResponse(HecStatus.ServerBusy, { detail: outcome.message, retryAfterSeconds: outcome.retryAfterSeconds });
  }
}

function header(req: IngestRequest, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function metadataFromQuery(query: Record<string, string>): HecMetadata {
  const meta: HecMetadata = { host: query['host'], source: query['source'], sourcetype: query['sourcetype'], index: query['index'] };
  if (query['time'] !== undefined) {
    const t = parseHecTime(query['time']);
    if (t === undefined) throw new HecDecodeError(HecStatus.InvalidDataFormat, undefined, `query parameter time=${JSON.stringify(query['time'])} is not epoch seconds`);
    meta.timeUnixNano = t;
  }
  return meta;
}

/** A HEC answer: Splunk's body, the detail in a header (printable ASCII only, as headers must be). */
export function hecResponse(s: HecStatus, opts: { eventNumber?: number | undefined; detail?: string; retryAfterSeconds?: number } = {}): IngestResponse {
  const body: Record<string, unknown> = { text: s.text, code: s.code };
  if (opts.eventNumber !== undefined) body['invalid-event-number'] = opts.eventNumber;
  const headers: Record<string, string> = {};
  if (opts.detail) headers['x-meshlog-error'] = opts.detail.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);
  if (opts.retryAfterSeconds !== undefined) headers['retry-after'] = String(opts.retryAfterSeconds);
  return { status: s.status, contentType: 'application/json', headers, body: JSON.stringify(body) };
}

/** Host errors (authentication, size, decompression, shutdown) in HEC's shape. */
function renderHostError(e: HostError): IngestResponse {
  const opts = { detail: e.message, ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}) };
  switch (e.code) {
    case 'unauthenticated':
      return hecResponse(e.authFailure === 'invalid' ? HecStatus.InvalidToken : e.authFailure === 'malformed' ? HecStatus.InvalidAuthorization : HecStatus.TokenRequired, opts);
    case 'forbidden':
      return hecResponse(HecStatus.TokenDisabled, opts);
    case 'payload_too_large':
      // HEC has no code for this; 6 tells clients that resending the same payload cannot succeed.
      return { ...hecResponse(HecStatus.InvalidDataFormat, opts), status: 413 };
    case 'overloaded':
    case 'unavailable':
      return hecResponse(HecStatus.ServerBusy, { ...opts, retryAfterSeconds: e.retryAfterSeconds ?? 1 });
    case 'internal':
      return hecResponse(HecStatus.InternalError, opts);
    default:
      return { ...hecResponse(HecStatus.InvalidDataFormat, opts), status: e.status >= 400 && e.status < 500 ? e.status : 400 };
  }
}
