/**
 * The pipeline part of a config file: `sources`, `transforms` and `sinks`,
 * each a map from component id to `{ type, inputs?, buffer?, ...own keys }`.
 * This module turns the raw YAML into a validated, frozen graph spec: every
 * component's own keys checked against its registered schema, every input
 * resolved, no cycles. It performs no I/O.
 */
import { z } from 'zod';
import type { AnyComponentDefinition, ComponentKind, ComponentRegistry } from '../pipeline/component.js';
import { ConfigError, joinPath, type ConfigProblem, type ConfigSource } from './config-file.js';

export const BufferConfigSchema = z
  .object({
    // Decoded records in memory (~1 KiB each): the bound keeps RSS predictable.
    max_records: z.number().int().positive().default(100_000),
    when_full: z.enum(['block', 'drop_newest']).default('block'),
    max_batch_records: z.number().int().positive().default(200_000),
    concurrency: z.number().int().min(1).max(64).default(1),
    max_attempts: z.number().int().min(1).default(10),
  })
  .strict();
export type BufferConfig = z.infer<typeof BufferConfigSchema>;

const ENVELOPE_KEYS = new Set(['type', 'inputs', 'buffer']);

export interface ComponentSpec {
  id: string;
  kind: ComponentKind;
  type: string;
  inputs: string[];
  buffer: BufferConfig;
  config: unknown;
  definition: AnyComponentDefinition;
}

export interface PipelineSpec {
  components: ComponentSpec[];
}

const SECTIONS: [string, ComponentKind, keyof ComponentRegistry][] = [
  ['sources', 'source', 'sources'],
  ['transforms', 'transform', 'transforms'],
  ['sinks', 'sink', 'sinks'],
];

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Validates `raw` ({sources, transforms, sinks}) found at `basePath` of `source`. */
export function buildPipelineSpec(source: ConfigSource, raw: Record<string, unknown>, registry: ComponentRegistry): PipelineSpec {
  const problems: ConfigProblem[] = [];
  const components: ComponentSpec[] = [];
  // Ids written in the file, valid or not: an input naming one that failed validation is not also "unknown".
  const declared = new Set<string>();
  const push = (path: (string | number)[], message: string): void => {
    problems.push({ path: joinPath(path), message, ...source.locate(path) });
  };

  for (const [section, kind, registryKey] of SECTIONS) {
    const entries = raw[section];
    if (entries === undefined || entries === null) continue;
    if (typeof entries !== 'object' || Array.isArray(entries)) {
      push([section], `must be a map of component id to component config`);
      continue;
    }
    for (const [id, value] of Object.entries(entries as Record<string, unknown>)) {
      const path = [section, id];
      declared.add(id);
      if (!ID.test(id)) push(path, `component id "${id}" must start with a letter and contain only letters, digits, "_" and "-"`);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        push(path, 'must be a map with at least a "type" key');
        continue;
      }
      const obj = value as Record<string, unknown>;
      const type = obj['type'];
      const known = registry[registryKey];
      if (typeof type !== 'string') {
        push([...path, 'type'], `missing "type"; one of: ${Object.keys(known).join(', ')}`);
        continue;
      }
      const definition = known[type];
      if (!definition) {
        push([...path, 'type'], `unknown ${kind} type "${type}"; one of: ${Object.keys(known).join(', ')}`);
        continue;
      }
      let inputs: string[] = [];
      if (kind !== 'source') {
        const rawInputs = obj['inputs'];
        if (!Array.isArray(rawInputs) || rawInputs.length === 0 || !rawInputs.every((i) => typeof i === 'string')) {
          push([...path, 'inputs'], 'must be a non-empty list of component ids');
        } else inputs = rawInputs as string[];
      } else if (obj['inputs'] !== undefined) {
        push([...path, 'inputs'], 'a source has no inputs');
      }
      const own: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) if (!ENVELOPE_KEYS.has(k)) own[k] = v;
      try {
        const buffer = source.validate(BufferConfigSchema, obj['buffer'] ?? {}, [...path, 'buffer']);
        if (kind !== 'sink' && obj['buffer'] !== undefined) push([...path, 'buffer'], 'only sinks have a buffer');
        const config = source.validate(definition.schema as z.ZodType<unknown>, own, path);
        components.push({ id, kind, type, inputs, buffer, config, definition });
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else throw err;
      }
    }
  }

  const ids = new Map<string, ComponentSpec>();
  for (const c of components) {
    if (ids.has(c.id)) push([c.kind + 's', c.id], `component id "${c.id}" is used twice`);
    ids.set(c.id, c);
  }
  for (const c of components) {
    c.inputs.forEach((input, i) => {
      const target = ids.get(input);
      if (!target) {
        if (!declared.has(input)) push([c.kind + 's', c.id, 'inputs', i], `unknown input "${input}"`);
      }
      else if (target.kind === 'sink') push([c.kind + 's', c.id, 'inputs', i], `input "${input}" is a sink; sinks have no outputs`);
    });
  }
  if (problems.length === 0) {
    const cycle = findCycle(components);
    if (cycle) push(['transforms', cycle[0]!], `inputs form a cycle: ${cycle.join(' -> ')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems, source.file);
  return Object.freeze({ components });
}

function findCycle(components: ComponentSpec[]): string[] | undefined {
  const byId = new Map(components.map((c) => [c.id, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const s = state.get(id);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const input of byId.get(id)?.inputs ?? []) {
      const found = visit(input);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const c of components) {
    const found = visit(c.id);
    if (found) return found;
  }
  return undefined;
}
