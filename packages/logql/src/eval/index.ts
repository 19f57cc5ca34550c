/**
 * The LogQL evaluator: runs any LogQL query (log or metric) over entries a
 * host streams to it, with Loki 3's semantics, and returns Loki's query API
 * result. Pure: no I/O of its own, no Node built-ins.
 */
export { evaluate, defaultStepMs, DEFAULT_MAX_SERIES, DEFAULT_MAX_STEPS } from './evaluate.js';
export { DEFAULT_MAX_ENTRIES } from './log-query.js';
export { compilePipeline } from './pipeline.js';
export type { PipelineOutput } from './pipeline.js';
export { EvaluationError, EvaluationCode, EVALUATION_STATUS } from './errors.js';
export type { StageOptions } from './stage.js';
export type {
  EntryRequest,
  EntrySource,
  EvaluateOptions,
  EvaluateParams,
  LogEntry,
  MatrixResult,
  QueryResult,
  ScalarResult,
  StreamsResult,
  VectorResult,
} from './types.js';
