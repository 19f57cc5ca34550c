/**
 * The parser stages that turn log lines into labels: `| json` (implicit,
 * nested keys flattened with `_`, arrays skipped), `| json a="b.c[0]"`
 * (explicit JSON paths), `| regexp` (named groups), `| pattern` and
 * `| unpack` (Promtail's `pack` format, whose `_entry` replaces the line).
 * logfmt lives in ./logfmt.ts.
 *
 * Invariants (Loki): extracted keys are sanitised; a key that clashes with
 * a stream label or structured metadata gets `_extracted`; an implicit
 * parser never overwrites a key an earlier parser extracted on the same
 * line; a line that does not parse is kept with `__error__=JSONParserErr`
 * and the parser's message in `__error_details__`, and the labels found
 * before the error stay.
 */
import type { LabelExtraction } from '../ast.js';
import { EvaluationError } from './errors.js';
import { GoRegexp } from './go/regexp.js';
import { objectEach, unescapeJson, valueAtPath, type JsonValue, type PathElement } from './json-scan.js';
import type { LabelsBuilder } from './labels.js';
import { PatternMatcher } from './pattern.js';
import { sanitizeJsonPath, sanitizeLabelKey } from './sanitize.js';
import type { Stage } from './stage.js';

export const JSON_ERR = 'JSONParserErr';
const PACKED_ENTRY_KEY = '_entry';

/** Loki's unescapeJSONString: "" when the escapes are invalid; U+FFFD becomes a space. */
function jsonString(raw: string): string {
  const s = unescapeJson(raw);
  if (s === undefined) return '';
  return s.includes('\ufffd') ? s.replaceAll('\ufffd', ' ') : s;
}

function scalarValue(v: JsonValue): string {
  return v.type === 'string' ? jsonString(v.raw) : v.raw;
}

/** `| json`: every scalar, nested objects flattened with `_`. */
export function jsonStage(): Stage {
  return (s) => {
    const lb = s.lb;
    const prefix: string[] = [];
    const visit = (key: string, value: JsonValue): string | void => {
      if (value.type === 'object') {
        prefix.push(key);
        const err = objectEach(value.raw, 0, visit);
        prefix.pop();
        return err;
      }
      if (value.type !== 'string' && value.type !== 'number' && value.type !== 'boolean') return;
      let name: string;
      if (prefix.length === 0) {
        const k = sanitizeLabelKey(key, true);
        if (k === '') return;
        name = lb.extractedName(k);
      } else {
        name = sanitizeJsonPath([...prefix, key]);
        if (lb.baseHas(name) || lb.hasMeta(name)) name = sanitizeJsonPath([...prefix, key + '_extracted']);
      }
      if (name === '' || lb.wasExtracted(name)) return;
      lb.setParsed(name, scalarValue(value));
    };
    const err = objectEach(s.line, 0, visit);
    if (err !== undefined) lb.setError(JSON_ERR, err);
    return true;
  };
}

/** Parses Loki's JSON path syntax: `a.b[0]`, `a["b c"]`, `[0].x`. */
export function parseJsonPath(expr: string): PathElement[] {
  const out: PathElement[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new EvaluationError('invalid-query', `cannot parse JSON expression ${JSON.stringify(expr)}: ${why}; use fields, ["key"] and [index], e.g. "request.headers[\\"User-Agent\\"]" or "servers[0]"`);
  };
  const ws = () => {
    while (i < expr.length && /\s/.test(expr[i] as string)) i++;
  };
  let first = true;
  for (;;) {
    ws();
    if (i >= expr.length) break;
    const c = expr[i] as string;
    if (c === '[') {
      i++;
      ws();
      if (expr[i] === '"') {
        const close = expr.indexOf('"', i + 1);
        if (close < 0) fail('unterminated string');
        out.push(expr.slice(i + 1, close));
        i = close + 1;
      } else {
        const m = /^[0-9]+/.exec(expr.slice(i));
        if (!m) fail(`unexpected ${JSON.stringify(expr[i] ?? 'end')}`);
        out.push(Number((m as RegExpExecArray)[0]));
        i += (m as RegExpExecArray)[0].length;
      }
      ws();
      if (expr[i] !== ']') fail('missing ]');
      i++;
    } else {
      if (!first) {
        if (c !== '.') fail(`unexpected ${JSON.stringify(c)}`);
        i++;
        ws();
      }
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(i));
      if (!m) fail(`expected a field name at ${JSON.stringify(expr.slice(i, i + 10) || 'end')}`);
      out.push((m as RegExpExecArray)[0]);
      i += (m as RegExpExecArray)[0].length;
    }
    first = false;
  }
  if (out.length === 0) fail('empty expression');
  return out;
}

/** `| json a="x.y", b`: only the requested paths; every requested label ends up set. */
export function jsonExpressionStage(params: LabelExtraction[]): Stage {
  const paths = params.map((p) => ({ id: p.label, path: parseJsonPath(p.expression) }));
  return (s) => {
    const lb = s.lb;
    const line = s.line;
    if (line === '') return true;
    if (!'"{['.includes(line[0] as string)) {
      lb.setError(JSON_ERR);
      return true;
    }
    let matches = 0;
    for (const { id, path } of paths) {
      const v = valueAtPath(line, path);
      if (v === undefined) continue;
      if ('error' in v) {
        lb.setError(JSON_ERR, v.error);
        continue;
      }
      const key = lb.extractedName(id);
      lb.setParsed(key, v.type === 'null' ? '' : v.type === 'object' ? v.raw : jsonString(v.raw));
      matches++;
    }
    if (matches < paths.length) for (const { id } of paths) if (lb.get(id) === undefined) lb.setParsed(id, '');
    return true;
  };
}

/** `| regexp "(?P<name>...)"`: each named group becomes a label (unmatched groups ""). */
export function regexpStage(pattern: string): Stage {
  let re: GoRegexp;
  try {
    re = new GoRegexp(pattern);
  } catch (err) {
    throw new EvaluationError('invalid-query', `invalid regexp parser expression: ${err instanceof Error ? err.message : String(err)}`);
  }
  const names = re.groupNames.map((n) => (n === undefined ? undefined : sanitizeLabelKey(n, true)));
  if (!names.some((n) => n !== undefined && n !== '')) throw new EvaluationError('invalid-query', `regexp ${JSON.stringify(pattern)} needs at least one named capture group such as (?P<name>...)`);
  return (s) => {
    const m = re.findSubmatch(s.line);
    if (!m) return true;
    const lb = s.lb;
    m.forEach((value, i) => {
      const name = names[i];
      if (name === undefined || name === '') return;
      const key = lb.extractedName(name);
      if (lb.wasExtracted(key)) return;
      lb.setParsed(key, value ?? '');
    });
    return true;
  };
}

/** `| pattern "<ip> - <_> <status>"`. */
export function patternStage(pattern: string): Stage {
  const matcher = new PatternMatcher(pattern);
  if (matcher.names.length === 0) throw new EvaluationError('invalid-query', `pattern ${JSON.stringify(pattern)} needs at least one named capture such as <name>`);
  return (s) => {
    const lb = s.lb;
    const values = matcher.matches(s.line);
    values.forEach((value, i) => {
      const key = lb.extractedName(matcher.names[i] as string);
      if (lb.wasExtracted(key)) return;
      lb.setParsed(key, value);
    });
    return true;
  };
}

/** `| unpack`: string fields become labels and `_entry` the new line (labels only when `_entry` exists). */
export function unpackStage(): Stage {
  return (s) => {
    const line = s.line;
    const lb: LabelsBuilder = s.lb;
    if (line === '') return true;
    if (line[0] !== '{') {
      lb.setError(JSON_ERR, 'expecting json object(6), but it is not');
      return true;
    }
    let entry: string | undefined;
    const found: Array<[string, string]> = [];
    const err = objectEach(line, 0, (key, value) => {
      if (value.type !== 'string') return;
      if (key === PACKED_ENTRY_KEY) {
        const e = unescapeJson(value.raw);
        if (e === undefined) return 'Encountered an invalid escape sequence in a string';
        entry = e;
        return;
      }
      const k = lb.extractedName(key);
      if (lb.wasExtracted(k)) return;
      found.push([sanitizeLabelKey(k, true), jsonString(value.raw)]);
    });
    if (err !== undefined) {
      lb.setError(JSON_ERR, err);
      return true;
    }
    if (entry !== undefined) {
      for (const [k, v] of found) lb.setParsed(k, v);
      s.line = entry;
    }
    return true;
  };
}

