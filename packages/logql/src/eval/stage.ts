/**
 * The shape every compiled pipeline stage shares: a function over the
 * state of one log line (its timestamp, current text and labels) that may
 * rewrite the line or the labels and answers whether the line goes on.
 */
import type { LabelsBuilder } from './labels.js';

export interface LineState {
  /** Nanoseconds since the Unix epoch. */
  readonly ts: bigint;
  /** The current line; stages such as line_format, unpack and decolorize replace it. */
  line: string;
  readonly lb: LabelsBuilder;
}

/** Returns false to drop the line. */
export type Stage = (s: LineState) => boolean;

/** Context stages need beyond the line: the clock `now` reads. */
export interface StageOptions {
  /** Current time in nanoseconds, for the `now` template function (default: the system clock). */
  nowNs?: () => bigint;
}
