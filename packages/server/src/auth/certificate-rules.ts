/**
 * Client certificate identities: a verified client certificate's SPIFFE ID
 * (its URI SAN, `spiffe://<trust domain>/<path>`) becomes a principal
 * through ordered rules in `auth.certificate_rules`:
 *
 *   - spiffe_id: "spiffe://cluster.local/ns/payments/sa/*"
 *     tenant: payments
 *     roles: [ingester]
 *
 * Patterns match whole path segments: `*` is exactly one segment, `**`
 * (last only) is the rest of the path, one segment or more; everything
 * else is literal (case-sensitive, as SPIFFE IDs compare), and the trust
 * domain is always literal. The first rule that matches wins; a verified
 * certificate no rule matches stands for nobody, and the refusal names its
 * SPIFFE ID so the operator can write the missing rule.
 *
 * Whether the certificate is verified is the listener's business (its
 * client CA); this module only maps identities, so every listener (HTTP,
 * gRPC, syslog, Fluent forward) maps them the same way.
 */
import { z } from 'zod';
import type { PeerCertificateInfo } from '@meshlog/core';
import type { Principal } from './principal.js';
import { ROLES, type Role } from './roles.js';

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Why a pattern is not one; undefined when it is. */
export function spiffePatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('spiffe://')) return 'a SPIFFE ID pattern starts with spiffe://';
  const rest = pattern.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  if (trustDomain === '') return 'the trust domain is missing (spiffe://<trust domain>/<path>)';
  if (trustDomain.includes('*')) return 'the trust domain is matched literally; write it out (wildcards are for path segments)';
  if (trustDomain !== trustDomain.toLowerCase()) return 'a trust domain is lower case';
  if (slash < 0) return undefined;
  const segments = rest.slice(slash + 1).split('/');
  for (const [i, seg] of segments.entries()) {
    if (seg === '') return 'empty path segment (a double or trailing slash)';
    if (seg === '**' && i !== segments.length - 1) return '** matches the rest of the path, so it can only be the last segment';
    if (seg !== '*' && seg !== '**' && seg.includes('*')) return `"${seg}": * and ** stand for whole path segments; partial wildcards are not supported`;
  }
  return undefined;
}

export const CertificateRuleSchema = z
  .object({
    /** A SPIFFE ID, or a pattern with `*` (one path segment) and a final `**` (the rest). */
    spiffe_id: z.string().superRefine((p, ctx) => {
      const problem = spiffePatternProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** The tenant the certificate's holder reads and writes. */
    tenant: z.string().regex(TENANT, 'a tenant is 1-63 letters, digits, "_", "." or "-"'),
    roles: z
      .array(z.enum(ROLES, { error: `a role is one of ${ROLES.join(', ')}` }))
      .min(1, 'give at least one role (ingester to send logs)'),
  })
  .strict();
export type CertificateRule = z.infer<typeof CertificateRuleSchema>;

function matches(pattern: string, id: string): boolean {
  const p = pattern.slice('spiffe://'.length).split('/');
  const s = id.slice('spiffe://'.length).split('/');
  // The trust domain (first element) is literal.
  if (p[0] !== s[0]) return false;
  for (let i = 1; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === '**') return s.length > i && s.slice(i).every((x) => x !== '');
    if (i >= s.length || s[i] === '') return false;
    if (seg !== '*' && seg !== s[i]) return false;
  }
  return p.length === s.length;
}

/** The outcome of mapping one certificate. */
export type CertificateIdentity = { principal: Principal } | { refuse: string };

export class CertificateIdentities {
  constructor(private readonly rules: readonly CertificateRule[]) {}

  get size(): number {
    return this.rules.length;
  }

  /** The rule a SPIFFE ID matches first, or undefined. */
  ruleFor(spiffeId: string): { rule: CertificateRule; index: number } | undefined {
    const index = this.rules.findIndex((r) => matches(r.spiffe_id, spiffeId));
    return index < 0 ? undefined : { rule: this.rules[index]!, index };
  }

  /** The principal a verified certificate stands for, or why it stands for nobody. */
  identify(cert: PeerCertificateInfo): CertificateIdentity {
    if (cert.spiffeIds.length === 0) {
      return { refuse: `the client certificate ${cert.subject} (serial ${cert.serial}) has no SPIFFE ID (a spiffe:// URI SAN), which auth.certificate_rules match` };
    }
    if (cert.spiffeIds.length > 1) {
      return { refuse: `the client certificate ${cert.subject} has ${cert.spiffeIds.length} SPIFFE IDs (${cert.spiffeIds.join(', ')}); an X509-SVID has exactly one` };
    }
    const id = cert.spiffeIds[0]!;
    const found = this.ruleFor(id);
    if (!found) {
      return {
        refuse:
          this.rules.length === 0
            ? `client certificate ${id}: no auth.certificate_rules are configured, so no certificate maps to a tenant; add a rule for it`
            : `client certificate ${id} matches none of the ${this.rules.length} auth.certificate_rules; add a rule for it`,
      };
    }
    const roles: Role[] = [...found.rule.roles];
    return { principal: { id, kind: 'certificate', name: cert.subject, tenant: found.rule.tenant, roles, method: 'mtls' } };
  }
}
