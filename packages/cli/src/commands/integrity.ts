/**
 * `meshlog export` and `meshlog verify`: the auditor's side of the integrity
 * ledger. Export fetches an audit bundle from a server (GET
 * /api/v1/integrity/export) and writes it; verify checks a bundle file, or a
 * live server's export, offline with only the public key(s) given, prints a
 * report an auditor can paste into a working paper, and exits 1 on any
 * finding (2 when it could not run: no key, unreadable bundle).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { BundleFormatError, formatReport, parseBundle, verifyBundle, type Checkpoint } from '@meshlog/core';
import { CliError, resolveClient, type ClientOptions } from './client.js';

async function fetchBundle(opts: ClientOptions & { from?: string; to?: string }): Promise<string> {
  const client = resolveClient(opts);
  const url = new URL(client.baseUrl + '/api/v1/integrity/export');
  if (opts.from) url.searchParams.set('from', opts.from);
  if (opts.to) url.searchParams.set('to', opts.to);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${client.token}` } });
  } catch (err) {
    throw new CliError(`cannot reach ${client.baseUrl}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, 2);
  }
  const text = await res.text();
  if (!res.ok) throw new CliError(`export failed: ${res.status} ${res.statusText}: ${text.trim()}`, 2);
  return text;
}

export async function exportCommand(opts: ClientOptions & { from?: string; to?: string; out: string }): Promise<void> {
  const text = await fetchBundle(opts);
  writeFileSync(opts.out, text, { mode: 0o600 });
  const lines = text.split('\n').filter((l) => l !== '');
  process.stdout.write(`wrote ${opts.out}: ${lines.length} lines (${text.length} bytes)\n`);
}

export async function verifyCommand(
  path: string | undefined,
  opts: ClientOptions & { publicKey: string[]; witness?: string; from?: string; to?: string; json?: boolean },
): Promise<void> {
  if (!opts.publicKey || opts.publicKey.length === 0) throw new CliError('give the public key you trust with --public-key FILE (the server writes it beside its signing key, <key>.pub)', 2);
  const keys = opts.publicKey.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read public key ${f}: ${(err as Error).message}`, 2);
    }
  });
  let text: string;
  let source: string;
  if (path) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read bundle ${path}: ${(err as Error).message}`, 2);
    }
    source = `bundle ${path}`;
  } else if (opts.server) {
    text = await fetchBundle(opts);
    source = `live export of ${opts.server}`;
  } else throw new CliError('give a bundle file or --server URL', 2);
  let witnessCheckpoints: Checkpoint[] | undefined;
  if (opts.witness) {
    witnessCheckpoints = readFileSync(opts.witness, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Checkpoint);
  }
  let report;
  try {
    report = verifyBundle(parseBundle(text), { trustedKeys: keys, ...(witnessCheckpoints ? { witnessCheckpoints } : {}) });
  } catch (err) {
    if (err instanceof BundleFormatError) throw new CliError(err.message, 2);
    throw err;
  }
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, source));
  if (!report.ok) process.exitCode = 1;
}
