/**
 * `meshlog query '<LogQL>'`: runs a log query against a server's Loki API
 * and prints the lines (raw), one JSON object per line (jsonl), or a table.
 * Lines print oldest first within the window, as `logcli` does by default.
 */
import { getJson, resolveClient, CliError, type ClientOptions } from './client.js';

export interface QueryOptions extends ClientOptions {
  since: string;
  from?: string;
  to?: string;
  limit: string;
  output: string;
  direction?: string;
}

interface StreamsResponse {
  data: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
}

export async function queryCommand(logql: string, opts: QueryOptions, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  if (!['raw', 'jsonl', 'table'].includes(opts.output)) throw new CliError(`--output must be raw, jsonl or table, not ${JSON.stringify(opts.output)}`);
  const client = resolveClient(opts);
  const res = await getJson<StreamsResponse>(client, '/loki/api/v1/query_range', {
    query: logql,
    limit: opts.limit,
    since: opts.from ? undefined : opts.since,
    start: opts.from,
    end: opts.to,
    direction: opts.direction ?? 'backward',
  });
  if (res.data.resultType !== 'streams') throw new CliError(`unexpected result type ${res.data.resultType}`);
  const entries: { ts: string; line: string; labels: Record<string, string> }[] = [];
  for (const s of res.data.result) for (const [ts, line] of s.values) entries.push({ ts, line, labels: s.stream });
  entries.sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : BigInt(a.ts) > BigInt(b.ts) ? 1 : 0));
  for (const e of entries) {
    const time = new Date(Number(BigInt(e.ts) / 1_000_000n)).toISOString();
    if (opts.output === 'raw') out(e.line);
    else if (opts.output === 'jsonl') out(JSON.stringify({ timestamp: time, labels: e.labels, line: e.line }));
    else out(`${time}  ${formatLabels(e.labels).padEnd(40)}  ${e.line}`);
  }
  return entries.length;
}

function formatLabels(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .filter(([k]) => k === 'service_name' || k === 'k8s_namespace_name')
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
}
