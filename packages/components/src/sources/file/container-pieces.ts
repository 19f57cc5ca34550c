/**
 * Container runtime log lines split into pieces, joined back in the file
 * source, where the checkpoint is: a crash can then never lose pieces that
 * were already acknowledged while their line was still incomplete (as it
 * could when only the downstream `parse_container` transform joined them).
 *
 *   cri:    `<time> <stream> <P|F>[:tags] <text>`; `P` pieces continue until
 *           the `F` piece of the same stream (kubelet splits at 16 KiB).
 *   docker: `{"log":"...","stream":"...","time":"..."}`; a piece's `log`
 *           lacks the final "\n" (dockerd splits at 16 KiB).
 *
 * A joined line is written back in the same format, as one complete line
 * (`F`; `log` ending in "\n") with the first piece's time, so everything
 * downstream reads it as if it had never been split. Lines that are not
 * pieces pass through as they are.
 *
 * Checkpoint rule: every line out carries an `end` offset the checkpoint may
 * move to. While a stream holds pieces, lines of the other stream go out
 * with `end` at the first held piece's start, so a restart reads the held
 * pieces again (and those lines twice: the at-least-once window). Bounded:
 * a joined text over `maxBytes` goes out as it is, still marked as a piece
 * (`P`, `log` without "\n"), for `parse_container` to handle; pieces held
 * longer than `timeoutMs` without their end go out the same way.
 */
import type { Line } from './line-framing.js';

export type ContainerFormat = 'cri' | 'docker';

interface Piece {
  time: string;
  stream: string;
  text: string;
  partial: boolean;
  /** Docker: the other fields of the first piece, kept as they were. */
  fields?: Record<string, unknown>;
}

interface Held {
  first: Piece;
  texts: string[];
  bytes: number;
  /** File offset where the first held piece starts. */
  start: number;
  /** Offset just past the last held piece. */
  end: number;
  truncated: boolean;
  since: number;
}

const CRI = /^(\S+) (stdout|stderr) ([PF])(?::\S*)? (.*)$/s;

function parsePiece(format: ContainerFormat, text: string): Piece | undefined {
  if (format === 'cri') {
    const m = CRI.exec(text);
    return m ? { time: m[1]!, stream: m[2]!, partial: m[3] === 'P', text: m[4]! } : undefined;
  }
  if (!text.startsWith('{')) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || typeof (o as { log?: unknown }).log !== 'string') return undefined;
  const { log, stream, time, ...fields } = o as { log: string; stream?: unknown; time?: unknown };
  return { time: typeof time === 'string' ? time : '', stream: typeof stream === 'string' ? stream : 'stdout', partial: !log.endsWith('\n'), text: log, fields };
}

function formatPiece(format: ContainerFormat, first: Piece, text: string, partial: boolean): string {
  if (format === 'cri') return `${first.time} ${first.stream} ${partial ? 'P' : 'F'} ${text}`;
  return JSON.stringify({ log: partial || text.endsWith('\n') ? text : `${text}\n`, stream: first.stream, time: first.time, ...first.fields });
}

export class ContainerPieceJoiner {
  private readonly held = new Map<string, Held>();
  /** Offset just past the last line seen: where the next line starts. */
  private prevEnd: number;

  constructor(
    private readonly format: ContainerFormat,
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
    start: number,
  ) {
    this.prevEnd = start;
  }

  get holding(): boolean {
    return this.held.size > 0;
  }

  /** Adds a line; pushes complete lines to `out`. */
  add(line: Line, now: number, out: Line[]): void {
    const start = this.prevEnd;
    this.prevEnd = line.end;
    const piece = parsePiece(this.format, line.text);
    if (!piece) {
      out.push(this.bounded(line));
      return;
    }
    const h = this.held.get(piece.stream);
    if (!h && !piece.partial) {
      out.push(this.bounded(line));
      return;
    }
    const cur = h ?? { first: piece, texts: [], bytes: 0, start, end: line.end, truncated: false, since: now };
    cur.texts.push(piece.text);
    cur.bytes += piece.text.length;
    cur.end = line.end;
    cur.truncated ||= line.truncated;
    if (!h) this.held.set(piece.stream, cur);
    if (!piece.partial) this.release(piece.stream, false, out);
    else if (cur.bytes >= this.maxBytes) this.release(piece.stream, true, out);
  }

  /** Held pieces that waited `timeoutMs` (or all, with `force`) go out as they are. */
  flush(now: number, force: boolean, out: Line[]): void {
    for (const [stream, h] of [...this.held]) if (force || now - h.since >= this.timeoutMs) this.release(stream, true, out);
  }

  reset(start: number): void {
    this.held.clear();
    this.prevEnd = start;
  }

  /** A line going out while pieces are held may move the checkpoint only up to the first held piece. */
  private bounded(line: Line): Line {
    let end = line.end;
    for (const h of this.held.values()) if (h.start < end) end = h.start;
    return end === line.end ? line : { ...line, end };
  }

  private release(stream: string, partial: boolean, out: Line[]): void {
    const h = this.held.get(stream)!;
    this.held.delete(stream);
    out.push(this.bounded({ text: formatPiece(this.format, h.first, h.texts.join(''), partial), end: h.end, truncated: h.truncated }));
  }
}
