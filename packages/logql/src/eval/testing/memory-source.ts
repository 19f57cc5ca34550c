/**
 * An in-memory EntrySource for tests (and for hosts that already hold
 * their entries): applies the selector with Prometheus matcher semantics,
 * the time range, the direction, the pushed-down line filters and the
 * limit, and yields batches of a configurable size.
 *
 * Invariant: it honours the EntrySource contract exactly, so tests that use
 * it exercise the evaluator, not a lenient stand-in.
 */
import type { LineFilter, StreamSelector } from '../../ast.js';
import { compileMatcher } from '../label-filter.js';
import { compileLineFilter } from '../line-filter.js';
import type { EntryRequest, EntrySource, LogEntry } from '../types.js';

export interface MemorySourceOptions {
  /** Entries per batch (default: all in one batch). A function gets the batch index. */
  batchSize?: number | ((index: number) => number);
  /** Which line filters the source applies itself (default: none). */
  appliesLineFilter?: (f: LineFilter) => boolean;
  /** Breaks the contract on purpose: claims filters but ignores them (to prove the evaluator does not re-apply them). */
  ignorePushedFilters?: boolean;
}

function selects(selector: StreamSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.matchers.every((m) => compileMatcher(m.op, m.value)(labels[m.name] ?? ''));
}

export class MemorySource implements EntrySource {
  /** Every request received, for assertions about pushdown and ranges. */
  readonly requests: EntryRequest[] = [];
  /** How many batches were pulled (to check early stopping). */
  batchesRead = 0;
  readonly appliesLineFilter?: (f: LineFilter) => boolean;

  constructor(
    private readonly all: readonly LogEntry[],
    private readonly options: MemorySourceOptions = {},
  ) {
    if (options.appliesLineFilter) this.appliesLineFilter = options.appliesLineFilter;
  }

  async *entries(req: EntryRequest): AsyncIterable<LogEntry[]> {
    this.requests.push(req);
    const filters = this.options.ignorePushedFilters ? [] : req.lineFilters.map(compileLineFilter);
    const picked = this.all
      .filter((e) => e.ts >= req.startNs && e.ts < req.endNs && selects(req.selector, e.labels) && filters.every((f) => f(e.line)))
      .map((e, i) => [e, i] as const)
      // Stable by timestamp; ties keep insertion order in both directions' own sense.
      .sort((a, b) => (a[0].ts === b[0].ts ? a[1] - b[1] : a[0].ts < b[0].ts ? -1 : 1))
      .map(([e]) => e);
    if (req.direction === 'backward') picked.reverse();
    const limited = req.limit !== undefined ? picked.slice(0, req.limit) : picked;
    let i = 0;
    let batch = 0;
    while (i < limited.length) {
      const size = typeof this.options.batchSize === 'function' ? this.options.batchSize(batch) : (this.options.batchSize ?? limited.length);
      const n = Math.max(1, size);
      this.batchesRead++;
      yield limited.slice(i, i + n);
      await Promise.resolve();
      i += n;
      batch++;
    }
  }
}
