/**
 * The `stdout` sink: writes each record as one JSON line. For debugging a
 * pipeline and for the agent's dry runs; it is "durable" once written to the
 * stream.
 */
import { z } from 'zod';
import type { Batch, ComponentDefinition, Sink } from '@meshlog/core';

const StdoutSinkConfigSchema = z.object({ encoding: z.enum(['json', 'text']).default('json') }).strict();
type StdoutSinkConfig = z.infer<typeof StdoutSinkConfigSchema>;

export const stdoutSink: ComponentDefinition<StdoutSinkConfig> = {
  kind: 'sink',
  type: 'stdout',
  description: 'one JSON (or text) line per record on standard output',
  schema: StdoutSinkConfigSchema,
  build: (config) => new StdoutSink(config),
};

class StdoutSink implements Sink {
  readonly kind = 'sink' as const;
  constructor(private readonly config: StdoutSinkConfig) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async write(batches: Batch[]): Promise<void> {
    const lines: string[] = [];
    for (const b of batches) {
      if (b.kind !== 'logs') continue;
      for (const r of b.records) {
        lines.push(
          this.config.encoding === 'text'
            ? r.body
            : JSON.stringify({ ...r, tenant: b.tenant, timeUnixNano: String(r.timeUnixNano), observedTimeUnixNano: String(r.observedTimeUnixNano) }),
        );
      }
    }
    if (lines.length === 0) return;
    await new Promise<void>((resolve, reject) => process.stdout.write(lines.join('\n') + '\n', (err) => (err ? reject(err) : resolve())));
  }
}
