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
