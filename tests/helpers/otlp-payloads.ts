/** Hand-built OTLP/JSON payloads for tests that need exact control (the SDK is used where a real client matters). */

export function otlpJsonLogs(lines: string[], opts: { service?: string; traceId?: string } = {}): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: opts.service ?? 'test-svc' } }] },
        scopeLogs: [
          {
            scope: { name: 'test' },
            logRecords: lines.map((body, i) => ({
              timeUnixNano: String(now + BigInt(i)),
              severityNumber: 9,
              severityText: 'INFO',
              body: { stringValue: body },
              ...(opts.traceId ? { traceId: opts.traceId } : {}),
            })),
          },
        ],
      },
    ],
  });
}

/** One trace as OTLP/JSON: a root span and `children` child spans, all of `service`. */
export function otlpJsonTrace(traceId: string, opts: { service?: string; children?: number } = {}): { body: string; spanIds: string[] } {
  const start = BigInt(Date.now()) * 1_000_000n;
  const n = 1 + (opts.children ?? 2);
  const spanIds = Array.from({ length: n }, (_, i) => `${traceId.slice(0, 8)}${(i + 1).toString(16).padStart(8, '0')}`);
  const body = JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: opts.service ?? 'test-svc' } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: spanIds.map((spanId, i) => ({
              traceId,
              spanId,
              ...(i > 0 ? { parentSpanId: spanIds[0] } : {}),
              name: i === 0 ? 'GET /checkout' : `child ${i}`,
              kind: i === 0 ? 2 : 3,
              startTimeUnixNano: String(start + BigInt(i) * 1_000_000n),
              endTimeUnixNano: String(start + BigInt(i) * 1_000_000n + 500_000n),
              attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }],
            })),
          },
        ],
      },
    ],
  });
  return { body, spanIds };
}

/** Log records with explicit timestamps under one resource (e.g. `k8s.namespace.name`), as OTLP/JSON. */
export function otlpJsonLogsAt(records: { body: string; timeUnixNano: bigint }[], resource: Record<string, string> = { 'service.name': 'test-svc' }): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: Object.entries(resource).map(([key, v]) => ({ key, value: { stringValue: v } })) },
        scopeLogs: [
          {
            scope: { name: 'test' },
            logRecords: records.map((r) => ({
              timeUnixNano: r.timeUnixNano.toString(),
              severityNumber: 9,
              severityText: 'INFO',
              body: { stringValue: r.body },
            })),
          },
        ],
      },
    ],
  });
}
