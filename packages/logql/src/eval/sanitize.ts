/**
 * Label-name sanitising as every Loki parser applies it to extracted keys:
 * surrounding space trimmed, every rune other than ASCII letters, digits
 * and `_` replaced by `_`, and a leading digit prefixed with `_`, so any
 * key becomes a valid Prometheus label name (`a.b` -> `a_b`,
 * `User-Agent` -> `User_Agent`, `1x` -> `_1x`).
 */

const GO_TRIM = /^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g;

/** Loki's sanitizeLabelKey. `isPrefix` adds the `_` before a leading digit. */
const VALID = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function sanitizeLabelKey(key: string, isPrefix: boolean): string {
  if (VALID.test(key)) return key;
  const k = key.replace(GO_TRIM, '');
  if (k === '') return '';
  let out = isPrefix && k[0] !== undefined && k[0] >= '0' && k[0] <= '9' ? '_' : '';
  for (const ch of k) out += /^[A-Za-z0-9_]$/.test(ch) ? ch : '_';
  return out;
}

/** Loki's appendSanitized: joins nested JSON keys with `_`, skipping blank parts. */
export function sanitizeJsonPath(parts: readonly string[]): string {
  let out = '';
  for (const part of parts) {
    const p = part.replace(GO_TRIM, '');
    if (p === '') continue;
    if (out !== '') out += '_';
    if (out === '' && p[0] !== undefined && p[0] >= '0' && p[0] <= '9') out += '_';
    for (const ch of p) out += /^[A-Za-z0-9_]$/.test(ch) ? ch : '_';
  }
  return out;
}
