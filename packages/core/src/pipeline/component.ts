/**
 * The component contract: what a source, transform or sink is, and what the
 * engine gives it. A component is declared by a `ComponentDefinition` (its
 * type name, strict config schema and a build function); validation is pure,
 * building may do I/O, and the lifecycle is build -> start -> stop, with stop
 * safe before start and safe twice.
 */
import type { z } from 'zod';
import type { Batch } from '../model/log-record.js';
import type { ComponentMetrics } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';

export type ComponentKind = 'source' | 'transform' | 'sink';

export interface Lifecycle {
  start(): Promise<void>;
  /** Idempotent; safe before start. */
  stop(): Promise<void>;
}

export interface EmitOptions {
  /**
   * How long to wait for queue space when a sink's queue is full and set to
   * `block`. Request/response sources pass a short deadline and answer
   * 429 with Retry-After; pull sources (files) wait indefinitely.
   */
  maxWaitMs?: number;
}

/**
 * Hands a batch to the pipeline. Resolves when every sink it reaches has
 * made it durable (or discarded it by configuration, counted); rejects with a
 * `PipelineError` otherwise. This is the end-to-end acknowledgement.
 */
export type Emit = (batch: Batch, opts?: EmitOptions) => Promise<void>;

export interface Source extends Lifecycle {
  readonly kind: 'source';
}

export interface Transform {
  readonly kind: 'transform';
  /**
   * Returns the batch (possibly changed), several batches, or null when
   * everything was filtered. Synchronous: it runs inside the source's `emit`.
   */
  process(batch: Batch): Batch | Batch[] | null;
  /**
   * Stateful transforms only (reassembling lines split across records):
   * hands back records held from earlier batches. The engine calls
   * `flush(false)` every `flushIntervalMs` while running (return what has
   * waited too long) and `flush(true)` once on stop, after the sources have
   * stopped and before the sink queues drain (return everything). Records a
   * transform holds were acknowledged to their source with the batch they
   * came in; the transform keeps that window small and bounded.
   */
  flush?(final: boolean): Batch[];
  /** How often the engine calls `flush(false)`; without it, only on stop. */
  readonly flushIntervalMs?: number;
  /**
   * How many records of the last `process` call the transform accounted for
   * itself: merged into another record, held for a later batch, or discarded
   * and counted under its own reason. The engine counts the rest of any
   * shortfall between records in and out as discarded `filtered`.
   */
  selfAccounted?(): number;
}

export interface Sink extends Lifecycle {
  readonly kind: 'sink';
  /**
   * Makes the batches durable at the destination. Called by the engine's
   * queue driver with everything pending (group commit), never concurrently
   * unless the sink declares `concurrency > 1`. Throw a `PipelineError` to
   * say whether a retry could help.
   */
  write(batches: Batch[]): Promise<void>;
}

export type Component = Source | Transform | Sink;

/** Named services the host role offers to components (an HTTP router, the store, ...). */
export interface ServiceLookup {
  get<T>(name: string): T | undefined;
}

export interface BuildContext {
  id: string;
  dataDir: string;
  logger: Logger;
  metrics: ComponentMetrics;
  services: ServiceLookup;
  /** Present for sources only. */
  emit: Emit;
}

export interface ComponentDefinition<C = unknown> {
  kind: ComponentKind;
  /** The `type:` value in the config: a protocol noun for sources and sinks, a verb for transforms. */
  type: string;
  description: string;
  /** Strict schema of the component's own keys (everything but `type`, `inputs`, `buffer`). */
  schema: z.ZodType<C>;
  build(config: C, ctx: BuildContext): Component | Promise<Component>;
}

/**
 * A definition of any config type. The config type is erased here because a
 * registry holds many; each definition's own schema checks its config before
 * `build` ever sees it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyComponentDefinition = ComponentDefinition<any>;

/** The explicit registry of component types a role offers. */
export interface ComponentRegistry {
  sources: Record<string, AnyComponentDefinition>;
  transforms: Record<string, AnyComponentDefinition>;
  sinks: Record<string, AnyComponentDefinition>;
}
