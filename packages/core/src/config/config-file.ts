/**
 * Reading YAML configuration with positions, and validating parts of it
 * against zod schemas so that every problem names the key path and the line
 * in the file where it is ("sinks.store.buffer.max_recods: unknown key
 * (line 12, column 7)"). Validation is pure: no I/O beyond reading the text.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';

export type ConfigPath = readonly (string | number)[];

export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly file: string | undefined;

  constructor(problems: ConfigProblem[], file?: string) {
    super(formatProblems(problems, file));
    this.name = 'ConfigError';
    this.problems = problems;
    this.file = file;
  }
}

function formatProblems(problems: ConfigProblem[], file?: string): string {
  const where = file ? `${file}: ` : '';
  return problems
    .map((p) => {
      const at = p.line !== undefined ? ` (line ${p.line}, column ${p.column ?? 1})` : '';
      return `${where}${p.path || '<root>'}: ${p.message}${at}`;
    })
    .join('\n');
}

/** A parsed config document that can say where any path is in the source text. */
export class ConfigSource {
  readonly value: unknown;
  readonly file: string | undefined;
  private readonly doc: Document | undefined;
  private readonly lines: LineCounter | undefined;

  private constructor(value: unknown, file?: string, doc?: Document, lines?: LineCounter) {
    this.value = value;
    this.file = file;
    this.doc = doc;
    this.lines = lines;
  }

  static fromText(text: string, file?: string): ConfigSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const pos = e.linePos?.[0];
          return { path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}`, ...(pos ? { line: pos.line, column: pos.col } : {}) };
        }),
        file,
      );
    }
    return new ConfigSource(doc.toJS() ?? {}, file, doc, lines);
  }

  static fromFile(file: string): ConfigSource {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ path: '', message: `cannot read config file: ${(err as Error).message}` }], file);
    }
    return ConfigSource.fromText(text, file);
  }

  static fromValue(value: unknown): ConfigSource {
    return new ConfigSource(value);
  }

  /**
   * Position of a path. With `key` set, the position of that key inside the
   * map at `path` (for "unknown key" problems, which belong to the key).
   */
  locate(path: ConfigPath, key?: string): { line: number; column: number } | undefined {
    if (!this.doc || !this.lines) return undefined;
    let node = this.doc.getIn(path, true) as Node | undefined;
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key)) node = pair.key;
    }
    // Fall back to the nearest ancestor that exists (a missing key is reported at its parent).
    for (let n = path.length; !node?.range && n > 0; n--) node = this.doc.getIn(path.slice(0, n - 1), true) as Node | undefined;
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** Validates the value at `path` with a schema; every issue is mapped to its line. */
  validate<T>(schema: z.ZodType<T>, value: unknown, path: ConfigPath): T {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const problems: ConfigProblem[] = [];
    for (const issue of result.error.issues) {
      const issuePath = [...path, ...(issue.path as (string | number)[])];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const pos = this.locate(issuePath, key);
          problems.push({ path: joinPath([...issuePath, key]), message: `unknown key "${key}"${suggest(key, schema, issue.path as (string | number)[])}`, ...pos });
        }
        continue;
      }
      problems.push({ path: joinPath(issuePath), message: issue.message, ...this.locate(issuePath) });
    }
    throw new ConfigError(problems, this.file);
  }
}

export function joinPath(path: ConfigPath): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

/** "did you mean" for a misspelled key, from the keys the schema knows at that path. */
function suggest(key: string, schema: z.ZodType, path: (string | number)[]): string {
  const known = knownKeys(schema, path);
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best ? `; did you mean "${best}"?` : '';
}

function knownKeys(schema: z.ZodType, path: (string | number)[]): string[] {
  let s: unknown = schema;
  for (const p of [...path, null]) {
    s = unwrap(s);
    const shape = (s as { shape?: Record<string, unknown> }).shape;
    if (p === null) return shape ? Object.keys(shape) : [];
    if (typeof p === 'number') s = (s as { element?: unknown }).element;
    else if (shape) s = shape[p];
    else s = (s as { def?: { valueType?: unknown } }).def?.valueType;
    if (s === undefined) return [];
  }
  return [];
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { innerType?: unknown; type?: string; in?: unknown } } | undefined;
  while (cur?.def?.innerType || cur?.def?.in) cur = (cur.def.innerType ?? cur.def.in) as typeof cur;
  return cur;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
