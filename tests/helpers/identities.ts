/**
 * Helpers for the identity suites: JSON calls with a token or a session
 * cookie, the CLI with a password on stdin, and waiting for audit records
 * (they are durable before the answer leaves, and queryable a moment later).
 */
import { spawn } from 'node:child_process';
import { lokiQueryRange, MESHLOG_BIN, REPO_ROOT, type ServerProcess } from './server-process.js';

export interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown> & { error?: string; errorType?: string };
  text: string;
}

export interface CallAuth {
  token?: string;
  cookie?: string;
  csrf?: string;
}

export async function call(base: string, method: string, path: string, body?: unknown, auth: CallAuth = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (auth.token) headers['authorization'] = `Bearer ${auth.token}`;
  if (auth.cookie) headers['cookie'] = auth.cookie;
  if (auth.csrf) headers['x-csrf-token'] = auth.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${base}${path}`, { method, headers, redirect: 'manual', ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await r.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // not JSON (a redirect, an empty body)
  }
  return { status: r.status, headers: r.headers, json, text };
}

/** `name=value` of the first Set-Cookie with this name, for a Cookie header. */
export function cookiePair(headers: Headers, name: string): string | undefined {
  const c = headers.getSetCookie().find((s) => s.startsWith(`${name}=`));
  return c?.split(';')[0];
}

/** Runs the CLI with `input` on stdin. */
export async function runCliWithInput(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [MESHLOG_BIN, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdin.end(input);
  const code = await new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
  return { code, stdout, stderr };
}

export interface AuditEventBody {
  request_id: string;
  tenant: string;
  action: string;
  outcome: string;
  status: number;
  actor: { id: string; kind: string; name: string; roles: string[]; method: string } | null;
  reason?: string;
  change?: { object: string; id: string; before: unknown; after: unknown };
  detail?: Record<string, unknown>;
}

/** Audit records matching `selector`, polled until `done(records)` holds (or 20 s pass). */
export async function auditRecords(
  server: Pick<ServerProcess, 'url' | 'token'>,
  selector: string,
  done: (records: AuditEventBody[]) => boolean,
): Promise<{ records: AuditEventBody[]; lines: string[] }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await lokiQueryRange(server, selector);
    if (res.status !== 200) throw new Error(`audit query failed: ${res.status} ${JSON.stringify(res.body)}`);
    const lines = res.body.data.result.flatMap((s) => s.values.map((v) => v[1]));
    const records = lines.map((l) => JSON.parse(l) as AuditEventBody);
    if (done(records) || Date.now() > deadline) return { records, lines };
    await new Promise((r) => setTimeout(r, 250));
  }
}
