/**
 * UI sessions, kept server-side. The browser holds only the session id (a
 * cookie: 32 random bytes); the server keeps a SHA-256 of it (the id is
 * random, so a fast hash cannot be reversed), so a copy of the data dir
 * does not hand out live sessions.
 *
 * A session is bound to one tenant at a time and ends at the first of:
 * sign-out, `idleMs` without a request, `absoluteMs` after sign-in, the
 * user being disabled or losing their grant, or a password change (which
 * ends every other session of the user). A password user's roles are read
 * from their grant on every request, so a changed grant applies at once; an
 * OpenID Connect session carries the tenants and roles its claims mapped
 * to at sign-in.
 *
 * The CSRF token is derived from the session id (HMAC-SHA256 of a fixed
 * label under the id), so it needs no storage, changes with every session
 * and does not reveal the id.
 *
 * `last_seen_at` moves on every request in memory and is written at most
 * once a minute, so the idle timeout after a restart may end a session up
 * to a minute early, never late.
 *
 * File format (`<data-dir>/auth/sessions.json`, mode 0600):
 *   { "version": 1, "sessions": [ { "hash": "<sha256 hex of the id>", "kind": "password" | "oidc",
 *     "subject", "name", "tenant", "grants"?: [ { "tenant", "roles" } ] (oidc),
 *     "created_at", "last_seen_at", "expires_at" } ] }
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isRole } from './roles.js';
import { StateFile } from './state-file.js';
import type { Grant } from './user-store.js';

export interface SessionRecord {
  hash: string;
  kind: 'password' | 'oidc';
  /** The user id (`usr_…`) or the OpenID Connect subject (`oidc:<sub>`). */
  subject: string;
  name: string;
  tenant: string;
  /** OpenID Connect sessions: the tenants and roles the claims mapped to. */
  grants?: Grant[];
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

interface SessionFile {
  version: 1;
  sessions: SessionRecord[];
}

export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

const PERSIST_SEEN_MS = 60_000;

export class SessionStore {
  private readonly file: StateFile<SessionFile>;
  private readonly seen = new Map<string, number>();

  constructor(
    dataDir: string,
    private readonly timeouts: SessionTimeouts,
  ) {
    this.file = new StateFile(join(dataDir, 'auth', 'sessions.json'), parseSessionFile, () => ({ version: 1, sessions: [] }));
  }

  /** Starts a session; the id goes to the browser and is kept nowhere else. */
  create(spec: { kind: 'password' | 'oidc'; subject: string; name: string; tenant: string; grants?: Grant[] }): { id: string; csrf: string; record: SessionRecord } {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const record: SessionRecord = {
      hash: hashOf(id),
      kind: spec.kind,
      subject: spec.subject,
      name: spec.name,
      tenant: spec.tenant,
      ...(spec.grants ? { grants: spec.grants } : {}),
      created_at: new Date(now).toISOString(),
      last_seen_at: new Date(now).toISOString(),
      expires_at: new Date(now + this.timeouts.absoluteMs).toISOString(),
    };
    this.file.update((f) => {
      f.sessions = f.sessions.filter((s) => this.alive(s, now));
      f.sessions.push(record);
    });
    return { id, csrf: csrfTokenOf(id), record };
  }

  /** The live session of this id, or undefined; counts as activity. */
  lookup(id: string): SessionRecord | undefined {
    const hash = hashOf(id);
    const now = Date.now();
    const s = this.file.read({ maxAgeMs: 1000 }).sessions.find((x) => x.hash === hash);
    if (!s || !this.alive(s, now)) return undefined;
    this.seen.set(hash, now);
    if (now - Date.parse(s.last_seen_at) >= PERSIST_SEEN_MS) {
      try {
        this.file.update((f) => {
          const t = f.sessions.find((x) => x.hash === hash);
          if (t) t.last_seen_at = new Date(now).toISOString();
        });
      } catch {
        // Only the persisted idle clock: memory still has it.
      }
    }
    return s;
  }

  /** Ends one session; true when it existed. */
  end(id: string): boolean {
    const hash = hashOf(id);
    this.seen.delete(hash);
    return this.file.update((f) => {
      const before = f.sessions.length;
      f.sessions = f.sessions.filter((s) => s.hash !== hash);
      return f.sessions.length < before;
    });
  }

  /** Ends every session of a subject (but the one kept, e.g. the session that changed the password); returns how many. */
  endAllOf(subject: string, keepId?: string): number {
    const keep = keepId !== undefined ? hashOf(keepId) : undefined;
    return this.file.update((f) => {
      const before = f.sessions.length;
      f.sessions = f.sessions.filter((s) => s.subject !== subject || s.hash === keep);
      return before - f.sessions.length;
    });
  }

  /** Ends every session of a subject bound to one tenant (its grant there was removed). */
  endAllIn(subject: string, tenant: string): number {
    return this.file.update((f) => {
      const before = f.sessions.length;
      f.sessions = f.sessions.filter((s) => s.subject !== subject || s.tenant !== tenant);
      return before - f.sessions.length;
    });
  }

  /** Binds a session to another tenant (the caller checked the grant). */
  switchTenant(id: string, tenant: string): SessionRecord | undefined {
    const hash = hashOf(id);
    return this.file.update((f) => {
      const s = f.sessions.find((x) => x.hash === hash);
      if (!s) return undefined;
      s.tenant = tenant;
      return { ...s };
    });
  }

  private alive(s: SessionRecord, now: number): boolean {
    const lastSeen = Math.max(Date.parse(s.last_seen_at), this.seen.get(s.hash) ?? 0);
    return now < Date.parse(s.expires_at) && now - lastSeen < this.timeouts.idleMs;
  }
}

export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('meshlog csrf v1').digest('base64url');
}

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function parseSessionFile(raw: unknown): SessionFile {
  const f = raw as { version?: unknown; sessions?: unknown };
  if (typeof f !== 'object' || f === null || f.version !== 1 || !Array.isArray(f.sessions)) throw new Error('expected { "version": 1, "sessions": [...] }');
  const sessions = (f.sessions as SessionRecord[]).map((s) => (s.grants ? { ...s, grants: s.grants.map((g) => ({ tenant: g.tenant, roles: g.roles.filter(isRole) })) } : s));
  return { version: 1, sessions };
}
