/**
 * OpenID Connect sign-in (authorization code flow with PKCE S256, state and
 * nonce) with `openid-client`. The provider's discovery document is read on
 * the first sign-in (and again after a failure), so a provider that is down
 * at start does not stop the server.
 *
 * A sign-in in progress is held here, keyed by a random flow id that only
 * the browser that started it has (a cookie scoped to the callback path):
 * the PKCE verifier, state and nonce never leave the server, each flow can
 * be finished once, and flows expire after ten minutes.
 *
 * Claims (ID token, merged with the userinfo answer when the provider has
 * one: many put groups only there) are mapped to tenants and roles by
 * `claim_rules`; every matching rule adds its roles to its tenant. No
 * matching rule = no sign-in.
 */
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { OidcConfig } from './auth-config.js';
import type { Role } from './roles.js';
import type { Grant } from './user-store.js';

const FLOW_TTL_MS = 10 * 60_000;
const MAX_FLOWS = 10_000;

interface PendingFlow {
  verifier: string;
  state: string;
  nonce: string;
  tenant: string | undefined;
  createdAt: number;
}

export interface OidcIdentity {
  /** `oidc:<sub>`: the actor id in audit records. */
  subject: string;
  name: string;
  /** Tenants and roles the claims map to, in rule order. */
  grants: Grant[];
  /** The claims the rules looked at (for the audit record of a refusal). */
  ruleClaims: Record<string, unknown>;
}

/** A sign-in that cannot go on: `status` 400 (bad or stale flow), 403 (no rule matched), 503 (provider unreachable). */
export class OidcError extends Error {
  constructor(
    readonly status: 400 | 403 | 503,
    message: string,
    readonly claims?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'OidcError';
  }
}

export class OidcSignIn {
  private discovered: Promise<oidc.Configuration> | undefined;
  private readonly flows = new Map<string, PendingFlow>();

  constructor(
    private readonly cfg: OidcConfig,
    private readonly clientSecret: string | undefined,
  ) {}

  private configuration(): Promise<oidc.Configuration> {
    this.discovered ??= (async () => {
      const issuer = new URL(this.cfg.issuer);
      const insecure = issuer.protocol === 'http:';
      try {
        return await oidc.discovery(
          issuer,
          this.cfg.client_id,
          undefined,
          this.clientSecret !== undefined ? oidc.ClientSecretBasic(this.clientSecret) : oidc.None(),
          insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
        );
      } catch (err) {
        this.discovered = undefined;
        throw new OidcError(503, `the OpenID Connect provider ${this.cfg.issuer} cannot be reached or answered no valid discovery document (${(err as Error).message}); retry later`);
      }
    })();
    return this.discovered;
  }

  /** Starts a sign-in: the flow id for the browser's cookie and the provider URL to send it to. */
  async begin(tenant: string | undefined): Promise<{ flowId: string; url: string }> {
    const config = await this.configuration();
    const now = Date.now();
    for (const [id, f] of this.flows) if (now - f.createdAt > FLOW_TTL_MS) this.flows.delete(id);
    if (this.flows.size >= MAX_FLOWS) this.flows.delete(this.flows.keys().next().value!);
    const verifier = oidc.randomPKCECodeVerifier();
    const flow: PendingFlow = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce(), tenant, createdAt: now };
    const flowId = randomBytes(32).toString('base64url');
    this.flows.set(flowId, flow);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.cfg.redirect_uri,
      scope: this.cfg.scopes.join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { flowId, url: url.href };
  }

  /** The requested tenant of a flow (to check before the exchange), without using it up. */
  requestedTenant(flowId: string): string | undefined {
    return this.flows.get(flowId)?.tenant;
  }

  /**
   * Finishes a sign-in from the provider's redirect (`query` is the
   * callback's query string): exchanges the code, verifies the ID token
   * (signature, issuer, audience, expiry, nonce) and maps its claims.
   */
  async finish(flowId: string | undefined, query: string): Promise<OidcIdentity & { tenant: string | undefined }> {
    const flow = flowId !== undefined ? this.flows.get(flowId) : undefined;
    if (flowId !== undefined) this.flows.delete(flowId);
    if (!flow || Date.now() - flow.createdAt > FLOW_TTL_MS) {
      throw new OidcError(400, 'no sign-in in progress for this browser (it expired after 10 minutes, was already used, or cookies are blocked); start again at /api/v1/auth/oidc/login');
    }
    const config = await this.configuration();
    const callback = new URL(this.cfg.redirect_uri);
    callback.search = query;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      // The provider's own error (access_denied, …) or a failed check; neither carries a secret.
      throw new OidcError(400, `the OpenID Connect sign-in failed: ${describe(err)}`);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcError(400, 'the OpenID Connect provider returned no ID token');
    let claims: Record<string, unknown> = { ...idClaims };
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...idClaims };
      } catch (err) {
        throw new OidcError(503, `the OpenID Connect provider's userinfo endpoint failed: ${describe(err)}`);
      }
    }
    const grants = grantsOf(this.cfg.claim_rules, claims);
    const ruleClaims = Object.fromEntries([...new Set(this.cfg.claim_rules.map((r) => r.claim))].map((c) => [c, claimAt(claims, c) ?? null]));
    const name = [claims['preferred_username'], claims['email'], claims['name']].find((v): v is string => typeof v === 'string' && v !== '') ?? idClaims.sub;
    return { subject: `oidc:${idClaims.sub}`, name, grants, ruleClaims, tenant: flow.tenant };
  }
}

/** Tenants and roles the rules grant for these claims, tenants in rule order. */
export function grantsOf(rules: OidcConfig['claim_rules'], claims: Record<string, unknown>): Grant[] {
  const byTenant = new Map<string, Set<Role>>();
  for (const rule of rules) {
    const value = claimAt(claims, rule.claim);
    const matches = Array.isArray(value) ? value.includes(rule.equals) : value === rule.equals;
    if (!matches) continue;
    const roles = byTenant.get(rule.tenant) ?? new Set<Role>();
    for (const r of rule.roles) roles.add(r);
    byTenant.set(rule.tenant, roles);
  }
  return [...byTenant].map(([tenant, roles]) => ({ tenant, roles: [...roles] }));
}

function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let v: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function describe(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError) {
    return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
