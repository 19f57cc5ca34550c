/**
 * Label sets and the per-line label builder of a LogQL pipeline, with
 * Loki 3's categories: stream labels (the base, never modified in place),
 * structured metadata, and parsed labels (parsers, `label_format`), plus the
 * `__error__` / `__error_details__` pair kept outside the label set.
 *
 * Invariants (Loki's LabelsBuilder):
 * - Parsed beats structured metadata beats stream for the same name; a
 *   parser's key that a stream label or metadata already has gets the
 *   `_extracted` suffix, checked against the original stream labels even
 *   after a `drop`.
 * - Within one line the first parser to extract a key wins; later
 *   implicit extractions of it are skipped (Loki's "extracted" hint).
 * - Label sets are sorted by name; `Labels` values are immutable and their
 *   `key` is a collision-free identity (names and values cannot contain NUL
 *   in a way that makes two different sets share a key).
 */
import { compareUtf8 } from './go/utf8.js';
import { goQuote } from './go/strconv.js';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';
export const EXTRACTED_SUFFIX = '_extracted';

/** An immutable label set, sorted by name. */
export class Labels {
  private keyCache: string | undefined;
  private textCache: string | undefined;

  /** Prefer `Labels.from`: `pairs` must be sorted by name with unique names. */
  constructor(readonly pairs: ReadonlyArray<readonly [string, string]>) {}

  static readonly EMPTY = new Labels([]);

  static from(entries: Iterable<readonly [string, string]>): Labels {
    const pairs = [...entries].sort((a, b) => compareUtf8(a[0], b[0]));
    return new Labels(pairs);
  }

  static fromRecord(r: Readonly<Record<string, string>>): Labels {
    return Labels.from(Object.entries(r));
  }

  get size(): number {
    return this.pairs.length;
  }

  get(name: string): string | undefined {
    for (const [n, v] of this.pairs) if (n === name) return v;
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Identity for maps and equality. */
  get key(): string {
    if (this.keyCache === undefined) this.keyCache = this.pairs.map(([n, v]) => `${n}\u0000${v}`).join('\u0001');
    return this.keyCache;
  }

  /** Prometheus' text form `{a="b", c="d"}`, which Loki sorts streams by. */
  toString(): string {
    if (this.textCache === undefined) this.textCache = '{' + this.pairs.map(([n, v]) => `${n}=${goQuote(v)}`).join(', ') + '}';
    return this.textCache;
  }

  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [n, v] of this.pairs) out[n] = v;
    return out;
  }

  /** Only the named labels (Prometheus `by`). */
  keep(names: ReadonlySet<string>): Labels {
    return new Labels(this.pairs.filter(([n]) => names.has(n)));
  }

  /** Without the named labels (Prometheus `without`). */
  drop(names: ReadonlySet<string>): Labels {
    return new Labels(this.pairs.filter(([n]) => !names.has(n)));
  }

  with(name: string, value: string): Labels {
    return Labels.from([...this.pairs.filter(([n]) => n !== name), [name, value]]);
  }
}

/** Prometheus' labels.Compare: label by label, name then value; a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.pairs.length, b.pairs.length);
  for (let i = 0; i < n; i++) {
    const [an, av] = a.pairs[i] as readonly [string, string];
    const [bn, bv] = b.pairs[i] as readonly [string, string];
    if (an !== bn) return compareUtf8(an, bn);
    if (av !== bv) return compareUtf8(av, bv);
  }
  return a.pairs.length - b.pairs.length;
}

/** How extracted labels are grouped for a sample (Loki's GroupedLabels). */
export type Grouping = { mode: 'all' } | { mode: 'none' } | { mode: 'by' | 'without'; names: ReadonlySet<string> };

/** Where a label came from, in Loki's precedence order. */
type Category = 'meta' | 'parsed';

const EMPTY_MAP: ReadonlyMap<string, string> = new Map();
const EMPTY_SET: ReadonlySet<string> = new Set();
/** Label sets of unmodified streams, shared by every line of the stream. */
const baseLabelsCache = new WeakMap<ReadonlyMap<string, string>, Labels>();

/**
 * The mutable label state of one log line going through a pipeline. The
 * maps are allocated on first use: most lines of most queries never touch
 * some of them, and a builder is made per line.
 */
export class LabelsBuilder {
  /** Stream labels with non-empty values (Prometheus has no empty-valued labels). */
  private readonly base: ReadonlyMap<string, string>;
  private metaMap: Map<string, string> | undefined;
  private parsedMap: Map<string, string> | undefined;
  private deletedSet: Set<string> | undefined;
  private extractedSet: Set<string> | undefined;
  err = '';
  errDetails = '';

  constructor(stream: ReadonlyMap<string, string>, metadata?: Readonly<Record<string, string>>) {
    this.base = stream;
    if (metadata) {
      for (const [name0, value] of Object.entries(metadata).sort((a, b) => compareUtf8(a[0], b[0]))) {
        const name = this.base.has(name0) ? name0 + EXTRACTED_SUFFIX : name0;
        if (name === ERROR_LABEL) this.err = value;
        else if (name === ERROR_DETAILS_LABEL) this.errDetails = value;
        else this.set('meta', name, value);
      }
    }
  }

  private get meta(): ReadonlyMap<string, string> {
    return this.metaMap ?? EMPTY_MAP;
  }

  private get parsed(): ReadonlyMap<string, string> {
    return this.parsedMap ?? EMPTY_MAP;
  }

  private get deleted(): ReadonlySet<string> {
    return this.deletedSet ?? EMPTY_SET;
  }

  /** Whether the original stream labels have `name` (what decides `_extracted`). */
  baseHas(name: string): boolean {
    return this.base.has(name);
  }

  hasMeta(name: string): boolean {
    return this.meta.has(name);
  }

  /** Whether a parser already extracted `name` on this line. */
  wasExtracted(name: string): boolean {
    return this.extractedSet?.has(name) ?? false;
  }

  /** The current value of `name` (never the error labels). */
  get(name: string): string | undefined {
    const v = this.meta.get(name) ?? this.parsed.get(name);
    if (v !== undefined) return v;
    if (this.deleted.has(name)) return undefined;
    return this.base.get(name);
  }

  set(category: Category, name: string, value: string): void {
    if (category === 'parsed') {
      this.metaMap?.delete(name);
      (this.parsedMap ??= new Map()).set(name, value);
      (this.extractedSet ??= new Set()).add(name);
      return;
    }
    if (this.parsed.has(name)) return;
    (this.metaMap ??= new Map()).set(name, value);
  }

  /** A parser's extraction (or label_format's): parsed labels win over everything else. */
  setParsed(key: string, value: string): void {
    this.set('parsed', key, value);
  }

  /** The name a parser stores `key` under: `_extracted` on a clash with stream labels or metadata. */
  extractedName(key: string): string {
    return this.base.has(key) || this.meta.has(key) ? key + EXTRACTED_SUFFIX : key;
  }

  delete(name: string): void {
    this.metaMap?.delete(name);
    this.parsedMap?.delete(name);
    (this.deletedSet ??= new Set()).add(name);
  }

  setError(err: string, details?: string): void {
    this.err = err;
    if (details !== undefined) this.errDetails = details;
  }

  private unchanged(): boolean {
    return this.metaMap === undefined && this.parsedMap === undefined && this.deletedSet === undefined && this.err === '' && this.errDetails === '';
  }

  /** Every label, unsorted: stream (minus deleted and overridden), metadata, parsed, then the error labels. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [n, v] of this.base) {
      if (this.deleted.has(n) || this.meta.has(n) || this.parsed.has(n)) continue;
      out.push([n, v]);
    }
    for (const [n, v] of this.meta) if (!this.parsed.has(n)) out.push([n, v]);
    for (const e of this.parsed) out.push(e);
    if (this.err !== '') out.push([ERROR_LABEL, this.err]);
    if (this.errDetails !== '') out.push([ERROR_DETAILS_LABEL, this.errDetails]);
    return out;
  }

  /** The labels as a map (what templates see). */
  toMap(): Map<string, string> {
    return new Map(this.entries());
  }

  labels(): Labels {
    if (this.unchanged()) {
      let l = baseLabelsCache.get(this.base);
      if (!l) {
        l = Labels.from(this.base);
        baseLabelsCache.set(this.base, l);
      }
      return l;
    }
    return Labels.from(this.entries());
  }

  /** The structured-metadata and parsed parts of the final label set (Loki's categorised result). */
  categories(): { metadata: Record<string, string>; parsed: Record<string, string> } {
    const metadata: Record<string, string> = {};
    const parsed: Record<string, string> = {};
    for (const [n, v] of this.meta) if (!this.parsed.has(n)) metadata[n] = v;
    for (const [n, v] of this.parsed) parsed[n] = v;
    if (this.err !== '') parsed[ERROR_LABEL] = this.err;
    if (this.errDetails !== '') parsed[ERROR_DETAILS_LABEL] = this.errDetails;
    return { metadata, parsed };
  }

  /** The sample's labels under a range aggregation's grouping (Loki's GroupedLabels). */
  grouped(g: Grouping): Labels {
    // An error keeps every label, so the engine can report the series that failed.
    if (this.err !== '' || g.mode === 'all') return this.labels();
    if (g.mode === 'none') return Labels.EMPTY;
    const out: Array<[string, string]> = [];
    if (g.mode === 'by') {
      for (const name of g.names) {
        if (this.deleted.has(name)) continue;
        const v = this.meta.get(name) ?? this.parsed.get(name) ?? this.base.get(name);
        if (v !== undefined) out.push([name, v]);
      }
      return Labels.from(out);
    }
    for (const [n, v] of this.base) {
      if (this.deleted.has(n) || this.meta.has(n) || this.parsed.has(n) || g.names.has(n)) continue;
      out.push([n, v]);
    }
    for (const [n, v] of this.meta) if (!g.names.has(n) && !this.parsed.has(n)) out.push([n, v]);
    for (const [n, v] of this.parsed) if (!g.names.has(n)) out.push([n, v]);
    return Labels.from(out);
  }
}

/** Stream labels as Loki holds them: empty values are absent. */
export function streamLabelMap(labels: Readonly<Record<string, string>>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [n, v] of Object.entries(labels)) if (v !== '') m.set(n, v);
  return m;
}
