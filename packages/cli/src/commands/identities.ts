/**
 * `meshlog user add|grant|passwd|disable|list` and `meshlog token create|list|revoke`:
 * identities managed on a data dir directly, offline (whoever can write the
 * data dir is its root of trust; this is how the first user of a tenant is
 * made). Changes go through the same locked files the server uses, so they
 * are safe beside a running server, which sees them within a second.
 *
 * Secrets: `token create` prints the token's secret once, on stdout and
 * nowhere else; passwords are read from the terminal without echo (twice),
 * or from the first line of standard input when it is not a terminal, and
 * are never taken as an argument (arguments show in `ps` and shell history).
 *
 * Loads only `@meshlog/server/identities`, not the store engine.
 */
import { join } from 'node:path';
import {
  PERMISSIONS,
  ROLES,
  SessionStore,
  StateFileError,
  TokenStore,
  UserExistsError,
  UserStore,
  isPermission,
  isRole,
  passwordProblem,
  permissionsOfRoles,
  usernameProblem,
  type Grant,
  type Permission,
  type Role,
} from '@meshlog/server/identities';
import { CliError } from './client.js';

/** The default `auth.passwords.min_length` of the server. */
const DEFAULT_MIN_PASSWORD = 12;
const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_S = { s: 1, m: 60, h: 3600, d: 86400 } as const;

const dataDirOf = (opts: { dataDir?: string }): string => opts.dataDir ?? process.env['MESHLOG_DATA_DIR'] ?? 'data';

function rolesOf(list: string, what: string): Role[] {
  const roles = list.split(',').map((r) => r.trim()).filter((r) => r !== '');
  const bad = roles.filter((r) => !isRole(r));
  if (bad.length > 0 || roles.length === 0) throw new CliError(`${what}: unknown role ${bad.map((r) => JSON.stringify(r)).join(', ') || '(none given)'}; roles: ${ROLES.join(', ')}`, 2);
  return roles as Role[];
}

/** `--grant tenant:role[,role]`, repeatable. */
export function grantsOf(specs: string[]): Grant[] {
  if (specs.length === 0) throw new CliError('give at least one --grant <tenant>:<role>[,<role>] (e.g. --grant default:analyst)', 2);
  const byTenant = new Map<string, Set<Role>>();
  for (const spec of specs) {
    const i = spec.indexOf(':');
    if (i <= 0) throw new CliError(`--grant ${JSON.stringify(spec)}: expected <tenant>:<role>[,<role>]`, 2);
    const set = byTenant.get(spec.slice(0, i)) ?? new Set<Role>();
    for (const r of rolesOf(spec.slice(i + 1), `--grant ${spec}`)) set.add(r);
    byTenant.set(spec.slice(0, i), set);
  }
  return [...byTenant].map(([tenant, roles]) => ({ tenant, roles: [...roles] }));
}

/** Runs a store operation; a locked or broken state file is a CLI error with its message. */
function withStores<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof StateFileError) throw new CliError(err.message, 1);
    throw err;
  }
}

async function readPassword(minLength: number): Promise<string> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await promptHidden('new password: ');
    const again = await promptHidden('again: ');
    if (again !== password) throw new CliError('the two passwords differ', 2);
  } else {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const problem = passwordProblem(password, minLength);
  if (problem) throw new CliError(problem, 2);
  return password;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const onData = (buf: Buffer): void => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new CliError('cancelled', 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export async function userAdd(username: string, opts: { dataDir?: string; grant: string[]; minLength?: number }): Promise<void> {
  const name = username.toLowerCase();
  const problem = usernameProblem(name);
  if (problem) throw new CliError(problem, 2);
  const grants = grantsOf(opts.grant);
  const users = withStores(() => new UserStore(dataDirOf(opts)));
  if (users.byUsername(name)) throw new CliError(`a user named ${JSON.stringify(name)} already exists (change the password with: meshlog user passwd ${name})`, 1);
  const password = await readPassword(opts.minLength ?? DEFAULT_MIN_PASSWORD);
  const user = withStores(() => {
    try {
      return users.addSync({ username: name, password, grants, createdBy: 'cli' });
    } catch (err) {
      if (err instanceof UserExistsError) throw new CliError(err.message, 1);
      throw err;
    }
  });
  process.stderr.write(`meshlog: added ${user.username} (${user.id}) with ${grants.map((g) => `${g.tenant}: ${g.roles.join(', ')}`).join('; ')}\n`);
}

export async function userPasswd(username: string, opts: { dataDir?: string; minLength?: number }): Promise<void> {
  const dataDir = dataDirOf(opts);
  const users = withStores(() => new UserStore(dataDir));
  const user = users.byUsername(username);
  if (!user) throw new CliError(`no user named ${JSON.stringify(username.toLowerCase())} in ${join(dataDir, 'auth', 'users.json')}`, 1);
  const password = await readPassword(opts.minLength ?? DEFAULT_MIN_PASSWORD);
  const ended = withStores(() => {
    users.setPasswordSync(user.id, password);
    // Timeouts do not matter here: the CLI only ends sessions.
    return new SessionStore(dataDir, { idleMs: 1, absoluteMs: 1 }).endAllOf(user.id);
  });
  process.stderr.write(`meshlog: password of ${user.username} changed; ${ended} session${ended === 1 ? '' : 's'} ended\n`);
}

/** Sets a user's roles in the tenants named (`--grant tenant:` with no roles removes that grant). */
export function userGrant(username: string, opts: { dataDir?: string; grant: string[] }): void {
  const users = withStores(() => new UserStore(dataDirOf(opts)));
  const user = users.byUsername(username);
  if (!user) throw new CliError(`no user named ${JSON.stringify(username.toLowerCase())}`, 1);
  if (opts.grant.length === 0) throw new CliError('give at least one --grant <tenant>:<role>[,<role>] (or <tenant>: to remove that grant)', 2);
  for (const spec of opts.grant) {
    const i = spec.indexOf(':');
    if (i <= 0) throw new CliError(`--grant ${JSON.stringify(spec)}: expected <tenant>:<role>[,<role>]`, 2);
    const roles = spec.slice(i + 1).trim() === '' ? [] : rolesOf(spec.slice(i + 1), `--grant ${spec}`);
    withStores(() => users.setGrant(user.id, spec.slice(0, i), roles, 'cli'));
  }
  const after = users.get(user.id)!;
  process.stderr.write(`meshlog: ${after.username} now holds ${after.grants.map((g) => `${g.tenant}: ${g.roles.join(', ')}`).join('; ') || 'no roles (disabled)'}\n`);
}

export function userDisable(username: string, opts: { dataDir?: string }): void {
  const dataDir = dataDirOf(opts);
  const users = withStores(() => new UserStore(dataDir));
  const user = users.byUsername(username);
  if (!user) throw new CliError(`no user named ${JSON.stringify(username.toLowerCase())}`, 1);
  const ended = withStores(() => {
    users.disable(user.id, 'cli');
    return new SessionStore(dataDir, { idleMs: 1, absoluteMs: 1 }).endAllOf(user.id);
  });
  process.stderr.write(`meshlog: ${user.username} disabled; ${ended} session${ended === 1 ? '' : 's'} ended\n`);
}

export function userList(opts: { dataDir?: string }): void {
  const users = withStores(() => new UserStore(dataDirOf(opts)).list());
  const rows = [['ID', 'USERNAME', 'GRANTS', 'CREATED', 'DISABLED']];
  for (const u of users) rows.push([u.id, u.username, u.grants.map((g) => `${g.tenant}:${g.roles.join(',')}`).join(' ') || '-', u.created_at, u.disabled_at ?? '-']);
  process.stdout.write(table(rows));
}

export function tokenCreate(opts: { dataDir?: string; tenant: string; role: string[]; description: string; scope?: string[]; expiresIn?: string }): void {
  const roles = rolesOf(opts.role.join(','), '--role');
  let scopes: Permission[] | undefined;
  if (opts.scope && opts.scope.length > 0) {
    const list = opts.scope.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    const bad = list.filter((s) => !isPermission(s));
    if (bad.length > 0) throw new CliError(`--scope: unknown permission ${bad.join(', ')}; permissions: ${Object.keys(PERMISSIONS).join(', ')}`, 2);
    const granted = permissionsOfRoles(roles);
    const outside = list.filter((s) => !granted.has(s as Permission));
    if (outside.length > 0) throw new CliError(`--scope: ${outside.join(', ')} not granted by the roles ${roles.join(', ')} (scopes only narrow the roles)`, 2);
    scopes = list as Permission[];
  }
  let expiresAt: Date | undefined;
  if (opts.expiresIn !== undefined) {
    const m = DURATION.exec(opts.expiresIn);
    if (!m) throw new CliError(`--expires-in ${JSON.stringify(opts.expiresIn)}: expected a duration such as 90d, 12h, 30m`, 2);
    expiresAt = new Date(Date.now() + Number(m[1]) * UNIT_S[m[2] as keyof typeof UNIT_S] * 1000);
  }
  const { secret, token } = withStores(() =>
    new TokenStore(dataDirOf(opts)).mintSync({
      description: opts.description,
      tenant: opts.tenant,
      roles,
      ...(scopes ? { scopes } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      createdBy: 'cli',
    }),
  );
  process.stderr.write(
    `meshlog: created ${token.id} (${token.tenant}: ${token.roles.join(', ')}${token.scopes ? `; scopes ${token.scopes.join(', ')}` : ''}${token.expires_at ? `; expires ${token.expires_at}` : ''}). The secret below is shown once: store it now.\n`,
  );
  process.stdout.write(secret + '\n');
}

export function tokenList(opts: { dataDir?: string; tenant?: string }): void {
  const tokens = withStores(() => new TokenStore(dataDirOf(opts)).list(opts.tenant));
  const rows = [['ID', 'TENANT', 'ROLES', 'DESCRIPTION', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE']];
  const now = Date.now();
  for (const t of tokens) {
    const state = t.revoked_at !== undefined ? `revoked ${t.revoked_at}` : t.expires_at !== undefined && Date.parse(t.expires_at) <= now ? 'expired' : 'active';
    rows.push([t.id, t.tenant, t.roles.join(',') + (t.scopes ? ` (scopes ${t.scopes.join(',')})` : ''), t.description, t.created_at, t.expires_at ?? 'never', t.last_used_at ?? '-', state]);
  }
  process.stdout.write(table(rows));
}

export function tokenRevoke(id: string, opts: { dataDir?: string }): void {
  const r = withStores(() => new TokenStore(dataDirOf(opts)).revoke(id, 'cli'));
  if (!r) throw new CliError(`no token ${JSON.stringify(id)} (list them with: meshlog token list)`, 1);
  process.stderr.write(`meshlog: ${id} revoked at ${r.after.revoked_at}\n`);
}
