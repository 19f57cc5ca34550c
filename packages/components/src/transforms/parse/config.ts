/**
 * Config of the `parse` transform. Validation is pure: the regex or pattern
 * is compiled and checked here, so a bad one fails the config at its key.
 */
import { z } from 'zod';
import { WhenSchema } from '../when.js';
import { PatternSyntaxError, compileUserRegex, parsePattern } from './formats/pattern.js';

export const PARSE_FORMATS = ['auto', 'envoy', 'istio', 'linkerd', 'kuma', 'consul', 'hubble', 'json', 'logfmt', 'regex', 'pattern'] as const;
export type ParseFormat = (typeof PARSE_FORMATS)[number];

export const ParseConfigSchema = z
  .object({
    /** What the lines are; `auto` detects JSON, logfmt and the mesh formats and leaves anything else as is. */
    format: z.enum(PARSE_FORMATS).default('auto'),
    /** What to parse: `body`, or `attributes.<key>` for a line carried in an attribute. */
    field: z
      .string()
      .regex(/^(body|attributes\.\S+)$/, 'expected "body" or "attributes.<key>"')
      .default('body'),
    /**
     * Where the fields of application logs (json, logfmt, regex, pattern)
     * go: `attributes`, or `attributes.<prefix>` to put them under
     * `<prefix>.<key>`. Mesh formats always write the attribute names of
     * docs/schema.md.
     */
    target: z
      .string()
      .regex(/^attributes(\.[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/, 'expected "attributes" or "attributes.<prefix>"')
      .default('attributes'),
    /**
     * `all`: every field as an attribute (docs/schema.md). `none`: only the
     * record's own fields are set (time, severity, trace context); no
     * attributes are written, the line stays in the body for query-time
     * parsing. Attributes cost storage and ingest time (docs/schema.md,
     * "What parsing costs").
     */
    attributes: z.enum(['all', 'none']).default('all'),
    /** For `format: regex`: a regular expression with named groups. */
    regex: z.string().min(1).optional(),
    /** For `format: pattern`: a Loki pattern expression, e.g. `<ip> - <_> [<ts>] "<method> <path> <_>" <status>`. */
    pattern: z.string().min(1).optional(),
    /** Accept a regex that can backtrack catastrophically (and stall ingest on a hostile line). */
    allow_backtracking_regex: z.boolean().default(false),
    /** A line that does not parse in the configured format: keep it (with `parse.error`) or drop it (counted). */
    on_error: z.enum(['keep', 'drop']).default('keep'),
    /** Only records matching these attributes/resource attributes are parsed. */
    when: WhenSchema.optional(),
    /** Lines longer than this many characters are not parsed (`parse.error: too_long`). */
    max_line_length: z.number().int().positive().max(16 * 1024 * 1024).default(64 * 1024),
    /** At most this many attributes from one line; the rest are dropped and `parse.truncated` is set. */
    max_fields: z.number().int().positive().max(1000).default(128),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.format === 'regex') {
      if (c.regex === undefined) ctx.addIssue({ code: 'custom', path: ['regex'], message: 'format: regex needs a `regex` with named groups' });
      else {
        try {
          compileUserRegex(c.regex, c.allow_backtracking_regex);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['regex'], message: (err as Error).message });
        }
      }
    } else if (c.regex !== undefined) ctx.addIssue({ code: 'custom', path: ['regex'], message: '`regex` applies to format: regex only' });
    if (c.format === 'pattern') {
      if (c.pattern === undefined) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'format: pattern needs a `pattern`, e.g. <ip> - <_> [<ts>] "<method> <path> <_>" <status>' });
      else {
        try {
          parsePattern(c.pattern);
        } catch (err) {
          if (!(err instanceof PatternSyntaxError)) throw err;
          ctx.addIssue({ code: 'custom', path: ['pattern'], message: err.message });
        }
      }
    } else if (c.pattern !== undefined) ctx.addIssue({ code: 'custom', path: ['pattern'], message: '`pattern` applies to format: pattern only' });
  });
export type ParseConfig = z.infer<typeof ParseConfigSchema>;
