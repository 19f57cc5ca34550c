/**
 * Compiles a LogQL pipeline (the stages after a stream selector) into a
 * function over log entries, and a range aggregation's pipeline into a
 * sample extractor (the value counted, summed or unwrapped from each line,
 * with the labels of its series).
 *
 * Invariants: stages run left to right and the first one that drops a
 * line ends it; compiling validates everything that can be checked before
 * seeing data (regexes, templates, JSON paths, ip() patterns) and throws
 * EvaluationError, so a compiled pipeline never throws on bad input lines,
 * it marks them with `__error__` instead.
 */
import type { PipelineStage, RangeAggregation, Unwrap } from '../ast.js';
import { EvaluationError } from './errors.js';
import { decolorizeStage, dropStage, keepStage, labelFormatStage, lineFormatStage } from './formatters.js';
import { durationSeconds, parseGoDuration, parseHumanBytes } from './go/units.js';
import { parseGoFloat } from './go/strconv.js';
import { utf8ByteLength } from './go/utf8.js';
import { compileLabelPredicate } from './label-filter.js';
import { LabelsBuilder, streamLabelMap, type Grouping, type Labels } from './labels.js';
import { compileLineFilter } from './line-filter.js';
import { logfmtExpressionStage, logfmtStage } from './logfmt.js';
import { jsonExpressionStage, jsonStage, patternStage, regexpStage, unpackStage } from './parsers.js';
import type { LineState, Stage, StageOptions } from './stage.js';
import type { LogEntry } from './types.js';

export const SAMPLE_EXTRACTION_ERR = 'SampleExtractionErr';

function compileStage(stage: PipelineStage, opts: StageOptions): Stage {
  switch (stage.kind) {
    case 'LineFilter': {
      const pred = compileLineFilter(stage);
      return (s) => pred(s.line);
    }
    case 'JsonParser':
      return stage.params.length > 0 ? jsonExpressionStage(stage.params) : jsonStage();
    case 'LogfmtParser':
      return stage.params.length > 0 ? logfmtExpressionStage(stage.params, stage.strict) : logfmtStage(stage.strict, stage.keepEmpty);
    case 'RegexpParser':
      return regexpStage(stage.regex);
    case 'PatternParser':
      return patternStage(stage.pattern);
    case 'Unpack':
      return unpackStage();
    case 'Decolorize':
      return decolorizeStage();
    case 'LineFormat':
      return lineFormatStage(stage.template, opts);
    case 'LabelFormat':
      return labelFormatStage(stage, opts);
    case 'Drop':
      return dropStage(stage);
    case 'Keep':
      return keepStage(stage);
    case 'LabelFilter': {
      const pred = compileLabelPredicate(stage.filter);
      return (s) => pred(s.lb);
    }
    case 'Unwrap':
      throw new EvaluationError('invalid-query', '| unwrap is only valid inside a range aggregation such as sum_over_time({...} | unwrap latency [5m])');
  }
}

/** Compiles stages into one function; false drops the line. */
export function compileStages(stages: readonly PipelineStage[], opts: StageOptions = {}): Stage {
  const compiled = stages.map((s) => compileStage(s, opts));
  if (compiled.length === 0) return () => true;
  if (compiled.length === 1) return compiled[0] as Stage;
  return (s) => {
    for (const st of compiled) if (!st(s)) return false;
    return true;
  };
}

const baseCache = new WeakMap<object, Map<string, string>>();

/** The stream labels of an entry as a map (cached per labels object, which hosts usually share per stream). */
function baseOf(entry: LogEntry): Map<string, string> {
  let m = baseCache.get(entry.labels);
  if (!m) {
    m = streamLabelMap(entry.labels);
    baseCache.set(entry.labels, m);
  }
  return m;
}

/** Runs `stage` on an entry; undefined when the line is dropped. */
export function runStages(stage: Stage, entry: LogEntry): LineState | undefined {
  const s: LineState = { ts: entry.ts, line: entry.line, lb: new LabelsBuilder(baseOf(entry), entry.metadata) };
  return stage(s) ? s : undefined;
}

/** What a pipeline makes of one entry. */
export interface PipelineOutput {
  line: string;
  /** Every label after the pipeline (stream, structured metadata, parsed, `__error__`), which is what Loki groups streams by. */
  labels: Record<string, string>;
  /** The structured-metadata part of `labels`. */
  metadata: Record<string, string>;
  /** The parsed part of `labels` (parsers, label_format, error labels). */
  parsed: Record<string, string>;
}

/**
 * Compiles pipeline stages (without `| unwrap`) into a function from an
 * entry to its output, or null when a stage drops it. Throws
 * EvaluationError when a stage cannot be compiled.
 */
export function compilePipeline(stages: readonly PipelineStage[], opts: StageOptions = {}): (entry: LogEntry) => PipelineOutput | null {
  const stage = compileStages(stages, opts);
  return (entry) => {
    const s = runStages(stage, entry);
    if (!s) return null;
    return { line: s.line, labels: s.lb.labels().toRecord(), ...s.lb.categories() };
  };
}

/** One sample of a range aggregation. */
export interface Sample {
  ts: bigint;
  value: number;
  labels: Labels;
}

export type SampleExtractor = (entry: LogEntry) => Sample | undefined;

const PARSERS = new Set(['LogfmtParser', 'JsonParser', 'RegexpParser', 'PatternParser', 'Unpack', 'LineFilter']);

/**
 * Loki drops a `line_format` from a metric query when nothing after it
 * reads the line (no parser, no line filter) and the aggregation does not
 * measure bytes; we do the same, so results (and template errors) match.
 */
function withoutUnusedLineFormat(stages: readonly PipelineStage[], op: RangeAggregation['op']): PipelineStage[] {
  if (op === 'bytes_over_time' || op === 'bytes_rate') return [...stages];
  return stages.filter((s, i) => s.kind !== 'LineFormat' || stages.slice(i + 1).some((t) => PARSERS.has(t.kind)));
}

function convertUnwrapped(u: Unwrap): (v: string) => { ok: true; value: number } | { ok: false; error: string } {
  switch (u.conversion) {
    case 'bytes':
      return (v) => {
        const r = parseHumanBytes(v);
        return r.ok ? { ok: true, value: r.bytes } : r;
      };
    case 'duration':
    case 'duration_seconds':
      return (v) => {
        const r = parseGoDuration(v);
        return r.ok ? { ok: true, value: durationSeconds(r.ns) } : r;
      };
    default:
      return parseGoFloat;
  }
}

/**
 * The sample extractor of a range aggregation, for the stages that remain
 * after the host's pushed-down line filters. Unwrapped samples drop the
 * unwrapped label from their series (or keep only `by` labels); lines
 * without the label, or with an empty value, give no sample.
 */
export function compileExtractor(agg: RangeAggregation, stages: readonly PipelineStage[], opts: StageOptions = {}): SampleExtractor {
  const unwrapAt = stages.findIndex((s) => s.kind === 'Unwrap');
  const pre = withoutUnusedLineFormat(unwrapAt < 0 ? stages : stages.slice(0, unwrapAt), agg.op);
  const stage = compileStages(pre, opts);
  if (unwrapAt < 0) {
    const grouping: Grouping = agg.op === 'absent_over_time' ? { mode: 'none' } : { mode: 'all' };
    const bytes = agg.op === 'bytes_over_time' || agg.op === 'bytes_rate';
    return (entry) => {
      const s = runStages(stage, entry);
      if (!s) return undefined;
      return { ts: entry.ts, value: bytes ? utf8ByteLength(s.line) : 1, labels: s.lb.grouped(grouping) };
    };
  }
  const unwrap = stages[unwrapAt] as Unwrap;
  const post = compileStages(stages.slice(unwrapAt + 1), opts);
  const convert = convertUnwrapped(unwrap);
  const g = agg.grouping;
  let grouping: Grouping;
  if (g && !g.without && g.labels.length === 0) grouping = { mode: 'none' };
  else if (!g || g.without) grouping = { mode: 'without', names: new Set([...(g?.labels ?? []), unwrap.label]) };
  else grouping = { mode: 'by', names: new Set(g.labels) };
  return (entry) => {
    const s = runStages(stage, entry);
    if (!s) return undefined;
    const raw = s.lb.get(unwrap.label);
    if (raw === undefined || raw === '') return undefined;
    let value = 0;
    const r = convert(raw);
    if (r.ok) value = r.value;
    else s.lb.setError(SAMPLE_EXTRACTION_ERR, r.error);
    if (!post(s)) return undefined;
    return { ts: entry.ts, value, labels: s.lb.grouped(grouping) };
  };
}
