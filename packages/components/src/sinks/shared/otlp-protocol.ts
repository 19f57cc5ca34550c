/**
 * OTLP/HTTP protobuf as a push protocol (`/v1/logs`, `/v1/traces`), shared
 * by the `meshlog` and `otlp` sinks; a 2xx answer's `partial_success`
 * names records the receiver refused.
 */
import { otlpType } from '../../sources/otlp/otlp-proto.js';
import { encodeOtlpLogs, encodeOtlpSpans } from './otlp-encode.js';
import type { PushProtocol } from './buffered-push-sink.js';

export function otlpProtocol(paths: { logs: string; traces: string }): PushProtocol {
  return {
    name: 'otlp',
    contentType: 'application/x-protobuf',
    logsPath: paths.logs,
    spansPath: paths.traces,
    encodeLogs: encodeOtlpLogs,
    encodeSpans: encodeOtlpSpans,
    partialRejects(kind, res) {
      if (res.body.length === 0 || !String(res.headers['content-type'] ?? '').includes('protobuf')) return undefined;
      try {
        const type = otlpType(kind === 'logs' ? 'ExportLogsServiceResponse' : 'ExportTraceServiceResponse');
        const msg = type.toObject(type.decode(res.body), { longs: Number }) as { partialSuccess?: { rejectedLogRecords?: number; rejectedSpans?: number; errorMessage?: string } };
        const p = msg.partialSuccess;
        const rejected = Number((kind === 'logs' ? p?.rejectedLogRecords : p?.rejectedSpans) ?? 0);
        return rejected > 0 ? { rejected, message: p?.errorMessage ?? '' } : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
