/**
 * Log queries (`{selector} | pipeline`): streams the host's entries through
 * the pipeline, groups kept lines into streams by their labels after the
 * pipeline, and stops reading as soon as `limit` lines are kept.
 *
 * Invariants (Loki's readStreams): entries are taken in the requested
 * direction, across streams; with `interval`, a line is kept only if it is
 * at least that far from the last kept one; streams are sorted by their
 * label text and each stream's values stay in the requested direction.
 * Line filters at the head of the pipeline go to the host when it says it
 * applies them, and are then not applied again.
 */
import type { LineFilter, LogQuery, PipelineStage } from '../ast.js';
import { EvaluationError } from './errors.js';
import { compareUtf8 } from './go/utf8.js';
import type { Labels } from './labels.js';
import { compileStages, runStages } from './pipeline.js';
import type { StageOptions } from './stage.js';
import { checkAborted } from './steps.js';
import type { EntrySource, EvaluateOptions, EvaluateParams, StreamsResult } from './types.js';

/** Splits the head line filters the host applies from the stages the evaluator runs. */
export function splitPushdown(pipeline: readonly PipelineStage[], source: EntrySource): { pushed: LineFilter[]; rest: PipelineStage[] } {
  const pushed: LineFilter[] = [];
  const kept: PipelineStage[] = [];
  let i = 0;
  for (; i < pipeline.length; i++) {
    const s = pipeline[i] as PipelineStage;
    if (s.kind !== 'LineFilter') break;
    // Head filters all test the original line, so any subset can move to the host.
    if (source.appliesLineFilter?.(s) === true) pushed.push(s);
    else kept.push(s);
  }
  return { pushed, rest: [...kept, ...pipeline.slice(i)] };
}

export const DEFAULT_MAX_ENTRIES = 5000;

export async function evaluateLogQuery(query: LogQuery, params: EvaluateParams, source: EntrySource, opts: EvaluateOptions): Promise<StreamsResult> {
  const { limit, direction } = params;
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isInteger(limit) || limit < 0) throw new EvaluationError('invalid-params', `limit must be a non-negative integer, got ${limit}`);
  if (limit > maxEntries) {
    throw new EvaluationError('entries-limit', `max entries limit per query exceeded, limit > max_entries_limit (${limit} > ${maxEntries}); lower the limit or narrow the time range and page through the results`);
  }
  if (params.startNs > params.endNs) throw new EvaluationError('invalid-params', 'the start of the query range must not be after its end');
  const stageOpts: StageOptions = opts.nowNs ? { nowNs: opts.nowNs } : {};
  const { pushed, rest } = splitPushdown(query.pipeline, source);
  const stage = compileStages(rest, stageOpts);
  const intervalNs = params.intervalMs ? BigInt(Math.round(params.intervalMs * 1e6)) : 0n;
  const streams = new Map<string, { labels: Labels; values: Array<[string, string]> }>();
  if (limit === 0) return { resultType: 'streams', result: [] };
  const signal = opts.signal;
  checkAborted(signal);
  const entries = source.entries({
    selector: query.selector,
    lineFilters: pushed,
    pipeline: rest,
    startNs: params.startNs,
    endNs: params.endNs,
    direction,
    ...(rest.length === 0 && intervalNs === 0n ? { limit } : {}),
    ...(signal ? { signal } : {}),
  });
  let kept = 0;
  let lastTs: bigint | undefined;
  let lastKept: bigint | undefined;
  read: for await (const batch of entries) {
    checkAborted(signal);
    for (const entry of batch) {
      if (entry.ts < params.startNs || entry.ts >= params.endNs) {
        throw new EvaluationError('source-contract', `the entry source returned an entry at ${entry.ts}ns, outside the requested range [${params.startNs}, ${params.endNs}); it must return only entries in the range`);
      }
      if (lastTs !== undefined && (direction === 'forward' ? entry.ts < lastTs : entry.ts > lastTs)) {
        throw new EvaluationError('source-contract', `the entry source returned entries out of ${direction} order (${entry.ts}ns after ${lastTs}ns)`);
      }
      lastTs = entry.ts;
      if (intervalNs > 0n && lastKept !== undefined) {
        const far = direction === 'forward' ? entry.ts >= lastKept + intervalNs : entry.ts <= lastKept - intervalNs;
        if (!far) continue;
      }
      const s = runStages(stage, entry);
      if (!s) continue;
      const labels = s.lb.labels();
      let stream = streams.get(labels.key);
      if (!stream) {
        stream = { labels, values: [] };
        streams.set(labels.key, stream);
      }
      stream.values.push([entry.ts.toString(), s.line]);
      lastKept = entry.ts;
      if (++kept >= limit) break read;
    }
  }
  const result = [...streams.values()].sort((a, b) => compareUtf8(a.labels.toString(), b.labels.toString()));
  return { resultType: 'streams', result: result.map((s) => ({ stream: s.labels.toRecord(), values: s.values })) };
}

