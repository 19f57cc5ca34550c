/**
 * Application logs: JSON objects and logfmt (`key=value key2="quoted value"`).
 *
 * logfmt follows go-logfmt (what logrus, go-kit and slog's text handler
 * write): a key is a run of characters above space other than `=` and `"`;
 * a value is bare (up to the next space) or double-quoted with JSON-style
 * escapes; a key without `=` is a flag with an empty value. A single linear
 * scan, no regular expressions.
 */
import type { LogRecord } from '@meshlog/core';
import { assignField, assignObject, type ParseEnv } from '../fields.js';

/** JSON.parse, or undefined for anything that is not a JSON object. */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function applyJsonObject(obj: Record<string, unknown>, record: LogRecord, env: ParseEnv): void {
  assignObject(record, env, obj, '', 0);
  env.trace.applyTo(record);
}

function isKeyChar(c: number): boolean {
  return c > 32 && c !== 61 /* = */ && c !== 34 /* " */ && c !== 127;
}

/** Decodes a quoted logfmt value starting at `start` (the opening quote). Returns [value, end]. */
function quoted(line: string, start: number): [string, number] {
  let i = start + 1;
  let simple = true;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === 92 /* \ */) {
      simple = false;
      i += 2;
      continue;
    }
    if (c === 34) break;
    i++;
  }
  const end = Math.min(i, line.length);
  const raw = line.slice(start + 1, end);
  if (simple) return [raw, end + 1];
  try {
    return [JSON.parse('"' + raw + '"') as string, end + 1];
  } catch {
    return [raw, end + 1];
  }
}

/**
 * Scans a logfmt line, calling `onPair` for each key/value. Returns the number
 * of `key=value` pairs (flags not counted), or -1 when the line does not start
 * like logfmt (so auto-detection can pass it on).
 */
export function scanLogfmt(line: string, onPair: (key: string, value: string) => void): number {
  let i = 0;
  const n = line.length;
  let pairs = 0;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    if (i >= n) break;
    const ks = i;
    while (i < n && isKeyChar(line.charCodeAt(i))) i++;
    if (i === ks) {
      // A stray `=` or `"`: not logfmt at the start, garbage later on (skip the character).
      if (pairs === 0) return -1;
      i++;
      continue;
    }
    const key = line.slice(ks, i);
    if (i < n && line.charCodeAt(i) === 61) {
      i++;
      let value: string;
      if (i < n && line.charCodeAt(i) === 34) {
        [value, i] = quoted(line, i);
      } else {
        const vs = i;
        while (i < n && line.charCodeAt(i) > 32) i++;
        value = line.slice(vs, i);
      }
      pairs++;
      onPair(key, value);
    } else {
      if (pairs === 0) return -1;
      onPair(key, '');
    }
  }
  return pairs;
}

/** Whether a line looks like logfmt: it starts with `key=` and has at least two pairs. */
export function looksLikeLogfmt(line: string): boolean {
  const eq = line.indexOf('=');
  if (eq <= 0 || eq > 64) return false;
  for (let i = 0; i < eq; i++) if (!isKeyChar(line.charCodeAt(i))) return false;
  const second = line.indexOf('=', eq + 1);
  return second > 0;
}

export function applyLogfmt(line: string, record: LogRecord, env: ParseEnv): boolean {
  const pairs = scanLogfmt(line, (k, v) => assignField(record, env, k, v));
  if (pairs <= 0) return false;
  env.trace.applyTo(record);
  return true;
}
