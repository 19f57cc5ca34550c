/**
 * `ip("...")` matching, for line filters (`|= ip("10.0.0.0/8")`) and label
 * filters (`addr = ip("...")`): Loki scans the text for anything that looks
 * like an IPv4 or IPv6 address and matches each candidate against a single
 * address, a CIDR prefix or a `from-to` range.
 *
 * Invariants (Go's net/netip and Loki's scanner): families never mix (an
 * IPv4 address is not in an IPv6 prefix, nor the reverse, even when
 * IPv4-mapped); a zoned address matches only an identical zoned address;
 * the scanner uses the same hints and skips as Loki's, so the same
 * candidates are found.
 */
import { parseIpv4, parseIpv6 } from '../ip.js';

interface Addr {
  family: 4 | 6;
  bytes: number[];
  zone: string;
}

function parseAddr(s: string): Addr | undefined {
  const v4 = parseIpv4(s);
  if (v4) return { family: 4, bytes: v4, zone: '' };
  if (!s.includes(':')) return undefined;
  const v6 = parseIpv6(s);
  if (!v6) return undefined;
  const z = s.indexOf('%');
  return { family: 6, bytes: v6, zone: z >= 0 ? s.slice(z + 1) : '' };
}

function compare(a: Addr, b: Addr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = (a.bytes[i] as number) - (b.bytes[i] as number);
    if (d !== 0) return d;
  }
  return a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0;
}

/** A compiled ip() pattern: does it contain this address? */
export type IpMatcher = (ip: Addr) => boolean;

/** Compiles an ip() pattern (address, CIDR or range, tried in Loki's order), or returns an error message. */
export function compileIpPattern(pattern: string): IpMatcher | string {
  const addr = parseAddr(pattern);
  if (addr) return (ip) => compare(addr, ip) === 0;
  const slash = pattern.indexOf('/');
  if (slash >= 0) {
    const a = parseAddr(pattern.slice(0, slash));
    const bitsText = pattern.slice(slash + 1);
    if (a && a.zone === '' && /^(0|[1-9][0-9]*)$/.test(bitsText)) {
      const bits = Number(bitsText);
      if (bits <= (a.family === 4 ? 32 : 128)) {
        return (ip) => {
          if (ip.family !== a.family || ip.zone !== '') return false;
          for (let i = 0; i < bits; i++) {
            const mask = 0x80 >> (i % 8);
            if (((a.bytes[i >> 3] as number) & mask) !== ((ip.bytes[i >> 3] as number) & mask)) return false;
          }
          return true;
        };
      }
    }
  }
  const dash = pattern.indexOf('-');
  if (dash >= 0) {
    const from = parseAddr(pattern.slice(0, dash));
    const to = parseAddr(pattern.slice(dash + 1));
    if (from && to && from.zone === '' && to.zone === '' && from.family === to.family && compare(from, to) <= 0) {
      return (ip) => ip.family === from.family && ip.zone === '' && compare(from, ip) <= 0 && compare(ip, to) <= 0;
    }
  }
  return `ip: invalid pattern: ${JSON.stringify(pattern)}`;
}

const IPV4_CHARSET = '0123456789.';
const IPV6_CHARSET = '0123456789abcdefABCDEF:.';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

function span(s: string, start: number, charset: string): number {
  let i = start;
  while (i < s.length && charset.includes(s[i] as string)) i++;
  return i - start;
}

/** Whether `text` contains an address the pattern matches (Loki's ipFilter.filter). */
export function containsMatchingIp(text: string, match: IpMatcher): boolean {
  const n = text.length;
  if (n === 0) return false;
  const tryAt = (start: number, charset: string): number => {
    const len = span(text, start, charset);
    const ip = parseAddr(text.slice(start, start + len));
    return ip && match(ip) ? -1 : len;
  };
  for (let i = 0; i < n; i++) {
    const c = text[i];
    if (i + 3 < n && isDigit(c) && (text[i + 1] === '.' || text[i + 2] === '.' || text[i + 3] === '.')) {
      const len = tryAt(i, IPV4_CHARSET);
      if (len < 0) return true;
      i += len;
      continue;
    }
    const [a, b, d, e, f] = [text[i], text[i + 1], text[i + 2], text[i + 3], text[i + 4]];
    const v6 =
      (a === ':' && b === ':' && isHex(d)) ||
      (isHex(a) && b === ':') ||
      (isHex(a) && isHex(b) && d === ':') ||
      (isHex(a) && isHex(b) && isHex(d) && e === ':') ||
      (isHex(a) && isHex(b) && isHex(d) && isHex(e) && f === ':');
    if (v6) {
      const len = tryAt(i, IPV6_CHARSET);
      if (len < 0) return true;
      i += len;
    }
  }
  return false;
}
