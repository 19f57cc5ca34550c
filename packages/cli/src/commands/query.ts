/**
 * `meshlog query '<LogQL>'` and friends: what logcli users run every day,
 * against a server's Loki API.
 *
 *   meshlog query '<LogQL>' [--since 1h | --from T --to T] [--limit N] [--step D] [--instant [--time T]] [--tail]
 *   meshlog labels [name] [--query '{sel}']
 *   meshlog series '{sel}' ['{sel}' ...]
 *
 * Log lines print oldest first within the window (as logcli does by
 * default) in one of four formats: `raw` (the line; the default, so output
 * pipes into grep), `default` (time, labels, line: logcli's layout),
 * `jsonl` (one JSON object per entry) and `table` (aligned columns). Metric
 * results print one sample per line. A `--limit` above `--batch` is read in
 * batches, each continuing where the last ended. `--tail` follows new lines
 * over the WebSocket tail endpoint until interrupted.
 */
import WebSocket from 'ws';
import { getJson, resolveClient, CliError, type Client, type ClientOptions } from './client.js';

export const OUTPUTS = ['raw', 'default', 'jsonl', 'table'] as const;
export type Output = (typeof OUTPUTS)[number];

export interface QueryOptions extends ClientOptions {
  since: string;
  from?: string;
  to?: string;
  limit: string;
  batch?: string;
  step?: string;
  interval?: string;
  output: string;
  direction?: string;
  instant?: boolean;
  time?: string;
  tail?: boolean;
  delayFor?: string;
}

type Print = (line: string) => void;
const stdout: Print = (l) => process.stdout.write(l + '\n');

interface Stream {
  stream: Record<string, string>;
  values: [string, string][];
}
interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}
interface QueryResponse {
  data: { resultType: 'streams' | 'matrix' | 'vector' | 'scalar'; result: unknown };
}

interface Entry {
  ts: string;
  line: string;
  labels: Record<string, string>;
}

function outputOf(opts: { output: string }): Output {
  if (!(OUTPUTS as readonly string[]).includes(opts.output)) throw new CliError(`--output must be one of ${OUTPUTS.join(', ')}, not ${JSON.stringify(opts.output)}`);
  return opts.output as Output;
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

/** Returns the number of entries (or samples) printed. */
export async function queryCommand(logql: string, opts: QueryOptions, out: Print = stdout): Promise<number> {
  const output = outputOf(opts);
  const client = resolveClient(opts);
  if (opts.tail) return tailCommand(client, logql, opts, output, out);
  const limit = positiveInt(opts.limit, '--limit');
  if (opts.instant) {
    const res = await getJson<QueryResponse>(client, '/loki/api/v1/query', { query: logql, limit: String(limit), time: opts.time, direction: opts.direction });
    return printResult(res, output, out);
  }
  const batch = Math.min(limit, positiveInt(opts.batch ?? '1000', '--batch'));
  const direction = opts.direction ?? 'backward';
  const base = { query: logql, step: opts.step, interval: opts.interval, direction };
  let start = opts.from;
  let end = opts.to;
  const since = opts.from ? undefined : opts.since;
  const first = await getJson<QueryResponse>(client, '/loki/api/v1/query_range', { ...base, limit: String(batch), since, start, end });
  if (first.data.resultType !== 'streams') return printResult(first, output, out);

  // Log lines, in batches: each batch continues from the last timestamp (entries at it are read again and skipped).
  const seen = new Set<string>();
  const entries: Entry[] = [];
  let page = first;
  for (;;) {
    const got = entriesOf(page.data.result as Stream[]);
    let fresh = 0;
    for (const e of got) {
      const key = `${e.ts}\u0000${JSON.stringify(e.labels)}\u0000${e.line}`;
      if (seen.has(key) || entries.length >= limit) continue;
      seen.add(key);
      entries.push(e);
      fresh++;
    }
    if (entries.length >= limit || got.length < batch || fresh === 0) break;
    const edge = got.reduce((m, e) => (direction === 'forward' ? (BigInt(e.ts) > m ? BigInt(e.ts) : m) : BigInt(e.ts) < m ? BigInt(e.ts) : m), BigInt(got[0]!.ts));
    // Keep the window the first batch used: a `since` window becomes explicit start/end.
    if (direction === 'forward') start = edge.toString();
    else end = (edge + 1n).toString();
    if (since !== undefined && start === undefined) start = (BigInt(Date.now()) * 1_000_000n - durationNs(since)).toString();
    // The entries at the edge come again: ask for that many more.
    const again = got.filter((e) => BigInt(e.ts) === edge).length;
    page = await getJson<QueryResponse>(client, '/loki/api/v1/query_range', { ...base, limit: String(Math.min(batch, limit - entries.length) + again), start, end });
  }
  entries.sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : BigInt(a.ts) > BigInt(b.ts) ? 1 : 0));
  printEntries(entries, output, out);
  return entries.length;
}

/** `5m`, `1h30m`, `90s`, `250ms` in nanoseconds (the CLI's own arithmetic for batched `--since` windows). */
function durationNs(text: string): bigint {
  const units: Record<string, number> = { ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12, d: 8.64e13, w: 6.048e14 };
  let rest = text;
  let ns = 0;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/.exec(rest);
    if (!m) throw new CliError(`invalid duration ${JSON.stringify(text)} (examples: 5m, 1h30m)`);
    ns += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return BigInt(Math.round(ns));
}

function entriesOf(streams: Stream[]): Entry[] {
  const out: Entry[] = [];
  for (const s of streams) for (const [ts, line] of s.values) out.push({ ts, line, labels: s.stream });
  return out;
}

function isoOf(ts: string): string {
  const ns = BigInt(ts);
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  // Keep the nanoseconds: lines of one millisecond stay distinguishable.
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export function formatLabels(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

function printEntries(entries: Entry[], output: Output, out: Print): void {
  const width = output === 'table' ? Math.min(60, Math.max(0, ...entries.map((e) => formatLabels(e.labels).length))) : 0;
  for (const e of entries) out(formatEntry(e, output, width));
}

function formatEntry(e: Entry, output: Output, width = 0): string {
  switch (output) {
    case 'raw':
      return e.line;
    case 'jsonl':
      return JSON.stringify({ timestamp: isoOf(e.ts), labels: e.labels, line: e.line });
    case 'default':
      return `${isoOf(e.ts)} ${formatLabels(e.labels)} ${e.line}`;
    case 'table':
      return `${isoOf(e.ts)}  ${formatLabels(e.labels).padEnd(width)}  ${e.line}`;
  }
}

function printResult(res: QueryResponse, output: Output, out: Print): number {
  const { resultType, result } = res.data;
  if (resultType === 'streams') {
    const entries = entriesOf(result as Stream[]).sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : 1));
    printEntries(entries, output, out);
    return entries.length;
  }
  if (resultType === 'scalar') {
    const [t, v] = result as [number, string];
    out(output === 'jsonl' ? JSON.stringify({ timestamp: new Date(t * 1000).toISOString(), value: v }) : v);
    return 1;
  }
  const samples: { t: number; v: string; metric: Record<string, string> }[] = [];
  for (const s of result as Sample[]) {
    for (const [t, v] of s.values ?? (s.value ? [s.value] : [])) samples.push({ t, v, metric: s.metric });
  }
  const width = output === 'table' ? Math.min(60, Math.max(0, ...samples.map((s) => formatLabels(s.metric).length))) : 0;
  for (const s of samples) {
    const time = new Date(s.t * 1000).toISOString();
    if (output === 'raw') out(s.v);
    else if (output === 'jsonl') out(JSON.stringify({ timestamp: time, metric: s.metric, value: s.v }));
    else if (output === 'table') out(`${time}  ${formatLabels(s.metric).padEnd(width)}  ${s.v}`);
    else out(`${time} ${formatLabels(s.metric)} ${s.v}`);
  }
  return samples.length;
}

/** Follows new lines over `/loki/api/v1/tail` until interrupted (SIGINT/SIGTERM) or the server closes. */
async function tailCommand(client: Client, logql: string, opts: QueryOptions, output: Output, out: Print): Promise<number> {
  const url = new URL(client.baseUrl.replace(/^http/, 'ws') + '/loki/api/v1/tail');
  url.searchParams.set('query', logql);
  url.searchParams.set('limit', opts.limit);
  if (opts.delayFor !== undefined) url.searchParams.set('delay_for', opts.delayFor);
  if (opts.from !== undefined) url.searchParams.set('start', opts.from);
  else url.searchParams.set('since', opts.since);
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${client.token}` } });
  let printed = 0;
  return new Promise<number>((resolve, reject) => {
    const stop = (): void => ws.close(1000);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const done = (err?: Error): void => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      if (err) reject(err);
      else resolve(printed);
    };
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        req.destroy();
        res.socket?.destroy();
        done(new CliError(`${res.statusCode ?? ''} ${res.statusMessage ?? ''}: ${body.trim()}`));
      });
    });
    ws.on('error', (err) => done(new CliError(`cannot tail at ${client.baseUrl}: ${err.message}`)));
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { streams?: Stream[]; dropped_entries?: { labels: Record<string, string>; timestamp: string }[] };
      const entries = entriesOf(msg.streams ?? []).sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : 1));
      for (const e of entries) out(formatEntry(e, output));
      printed += entries.length;
      if (msg.dropped_entries && msg.dropped_entries.length > 0) process.stderr.write(`meshlog: the server dropped ${msg.dropped_entries.length} entries (this client read too slowly)\n`);
    });
    ws.on('close', (code, reason) => {
      if (code === 1000 || code === 1005) done();
      else done(new CliError(`the server ended the tail (${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`));
    });
  });
}

/** `meshlog labels [name]`: label names, or the values of one label, one per line. */
export async function labelsCommand(name: string | undefined, opts: ClientOptions & { since: string; from?: string; to?: string; query?: string }, out: Print = stdout): Promise<number> {
  const client = resolveClient(opts);
  const path = name === undefined ? '/loki/api/v1/labels' : `/loki/api/v1/label/${encodeURIComponent(name)}/values`;
  const res = await getJson<{ data: string[] }>(client, path, { query: opts.query, since: opts.from ? undefined : opts.since, start: opts.from, end: opts.to });
  for (const v of res.data) out(v);
  return res.data.length;
}

/** `meshlog series '{sel}' ...`: the label sets of matching streams, one per line. */
export async function seriesCommand(matchers: string[], opts: ClientOptions & { since: string; from?: string; to?: string; output?: string }, out: Print = stdout): Promise<number> {
  const client = resolveClient(opts);
  const res = await getJson<{ data: Record<string, string>[] }>(client, '/loki/api/v1/series', { since: opts.from ? undefined : opts.since, start: opts.from, end: opts.to }, matchers.map((m) => ['match[]', m]));
  const rows = [...res.data].sort((a, b) => (formatLabels(a) < formatLabels(b) ? -1 : 1));
  for (const labels of rows) out(opts.output === 'jsonl' ? JSON.stringify(labels) : formatLabels(labels));
  return rows.length;
}
