/**
 * The body token mask: one UInt64 per log record whose bit i says whether the
 * body contains BODY_TOKENS[i] as a (case-sensitive, byte-exact) substring.
 *
 * Why: `|= "error"` is the most common LogQL line filter and the least
 * selective one. The body's n-gram bloom filter skips only granules that
 * lack the needle, and a word like "error" is in every granule, so without
 * the mask such a filter decompresses and searches every body in range
 * (~1 s per 10 M records here). With it, the filter reads 8 bytes per row.
 *
 * Exactness: the column is MATERIALIZED from `position(body, token) > 0`,
 * computed by ClickHouse at insert (and, for parts written before the
 * column existed, on read), so a set bit is exactly "the body contains the
 * token". A needle that contains vocabulary words needs those bits (a
 * necessary condition, checked before the body); a needle that *is* a
 * vocabulary word needs nothing else.
 *
 * The vocabulary is fixed by the column's definition: changing it means a
 * new column (`body_tokens_v2`) and a migration, never an edit here. Words
 * were chosen for what log searches filter on (levels, failures, HTTP
 * methods and 5xx codes in their usual spellings); all are ASCII, so a byte
 * match in ClickHouse and a character match in JavaScript agree.
 *
 *   bit  token          bit  token          bit  token
 *    0   error           16  panic           32  GET
 *    1   ERROR           17  PANIC           33  POST
 *    2   Error           18  critical        34  PUT
 *    3   warn            19  CRITICAL        35  DELETE
 *    4   WARN            20  Critical        36  PATCH
 *    5   Warn            21  denied          37  500
 *    6   fail            22  refused         38  502
 *    7   FAIL            23  reset           39  503
 *    8   Fail            24  unavailable     40  504
 *    9   exception       25  debug           41  timed out
 *   10   Exception       26  DEBUG           42  unauthorized
 *   11   timeout         27  Debug           43  Unauthorized
 *   12   Timeout         28  info            44  forbidden
 *   13   fatal           29  INFO            45  Forbidden
 *   14   FATAL           30  Info            46  not found
 *   15   Fatal           31  upstream        47  Not Found
 */
export const BODY_TOKENS: readonly string[] = [
  'error', 'ERROR', 'Error', 'warn', 'WARN', 'Warn', 'fail', 'FAIL', 'Fail', 'exception', 'Exception', 'timeout', 'Timeout', 'fatal', 'FATAL', 'Fatal',
  'panic', 'PANIC', 'critical', 'CRITICAL', 'Critical', 'denied', 'refused', 'reset', 'unavailable', 'debug', 'DEBUG', 'Debug', 'info', 'INFO', 'Info', 'upstream',
  'GET', 'POST', 'PUT', 'DELETE', 'PATCH', '500', '502', '503', '504', 'timed out', 'unauthorized', 'Unauthorized', 'forbidden', 'Forbidden', 'not found', 'Not Found',
];

export const BODY_TOKENS_COLUMN = 'body_tokens';

/**
 * The column definition. Written with `position` and `bitShiftLeft` only,
 * so the same DDL runs on ClickHouse 18.16 (a cluster's local tables) and
 * chDB.
 */
export function bodyTokensColumn(): string {
  const bits = BODY_TOKENS.map((t, i) => `bitShiftLeft(toUInt64(position(body, '${sqlString(t)}') > 0), ${i})`);
  return `${BODY_TOKENS_COLUMN} UInt64 MATERIALIZED ${bits.join(' + ')}`;
}

/** The mask of vocabulary words a needle contains (0n when none): a body containing the needle has all these bits. */
export function tokenMaskOf(needle: string): bigint {
  let mask = 0n;
  BODY_TOKENS.forEach((t, i) => {
    if (needle.includes(t)) mask |= 1n << BigInt(i);
  });
  return mask;
}

/** Whether the needle is itself a vocabulary word, so its bit alone decides a match. */
export function isBodyToken(needle: string): boolean {
  return BODY_TOKENS.includes(needle);
}

function sqlString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
