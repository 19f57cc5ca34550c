/**
 * The `| pattern` expression: captures `<name>`, skips `<_>`, literals in
 * between. Matching is Loki's: anchored at the start when the pattern
 * starts with a literal, each capture runs to the next occurrence of the
 * following literal, and a capture whose literal is never found takes the
 * rest of the line and ends the match (earlier captures are kept).
 */

type PatternNode = { capture: string } | { literal: string };

const CAPTURE = /^<([A-Za-z_][A-Za-z0-9_]*)>/;

/** Splits a pattern into captures and merged literals. */
export function parsePattern(pattern: string): PatternNode[] {
  const out: PatternNode[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; ) {
    const m = pattern[i] === '<' ? CAPTURE.exec(pattern.slice(i)) : null;
    if (m) {
      if (literal !== '') out.push({ literal });
      literal = '';
      out.push({ capture: m[1] as string });
      i += m[0].length;
    } else {
      const cp = String.fromCodePoint(pattern.codePointAt(i) as number);
      literal += cp;
      i += cp.length;
    }
  }
  if (literal !== '') out.push({ literal });
  return out;
}

export class PatternMatcher {
  private readonly nodes: PatternNode[];
  /** Named captures, in order. */
  readonly names: string[];

  constructor(pattern: string) {
    this.nodes = parsePattern(pattern);
    this.names = this.nodes.flatMap((n) => ('capture' in n && n.capture !== '_' ? [n.capture] : []));
  }

  /** The values of the named captures that matched, in order (possibly fewer than `names`). */
  matches(line: string): string[] {
    if (line === '' || this.nodes.length === 0) return [];
    const out: string[] = [];
    let nodes = this.nodes;
    let rest = line;
    const first = nodes[0] as PatternNode;
    if ('literal' in first) {
      if (!rest.startsWith(first.literal)) return [];
      rest = rest.slice(first.literal.length);
      nodes = nodes.slice(1);
    }
    if (nodes.length === 0) return [];
    while (nodes.length > 0) {
      const cap = (nodes[0] as { capture: string }).capture;
      if (nodes.length === 1) {
        if (cap !== '_') out.push(rest);
        return out;
      }
      const lit = (nodes[1] as { literal: string }).literal;
      nodes = nodes.slice(2);
      const i = rest.indexOf(lit);
      if (i < 0) {
        if (cap !== '_') out.push(rest);
        return out;
      }
      if (cap !== '_') out.push(rest.slice(0, i));
      rest = rest.slice(i + lit.length);
    }
    return out;
  }
}
