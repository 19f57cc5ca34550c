/**
 * A lenient, streaming JSON scanner with the behaviour of the
 * buger/jsonparser library Loki's `| json` and `| unpack` use: values are
 * located by scanning (strings by their closing quote, objects and arrays
 * by bracket matching), not fully validated, so a line's well-formed prefix
 * is still extracted when its end is broken, and the error text
 * (`Value looks like object, but can't find closing '}' symbol`) is the
 * library's, because it lands in `__error_details__`.
 *
 * Invariants: offsets are UTF-16 indexes into the line; string values are
 * returned raw (escapes intact) and decoded with `unescapeJson`, which fails
 * where jsonparser's Unescape fails (bad escapes, unpaired surrogates).
 */

export const MALFORMED_OBJECT = "Value looks like object, but can't find closing '}' symbol";
export const MALFORMED_ARRAY = "Value is array, but can't find closing ']' symbol";
export const MALFORMED_JSON = 'Malformed JSON error';
export const MALFORMED_STRING = 'Value is string, but can\'t find closing \'"\' symbol';
export const MALFORMED_VALUE = "Value looks like Number/Boolean/None, but can't find its end: ',' or '}' symbol";
export const MALFORMED_STRING_ESCAPE = 'Encountered an invalid escape sequence in a string';
export const UNKNOWN_VALUE_TYPE = 'Unknown value type';

export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

export interface JsonValue {
  type: JsonType;
  /** Raw text; for strings, the content between the quotes (escapes intact). */
  raw: string;
  /** Offset just past the value. */
  end: number;
}

export type ScanError = { error: string };

const isWs = (c: string | undefined) => c === ' ' || c === '\n' || c === '\r' || c === '\t';

/** Offset of the next non-whitespace character at or after `from`, or -1. */
export function nextToken(data: string, from: number): number {
  for (let i = from; i < data.length; i++) if (!isWs(data[i])) return i;
  return -1;
}

/** Offset just past the closing quote of a string whose content starts at `from`, or -1. */
function stringEnd(data: string, from: number): number {
  for (let i = from; i < data.length; i++) {
    const c = data[i];
    if (c === '"') {
      let backslashes = 0;
      for (let j = i - 1; j >= from && data[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 0) return i + 1;
    }
  }
  return -1;
}

function blockEnd(data: string, from: number, open: string, close: string): number {
  let level = 0;
  for (let i = from; i < data.length; i++) {
    const c = data[i];
    if (c === '"') {
      const se = stringEnd(data, i + 1);
      if (se < 0) return -1;
      i = se - 1;
    } else if (c === open) level++;
    else if (c === close) {
      level--;
      if (level === 0) return i + 1;
    }
  }
  return -1;
}

/** The value at `offset` (which must be its first character): jsonparser's getType. */
export function valueAt(data: string, offset: number): JsonValue | ScanError {
  const c = data[offset];
  if (c === '"') {
    const end = stringEnd(data, offset + 1);
    if (end < 0) return { error: MALFORMED_STRING };
    return { type: 'string', raw: data.slice(offset + 1, end - 1), end };
  }
  if (c === '[' || c === '{') {
    const end = blockEnd(data, offset, c, c === '[' ? ']' : '}');
    if (end < 0) return { error: c === '[' ? MALFORMED_ARRAY : MALFORMED_OBJECT };
    return { type: c === '[' ? 'array' : 'object', raw: data.slice(offset, end), end };
  }
  let end = offset;
  while (end < data.length && !' \n\r\t,}]'.includes(data[end] as string)) end++;
  const raw = data.slice(offset, end);
  if (c === 't' || c === 'f') {
    if (raw === 'true' || raw === 'false') return { type: 'boolean', raw, end };
    return { error: UNKNOWN_VALUE_TYPE };
  }
  if (c === 'n' || c === 'u') {
    if (raw === 'null') return { type: 'null', raw, end };
    return { error: UNKNOWN_VALUE_TYPE };
  }
  if (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) return { type: 'number', raw, end };
  return { error: UNKNOWN_VALUE_TYPE };
}

/**
 * Calls `visit(key, value)` for each member of the object starting at or
 * after `from` (jsonparser's ObjectEach). `visit` returns an error message
 * to stop with it, or `false` to stop without error.
 */
export function objectEach(data: string, from: number, visit: (key: string, value: JsonValue) => string | false | void): string | undefined {
  let offset = nextToken(data, from);
  if (offset < 0 || data[offset] !== '{') return MALFORMED_OBJECT;
  offset = nextToken(data, offset + 1);
  if (offset < 0) return MALFORMED_JSON;
  if (data[offset] === '}') return undefined;
  while (offset < data.length) {
    if (data[offset] === '}') return undefined;
    if (data[offset] !== '"') return MALFORMED_OBJECT;
    const keyEnd = stringEnd(data, offset + 1);
    if (keyEnd < 0) return MALFORMED_JSON;
    let key = data.slice(offset + 1, keyEnd - 1);
    if (key.includes('\\')) {
      const k = unescapeJson(key);
      if (k === undefined) return MALFORMED_STRING_ESCAPE;
      key = k;
    }
    offset = nextToken(data, keyEnd);
    if (offset < 0 || data[offset] !== ':') return MALFORMED_JSON;
    const vstart = nextToken(data, offset + 1);
    if (vstart < 0) return MALFORMED_JSON;
    const value = valueAt(data, vstart);
    if ('error' in value) return value.error;
    const r = visit(key, value);
    if (typeof r === 'string') return r;
    if (r === false) return undefined;
    offset = nextToken(data, value.end);
    if (offset < 0) return MALFORMED_ARRAY;
    if (data[offset] === '}') return undefined;
    if (data[offset] !== ',') return MALFORMED_OBJECT;
    offset = nextToken(data, offset + 1);
    if (offset < 0) return MALFORMED_OBJECT;
  }
  return MALFORMED_OBJECT;
}

/** Calls `visit(index, value)` for each element of the array starting at `from` (jsonparser's ArrayEach). */
function arrayEach(data: string, from: number, visit: (i: number, value: JsonValue) => boolean): string | undefined {
  let offset = nextToken(data, from);
  if (offset < 0 || data[offset] !== '[') return MALFORMED_ARRAY;
  offset = nextToken(data, offset + 1);
  if (offset < 0) return MALFORMED_JSON;
  if (data[offset] === ']') return undefined;
  for (let i = 0; ; i++) {
    const value = valueAt(data, offset);
    if ('error' in value) return value.error;
    if (!visit(i, value)) return undefined;
    offset = nextToken(data, value.end);
    if (offset < 0) return MALFORMED_ARRAY;
    if (data[offset] === ']') return undefined;
    if (data[offset] !== ',') return MALFORMED_ARRAY;
    offset = nextToken(data, offset + 1);
    if (offset < 0) return MALFORMED_ARRAY;
  }
}

export type PathElement = string | number;

/** The value at `path` in `data`, undefined when absent, or an error (jsonparser's EachKey for one path). */
export function valueAtPath(data: string, path: readonly PathElement[]): JsonValue | undefined | ScanError {
  const start = nextToken(data, 0);
  if (start < 0) return undefined;
  let current = valueAt(data, start);
  if ('error' in current) return current;
  let at = start;
  for (const step of path) {
    let found: { v: JsonValue; at: number } | undefined;
    let err: string | undefined;
    if (typeof step === 'number') {
      if (current.type !== 'array') return undefined;
      err = arrayEach(data, at, (i, v) => {
        if (i === step) {
          found = { v, at: v.end - (v.type === 'string' ? v.raw.length + 2 : v.raw.length) };
          return false;
        }
        return true;
      });
    } else {
      if (current.type !== 'object') return undefined;
      err = objectEach(data, at, (key, v) => {
        if (key === step) {
          found = { v, at: v.end - (v.type === 'string' ? v.raw.length + 2 : v.raw.length) };
          return false;
        }
      });
    }
    if (found === undefined) return err === undefined ? undefined : { error: err };
    current = found.v;
    at = found.at;
  }
  return current;
}

/** jsonparser.Unescape: JSON string escapes to text; undefined on an invalid escape or surrogate. */
export function unescapeJson(raw: string): string | undefined {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = raw[++i];
    switch (n) {
      case '"':
      case '\\':
      case '/':
        out += n;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const hex = raw.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return undefined;
        const cu = parseInt(hex, 16);
        i += 4;
        if (cu < 0xd800 || cu > 0xdfff) {
          out += String.fromCharCode(cu);
          break;
        }
        const lo = raw.slice(i + 1, i + 7);
        if (!/^\\u[0-9a-fA-F]{4}$/.test(lo)) return undefined;
        const lv = parseInt(lo.slice(2), 16);
        if (cu > 0xdbff || lv < 0xdc00 || lv > 0xdfff) return undefined;
        out += String.fromCharCode(cu, lv);
        i += 6;
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}
