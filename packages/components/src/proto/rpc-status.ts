/**
 * `google.rpc.Status` with a `google.rpc.RetryInfo` detail: what a gRPC
 * server sends (serialized, in the `grpc-status-details-bin` trailer) to
 * tell a client how long to wait before retrying. OTLP/gRPC clients read it
 * to throttle, and it is what makes RESOURCE_EXHAUSTED retryable for them.
 */
import { protoRoot } from './proto-root.js';

const FILES = ['google/rpc/status.proto', 'google/rpc/error_details.proto'] as const;
const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

export function encodeRetryStatus(code: number, message: string, retryAfterMs: number): Buffer {
  const root = protoRoot(FILES);
  const RetryInfo = root.lookupType('google.rpc.RetryInfo');
  const Status = root.lookupType('google.rpc.Status');
  const ms = Math.max(0, Math.round(retryAfterMs));
  const retryInfo = RetryInfo.encode(RetryInfo.fromObject({ retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } })).finish();
  return Buffer.from(Status.encode(Status.fromObject({ code, message, details: [{ type_url: RETRY_INFO_TYPE_URL, value: retryInfo }] })).finish());
}

/** Reads the retry delay back out of a serialized Status (for tests and clients); undefined when there is none. */
export function decodeRetryDelayMs(statusBytes: Buffer): number | undefined {
  const root = protoRoot(FILES);
  const status = root.lookupType('google.rpc.Status').decode(statusBytes) as unknown as { details?: { type_url?: string; typeUrl?: string; value: Uint8Array }[] };
  for (const d of status.details ?? []) {
    if ((d.type_url ?? d.typeUrl) !== RETRY_INFO_TYPE_URL) continue;
    const info = root.lookupType('google.rpc.RetryInfo').decode(d.value) as unknown as { retryDelay?: { seconds?: number | { toNumber(): number }; nanos?: number } };
    const seconds = info.retryDelay?.seconds;
    const s = typeof seconds === 'object' && seconds !== null ? seconds.toNumber() : Number(seconds ?? 0);
    return s * 1000 + Math.round((info.retryDelay?.nanos ?? 0) / 1_000_000);
  }
  return undefined;
}
