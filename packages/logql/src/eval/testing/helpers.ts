/**
 * Shared test helpers: run a query's pipeline on one line, and build entries.
 */
import type { LogQuery } from '../../ast.js';
import { parse } from '../../parser.js';
import { compilePipeline, type PipelineOutput } from '../pipeline.js';
import type { LogEntry } from '../types.js';

export const NOW_NS = 1_700_000_000_000_000_000n;

/** Runs the pipeline of `query` (a log query) on one line. */
export function runPipeline(query: string, line: string, labels: Record<string, string> = { job: 'test' }, metadata?: Record<string, string>): PipelineOutput | null {
  const q = parse(query) as LogQuery;
  const run = compilePipeline(q.pipeline, { nowNs: () => NOW_NS });
  return run({ ts: 1_000_000_000n, line, labels, ...(metadata ? { metadata } : {}) });
}

export const SECOND = 1_000_000_000n;

export function entry(tsSeconds: number, line: string, labels: Record<string, string>, metadata?: Record<string, string>): LogEntry {
  return { ts: BigInt(Math.round(tsSeconds * 1e6)) * 1000n, line, labels, ...(metadata ? { metadata } : {}) };
}
