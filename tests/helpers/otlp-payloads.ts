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
