/**
 * Flattens a JSON object into dotted attribute keys (`{"http": {"status": 200}}`
 * becomes `http.status = 200`), the shape the model's attributes take
 * (scalars only). Arrays become JSON text, `null` is left out, and nesting
 * deeper than `MAX_DEPTH` is kept as JSON text rather than walked, so a
 * hostile payload cannot make the walk expensive.
 */
import type { Attributes } from '@meshlog/core';

const MAX_DEPTH = 8;

export function flattenInto(out: Attributes, key: string, value: unknown, depth = 0): void {
  if (value === null || value === undefined) return;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      out[key] = value;
      return;
    case 'number':
      out[key] = Number.isFinite(value) ? value : String(value);
      return;
    case 'object':
      if (Array.isArray(value) || depth >= MAX_DEPTH) {
        out[key] = JSON.stringify(value);
        return;
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenInto(out, key === '' ? k : `${key}.${k}`, v, depth + 1);
      return;
    default:
      out[key] = String(value);
  }
}
