/**
 * The `es_bulk` source: Elasticsearch's bulk API (`POST|PUT /_bulk` and
 * `/<index>/_bulk`), as Filebeat, Logstash, Fluent Bit's es output and the
 * official clients' bulk helpers send it, plus the endpoints those clients
 * probe before they send (`probe_endpoints`).
 *
 * Answers in Elasticsearch's shapes: 200 with `{took, errors, items}` and
 * one item per operation in request order, each with its own status:
 * 201 `created` once the batch is durable; 400 for an operation whose
 * document is bad or whose action (update, delete) an append-only store
 * does not do, while the rest of the batch is stored; 429
 * `es_rejected_execution_exception` for every stored-to-be item when the
 * pipeline's queue stays full (clients retry exactly those items). A
 * malformed request is a top-level 400 in Elasticsearch's error shape, and
 * a pipeline that is unavailable a top-level 503 with Retry-After.
 */
import {
  PipelineError,
  nowUnixNano,
  type Attributes,
  type BuildContext,
  type ComponentDefinition,
  type IngestRequest,
  type IngestResponse,
  type IngestRoute,
  type LogRecord,
} from '@meshlog/core';
import { createHash, randomBytes } from 'node:crypto';
import { EsBulkSourceConfigSchema, type EsBulkSourceConfig } from './config.js';
import { EsBulkRequestError, parseBulkBody } from './es-bulk-decode.js';
import { documentToRecord } from './ecs-mapping.js';
import { clusterHealth, clusterInfo, errorBody, isElasticsearchClient, jsonResponse, licenseInfo, xpackInfo } from './es-responses.js';
import { HttpMountedSource } from '../shared/http-mounted-source.js';

export const esBulkSource: ComponentDefinition<EsBulkSourceConfig> = {
  kind: 'source',
  type: 'es_bulk',
  description: 'Elasticsearch bulk API (/_bulk, /<index>/_bulk) and the endpoints its clients probe, on the HTTP listener',
  schema: EsBulkSourceConfigSchema,
  build: (config, ctx) => new EsBulkSource(config, ctx),
};

/** Setup calls shippers make (Filebeat `setup`, Logstash's template and ILM management): acknowledged, not stored. */
const SETUP_PATHS = ['/_index_template/:name', '/_template/:name', '/_component_template/:name', '/_ilm/policy/:name', '/_ingest/pipeline/:name', '/_data_stream/:name'];

class EsBulkSource extends HttpMountedSource {
  private seqNo = 0;
  private readonly clusterUuid = randomBytes(16).toString('base64url').slice(0, 22);

  constructor(
    private readonly config: EsBulkSourceConfig,
    ctx: BuildContext,
  ) {
    super(ctx, 'the Elasticsearch bulk API');
  }

  protected routes(): IngestRoute[] {
    const route = (method: IngestRoute['method'], path: string, handler: IngestRoute['handler'], extra: Partial<IngestRoute> = {}): IngestRoute => ({ method, path, permission: 'ingest', handler, ...extra });
    const bulk = (req: IngestRequest): Promise<IngestResponse> => this.bulk(req);
    const routes: IngestRoute[] = [route('POST', '/_bulk', bulk), route('PUT', '/_bulk', bulk), route('POST', '/:index/_bulk', bulk), route('PUT', '/:index/_bulk', bulk)];
    if (this.config.probe_endpoints) {
      const info = async (req: IngestRequest): Promise<IngestResponse> => jsonResponse(req, 200, clusterInfo(this.config.version, this.clusterUuid));
      const head = async (req: IngestRequest): Promise<IngestResponse> => ({ ...jsonResponse(req, 200, ''), body: '' });
      // `/` belongs to Elasticsearch clients only; browsers fall through to whatever else serves `/` (the UI).
      routes.push(route('GET', '/', info, { claims: isElasticsearchClient }), route('HEAD', '/', head, { claims: isElasticsearchClient }));
      routes.push(route('GET', '/_license', async (req) => jsonResponse(req, 200, licenseInfo(this.clusterUuid))));
      routes.push(route('GET', '/_xpack', async (req) => jsonResponse(req, 200, xpackInfo(this.clusterUuid))));
      routes.push(route('GET', '/_cluster/health', async (req) => jsonResponse(req, 200, clusterHealth())));
      for (const path of SETUP_PATHS) {
        const ack = async (req: IngestRequest): Promise<IngestResponse> => jsonResponse(req, 200, { acknowledged: true });
        // Nothing is kept, so a lookup says "not there": clients then (re)create it and get the acknowledgement.
        const missing = async (req: IngestRequest): Promise<IngestResponse> =>
          jsonResponse(req, 404, errorBody(404, 'resource_not_found_exception', `[${req.params['name'] ?? ''}] not found: Meshlog acknowledges ${path.split('/')[1]} setup but keeps none`));
        const missingHead = async (req: IngestRequest): Promise<IngestResponse> => ({ ...jsonResponse(req, 404, ''), body: '' });
        routes.push(route('PUT', path, ack), route('POST', path, ack), route('GET', path, missing), route('HEAD', path, missingHead));
      }
    }
    return routes;
  }

  private async bulk(req: IngestRequest): Promise<IngestResponse> {
    const started = Date.now();
    const urlIndex = req.params['index'];
    let ops;
    try {
      ops = parseBulkBody(req.body, urlIndex);
    } catch (err) {
      if (!(err instanceof EsBulkRequestError)) throw err;
      this.ctx.metrics.error('decode_failed');
      return jsonResponse(req, 400, errorBody(400, err.type, err.message));
    }

    const now = nowUnixNano();
    const resources = new Map<string, Attributes>();
    const internResource = (resource: Attributes): Attributes => {
      const key = JSON.stringify(resource);
      let shared = resources.get(key);
      if (!shared) resources.set(key, (shared = resource));
      return shared;
    };
    const ids = ops.map((op) => op.id ?? generatedId());
    const records: LogRecord[] = [];
    const storedOps: number[] = [];
    ops.forEach((op, i) => {
      if (op.error || !op.doc) return;
      const r = documentToRecord(op.doc, { index: op.index, id: op.id, sourceText: op.sourceText ?? '', now, internResource });
      if ('error' in r) {
        op.error = { status: 400, error: r.error };
        return;
      }
      records.push(r);
      storedOps.push(i);
    });
    const rejected = ops.length - records.length;
    this.ctx.metrics.received(records.length, req.body.length);
    if (rejected > 0) this.ctx.metrics.discarded(rejected, 'invalid', req.tenant);

    let retryAfter: string | undefined;
    if (records.length > 0) {
      // The same body to the same index from the same tenant is a retry: acknowledged again, stored once.
      const id = createHash('sha256').update(req.tenant).update('\0es_bulk\0').update(urlIndex ?? '').update('\0').update(req.body).digest('base64url').slice(0, 32);
      try {
        await this.ctx.emit({ kind: 'logs', tenant: req.tenant, source: this.ctx.id, id, records }, { maxWaitMs: this.config.max_wait_ms });
      } catch (err) {
        const after = Math.ceil(((err instanceof PipelineError ? err.retryAfterMs : undefined) ?? 1000) / 1000);
        if (err instanceof PipelineError && err.retryable && err.reason === 'queue_full') {
          // As a busy Elasticsearch does: each item says 429, and clients resend exactly those.
          const reason = `rejected execution: ${err.message}; retry after ${after}s`;
          for (const i of storedOps) ops[i]!.error = { status: 429, error: { type: 'es_rejected_execution_exception', reason } };
          retryAfter = String(after);
        } else if (err instanceof PipelineError && !err.retryable) {
          return jsonResponse(req, 400, errorBody(400, 'illegal_argument_exception', err.message));
        } else {
          return jsonResponse(req, 503, errorBody(503, 'unavailable_shards_exception', (err as Error).message), { 'retry-after': String(after) });
        }
      }
    }

    let errors = false;
    const items = ops.map((op, i) => {
      if (op.error) {
        errors = true;
        return { [op.action]: { _index: op.index, _id: ids[i], status: op.error.status, error: op.error.error } };
      }
      return {
        [op.action]: {
          _index: op.index,
          _id: ids[i],
          _version: 1,
          result: 'created',
          _shards: { total: 1, successful: 1, failed: 0 },
          _seq_no: this.seqNo++,
          _primary_term: 1,
          status: 201,
        },
      };
    });
    return jsonResponse(req, 200, { took: Date.now() - started, errors, items }, retryAfter ? { 'retry-after': retryAfter } : {});
  }
}

/** Elasticsearch's auto-generated ids are 20 URL-safe characters. */
function generatedId(): string {
  return randomBytes(15).toString('base64url');
}
