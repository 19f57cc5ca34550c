/**
 * API tokens: for agents, scripts and ingest clients. A token is shown once
 * (the bootstrap admin token is written to `<data-dir>/admin.token`, mode
 * 0600, on the first start) and kept only as an argon2id hash.
 *
 * Token text: `mlk_<16 hex id>_<43 base64url chars: 32 random bytes>`. The
 * id in the text finds the one stored hash to check (no scan); the slow
 * hash then runs once per token per cache period, not per request: a
 * verified-token cache, keyed by an HMAC of the presented text under a key
 * that lives only in this process, remembers the outcome for `cacheTtlMs`.
 * A cache hit still checks the token's record, so a revocation or an expiry
 * takes effect at once (and a revocation by the offline CLI within a
 * second: the file is re-checked at most once a second).
 *
 * Tokens of tokens.json version 1 (`mlk_<43 chars>`, stored as SHA-256) keep
 * verifying: they are 256-bit random, so a fast hash cannot be brute-forced;
 * they are found by their hash. `last_used_at` is persisted at most once a
 * minute per token.
 *
 * File format (`<data-dir>/auth/tokens.json`, mode 0600):
 *   { "version": 2, "tokens": [ { "id": "tok_…", "hash": "$argon2id$…" | "sha256:<hex>",
 *     "description", "tenant", "roles": [..], "scopes"?: [..], "expires_at"?,
 *     "created_by", "created_at", "last_used_at"?, "revoked_at"?, "revoked_by"? } ] }
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from './principal.js';
import { isPermission, isRole, type Permission, type Role } from './roles.js';
import { StateFile, writeAtomic } from './state-file.js';
import { hashSecret, hashSecretSync, verifySecret } from './secret-hash.js';

export const TOKEN_PREFIX = 'mlk_';
const TOKEN_TEXT = /^mlk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
const LEGACY_TOKEN_TEXT = /^mlk_[A-Za-z0-9_-]{43}$/;
const LEGACY_HASH = 'sha256:';

/** What anyone with `identities:read` may see of a token: everything but its hash. */
export interface ApiToken {
  id: string;
  description: string;
  tenant: string;
  roles: Role[];
  /** Narrow the roles' permissions; absent = all of them. */
  scopes?: Permission[];
  /** RFC 3339; absent = never expires. */
  expires_at?: string;
  /** The principal id that created it (`cli` for the offline command, `bootstrap` for admin.token). */
  created_by: string;
  created_at: string;
  last_used_at?: string;
  revoked_at?: string;
  revoked_by?: string;
  /** Set while the token waits for a second admin's approval (segregation of duties): it is refused until then. */
  pending_approval?: true;
  /** Who approved it, once approved. */
  approved_by?: string;
}

interface StoredToken extends ApiToken {
  hash: string;
}

interface TokenFile {
  version: 2;
  tokens: StoredToken[];
}

export interface TokenSpec {
  description: string;
  tenant: string;
  roles: readonly Role[];
  scopes?: readonly Permission[];
  expiresAt?: Date;
  createdBy: string;
  /** Minted inactive: usable once `activate` is called (after approval). */
  pendingApproval?: boolean;
}

export interface TokenStoreOptions {
  /** How long a verified (or refused) token text is remembered; default 60 s. */
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per token; default 60 s. */
  lastUsedPersistMs?: number;
}

const CACHE_MAX = 10_000;

export class TokenStore {
  private readonly file: StateFile<TokenFile>;
  private readonly cacheKey = randomBytes(32);
  private readonly cache = new Map<string, { id: string | undefined; until: number }>();
  private readonly inflight = new Map<string, Promise<string | undefined>>();
  private readonly lastUsed = new Map<string, number>();
  private readonly persistedUse = new Map<string, number>();
  private persistTimer: NodeJS.Timeout | undefined;
  /** Lookups by id and by legacy hash, rebuilt whenever the file's state object changes. */
  private indexed: { of: TokenFile; byId: Map<string, StoredToken>; byLegacyHash: Map<string, StoredToken> } | undefined;
  private readonly cacheTtlMs: number;
  private readonly lastUsedPersistMs: number;

  constructor(
    private readonly dataDir: string,
    opts: TokenStoreOptions = {},
  ) {
    this.file = new StateFile(join(dataDir, 'auth', 'tokens.json'), parseTokenFile, () => ({ version: 2, tokens: [] }));
    this.cacheTtlMs = opts.cacheTtlMs ?? 60_000;
    this.lastUsedPersistMs = opts.lastUsedPersistMs ?? 60_000;
    this.file.read();
  }

  /**
   * First start: creates the admin token and writes it to `<data-dir>/admin.token`.
   * Only once: a bootstrap token revoked or its file deleted later is not
   * made again (tokens made beforehand with `meshlog token create` do not
   * count). Data dirs of tokens.json version 1 keep their admin.token.
   */
  bootstrapAdmin(): { created: boolean; path: string } {
    const path = join(this.dataDir, 'admin.token');
    const tokens = this.file.read().tokens;
    if (tokens.some((t) => t.created_by === 'bootstrap')) return { created: false, path };
    if (existsSync(path) && tokens.some((t) => t.roles.includes('admin'))) return { created: false, path };
    const { secret } = this.mintSync({ description: 'bootstrap admin (admin.token)', tenant: 'default', roles: ['admin'], createdBy: 'bootstrap' });
    writeAtomic(path, secret + '\n');
    return { created: true, path };
  }

  /** A new token (hashed off the event loop); the secret is in the result and nowhere else. */
  async mint(spec: TokenSpec): Promise<{ secret: string; token: ApiToken }> {
    const { id, secret } = newTokenText();
    return this.store(spec, id, secret, await hashSecret(secret));
  }

  /** The same, blocking: for the offline CLI and tests. */
  mintSync(spec: TokenSpec): { secret: string; token: ApiToken } {
    const { id, secret } = newTokenText();
    return this.store(spec, id, secret, hashSecretSync(secret));
  }

  /** Shorthand kept for tests and scripts: a token with these roles, returned as its secret. */
  create(tenant: string, roles: Role[]): string {
    return this.mintSync({ description: `${roles.join('+')} token`, tenant, roles, createdBy: 'cli' }).secret;
  }

  private store(spec: TokenSpec, id: string, secret: string, hash: string): { secret: string; token: ApiToken } {
    const stored: StoredToken = {
      id,
      hash,
      description: spec.description,
      tenant: spec.tenant,
      roles: [...spec.roles],
      ...(spec.scopes ? { scopes: [...spec.scopes] } : {}),
      ...(spec.expiresAt ? { expires_at: spec.expiresAt.toISOString() } : {}),
      created_by: spec.createdBy,
      created_at: new Date().toISOString(),
      ...(spec.pendingApproval ? { pending_approval: true as const } : {}),
    };
    this.file.update((f) => void f.tokens.push(stored));
    return { secret, token: publicToken(stored) };
  }

  /** Every token (of one tenant), without hashes, newest first. */
  list(tenant?: string): ApiToken[] {
    return this.file
      .read()
      .tokens.filter((t) => tenant === undefined || t.tenant === tenant)
      .map((t) => this.withLastUse(publicToken(t)))
      .reverse();
  }

  get(id: string): ApiToken | undefined {
    const t = this.lookup().byId.get(id);
    return t ? this.withLastUse(publicToken(t)) : undefined;
  }

  /** Revokes a token; undefined when there is no such token. Revoking twice keeps the first time. */
  revoke(id: string, by: string): { before: ApiToken; after: ApiToken } | undefined {
    const result = this.file.update((f) => {
      const t = f.tokens.find((x) => x.id === id);
      if (!t) return undefined;
      const before = publicToken(t);
      if (t.revoked_at === undefined) {
        t.revoked_at = new Date().toISOString();
        t.revoked_by = by;
      }
      return { before, after: publicToken(t) };
    });
    for (const [k, v] of this.cache) if (v.id === id) this.cache.delete(k);
    return result;
  }

  /** Activates a token minted pending approval; undefined when there is no such token waiting. */
  activate(id: string, approvedBy: string): { before: ApiToken; after: ApiToken } | undefined {
    return this.file.update((f) => {
      const t = f.tokens.find((x) => x.id === id);
      if (!t || !t.pending_approval) return undefined;
      const before = publicToken(t);
      delete t.pending_approval;
      t.approved_by = approvedBy;
      return { before, after: publicToken(t) };
    });
  }

  /** The principal a presented token stands for, or undefined (unknown, wrong, expired or revoked: not said which). */
  async verify(presented: string): Promise<Principal | undefined> {
    const key = createHmac('sha256', this.cacheKey).update(presented).digest('base64url');
    const now = Date.now();
    let id: string | undefined;
    const cached = this.cache.get(key);
    if (cached && cached.until > now) {
      id = cached.id;
    } else {
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = this.check(presented).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
      }
      id = await pending;
      this.remember(key, id, now);
    }
    if (id === undefined) return undefined;
    // The record decides, cached or not: a revocation or expiry applies to the next request.
    const t = this.lookup({ maxAgeMs: 1000 }).byId.get(id);
    if (!t || !usable(t, now)) return undefined;
    this.touch(t.id, now);
    return {
      id: t.id,
      kind: 'token',
      name: t.description || t.id,
      tenant: t.tenant,
      roles: t.roles,
      ...(t.scopes ? { scopes: t.scopes } : {}),
      method: 'token',
    };
  }

  private lookup(opts: { maxAgeMs?: number } = {}): { byId: Map<string, StoredToken>; byLegacyHash: Map<string, StoredToken> } {
    const f = this.file.read(opts);
    if (this.indexed?.of !== f) {
      this.indexed = {
        of: f,
        byId: new Map(f.tokens.map((t) => [t.id, t])),
        byLegacyHash: new Map(f.tokens.filter((t) => t.hash.startsWith(LEGACY_HASH)).map((t) => [t.hash.slice(LEGACY_HASH.length), t])),
      };
    }
    return this.indexed;
  }

  /** The slow check: the id of the token the text proves, or undefined. */
  private async check(presented: string): Promise<string | undefined> {
    const m = TOKEN_TEXT.exec(presented);
    if (m) {
      const id = `tok_${m[1]}`;
      // Not known yet: perhaps minted by the CLI a moment ago, so look at the file once more.
      const t = this.lookup({ maxAgeMs: 1000 }).byId.get(id) ?? this.lookup().byId.get(id);
      if (!t || t.hash.startsWith(LEGACY_HASH)) return undefined;
      return (await verifySecret(t.hash, presented)) ? t.id : undefined;
    }
    if (LEGACY_TOKEN_TEXT.test(presented)) {
      // Found by its hash: a SHA-256 of 256 random bits says nothing about another token.
      const digest = createHash('sha256').update(presented).digest();
      const t = this.lookup().byLegacyHash.get(digest.toString('hex'));
      if (t && timingSafeEqual(Buffer.from(t.hash.slice(LEGACY_HASH.length), 'hex'), digest)) return t.id;
    }
    return undefined;
  }

  private remember(key: string, id: string | undefined, now: number): void {
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { id, until: now + this.cacheTtlMs });
  }

  private withLastUse(t: ApiToken): ApiToken {
    const used = this.lastUsed.get(t.id);
    if (used !== undefined && (t.last_used_at === undefined || Date.parse(t.last_used_at) < used)) return { ...t, last_used_at: new Date(used).toISOString() };
    return t;
  }

  private touch(id: string, now: number): void {
    this.lastUsed.set(id, now);
    const persisted = this.persistedUse.get(id);
    if (persisted !== undefined && now - persisted < this.lastUsedPersistMs) return;
    this.persistedUse.set(id, now);
    this.persistTimer ??= setTimeout(() => this.flushLastUse(), 0).unref();
  }

  /** Writes pending last-used times (called on a timer and at shutdown). */
  flushLastUse(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const byId = this.lookup().byId;
    const due = [...this.lastUsed].filter(([id, at]) => {
      const t = byId.get(id);
      return t !== undefined && (t.last_used_at === undefined || Date.parse(t.last_used_at) < at);
    });
    if (due.length === 0) return;
    try {
      this.file.update((f) => {
        for (const [id, at] of due) {
          const t = f.tokens.find((x) => x.id === id);
          if (t) t.last_used_at = new Date(at).toISOString();
        }
      });
    } catch {
      // Only a last-used time: the next use tries again.
      for (const [id] of due) this.persistedUse.delete(id);
    }
  }
}

function newTokenText(): { id: string; secret: string } {
  const hex = randomBytes(8).toString('hex');
  return { id: `tok_${hex}`, secret: `${TOKEN_PREFIX}${hex}_${randomBytes(32).toString('base64url')}` };
}

function usable(t: StoredToken, now: number): boolean {
  return t.revoked_at === undefined && !t.pending_approval && (t.expires_at === undefined || Date.parse(t.expires_at) > now);
}

function publicToken(t: StoredToken): ApiToken {
  const { hash: _hash, ...rest } = t;
  return rest;
}

/** Reads version 2, and version 1 (SHA-256 hashes, no descriptions) as written before. */
function parseTokenFile(raw: unknown): TokenFile {
  const f = raw as { version?: unknown; tokens?: unknown };
  if (typeof f !== 'object' || f === null || !Array.isArray(f.tokens)) throw new Error('expected { "version", "tokens": [...] }');
  if (f.version === 1) {
    const tokens = (f.tokens as { id: string; hash: string; tenant: string; roles: string[]; created: string }[]).map(
      (t): StoredToken => ({
        id: t.id,
        hash: LEGACY_HASH + t.hash,
        description: 'token from before descriptions (tokens.json version 1)',
        tenant: t.tenant,
        roles: t.roles.filter(isRole),
        created_by: 'unknown',
        created_at: t.created,
      }),
    );
    return { version: 2, tokens };
  }
  if (f.version !== 2) throw new Error(`unknown tokens.json version ${JSON.stringify(f.version)} (this server reads 1 and 2)`);
  const tokens = (f.tokens as StoredToken[]).map((t) => ({
    ...t,
    roles: t.roles.filter(isRole),
    ...(t.scopes ? { scopes: t.scopes.filter(isPermission) } : {}),
  }));
  return { version: 2, tokens };
}
