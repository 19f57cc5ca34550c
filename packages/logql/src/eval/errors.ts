/**
 * The one error type of evaluation. Each failure has a stable `code` (the
 * README lists them all, with the HTTP status Loki answers with) and a
 * message that names the problem and how to fix or narrow the query.
 *
 * Invariant: the evaluator throws nothing else for problems with the query,
 * its parameters, its size or the host's data; anything else that escapes
 * (an error thrown by the host's EntrySource) is passed through untouched.
 */

export const EvaluationCode = {
  /** The query does not validate, or a stage cannot be compiled (bad regex, JSON path, `ip()` pattern). */
  InvalidQuery: 'invalid-query',
  /** A `line_format`/`label_format` template does not parse. */
  InvalidTemplate: 'invalid-template',
  /** Start after end, a step of zero or less, a negative limit. */
  InvalidParams: 'invalid-params',
  /** A log query asked for as an instant query (Loki refuses these). */
  InstantLogQuery: 'instant-log-query',
  /** A metric series still carries `__error__`: the pipeline failed on some lines. */
  PipelineError: 'pipeline-error',
  /** More series than `maxSeries`. */
  SeriesLimit: 'series-limit',
  /** A log query's limit above `maxEntries`. */
  EntriesLimit: 'entries-limit',
  /** More steps than `maxSteps` (Loki's 11,000 points per series). */
  TooManySteps: 'too-many-steps',
  /** Vector matching found duplicates (many-to-many, or one-to-one with several matches). */
  VectorMatching: 'vector-matching',
  /** The EntrySource returned entries outside the requested order or range. */
  SourceContract: 'source-contract',
  /** The AbortSignal fired. */
  Aborted: 'aborted',
} as const;
export type EvaluationCode = (typeof EvaluationCode)[keyof typeof EvaluationCode];

/** The HTTP status each code maps to (what Loki answers; 499 is "client closed request"). */
export const EVALUATION_STATUS: Readonly<Record<EvaluationCode, number>> = {
  'invalid-query': 400,
  'invalid-template': 400,
  'invalid-params': 400,
  'instant-log-query': 400,
  'pipeline-error': 400,
  'series-limit': 400,
  'entries-limit': 400,
  'too-many-steps': 400,
  'vector-matching': 400,
  'source-contract': 500,
  aborted: 499,
};

export class EvaluationError extends Error {
  override readonly name = 'EvaluationError';
  readonly status: number;

  constructor(
    readonly code: EvaluationCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = EVALUATION_STATUS[code];
  }
}
