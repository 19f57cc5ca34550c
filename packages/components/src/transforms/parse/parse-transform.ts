/**
 * The `parse` transform: decodes each record's line (the body, or an
 * attribute) in a mesh or application log format and writes what it finds
 * into the record: attributes named as docs/schema.md says, the record time
 * from the line's own timestamp, severity, trace context and mesh identity.
 *
 * It runs on the ingest hot path, inside the source's `emit`: every format
 * is a hand-written linear scan (or JSON.parse), the parsers share one
 * scratch state per transform instance, and a batch whose records all stay
 * is returned as is (records are changed in place; the engine gives each
 * consumer its own copy).
 *
 * `format: auto` tries, by the line's first character: JSON (`{`: Hubble
 * flow, Linkerd JSON, Envoy/Istio/Consul JSON, else an application log),
 * Envoy-style TEXT (`[`: Envoy, every Istio version, Kuma), Linkerd's apache
 * format, then logfmt; a line that is none of these is left as it is, with
 * no error. With a named format, a line that does not parse is an error:
 * kept with `parse.error: <reason>` (default) or dropped, and counted
 * either way (`meshlog_component_errors_total{error_type="parse_<reason>"}`).
 */
import type { Batch, ComponentDefinition, ComponentMetrics, LogRecord, Transform } from '@meshlog/core';
import { DiscardReason } from '@meshlog/core';
import { compileWhen } from '../when.js';
import { ParseConfigSchema, type ParseConfig } from './config.js';
import { ParseEnv, assignField, attributeTable, setFormat } from './fields.js';
import { parseEnvoyText } from './formats/envoy-text.js';
import { isEnvoyJson, parseEnvoyJson } from './formats/envoy-json.js';
import { hubbleFlowOf, parseHubbleFlow } from './formats/hubble.js';
import { isLinkerdJson, parseLinkerdApache, parseLinkerdJson } from './formats/linkerd.js';
import { PatternMatcher, compileUserRegex } from './formats/pattern.js';
import { applyJsonObject, applyLogfmt, looksLikeLogfmt, parseJsonObject } from './formats/structured.js';

/** The line was decoded. */
export const PARSED = 'ok';
/** `auto` found no known format; the record is left as it is. */
export const UNRECOGNIZED = 'unrecognized';
/** Why a line failed its configured format (the value of `parse.error`). */
export type ParseErrorReason = 'no_match' | 'invalid_json' | 'too_long' | 'missing_field';
export type ParseOutcome = typeof PARSED | typeof UNRECOGNIZED | ParseErrorReason;

type LineParser = (line: string, record: LogRecord, env: ParseEnv) => ParseOutcome;

function decodeObject(obj: Record<string, unknown>, record: LogRecord, env: ParseEnv): ParseOutcome {
  const flow = hubbleFlowOf(obj);
  if (flow) {
    parseHubbleFlow(flow, record, env, obj);
    return PARSED;
  }
  if (isLinkerdJson(obj) && parseLinkerdJson(obj, record, env)) return PARSED;
  if (isEnvoyJson(obj) && parseEnvoyJson(obj, record, env)) return PARSED;
  applyJsonObject(obj, record, env);
  setFormat(record, env, 'json');
  return PARSED;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

const parseAuto: LineParser = (line, record, env) => {
  const c0 = line.charCodeAt(0);
  if (c0 === 123 /* { */) {
    const obj = parseJsonObject(line);
    return obj ? decodeObject(obj, record, env) : UNRECOGNIZED;
  }
  if (c0 === 91 /* [ */) {
    if (parseEnvoyText(line, record, env) !== undefined) return PARSED;
    // An IPv6 client address starts Linkerd's apache lines with `[`.
    return parseLinkerdApache(line, record, env) ? PARSED : UNRECOGNIZED;
  }
  if (isDigit(c0) && parseLinkerdApache(line, record, env)) return PARSED;
  if (looksLikeLogfmt(line) && applyLogfmt(line, record, env)) {
    setFormat(record, env, 'logfmt');
    return PARSED;
  }
  return UNRECOGNIZED;
};

const parseEnvoyFamily: LineParser = (line, record, env) => {
  if (line.charCodeAt(0) === 123) {
    const obj = parseJsonObject(line);
    if (!obj) return 'invalid_json';
    return isEnvoyJson(obj) && parseEnvoyJson(obj, record, env) ? PARSED : 'no_match';
  }
  return parseEnvoyText(line, record, env) !== undefined ? PARSED : 'no_match';
};

const parseLinkerd: LineParser = (line, record, env) => {
  if (line.charCodeAt(0) === 123) {
    const obj = parseJsonObject(line);
    if (!obj) return 'invalid_json';
    return isLinkerdJson(obj) && parseLinkerdJson(obj, record, env) ? PARSED : 'no_match';
  }
  return parseLinkerdApache(line, record, env) ? PARSED : 'no_match';
};

const parseHubble: LineParser = (line, record, env) => {
  const obj = parseJsonObject(line);
  if (!obj) return 'invalid_json';
  const flow = hubbleFlowOf(obj);
  if (!flow) return 'no_match';
  parseHubbleFlow(flow, record, env, obj);
  return PARSED;
};

const parseJson: LineParser = (line, record, env) => {
  const obj = parseJsonObject(line);
  if (!obj) return 'invalid_json';
  applyJsonObject(obj, record, env);
  setFormat(record, env, 'json');
  return PARSED;
};

const parseLogfmt: LineParser = (line, record, env) => {
  if (!applyLogfmt(line, record, env)) return 'no_match';
  setFormat(record, env, 'logfmt');
  return PARSED;
};

function regexParser(source: string, allowBacktracking: boolean): LineParser {
  const { regex, names } = compileUserRegex(source, allowBacktracking);
  return (line, record, env) => {
    const m = regex.exec(line);
    if (!m || !m.groups) return 'no_match';
    for (const name of names) {
      const v = m.groups[name];
      if (v !== undefined) assignField(record, env, name, v);
    }
    env.trace.applyTo(record);
    return PARSED;
  };
}

function patternParser(expr: string): LineParser {
  const matcher = new PatternMatcher(expr);
  return (line, record, env) => {
    const ok = matcher.match(line, (name, value) => assignField(record, env, name, value));
    if (!ok) return 'no_match';
    env.trace.applyTo(record);
    return PARSED;
  };
}

/** The line parser a config describes (compiles the regex or pattern once). */
export function lineParserFor(config: Pick<ParseConfig, 'format' | 'regex' | 'pattern' | 'allow_backtracking_regex'>): LineParser {
  switch (config.format) {
    case 'auto':
      return parseAuto;
    case 'envoy':
    case 'istio':
    case 'kuma':
    case 'consul':
      return parseEnvoyFamily;
    case 'linkerd':
      return parseLinkerd;
    case 'hubble':
      return parseHubble;
    case 'json':
      return parseJson;
    case 'logfmt':
      return parseLogfmt;
    case 'regex':
      return regexParser(config.regex!, config.allow_backtracking_regex);
    case 'pattern':
      return patternParser(config.pattern!);
  }
}

/** Strips one trailing line terminator (collectors often keep it). */
function withoutNewline(line: string): string {
  const n = line.length;
  if (n === 0 || line.charCodeAt(n - 1) !== 10) return line;
  return line.charCodeAt(n - 2) === 13 ? line.slice(0, n - 2) : line.slice(0, n - 1);
}

export class ParseTransform implements Transform {
  readonly kind = 'transform' as const;
  private readonly parser: LineParser;
  private readonly env: ParseEnv;
  private readonly when: ((r: LogRecord) => boolean) | undefined;
  private readonly fieldKey: string | undefined;
  private readonly auto: boolean;
  private accounted = 0;

  constructor(
    private readonly config: ParseConfig,
    private readonly metrics?: ComponentMetrics,
  ) {
    this.parser = lineParserFor(config);
    this.env = new ParseEnv(config.target === 'attributes' ? '' : config.target.slice('attributes.'.length) + '.', config.max_fields, config.attributes === 'all');
    this.when = compileWhen(config.when);
    this.fieldKey = config.field === 'body' ? undefined : config.field.slice('attributes.'.length);
    this.auto = config.format === 'auto';
  }

  /** Parses one record in place; returns the outcome (errors are not yet acted on). */
  parseRecord(record: LogRecord): ParseOutcome {
    const raw = this.fieldKey === undefined ? record.body : record.attributes[this.fieldKey];
    if (typeof raw !== 'string' || raw === '') return this.auto ? UNRECOGNIZED : raw === '' ? 'no_match' : 'missing_field';
    if (raw.length > this.config.max_line_length) {
      if (!this.auto) return 'too_long';
      const c0 = raw.charCodeAt(0);
      return c0 === 123 || c0 === 91 ? 'too_long' : UNRECOGNIZED;
    }
    this.env.begin();
    if (this.env.writeAttributes) record.attributes = attributeTable(record.attributes);
    return this.parser(withoutNewline(raw), record, this.env);
  }

  process(batch: Batch): Batch {
    this.accounted = 0;
    if (batch.kind !== 'logs') return batch;
    const records = batch.records;
    let drop: Set<number> | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (this.when !== undefined && !this.when(r)) continue;
      const outcome = this.parseRecord(r);
      if (outcome === PARSED || outcome === UNRECOGNIZED) continue;
      this.metrics?.error(`parse_${outcome}`);
      if (this.config.on_error === 'keep') r.attributes['parse.error'] = outcome;
      else (drop ??= new Set()).add(i);
    }
    if (drop === undefined) return batch;
    this.metrics?.discarded(drop.size, DiscardReason.ParseFailed, batch.tenant);
    this.accounted = drop.size;
    return { ...batch, records: records.filter((_, i) => !drop.has(i)) };
  }

  selfAccounted(): number {
    return this.accounted;
  }
}

export const parseTransform: ComponentDefinition<ParseConfig> = {
  kind: 'transform',
  type: 'parse',
  description: 'decodes mesh access logs (Envoy, Istio, Linkerd, Kuma, Consul, Hubble) and JSON/logfmt/regex/pattern lines into attributes, time, severity and trace context',
  schema: ParseConfigSchema,
  build: (config, ctx) => new ParseTransform(config, ctx.metrics),
};
