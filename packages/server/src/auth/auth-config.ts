/**
 * The `auth` section of the server config: UI sessions, password rules,
 * sign-in throttling, OpenID Connect and client certificate rules. Validation is pure; the OIDC
 * client secret is read at start (`oidcClientSecret`), never written in the
 * config itself (a file of mode 0600, or an environment variable).
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ROLES } from './roles.js';
import { CertificateRuleSchema } from './certificate-rules.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const httpsUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'https:' || (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]'));
    } catch {
      return false;
    }
  },
  { message: 'expected an https:// URL (http:// only for localhost)' },
);

export const ClaimRuleSchema = z
  .object({
    /** A claim of the ID token (a dotted path reaches into objects, e.g. `realm_access.roles`). */
    claim: z.string().min(1),
    /** Matches when the claim equals this, or is an array containing it. */
    equals: z.union([z.string(), z.number(), z.boolean()]),
    tenant: z.string().min(1),
    roles: z.array(z.enum(ROLES)).min(1),
  })
  .strict();

export const OidcSchema = z
  .object({
    /** The provider's issuer URL; its discovery document is read at start. */
    issuer: httpsUrl,
    client_id: z.string().min(1),
    client_secret_file: z.string().min(1).optional(),
    client_secret_env: envName.optional(),
    client_secret: z
      .undefined({ error: 'a literal client secret is not accepted: put it in a file (client_secret_file, mode 0600) or an environment variable (client_secret_env)' })
      .optional(),
    /** This server's callback as registered at the provider: `https://<host>/api/v1/auth/oidc/callback`. */
    redirect_uri: httpsUrl,
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
    /** Claim → tenant and roles; every matching rule adds its roles. No match = sign-in refused (403). */
    claim_rules: z.array(ClaimRuleSchema).min(1),
    /** Where the browser goes after a successful sign-in. */
    post_login_redirect: z.string().startsWith('/').default('/'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.client_secret_file !== undefined && o.client_secret_env !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_secret_env'], message: 'set at most one of client_secret_file or client_secret_env' });
    }
    if (!o.scopes.includes('openid')) ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'scopes must include "openid"' });
    if (!new URL(o.redirect_uri).pathname.endsWith('/api/v1/auth/oidc/callback')) {
      ctx.addIssue({ code: 'custom', path: ['redirect_uri'], message: 'the redirect URI must end in /api/v1/auth/oidc/callback (this server\'s callback route)' });
    }
  });

export const AuthSchema = z
  .object({
    sessions: z
      .object({
        /** A session with no request for this long ends. */
        idle_timeout_seconds: z.number().int().positive().max(7 * 24 * 3600).default(30 * 60),
        /** A session ends this long after sign-in, active or not. */
        absolute_timeout_seconds: z.number().int().positive().max(30 * 24 * 3600).default(12 * 3600),
      })
      .strict()
      .default({ idle_timeout_seconds: 30 * 60, absolute_timeout_seconds: 12 * 3600 }),
    passwords: z
      .object({ min_length: z.number().int().min(8).max(128).default(12) })
      .strict()
      .default({ min_length: 12 }),
    login_throttle: z
      .object({
        /** The n-th failed sign-in of one username locks it for base_delay_seconds, doubling with each further failure. */
        free_failures: z.number().int().min(1).max(100).default(5),
        /** The same, counted per client address (over every username). */
        free_failures_per_address: z.number().int().min(1).max(10_000).default(20),
        base_delay_seconds: z.number().positive().max(3600).default(1),
        max_delay_seconds: z.number().positive().max(24 * 3600).default(900),
        /** Failures are forgotten this long after the last one (and its lock). */
        forget_after_seconds: z.number().positive().max(7 * 24 * 3600).default(3600),
      })
      .strict()
      .default({ free_failures: 5, free_failures_per_address: 20, base_delay_seconds: 1, max_delay_seconds: 900, forget_after_seconds: 3600 }),
    oidc: OidcSchema.optional(),
    /**
     * Client certificates (mTLS, server.tls.client_auth optional/required):
     * ordered rules from a SPIFFE ID pattern to a tenant and roles; the
     * first match wins; a verified certificate no rule matches is refused
     * (auth/certificate-rules.ts).
     */
    certificate_rules: z.array(CertificateRuleSchema).default([]),
  })
  .strict();

export type AuthConfig = z.infer<typeof AuthSchema>;
export type OidcConfig = z.infer<typeof OidcSchema>;

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/** The OIDC client secret from its file or variable; undefined = a public client (PKCE only). */
export function oidcClientSecret(oidc: OidcConfig, warn: (message: string, fields: Record<string, unknown>) => void): string | undefined {
  if (oidc.client_secret_env !== undefined) {
    const value = process.env[oidc.client_secret_env];
    if (value === undefined) throw new AuthConfigError(`auth.oidc.client_secret_env: the environment variable ${oidc.client_secret_env} is not set`);
    return value;
  }
  if (oidc.client_secret_file === undefined) return undefined;
  const path = oidc.client_secret_file;
  try {
    if ((statSync(path).mode & 0o077) !== 0) warn('a secret file is readable by group or others; chmod 600 it', { key: 'auth.oidc.client_secret_file', path });
    // One trailing newline is what `echo secret > file` leaves; it is not part of the secret.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new AuthConfigError(`auth.oidc.client_secret_file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
