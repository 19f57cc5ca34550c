/**
 * The framework-neutral contract between HTTP ingest sources and whoever
 * hosts the HTTP listener (the server's API port, or a listener of the
 * agent's own). The host authenticates the caller, decides the tenant,
 * decompresses the body and enforces size limits; the source only decodes
 * and emits. That keeps every source free of auth code, so no source can
 * forget it.
 */

export interface IngestRequest {
  /** Decompressed body. */
  body: Buffer;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  /** From the authenticated identity, never from a header the client chose. */
  tenant: string;
  remoteAddress: string;
  /** Path parameters (e.g. the index of `/<index>/_bulk`). */
  params: Record<string, string>;
  query: Record<string, string>;
  /**
   * The host's cap on a decoded body. A source that undoes an encoding of
   * its own protocol (Loki's snappy) holds the result to it too, so no
   * encoding is a way around the limit.
   */
  maxBodyBytes?: number;
}

export interface IngestResponse {
  status: number;
  contentType?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface IngestRoute {
  method: 'POST' | 'PUT' | 'GET' | 'HEAD';
  /** A path pattern in the host router's syntax (`/v1/logs`, `/:index/_bulk`). */
  path: string;
  /** The permission needed (the server maps it to roles). */
  permission: 'ingest';
  /**
   * When present, the route serves only requests this accepts; the others
   * at the same method and path fall through to whatever else the host
   * serves there (another route, or 404). Lets a protocol answer `GET /`
   * for its own clients (Elasticsearch's) without taking `/` from a web UI.
   * Only for static paths; must be cheap (it runs for every request to it).
   */
  claims?: (headers: IngestRequest['headers']) => boolean;
  /**
   * Content-Encoding values the source undoes itself (Loki's `snappy`): the
   * host passes such bodies through instead of refusing the encoding.
   */
  ownEncodings?: readonly string[];
  handler(req: IngestRequest): Promise<IngestResponse>;
}

/** The service a host offers under this name. */
export const HTTP_INGEST_SERVICE = 'http-ingest';

export interface HttpIngestHost {
  /** Registers routes; the host calls `handler` only for authenticated, tenant-scoped requests. */
  mount(owner: string, routes: IngestRoute[]): void;
  /** Stops routing to the owner's handlers (they then answer 503). */
  unmount(owner: string): void;
}
