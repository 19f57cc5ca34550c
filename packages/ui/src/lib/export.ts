/**
 * Export of the lines on screen as NDJSON (one Loki entry per line: time in
 * nanoseconds, labels, line) or CSV (time, level, labels as JSON, line),
 * built in the browser from the rows already fetched: no second query.
 */
import type { LogRow } from './log-rows.js';

export function toNdjson(rows: LogRow[]): string {
  return rows.map((r) => JSON.stringify({ timestamp: r.tsNs, time: new Date(r.tsMs).toISOString(), level: r.level, labels: r.labels, line: r.line })).join('\n') + '\n';
}

const csvCell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function toCsv(rows: LogRow[]): string {
  const out = ['timestamp_ns,time,level,labels,line'];
  for (const r of rows) out.push([r.tsNs, new Date(r.tsMs).toISOString(), r.level, JSON.stringify(r.labels), r.line].map(csvCell).join(','));
  return out.join('\r\n') + '\r\n';
}

export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
