/**
 * `when:` — which records a transform applies to, shared by the transforms
 * that take it. Every listed key must match: an attribute (or resource
 * attribute) equal to the value, or to one of the values of a list.
 * Compiled once at build into a flat array of checks.
 */
import { z } from 'zod';
import type { Attributes, LogRecord } from '@meshlog/core';

const valueOrList = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()])).min(1)]);

export const WhenSchema = z
  .object({
    /** Record attributes that must match, e.g. `log.source: envoy`. */
    attributes: z.record(z.string().min(1), valueOrList).optional(),
    /** Resource attributes that must match, e.g. `service.name: [web, api]`. */
    resource: z.record(z.string().min(1), valueOrList).optional(),
  })
  .strict();
export type WhenConfig = z.infer<typeof WhenSchema>;

interface Check {
  onResource: boolean;
  key: string;
  values: Set<string>;
}

/** A predicate for `when`, or undefined when every record applies. */
export function compileWhen(when: WhenConfig | undefined): ((r: LogRecord) => boolean) | undefined {
  if (!when) return undefined;
  const checks: Check[] = [];
  const add = (onResource: boolean, map: Record<string, unknown> | undefined): void => {
    for (const [key, v] of Object.entries(map ?? {})) checks.push({ onResource, key, values: new Set((Array.isArray(v) ? v : [v]).map(String)) });
  };
  add(false, when.attributes);
  add(true, when.resource);
  if (checks.length === 0) return undefined;
  return (r) => {
    for (const c of checks) {
      const map: Attributes = c.onResource ? r.resource : r.attributes;
      const v = map[c.key];
      if (v === undefined || !c.values.has(typeof v === 'string' ? v : String(v))) return false;
    }
    return true;
  };
}
