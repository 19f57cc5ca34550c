/**
 * The plumbing of metric evaluation: the step clock (which instants a
 * query is evaluated at), the pull-based step evaluator interface every
 * metric operator implements (one vector per step, in order), and the
 * sample stream that turns the host's batches of entries into samples,
 * lazily, checking the host's contract as it goes.
 *
 * Invariants: a step evaluator yields exactly `clock.count` vectors;
 * samples come out in non-decreasing timestamp order or the stream throws
 * EvaluationError('source-contract'); nothing is read from the host before
 * a step needs it, so memory holds one window, not the whole range.
 */
import { EvaluationError } from './errors.js';
import type { Labels } from './labels.js';
import type { Sample, SampleExtractor } from './pipeline.js';
import type { LogEntry } from './types.js';

export const NS_PER_MS = 1_000_000n;

/** The instants of a query: `start + i*step` for `i < count` (one step at `start` for instant queries). */
export class StepClock {
  readonly count: number;

  constructor(
    readonly startNs: bigint,
    readonly endNs: bigint,
    /** 0 for instant queries. */
    readonly stepNs: bigint,
  ) {
    this.count = stepNs === 0n ? 1 : Number((endNs - startNs) / stepNs) + 1;
  }

  at(i: number): bigint {
    return this.startNs + BigInt(i) * this.stepNs;
  }
}

export interface StepSample {
  labels: Labels;
  value: number;
}

export interface StepVector {
  /** The step's instant, milliseconds. */
  tsMs: number;
  samples: StepSample[];
}

export interface StepEvaluator {
  /** The next step's vector; undefined after the last step. */
  next(): Promise<StepVector | undefined>;
  /** Releases the host iterators; safe to call twice. */
  close(): Promise<void>;
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EvaluationError('aborted', 'the query was cancelled before it finished');
}

/** Samples of one range aggregation, pulled from the host batch by batch. */
export class SampleStream {
  private iterator: AsyncIterator<LogEntry[]> | undefined;
  private batch: Sample[] = [];
  private pos = 0;
  private done = false;
  private lastTs: bigint | undefined;

  constructor(
    /** Called on the first read, so a query that fails before reading never opens a host cursor. */
    private readonly open: () => AsyncIterable<LogEntry[]>,
    private readonly extract: SampleExtractor,
    private readonly startNs: bigint,
    private readonly endNs: bigint,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** The next sample without consuming it. */
  async peek(): Promise<Sample | undefined> {
    while (this.pos >= this.batch.length) {
      if (this.done) return undefined;
      checkAborted(this.signal);
      this.iterator ??= this.open()[Symbol.asyncIterator]();
      const r = await this.iterator.next();
      checkAborted(this.signal);
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.batch = [];
      this.pos = 0;
      for (const entry of r.value) {
        if (entry.ts < this.startNs || entry.ts >= this.endNs) {
          throw new EvaluationError('source-contract', `the entry source returned an entry at ${entry.ts}ns, outside the requested range [${this.startNs}, ${this.endNs}); it must return only entries in the range`);
        }
        if (this.lastTs !== undefined && entry.ts < this.lastTs) {
          throw new EvaluationError('source-contract', `the entry source returned entries out of order (${entry.ts}ns after ${this.lastTs}ns); metric queries need ascending timestamps (direction "forward")`);
        }
        this.lastTs = entry.ts;
        const s = this.extract(entry);
        if (s) this.batch.push(s);
      }
    }
    return this.batch[this.pos];
  }

  shift(): void {
    this.pos++;
  }

  async close(): Promise<void> {
    const it = this.iterator;
    this.iterator = undefined;
    this.done = true;
    if (it?.return) await it.return();
  }
}
