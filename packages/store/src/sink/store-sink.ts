/**
 * The `store` sink: writes batches to the store. The engine's queue driver
 * hands it everything pending at once, so concurrent ingest requests share
 * one insert (group commit) and each request is acknowledged when that
 * insert returns.
 */
import { z } from 'zod';
import { retryableError, type Batch, type ComponentDefinition, type Sink } from '@meshlog/core';
import type { LogStore } from '../log-store.js';

export const STORE_SERVICE = 'store';

const StoreSinkConfigSchema = z.object({}).strict();
type StoreSinkConfig = z.infer<typeof StoreSinkConfigSchema>;

export const storeSink: ComponentDefinition<StoreSinkConfig> = {
  kind: 'sink',
  type: 'store',
  description: 'the server store (embedded chDB or a ClickHouse cluster)',
  schema: StoreSinkConfigSchema,
  build: (_config, ctx) => {
    const store = ctx.services.get<LogStore>(STORE_SERVICE);
    if (!store) throw new Error(`sink ${ctx.id}: the store is only available in the server role`);
    return new StoreSink(store);
  },
};

class StoreSink implements Sink {
  readonly kind = 'sink' as const;
  constructor(private readonly store: LogStore) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async write(batches: Batch[]): Promise<void> {
    try {
      await this.store.insert(batches);
    } catch (err) {
      throw retryableError('store_unavailable', `store write failed: ${(err as Error).message}`, 1000, err);
    }
  }
}
