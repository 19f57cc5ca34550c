/**
 * API tokens. A token is shown once (the bootstrap admin token is written to
 * `<data-dir>/admin.token`, mode 0600) and stored only as a hash in
 * `<data-dir>/auth/tokens.json`. Tokens are 32 random bytes, so a fast hash
 * (SHA-256) cannot be brute-forced; comparison is constant-time.
 *
 * File format (tokens.json):
 *   { "version": 1, "tokens": [ { "id": "tok_...", "hash": "<sha256 hex>",
 *     "tenant": "default", "roles": ["admin"], "created": "<RFC 3339>" } ] }
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from './principal.js';
import { isRole } from './roles.js';


interface StoredToken {
  id: string;
  hash: string;
  tenant: string;
  roles: string[];
  created: string;
}

export const TOKEN_PREFIX = 'mlk_';

export class TokenStore {
  private tokens: StoredToken[] = [];
  private readonly file: string;

  constructor(private readonly dataDir: string) {
    this.file = join(dataDir, 'auth', 'tokens.json');
    if (existsSync(this.file)) {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { tokens: StoredToken[] };
      this.tokens = parsed.tokens;
    }
  }

  /** First start: creates the admin token and writes it to `<data-dir>/admin.token`. Returns its path when created. */
  bootstrapAdmin(): { created: boolean; path: string } {
    const path = join(this.dataDir, 'admin.token');
    if (this.tokens.some((t) => t.roles.includes('admin')) && existsSync(path)) return { created: false, path };
    const token = this.create('default', ['admin']);
    writeSecretFile(path, token + '\n');
    return { created: true, path };
  }

  create(tenant: string, roles: string[]): string {
    const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    this.tokens.push({ id: 'tok_' + randomBytes(6).toString('hex'), hash: hashToken(secret), tenant, roles, created: new Date().toISOString() });
    this.save();
    return secret;
  }

  /** The principal a bearer token stands for, or undefined. */
  verify(presented: string): Principal | undefined {
    const hash = Buffer.from(hashToken(presented), 'hex');
    let found: StoredToken | undefined;
    // Compare against every token, constant-time each, so timing says nothing about which matched.
    for (const t of this.tokens) {
      if (timingSafeEqual(hash, Buffer.from(t.hash, 'hex'))) found = t;
    }
    return found ? { id: found.id, kind: 'token', name: found.id, tenant: found.tenant, roles: found.roles.filter(isRole), method: 'token' } : undefined;
  }

  private save(): void {
    mkdirSync(join(this.dataDir, 'auth'), { recursive: true, mode: 0o700 });
    writeSecretFile(this.file, JSON.stringify({ version: 1, tokens: this.tokens }, null, 2) + '\n');
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Atomic write with mode 0600 from the first byte (temp file + rename). */
export function writeSecretFile(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
