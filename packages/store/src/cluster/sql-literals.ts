/**
 * Client-side binding of `{name:Type}` query parameters, for ClickHouse
 * servers older than server-side parameters (Debian's 18.16 among them).
 *
 * Invariants, each covered by `sql-literals.test.ts`:
 * - a value becomes exactly one literal of its declared type, or the call
 *   throws: strings are quoted with every quote, backslash and control byte
 *   escaped; numbers are checked against the type's range; negative numbers
 *   are parenthesized so `x-{p:Int32}` can never become a `--` comment;
 * - substitution is one left-to-right pass over the template, so text coming
 *   from a value is never scanned again for placeholders;
 * - placeholders inside string literals, quoted identifiers and comments of
 *   the template are left alone (ClickHouse's `{shard}` macros live in
 *   strings);
 * - a placeholder without a value, an unknown type or an unterminated quote
 *   in the template throws: the query is never sent half-bound.
 */

/** Thrown for a value or template that cannot be bound safely (a programming error, not user input). */
export class SqlBindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlBindError';
  }
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  UInt8: [0n, 255n],
  UInt16: [0n, 65_535n],
  UInt32: [0n, 4_294_967_295n],
  UInt64: [0n, 18_446_744_073_709_551_615n],
  Int8: [-128n, 127n],
  Int16: [-32_768n, 32_767n],
  Int32: [-2_147_483_648n, 2_147_483_647n],
  Int64: [-9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
};

/** ClickHouse string-literal escapes for the bytes that need one; other control bytes become \xHH. */
const NAMED_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** Quotes a string as a ClickHouse string literal. */
export function quoteString(value: string): string {
  // Every character below 0x20, 0x7f, the quote and the backslash is escaped;
  // everything else (including non-ASCII) passes through as UTF-8, which is
  // how the query text is sent.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return `'${value.replace(/[\u0000-\u001f\u007f'\\]/g, (c) => NAMED_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}

function integerLiteral(type: string, value: unknown): string {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value)) n = BigInt(value);
  else throw new SqlBindError(`expected an integer for ${type}, got ${describe(value)}`);
  const [min, max] = INT_RANGES[type]!;
  if (n < min || n > max) throw new SqlBindError(`${n} is out of range for ${type}`);
  return n < 0n ? `(${n})` : n.toString();
}

function floatLiteral(type: string, value: unknown): string {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(value)) n = Number(value);
  else throw new SqlBindError(`expected a number for ${type}, got ${describe(value)}`);
  if (!Number.isFinite(n)) throw new SqlBindError(`expected a finite number for ${type}, got ${describe(value)}`);
  // String(n) is digits, '.', 'e', '+', '-' only: a valid ClickHouse float literal.
  const text = String(n);
  return n < 0 ? `(${text})` : text;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' ? `${typeof value} ${String(value)}` : typeof value;
}

/**
 * Formats one value as a literal of `type`. Supported: String, UInt8..UInt64,
 * Int8..Int64, Float32, Float64, and Array(T) of these (nested too).
 */
export function formatLiteral(type: string, value: unknown): string {
  const t = type.replace(/\s+/g, '');
  if (t === 'String') {
    if (typeof value !== 'string') throw new SqlBindError(`expected a string for String, got ${describe(value)}`);
    return quoteString(value);
  }
  if (t in INT_RANGES) return integerLiteral(t, value);
  if (t === 'Float32' || t === 'Float64') return floatLiteral(t, value);
  const array = /^Array\((.+)\)$/.exec(t);
  if (array) {
    if (!Array.isArray(value)) throw new SqlBindError(`expected an array for ${t}, got ${describe(value)}`);
    return `[${value.map((v) => formatLiteral(array[1]!, v)).join(', ')}]`;
  }
  throw new SqlBindError(`unsupported parameter type ${JSON.stringify(type)}`);
}

const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z0-9_(), ]+?)\s*\}/y;

/** Index just past the quoted run that starts at `start` (a `'`, `"` or backquote), honouring backslash escapes and doubled quotes. */
function skipQuoted(sql: string, start: number): number {
  const quote = sql[start];
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '\\') i += 2;
    else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  throw new SqlBindError(`unterminated ${quote} quote in query template at offset ${start}`);
}

/**
 * Replaces every `{name:Type}` placeholder outside quotes and comments with
 * the literal of `params[name]`. Parameters the template does not use are
 * ignored, as the server does.
 */
export function bindParams(sql: string, params: Record<string, unknown>): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i);
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlBindError(`unterminated comment in query template at offset ${i}`);
      i = end + 2;
    } else if (c === '{') {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(sql);
      if (!m) {
        i++;
        continue;
      }
      const name = m[1]!;
      if (!Object.hasOwn(params, name)) throw new SqlBindError(`no value for query parameter ${JSON.stringify(name)}`);
      let literal: string;
      try {
        literal = formatLiteral(m[2]!, params[name]);
      } catch (err) {
        throw new SqlBindError(`query parameter ${JSON.stringify(name)}: ${(err as Error).message}`);
      }
      out += sql.slice(copied, i) + literal;
      i += m[0].length;
      copied = i;
    } else {
      i++;
    }
  }
  return out + sql.slice(copied);
}
