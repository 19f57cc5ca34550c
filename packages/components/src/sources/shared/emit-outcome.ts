/**
 * What every request/response source does around `ctx.emit`: wait a bounded
 * time for queue space, then classify a failure the way each protocol must
 * answer it (permanent: the input is bad, never retry; retryable: try again
 * after `retryAfterSeconds`, 429 when a queue is full, 503 otherwise), and
 * derive the idempotency key that lets a resent request be acknowledged
 * without being stored twice.
 */
import { createHash } from 'node:crypto';
import { PipelineError, type Batch, type BuildContext } from '@meshlog/core';

export type EmitOutcome =
  | { ok: true }
  | { ok: false; retryable: false; message: string }
  | { ok: false; retryable: true; status: 429 | 503; retryAfterSeconds: number; message: string };

/** Emits and resolves with the outcome instead of throwing; the source turns it into its protocol's answer. */
export async function emitWithOutcome(ctx: BuildContext, batch: Batch, maxWaitMs: number): Promise<EmitOutcome> {
  try {
    await ctx.emit(batch, { maxWaitMs });
    return { ok: true };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof PipelineError && !err.retryable) return { ok: false, retryable: false, message };
    const retryAfterSeconds = Math.max(1, Math.ceil(((err instanceof PipelineError ? err.retryAfterMs : undefined) ?? 1000) / 1000));
    const status = err instanceof PipelineError && err.reason === 'queue_full' ? 429 : 503;
    return { ok: false, retryable: true, status, retryAfterSeconds, message };
  }
}

/**
 * The idempotency key of a request: the same body from the same tenant on
 * the same endpoint is a client retrying a request whose answer it lost.
 */
export function requestId(tenant: string, endpoint: string, body: Buffer, extra = ''): string {
  return createHash('sha256').update(tenant).update('\0').update(endpoint).update('\0').update(extra).update('\0').update(body).digest('base64url').slice(0, 32);
}
