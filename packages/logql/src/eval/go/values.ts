/**
 * The Go values a `line_format`/`label_format` template computes with.
 * Go's template engine is typed (passing an `int64` where `int` is expected
 * is an error, `eq "1" 1` is an error, floats print as `%v`), and Loki's
 * template functions are typed Go functions, so the evaluator keeps Go's
 * types: string, float64 (a JS number), bool, int/int64 (GoInt over a
 * 64-bit bigint), time.Time (GoTime), nil, []interface{} (array) and maps
 * (GoMap). `undefined` is Go's invalid value, printed as `<no value>`.
 */
import { GoTime } from './time.js';

export type IntType = 'int' | 'int64';

export class GoInt {
  readonly v: bigint;
  constructor(v: bigint | number, readonly type: IntType = 'int') {
    this.v = BigInt.asIntN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
  }
}

/** A Go map: `map[string]string` (the labels) or `map[string]interface {}` (fromJson). */
export class GoMap {
  constructor(
    readonly entries: ReadonlyMap<string, GoValue>,
    readonly elem: 'string' | 'interface',
  ) {}
}

export type GoValue = string | number | boolean | null | GoInt | GoTime | GoMap | GoValue[];

/** Go's type name of a value, as error messages print it. */
export function goTypeName(v: GoValue | undefined): string {
  if (v === undefined) return 'invalid';
  if (v === null) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
  }
  if (v instanceof GoInt) return v.type;
  if (v instanceof GoTime) return 'time.Time';
  if (v instanceof GoMap) return v.elem === 'string' ? 'map[string]string' : 'map[string]interface {}';
  return '[]interface {}';
}

/** text/template's truth: false, 0, nil, empty string/slice/map are false; structs (time) are true. */
export function isTrue(v: GoValue | undefined): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    case 'boolean':
      return v;
  }
  if (v instanceof GoInt) return v.v !== 0n;
  if (v instanceof GoTime) return true;
  if (v instanceof GoMap) return v.entries.size > 0;
  return v.length > 0;
}

/** JSON (already parsed by JSON.parse) to Go's encoding/json interface{} values. */
export function fromJsonValue(v: unknown): GoValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(fromJsonValue);
  const m = new Map<string, GoValue>();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) m.set(k, fromJsonValue(x));
  return new GoMap(m, 'interface');
}
