/**
 * The `loki_push` source: Loki's push API, `POST /loki/api/v1/push`, as
 * Promtail, Grafana Alloy, winston-loki, pino-loki and Fluent Bit's loki
 * output send it: protobuf (snappy block-compressed) or JSON (optionally
 * gzip, undone by the host, or snappy).
 *
 * Answers as Loki does: 204 once the batch is durable; 400 with a plain-text
 * message for a body that is not the protocol (nothing stored) or naming
 * each rejected stream or entry (the valid rest stored, as Loki does);
 * 429 (queue full) or 503 with Retry-After when the pipeline pushes back,
 * which Loki clients retry. Out-of-order entries are accepted.
 */
import {
  PipelineError,
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
} from '@meshlog/core';
import { createHash } from 'node:crypto';
import { LokiPushSourceConfigSchema, type LokiPushSourceConfig } from './config.js';
import { LabelParser } from './loki-labels.js';
import { LokiDecodeError, decodeLokiPush, lokiEncodingOf, lokiStreamsToRecords } from './loki-push-decode.js';
import { HttpMountedSource } from '../shared/http-mounted-source.js';

export const LOKI_PUSH_PATH = '/loki/api/v1/push';

/** Problems quoted in one 400 answer; the rest are counted. */
const MAX_PROBLEMS_QUOTED = 10;
/** The cap on a snappy body when the host states none. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export const lokiPushSource: ComponentDefinition<LokiPushSourceConfig> = {
  kind: 'source',
  type: 'loki_push',
  description: 'Loki push API (protobuf+snappy and JSON, structured metadata) on the HTTP listener',
  schema: LokiPushSourceConfigSchema,
  build: (config, ctx) => new LokiPushSource(config, ctx),
};

class LokiPushSource extends HttpMountedSource {
  private readonly labels: LabelParser;

  constructor(
    private readonly config: LokiPushSourceConfig,
    ctx: BuildContext,
  ) {
    super(ctx, 'the Loki push API');
    this.labels = new LabelParser({
      maxLabelNamesPerSeries: config.max_label_names_per_series,
      maxLabelNameLength: config.max_label_name_length,
      maxLabelValueLength: config.max_label_value_length,
    });
  }

  protected routes(): IngestRoute[] {
    return [{ method: 'POST', path: LOKI_PUSH_PATH, permission: 'ingest', ownEncodings: ['snappy'], handler: (req) => this.handle(req) }];
  }

  private async handle(req: IngestRequest): Promise<IngestResponse> {
    const encoding = lokiEncodingOf(req.contentType);
    const now = nowUnixNano();
    let decoded;
    try {
      const streams = decodeLokiPush(req.body, encoding, {
        maxBodyBytes: req.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        snappyEncoded: String(req.headers['content-encoding'] ?? '').toLowerCase() === 'snappy',
      });
      decoded = lokiStreamsToRecords(streams, { labels: this.labels, discoverServiceName: this.config.discover_service_name, maxLineBytes: this.config.max_line_size, now });
    } catch (err) {
      if (!(err instanceof LokiDecodeError)) throw err;
      this.ctx.metrics.error('decode_failed');
      return text(err.status, err.message);
    }
    const { records, rejected, problems } = decoded;
    this.ctx.metrics.received(records.length, req.body.length);
    if (rejected > 0) this.ctx.metrics.discarded(rejected, 'invalid', req.tenant);
    if (records.length > 0) {
      // The same body from the same tenant is a client's retry: acknowledged again, stored once.
      const id = createHash('sha256').update(req.tenant).update('\0loki_push\0').update(req.body).digest('base64url').slice(0, 32);
      try {
        await this.ctx.emit({ kind: 'logs', tenant: req.tenant, source: this.ctx.id, id, records }, { maxWaitMs: this.config.max_wait_ms });
      } catch (err) {
        if (err instanceof PipelineError && !err.retryable) return text(400, err.message);
        const retryAfter = Math.ceil(((err instanceof PipelineError ? err.retryAfterMs : undefined) ?? 1000) / 1000);
        const status = err instanceof PipelineError && err.reason === 'queue_full' ? 429 : 503;
        return { ...text(status, (err as Error).message), headers: { 'retry-after': String(retryAfter) } };
      }
    }
    if (problems.length > 0) {
      const quoted = problems.slice(0, MAX_PROBLEMS_QUOTED);
      const more = problems.length - quoted.length;
      const stored = records.length > 0 ? `${records.length} entries stored, ` : '';
      return text(400, `${stored}${rejected} rejected:\n${quoted.join('\n')}${more > 0 ? `\n(and ${more} more problems)` : ''}`);
    }
    return { status: 204 };
  }
}

function text(status: number, message: string): IngestResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body: message.endsWith('\n') ? message : `${message}\n` };
}
