/**
 * One OTLP export request, from bytes to a durable batch, independent of the
 * transport: OTLP/HTTP (`otlp` source) and OTLP/gRPC (`otlp_grpc` source)
 * both call `ingestOtlpRequest` and only translate its outcome into their
 * protocol's answer. So there is one decoder, one idempotency key and one
 * error classification for both.
 *
 * Invariants: the outcome is `accepted` only after `emit` resolved (the
 * batch is durable); records rejected inside a good request are counted as
 * discarded (`invalid`) and reported for OTLP partial success.
 */
import { createHash } from 'node:crypto';
import { PipelineError, nowUnixNano, type BuildContext } from '@meshlog/core';
import { OtlpDecodeError, decodeOtlpLogs, decodeOtlpTraces, type OtlpEncoding } from './otlp-decode.js';
import { otlpType } from './otlp-proto.js';

export type OtlpSignal = 'logs' | 'traces';

export interface OtlpExportRequest {
  tenant: string;
  signal: OtlpSignal;
  /** The decompressed request body. */
  body: Buffer;
  encoding: OtlpEncoding;
  /** How long to wait for queue space before answering "retry later". */
  maxWaitMs: number;
}

export type OtlpIngestOutcome =
  /** Durable; `rejected` records were invalid and left out (partial success when > 0). */
  | { kind: 'accepted'; records: number; rejected: number; firstError: string | undefined }
  /** The request cannot be decoded, or the pipeline refused it for good: do not retry. */
  | { kind: 'invalid'; message: string }
  /** The pipeline pushed back: retry after `retryAfterMs`. `throttled` = a full queue (429 / RESOURCE_EXHAUSTED). */
  | { kind: 'retry'; message: string; retryAfterMs: number; throttled: boolean };

/**
 * The batch idempotency key: the same request body from the same tenant is
 * a retry (exporters resend identical payloads), which the store
 * acknowledges again without a second copy, whichever transport carried it.
 */
export function otlpBatchId(tenant: string, signal: OtlpSignal, body: Buffer): string {
  return createHash('sha256').update(tenant).update('\0').update(signal).update('\0').update(body).digest('base64url').slice(0, 32);
}

export async function ingestOtlpRequest(ctx: BuildContext, req: OtlpExportRequest): Promise<OtlpIngestOutcome> {
  const id = otlpBatchId(req.tenant, req.signal, req.body);
  let records: number;
  let rejected: number;
  let firstError: string | undefined;
  let emit: () => Promise<void>;
  try {
    if (req.signal === 'logs') {
      const d = decodeOtlpLogs(req.body, req.encoding, nowUnixNano());
      records = d.records.length;
      ({ rejected, firstError } = d);
      emit = () => ctx.emit({ kind: 'logs', tenant: req.tenant, source: ctx.id, id, records: d.records }, { maxWaitMs: req.maxWaitMs });
    } else {
      const d = decodeOtlpTraces(req.body, req.encoding);
      records = d.spans.length;
      ({ rejected, firstError } = d);
      emit = () => ctx.emit({ kind: 'spans', tenant: req.tenant, source: ctx.id, id, spans: d.spans }, { maxWaitMs: req.maxWaitMs });
    }
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err;
    ctx.metrics.error('decode_failed');
    return { kind: 'invalid', message: err.message };
  }
  ctx.metrics.received(records, req.body.length);
  if (rejected > 0) ctx.metrics.discarded(rejected, 'invalid', req.tenant);
  if (records > 0) {
    try {
      await emit();
    } catch (err) {
      if (err instanceof PipelineError && !err.retryable) return { kind: 'invalid', message: err.message };
      const retryAfterMs = (err instanceof PipelineError ? err.retryAfterMs : undefined) ?? 1000;
      return { kind: 'retry', message: (err as Error).message, retryAfterMs, throttled: err instanceof PipelineError && err.reason === 'queue_full' };
    }
  }
  return { kind: 'accepted', records, rejected, firstError };
}

/** An Export*ServiceResponse, with `partial_success` when records were rejected. */
export function otlpSuccessObject(signal: OtlpSignal, rejected: number, firstError: string | undefined): Record<string, unknown> {
  if (rejected === 0) return {};
  return { partialSuccess: { [signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans']: rejected, errorMessage: firstError ?? '' } };
}

/** The protobuf encoding of `otlpSuccessObject`. */
export function encodeOtlpSuccess(signal: OtlpSignal, rejected: number, firstError: string | undefined): Buffer {
  const type = otlpType(signal === 'logs' ? 'ExportLogsServiceResponse' : 'ExportTraceServiceResponse');
  return Buffer.from(type.encode(type.fromObject(otlpSuccessObject(signal, rejected, firstError))).finish());
}
