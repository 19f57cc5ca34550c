/**
 * Users who sign in with a password (the UI; `meshlog user` offline). A user
 * holds grants, each a tenant and roles in it; a signed-in session is bound
 * to one of them at a time. Passwords are kept only as argon2id hashes.
 *
 * Invariants: usernames are unique and compared lower-cased; a disabled
 * user cannot sign in (and the session check refuses their sessions); a
 * user with no grant left is disabled; a sign-in attempt takes the same
 * time whether or not the user exists (a dummy hash is checked instead).
 *
 * File format (`<data-dir>/auth/users.json`, mode 0600):
 *   { "version": 1, "users": [ { "id": "usr_…", "username", "password_hash": "$argon2id$…",
 *     "grants": [ { "tenant", "roles": [..] } ], "created_by", "created_at",
 *     "password_changed_at", "disabled_at"?, "disabled_by"? } ] }
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isRole, type Role } from './roles.js';
import { StateFile } from './state-file.js';
import { hashSecret, hashSecretSync, verifyAgainstNothing, verifySecret } from './secret-hash.js';

export interface Grant {
  tenant: string;
  roles: Role[];
}

export interface User {
  id: string;
  username: string;
  grants: Grant[];
  created_by: string;
  created_at: string;
  password_changed_at: string;
  disabled_at?: string;
  disabled_by?: string;
}

interface StoredUser extends User {
  password_hash: string;
}

interface UserFile {
  version: 1;
  users: StoredUser[];
}

export const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,127}$/;
export const PASSWORD_MAX = 1024;

/** A reason the value cannot be a username, or undefined. */
export function usernameProblem(username: string): string | undefined {
  return USERNAME.test(username) ? undefined : 'a username is 1 to 128 lower-case letters, digits, ".", "_", "@" or "-", starting with a letter or digit';
}

/** A reason the value cannot be a password, or undefined. */
export function passwordProblem(password: string, minLength: number): string | undefined {
  if (password.length < minLength) return `a password needs at least ${minLength} characters (a passphrase of a few words is easiest)`;
  if (password.length > PASSWORD_MAX) return `a password has at most ${PASSWORD_MAX} characters`;
  return undefined;
}

export class UserStore {
  private readonly file: StateFile<UserFile>;

  constructor(dataDir: string) {
    this.file = new StateFile(join(dataDir, 'auth', 'users.json'), parseUserFile, () => ({ version: 1, users: [] }));
    this.file.read();
  }

  list(): User[] {
    return this.file.read().users.map(publicUser);
  }

  get(id: string): User | undefined {
    const u = this.file.read({ maxAgeMs: 1000 }).users.find((x) => x.id === id);
    return u ? publicUser(u) : undefined;
  }

  byUsername(username: string): User | undefined {
    const name = username.toLowerCase();
    const u = this.file.read().users.find((x) => x.username === name);
    return u ? publicUser(u) : undefined;
  }

  async add(spec: { username: string; password: string; grants: Grant[]; createdBy: string }): Promise<User> {
    return this.insert(spec, await hashSecret(spec.password));
  }

  addSync(spec: { username: string; password: string; grants: Grant[]; createdBy: string }): User {
    return this.insert(spec, hashSecretSync(spec.password));
  }

  private insert(spec: { username: string; grants: Grant[]; createdBy: string }, passwordHash: string): User {
    const username = spec.username.toLowerCase();
    const now = new Date().toISOString();
    const user: StoredUser = {
      id: `usr_${randomBytes(8).toString('hex')}`,
      username,
      password_hash: passwordHash,
      grants: spec.grants.map((g) => ({ tenant: g.tenant, roles: [...g.roles] })),
      created_by: spec.createdBy,
      created_at: now,
      password_changed_at: now,
    };
    return this.file.update((f) => {
      if (f.users.some((u) => u.username === username)) throw new UserExistsError(username);
      f.users.push(user);
      return publicUser(user);
    });
  }

  async setPassword(id: string, password: string): Promise<User | undefined> {
    return this.replaceHash(id, await hashSecret(password));
  }

  setPasswordSync(id: string, password: string): User | undefined {
    return this.replaceHash(id, hashSecretSync(password));
  }

  private replaceHash(id: string, passwordHash: string): User | undefined {
    return this.file.update((f) => {
      const u = f.users.find((x) => x.id === id);
      if (!u) return undefined;
      u.password_hash = passwordHash;
      u.password_changed_at = new Date().toISOString();
      return publicUser(u);
    });
  }

  /** Sets (or with no roles, removes) the user's grant in one tenant; with none left the user is disabled. */
  setGrant(id: string, tenant: string, roles: Role[], by: string): { before: User; after: User } | undefined {
    return this.file.update((f) => {
      const u = f.users.find((x) => x.id === id);
      if (!u) return undefined;
      const before = publicUser(u);
      const others = u.grants.filter((g) => g.tenant !== tenant);
      u.grants = roles.length > 0 ? [...others, { tenant, roles: [...roles] }] : others;
      if (u.grants.length === 0 && u.disabled_at === undefined) {
        u.disabled_at = new Date().toISOString();
        u.disabled_by = by;
      }
      return { before, after: publicUser(u) };
    });
  }

  disable(id: string, by: string): { before: User; after: User } | undefined {
    return this.file.update((f) => {
      const u = f.users.find((x) => x.id === id);
      if (!u) return undefined;
      const before = publicUser(u);
      if (u.disabled_at === undefined) {
        u.disabled_at = new Date().toISOString();
        u.disabled_by = by;
      }
      return { before, after: publicUser(u) };
    });
  }

  /**
   * The enabled user these credentials prove, or why not (for the audit
   * trail only: callers answer every failure alike). Unknown users cost the
   * same hash as known ones, so the time of the answer says nothing either.
   */
  async authenticate(username: string, password: string): Promise<{ user: User } | { failure: 'unknown_user' | 'wrong_password' | 'disabled' }> {
    const name = username.toLowerCase();
    const u = this.file.read().users.find((x) => x.username === name);
    if (!u || password.length > PASSWORD_MAX) {
      await verifyAgainstNothing(password.slice(0, PASSWORD_MAX));
      return { failure: u ? 'wrong_password' : 'unknown_user' };
    }
    if (!(await verifySecret(u.password_hash, password))) return { failure: 'wrong_password' };
    // Checked after the hash, so a disabled account answers in the same time as any other failure.
    if (u.disabled_at !== undefined) return { failure: 'disabled' };
    return { user: publicUser(u) };
  }

  async checkPassword(id: string, password: string): Promise<boolean> {
    const u = this.file.read().users.find((x) => x.id === id);
    if (!u) return verifyAgainstNothing(password);
    return verifySecret(u.password_hash, password);
  }
}

export class UserExistsError extends Error {
  constructor(readonly username: string) {
    super(`a user named ${JSON.stringify(username)} already exists`);
    this.name = 'UserExistsError';
  }
}

function publicUser(u: StoredUser): User {
  const { password_hash: _hash, ...rest } = u;
  return structuredClone(rest);
}

function parseUserFile(raw: unknown): UserFile {
  const f = raw as { version?: unknown; users?: unknown };
  if (typeof f !== 'object' || f === null || f.version !== 1 || !Array.isArray(f.users)) throw new Error('expected { "version": 1, "users": [...] }');
  const users = (f.users as StoredUser[]).map((u) => ({ ...u, grants: u.grants.map((g) => ({ tenant: g.tenant, roles: g.roles.filter(isRole) })) }));
  return { version: 1, users };
}
