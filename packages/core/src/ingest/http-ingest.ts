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

/**
 * Where a protocol's clients put the API token besides `Authorization:
 * Bearer <token>` (always accepted). The host checks a token found there
 * exactly like a bearer token (same token store, same identity), so the
 * tenant still comes from the identity, never from what the client chose.
 */
export type CredentialLocation =
  /** `Authorization: <scheme> <token>`, e.g. Splunk HEC's `Splunk <token>`. */
  | { kind: 'authorization'; scheme: string }
  /** A header holding the token alone, e.g. Datadog's `DD-API-KEY` (lower-case name). */
  | { kind: 'header'; name: string };

/** Why authentication failed, for protocols whose answers tell these apart. */
export type AuthFailure =
  /** No credential at all. */
  | 'missing'
  /** An `Authorization` header in a form this route does not take. */
  | 'malformed'
  /** A well-formed credential naming no (or a revoked) token. */
  | 'invalid';

/**
 * A failure the host detects before (or around) the route's handler:
 * authentication, a body over the size limit or that cannot be
 * decompressed, the source shutting down, an unexpected error.
 */
export interface HostError {
  status: number;
  /** The server's error code (`unauthenticated`, `payload_too_large`, `bad_request`, `unavailable`, `internal`, ...). */
  code: string;
  message: string;
  /** Set when `code` is `unauthenticated`. */
  authFailure?: AuthFailure;
  /** Set for retryable failures. */
  retryAfterSeconds?: number;
}

export interface IngestRoute {
  method: 'POST' | 'PUT' | 'GET' | 'HEAD';
  /** A path pattern in the host router's syntax (`/v1/logs`, `/:index/_bulk`). */
  path: string;
  /** The permission needed (the server maps it to roles). */
  permission: 'ingest';
  /** Token locations this protocol's clients use, besides `Authorization: Bearer`. */
  credentials?: readonly CredentialLocation[];
  /**
   * The protocol's own shape for host errors, so a client that parses its
   * protocol's error bodies (Splunk HEC's `{"text", "code"}`) gets one.
   * Without it the host answers with its generic error.
   */
  renderError?(error: HostError): IngestResponse;
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

/**
 * The token a request presents: `Authorization: Bearer` first, then the
 * route's own `Authorization` schemes, then its token headers. An
 * `Authorization` header in a form the route does not take is `malformed`
 * unless a token header supplies the token. Every host checks tokens
 * through this, so a route's credential places mean the same everywhere.
 */
export function presentedToken(
  headers: Record<string, string | string[] | undefined>,
  locations: readonly CredentialLocation[],
): { token: string } | { failure: AuthFailure } {
  const authorization = headers['authorization'];
  let malformed = false;
  if (typeof authorization === 'string' && authorization !== '') {
    const m = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
    const scheme = m?.[1]!.toLowerCase();
    if (m && (scheme === 'bearer' || locations.some((l) => l.kind === 'authorization' && l.scheme.toLowerCase() === scheme))) return { token: m[2]! };
    // The schemes log shippers and Grafana use for a secret, on every route:
    // Basic with the token as password (Promtail, winston-loki, Filebeat,
    // Logstash, Fluent Bit, Grafana's Loki data source; the user name is
    // ignored) and Elasticsearch's ApiKey, base64(id:token) or the token as is.
    if (m && scheme === 'basic') {
      const token = afterColon(base64Text(m[2]!));
      if (token) return { token };
    }
    if (m && scheme === 'apikey') {
      const decoded = afterColon(base64Text(m[2]!));
      return { token: decoded ?? m[2]! };
    }
    malformed = true;
  }
  for (const l of locations) {
    if (l.kind !== 'header') continue;
    const v = headers[l.name];
    const value = (Array.isArray(v) ? v[0] : v)?.trim();
    if (value) return { token: value };
  }
  return { failure: malformed ? 'malformed' : 'missing' };
}

function base64Text(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  return Buffer.from(value, 'base64').toString('utf8');
}

function afterColon(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const i = text.indexOf(':');
  const rest = i < 0 ? '' : text.slice(i + 1);
  return rest === '' ? undefined : rest;
}

/** How to send a token to a route, for error messages: `"Authorization: Bearer <token>" or a "dd-api-key" header`. */
export function credentialHint(locations: readonly CredentialLocation[]): string {
  const forms = ['"Authorization: Bearer <token>"', 'basic auth with the token as password', ...locations.map((l) => (l.kind === 'authorization' ? `"Authorization: ${l.scheme} <token>"` : `a "${l.name}" header`))];
  return forms.length === 1 ? forms[0]! : `${forms.slice(0, -1).join(', ')} or ${forms[forms.length - 1]!}`;
}
