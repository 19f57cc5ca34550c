/**
 * What Elasticsearch answers, in the shapes its clients parse: the cluster
 * info of `GET /`, `/_license`, `/_xpack`, error bodies, and the rule that
 * decides whether a `GET /` comes from an Elasticsearch client at all.
 *
 * Every answer carries `X-Elastic-Product: Elasticsearch`: the official
 * clients (JavaScript v8 and later, Go, Java, Python) refuse a 2xx answer
 * without it. When the client asked for Elasticsearch's versioned media type
 * (`application/vnd.elasticsearch+json; compatible-with=8`), the answer
 * declares the same type back, as Elasticsearch does.
 */
import type { IngestRequest, IngestResponse } from '@meshlog/core';

export const PRODUCT_HEADER = { 'x-elastic-product': 'Elasticsearch' } as const;

function header(headers: IngestRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Whether a request to `/` is an Elasticsearch client's (the rule is in
 * docs/configuration.md): it asks for JSON, or sends the official clients'
 * `X-Elastic-Client-Meta`, or names a known shipper in its User-Agent, or
 * sends no Accept header at all (Logstash's and Fluent Bit's HTTP clients
 * send none; browsers always send one). A browser (`Accept: text/html,...`)
 * or a bare `curl` (`*\/*`) is left to whatever else serves `/`.
 */
export function isElasticsearchClient(headers: IngestRequest['headers']): boolean {
  const accept = header(headers, 'accept');
  if (accept === undefined || accept.trim() === '') return true;
  if (/json/i.test(accept)) return true;
  if (headers['x-elastic-client-meta'] !== undefined) return true;
  return /beat|logstash|elastic|fluent|manticore|vector/i.test(header(headers, 'user-agent') ?? '');
}

export function jsonResponse(req: IngestRequest, status: number, body: unknown, extraHeaders: Record<string, string> = {}): IngestResponse {
  const accept = header(req.headers, 'accept') ?? '';
  const compat = /application\/vnd\.elasticsearch\+json.*compatible-with=(\d+)/i.exec(accept);
  return {
    status,
    contentType: compat ? `application/vnd.elasticsearch+json;compatible-with=${compat[1]}` : 'application/json; charset=UTF-8',
    headers: { ...PRODUCT_HEADER, ...extraHeaders },
    body: JSON.stringify(body),
  };
}

/** Elasticsearch's top-level error body. */
export function errorBody(status: number, type: string, reason: string): unknown {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

export function clusterInfo(version: string, clusterUuid: string): unknown {
  return {
    name: 'meshlog',
    cluster_name: 'meshlog',
    cluster_uuid: clusterUuid,
    version: {
      number: version,
      build_flavor: 'default',
      build_type: 'docker',
      build_hash: 'meshlog',
      build_date: '2023-11-04T10:04:57.184859352Z',
      build_snapshot: false,
      lucene_version: '9.8.0',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

export function licenseInfo(clusterUuid: string): unknown {
  return {
    license: {
      status: 'active',
      uid: clusterUuid,
      type: 'basic',
      issue_date: '2024-01-01T00:00:00.000Z',
      issue_date_in_millis: 1704067200000,
      max_nodes: 1000,
      max_resource_units: null,
      issued_to: 'meshlog',
      issuer: 'elasticsearch',
      start_date_in_millis: -1,
    },
  };
}

export function xpackInfo(clusterUuid: string): unknown {
  const on = { available: true, enabled: true };
  return {
    build: { hash: 'meshlog', date: '2023-11-04T10:04:57.184859352Z' },
    license: { uid: clusterUuid, type: 'basic', mode: 'basic', status: 'active' },
    features: { ilm: on, data_streams: on, security: { available: true, enabled: false }, monitoring: { available: true, enabled: false } },
    tagline: 'You know, for X',
  };
}

export function clusterHealth(): unknown {
  return {
    cluster_name: 'meshlog',
    status: 'green',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: 1,
    active_shards: 1,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: 0,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: 100,
  };
}
