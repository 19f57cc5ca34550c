/**
 * Syntax of `ip("...")` patterns: a single IPv4 or IPv6 address, a range
 * `from-to` of one family, or a CIDR prefix `addr/bits` (host bits may be
 * set, as Loki accepts `192.168.4.5/16`).
 *
 * Invariant: these are checks only (matching lives in eval/ip-match.ts,
 * which reuses the two address parsers); IPv4 octets are strict
 * decimal without leading zeros, as Go's net/netip parses them.
 */

export function parseIpv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** 16 bytes of an IPv6 address, or undefined. Accepts `::`, an embedded IPv4 tail and a `%zone`. */
export function parseIpv6(input: string): number[] | undefined {
  const zone = input.indexOf('%');
  const s = zone >= 0 ? input.slice(0, zone) : input;
  if (zone >= 0 && zone === input.length - 1) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i] as string;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return undefined;
  const words = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function parseAddress(s: string): { family: 4 | 6; bytes: number[] } | undefined {
  const v4 = parseIpv4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = s.includes(':') ? parseIpv6(s) : undefined;
  return v6 ? { family: 6, bytes: v6 } : undefined;
}

function compareBytes(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** Why `pattern` is not a valid ip() pattern, or undefined when it is. */
export function ipPatternError(pattern: string): string | undefined {
  if (pattern.includes('/')) {
    const [addr = '', bits = '', ...rest] = pattern.split('/');
    const a = parseAddress(addr);
    if (rest.length > 0 || !a || addr.includes('%')) return `invalid CIDR ${JSON.stringify(pattern)}`;
    const max = a.family === 4 ? 32 : 128;
    if (!/^(0|[1-9][0-9]*)$/.test(bits) || Number(bits) > max) return `invalid prefix length in ${JSON.stringify(pattern)} (0 to ${max})`;
    return undefined;
  }
  if (pattern.includes('-')) {
    const [from = '', to = '', ...rest] = pattern.split('-');
    const a = parseAddress(from);
    const b = parseAddress(to);
    if (rest.length > 0 || !a || !b) return `invalid IP range ${JSON.stringify(pattern)}`;
    if (a.family !== b.family) return `IP range ${JSON.stringify(pattern)} mixes IPv4 and IPv6`;
    if (compareBytes(a.bytes, b.bytes) > 0) return `IP range ${JSON.stringify(pattern)} starts after it ends`;
    return undefined;
  }
  return parseAddress(pattern) ? undefined : `invalid IP address ${JSON.stringify(pattern)}`;
}
