/**
 * Loki stream labels: parsing the protobuf push's label text
 * (`{app="x", namespace="y"}`) and validating a label set the way Loki's
 * distributor does before it accepts a stream.
 *
 * The text is parsed with the LogQL stream-selector parser (it is the same
 * grammar); only `=` matchers make sense in a label set. Parsed texts are
 * cached, as Loki caches them: senders repeat the same few label sets in
 * every request. Cached values are frozen pairs, never resource objects,
 * because records' attribute maps may be changed in place downstream.
 *
 * Invariants: `parseLabelText` never throws; a bad label set comes back as
 * a `problem` message that quotes the labels and says what is wrong.
 */
import { ParseError, parseSelector } from '@meshlog/logql';

export type LabelPairs = readonly (readonly [string, string])[];

export interface LabelLimits {
  maxLabelNamesPerSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
}

export type LabelResult = { pairs: LabelPairs; problem?: undefined } | { pairs?: undefined; problem: string };

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CACHE_MAX = 10_000;
/** Label texts longer than this are not cached (they are rare, and they would pin memory). */
const CACHE_MAX_TEXT = 4096;

export class LabelParser {
  private readonly cache = new Map<string, LabelResult>();

  constructor(private readonly limits: LabelLimits) {}

  /** The labels of a protobuf stream, from their text form. */
  parseText(text: string): LabelResult {
    const hit = this.cache.get(text);
    if (hit) return hit;
    const result = this.validate(text, parseText(text));
    if (text.length <= CACHE_MAX_TEXT) {
      // Dropping everything when full keeps this O(1) and bounded; a sender's
      // working set of label sets refills it within one request.
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(text, Object.freeze(result));
    }
    return result;
  }

  /** The labels of a JSON stream (`"stream": {"app": "x"}`), already split into pairs. */
  fromObject(labels: Record<string, string>): LabelResult {
    const pairs: [string, string][] = [];
    for (const name of Object.keys(labels)) {
      if (!LABEL_NAME.test(name)) return { problem: `error parsing labels ${quoteLabels(labels)}: invalid label name ${JSON.stringify(name)} (expected [A-Za-z_][A-Za-z0-9_]*)` };
      pairs.push([name, labels[name]!]);
    }
    return this.validate(quoteLabels(labels), { pairs });
  }

  private validate(fullText: string, parsed: LabelResult): LabelResult {
    if (parsed.problem !== undefined) return parsed;
    const text = abbreviate(fullText);
    // An empty value means "no such label" in Prometheus and Loki alike.
    const pairs = parsed.pairs.filter((p) => p[1] !== '');
    if (pairs.length === 0) return { problem: `stream ${text}: at least one label pair with a non-empty value is required per stream` };
    const l = this.limits;
    if (pairs.length > l.maxLabelNamesPerSeries) return { problem: `stream ${text} has ${pairs.length} label names; limit ${l.maxLabelNamesPerSeries} (max_label_names_per_series)` };
    const seen = new Set<string>();
    for (const [name, value] of pairs) {
      if (seen.has(name)) return { problem: `stream ${text} has duplicate label name ${JSON.stringify(name)}` };
      seen.add(name);
      if (name.length > l.maxLabelNameLength) return { problem: `stream ${text}: label name ${JSON.stringify(name.slice(0, 40) + '…')} is longer than ${l.maxLabelNameLength} characters (max_label_name_length)` };
      if (value.length > l.maxLabelValueLength) return { problem: `stream ${text}: value of label ${JSON.stringify(name)} is longer than ${l.maxLabelValueLength} characters (max_label_value_length)` };
    }
    return { pairs: Object.freeze(pairs.map((p) => Object.freeze([p[0], p[1]] as const))) };
  }
}

function parseText(text: string): LabelResult {
  let selector;
  try {
    selector = parseSelector(text);
  } catch (err) {
    if (err instanceof ParseError) return { problem: `error parsing labels ${abbreviate(text)}: ${err.message}` };
    throw err;
  }
  const pairs: [string, string][] = [];
  for (const m of selector.matchers) {
    if (m.op !== '=') return { problem: `error parsing labels ${abbreviate(text)}: label ${JSON.stringify(m.name)} uses ${m.op}; a stream's labels are name="value" pairs` };
    pairs.push([m.name, m.value]);
  }
  return { pairs };
}

function quoteLabels(labels: Record<string, string>): string {
  return abbreviate(`{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`);
}

/** Label sets quoted in errors are cut short: a hostile sender's megabyte of labels is not echoed back. */
function abbreviate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
