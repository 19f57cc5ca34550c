/**
 * The framework-neutral contract between gRPC ingest sources and whoever
 * hosts the gRPC listener (the server's gRPC port). Like the HTTP contract
 * next to it: the host authenticates every call (gRPC metadata
 * `authorization: Bearer <token>`), decides the tenant from the identity,
 * undoes message compression and enforces the message size limit; a source
 * only registers services whose methods take and give raw message bytes,
 * decodes them with its own protobuf definitions and emits.
 *
 * Invariants:
 * - a handler is only ever called for an authenticated, tenant-scoped call;
 * - a source signals a gRPC status by throwing `GrpcIngestError`; anything
 *   else thrown becomes INTERNAL with a generic message (and is logged), so
 *   no internal detail leaks to clients;
 * - services are registered before the host starts listening (a gRPC server
 *   fixes its service table when it starts).
 */

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/**
 * A gRPC status a source answers with. `retryAfterMs` is sent as a
 * `google.rpc.RetryInfo` detail in the `grpc-status-details-bin` trailer,
 * which is how OTLP/gRPC (and Google APIs generally) tell a client when to
 * retry.
 */
export class GrpcIngestError extends Error {
  readonly code: GrpcStatusCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: GrpcStatusCode, message: string, opts: { retryAfterMs?: number } = {}) {
    super(message);
    this.name = 'GrpcIngestError';
    this.code = code;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export interface GrpcCall {
  /** From the authenticated identity, never from metadata the client chose. */
  tenant: string;
  /** The peer as the transport saw it (`ipv4:127.0.0.1:50312`). */
  peer: string;
  /** Text metadata with lower-cased keys (credentials removed). */
  metadata: Record<string, string[]>;
  /** Aborted when the client cancels or the call's deadline passes. */
  signal: AbortSignal;
}

export interface GrpcUnaryMethod {
  type: 'unary';
  /** The method name as in the .proto service (`Export`). */
  name: string;
  /** The decompressed request message; resolves with the encoded response message. */
  handler(request: Buffer, call: GrpcCall): Promise<Buffer>;
}

export interface GrpcClientStreamMethod {
  type: 'client_stream';
  name: string;
  /**
   * Reads the request messages as they arrive (reading slowly is the
   * backpressure: HTTP/2 flow control holds the client) and resolves with
   * the single response message that ends the call.
   */
  handler(requests: AsyncIterable<Buffer>, call: GrpcCall): Promise<Buffer>;
}

export type GrpcMethod = GrpcUnaryMethod | GrpcClientStreamMethod;

export interface GrpcService {
  /** Fully qualified: `<package>.<Service>`, e.g. `opentelemetry.proto.collector.logs.v1.LogsService`. */
  name: string;
  /** The permission needed (the server maps it to roles). */
  permission: 'ingest';
  methods: GrpcMethod[];
  /**
   * Dangerous opt-out for senders that cannot present credentials (Istio's
   * ALS settings have no metadata): calls with no credentials at all are
   * accepted as this tenant. Calls with wrong credentials are still refused.
   * Anyone who can reach the port can then write into this tenant.
   */
  insecureUnauthenticatedTenant?: string;
}

/** The service a host offers under this name. */
export const GRPC_INGEST_SERVICE = 'grpc-ingest';

export interface GrpcIngestHost {
  /** Registers services; the host calls handlers only for authenticated, tenant-scoped calls. */
  register(owner: string, services: GrpcService[]): void;
  /** Stops routing to the owner's handlers (their calls then end with UNAVAILABLE). */
  unregister(owner: string): void;
}
