/**
 * Delivery errors, classified the way the OpenTelemetry Collector does:
 * permanent (the same input will fail again: do not retry) or retryable
 * (try later, optionally after `retryAfterMs`). Sources translate these into
 * their protocol's answer (HTTP 400 vs 429/503, gRPC INVALID_ARGUMENT vs
 * RESOURCE_EXHAUSTED/UNAVAILABLE).
 */

export class PipelineError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  /** A short machine-readable reason, also used as a metrics label. */
  readonly reason: string;

  constructor(message: string, opts: { retryable: boolean; reason: string; retryAfterMs?: number; cause?: unknown }) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'PipelineError';
    this.retryable = opts.retryable;
    this.reason = opts.reason;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The input itself is bad; retrying cannot help. */
export function permanentError(reason: string, message: string, cause?: unknown): PipelineError {
  return new PipelineError(message, { retryable: false, reason, cause });
}

/** A temporary condition (store down, queue full); the sender should retry. */
export function retryableError(reason: string, message: string, retryAfterMs?: number, cause?: unknown): PipelineError {
  return new PipelineError(message, { retryable: true, reason, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), cause });
}

export function isRetryable(err: unknown): boolean {
  return err instanceof PipelineError ? err.retryable : true;
}

/** Reasons for discarding records; each is a metrics label value and documented in docs/errors.md. */
export const DiscardReason = {
  QueueFull: 'queue_full',
  Filtered: 'filtered',
  Invalid: 'invalid',
  DeliveryFailed: 'delivery_failed',
  Shutdown: 'shutdown',
  /** A `parse` transform with `on_error: drop` could not decode the line. */
  ParseFailed: 'parse_failed',
} as const;
export type DiscardReason = (typeof DiscardReason)[keyof typeof DiscardReason];
