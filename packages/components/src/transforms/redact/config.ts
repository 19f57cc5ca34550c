/**
 * Config of the `redact` transform: which detectors run, custom patterns,
 * and how a finding is replaced (`mask`, or `hash`: a keyed HMAC-SHA256 so
 * equal values stay correlatable without being readable). The hash key is
 * taken by reference only (a file or an environment variable): a key
 * written into the config would sit in every copy of the config.
 */
import { z } from 'zod';
import { regexProblem } from '../../normalize/safe-regex.js';

export const BUILTIN_DETECTORS = ['url_password', 'jwt', 'bearer_token', 'aws_access_key', 'email', 'credit_card', 'us_ssn', 'ipv6', 'ipv4'] as const;
export type BuiltinDetector = (typeof BUILTIN_DETECTORS)[number];
/** On unless `detectors` says otherwise; IP addresses are often needed for investigations, so they are opt-in. */
export const DEFAULT_DETECTORS: BuiltinDetector[] = ['url_password', 'jwt', 'bearer_token', 'aws_access_key', 'email', 'credit_card', 'us_ssn'];

const NAME = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lower-case letters, digits and _');

export const RedactConfigSchema = z
  .object({
    detectors: z.array(z.enum(BUILTIN_DETECTORS)).default(DEFAULT_DETECTORS),
    /** Patterns of your own: each match is replaced (checked for catastrophic backtracking). */
    custom: z
      .array(
        z
          .object({
            name: NAME,
            pattern: z.string().min(1),
            /** DANGEROUS: accept a pattern that can backtrack catastrophically. */
            allow_backtracking_regex: z.boolean().default(false),
          })
          .strict()
          .superRefine((c, ctx) => {
            const problem = regexProblem(c.pattern, c.allow_backtracking_regex);
            if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: problem });
          }),
      )
      .default([]),
    /** mask: `[REDACTED:<detector>]`; hash: `[REDACTED:<detector>:<first 16 hex of HMAC-SHA256(key, value)>]`. */
    mode: z.enum(['mask', 'hash']).default('mask'),
    /** For mode hash: a file holding the key (at least 16 bytes) ... */
    hash_key_file: z.string().min(1).optional(),
    /** ... or an environment variable holding it. */
    hash_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
    /** Redact the body. */
    body: z.boolean().default(true),
    /** Redact string attributes (record and resource). */
    attributes: z.boolean().default(true),
    /** Attributes left alone (file paths, Kubernetes names). */
    skip_attributes: z.array(z.string().min(1)).default(['log.file.path', 'log.file.name', 'k8s.pod.name', 'k8s.namespace.name', 'k8s.container.name', 'service.name']),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode === 'hash' && c.hash_key_file === undefined && c.hash_key_env === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hash_key_file'], message: 'mode: hash needs a key: hash_key_file (a file with at least 16 bytes) or hash_key_env; never a literal key' });
    }
    if (c.hash_key_file !== undefined && c.hash_key_env !== undefined) ctx.addIssue({ code: 'custom', path: ['hash_key_env'], message: 'set hash_key_file or hash_key_env, not both' });
    const names = new Set<string>(c.detectors);
    c.custom.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['custom', i, 'name'], message: `"${p.name}" is already a detector name` });
      names.add(p.name);
    });
  });
export type RedactConfig = z.infer<typeof RedactConfigSchema>;
