/**
 * Container runtime log lines, one record each, as the runtimes write them
 * under /var/log/pods:
 *
 * - CRI (containerd, CRI-O; kubelet's reader in
 *   pkg/kubelet/kuberuntime/logs): `<RFC 3339 nano time> <stdout|stderr>
 *   <tags> <message>`, tags `:`-separated, the first `P` (partial: the line
 *   continues in the next record of the stream) or `F` (full: it ends here).
 * - Docker json-file: `{"log":"<text>\n","stream":"stdout","time":"<RFC 3339>"}`;
 *   Docker cuts lines at 16 KiB, and a `log` that does not end in `\n`
 *   continues in the next record of the stream.
 *
 * Pure functions; the reassembly across records lives in the transform.
 */
import { parseRfc3339 } from '../../normalize/timestamp.js';

export interface ContainerLine {
  timeUnixNano: bigint;
  stream: 'stdout' | 'stderr';
  /** The message without the runtime's framing (and without Docker's trailing newline). */
  message: string;
  /** More of this line follows in the stream's next record. */
  partial: boolean;
}

/** A CRI line; undefined when the record is not one. */
export function parseCriLine(line: string): ContainerLine | undefined {
  const s1 = line.indexOf(' ');
  if (s1 < 19 || s1 > 40) return undefined;
  const s2 = line.indexOf(' ', s1 + 1);
  if (s2 < 0) return undefined;
  const streamLen = s2 - s1 - 1;
  if (streamLen !== 6) return undefined;
  let stream: 'stdout' | 'stderr';
  if (line.startsWith('stdout', s1 + 1)) stream = 'stdout';
  else if (line.startsWith('stderr', s1 + 1)) stream = 'stderr';
  else return undefined;
  const tag = line.charCodeAt(s2 + 1);
  if (tag !== 80 /* P */ && tag !== 70 /* F */) return undefined;
  let s3 = line.indexOf(' ', s2 + 1);
  const tagEnd = s3 < 0 ? line.length : s3;
  // The first tag is one letter; more tags may follow after ':'.
  if (tagEnd !== s2 + 2 && line.charCodeAt(s2 + 2) !== 58) return undefined;
  const ts = parseRfc3339(line.slice(0, s1));
  if (ts === undefined) return undefined;
  if (s3 < 0) s3 = line.length;
  return { timeUnixNano: ts, stream, message: s3 >= line.length ? '' : line.slice(s3 + 1), partial: tag === 80 };
}

/** A Docker json-file line; undefined when the record is not one. */
export function parseDockerLine(line: string): ContainerLine | undefined {
  if (line.charCodeAt(0) !== 123 || !line.includes('"log"')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const log = o['log'];
  const stream = o['stream'];
  const time = o['time'];
  if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr') || typeof time !== 'string') return undefined;
  const ts = parseRfc3339(time);
  if (ts === undefined) return undefined;
  const partial = !log.endsWith('\n');
  return { timeUnixNano: ts, stream, message: partial ? log : log.slice(0, -1), partial };
}

export function parseContainerLine(line: string, format: 'auto' | 'cri' | 'docker'): ContainerLine | undefined {
  if (format === 'cri') return parseCriLine(line);
  if (format === 'docker') return parseDockerLine(line);
  return line.charCodeAt(0) === 123 ? parseDockerLine(line) : parseCriLine(line);
}
