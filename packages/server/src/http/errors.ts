/**
 * The server's error catalogue: each error has a code, an HTTP status,
 * whether a retry can help, and a message template. docs/errors.md lists
 * every code; a test checks the two agree.
 */
import type { AuthFailure } from '@meshlog/core';

export const ERRORS = {
  unauthenticated: { status: 401, retryable: false, summary: 'No valid credentials: send `Authorization: Bearer <token>` or sign in; also a wrong username or password, and an ended session.' },
  forbidden: { status: 403, retryable: false, summary: 'The identity lacks the permission this endpoint needs; or a session-authenticated change without X-CSRF-Token; or a role, tenant or scope the caller may not grant.' },
  bad_request: { status: 400, retryable: false, summary: 'The request is malformed; the message names the problem.' },
  bad_query: { status: 400, retryable: false, summary: 'The LogQL query does not parse or validate; the message gives line and column.' },
  unsupported: { status: 400, retryable: false, summary: 'The query uses a feature this server does not support yet.' },
  payload_too_large: { status: 413, retryable: false, summary: 'The request body (after decompression) exceeds `server.max_request_bytes`.' },
  not_found: { status: 404, retryable: false, summary: 'No such endpoint or object.' },
  conflict: { status: 409, retryable: false, summary: 'The object is not in a state that allows this (an approval already decided or expired, a purge overlapping a legal hold) or already exists (a username that is taken); the message says which.' },
  limit_exceeded: { status: 400, retryable: false, summary: 'The query exceeds a limit (range, entries, series, rows or bytes scanned, concurrent tails); the message says which and how to narrow it.' },
  query_timeout: { status: 504, retryable: true, summary: 'The query ran longer than `limits.query_timeout_ms`.' },
  cancelled: { status: 499, retryable: false, summary: "The client closed the request before the answer (Loki's 499); the query was stopped in the store too." },
  overloaded: { status: 429, retryable: true, summary: 'Ingest queues are full; retry after the Retry-After interval.' },
  too_many_attempts: { status: 429, retryable: true, summary: 'Too many failed sign-ins for this username or from this address; retry after the Retry-After interval (whatever the password).' },
  rate_limited: { status: 429, retryable: true, summary: "The identity or tenant is over its request rate or quota (`limits.rate`); retry after the Retry-After interval." },
  unavailable: { status: 503, retryable: true, summary: 'The store or pipeline is not available (starting or shutting down, or a ClickHouse shard is down: the message names it).' },
  internal: { status: 500, retryable: true, summary: 'An unexpected error; it is logged with the request id.' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** For `unauthenticated`: which way it failed (protocols such as Splunk HEC answer each differently). */
  readonly authFailure: AuthFailure | undefined;
  /** For retryable errors: the Retry-After the client gets (default 1 s). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, opts: { authFailure?: AuthFailure; retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.authFailure = opts.authFailure;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}
