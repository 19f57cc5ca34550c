/**
 * The redaction detectors: each a bounded regular expression (no unbounded
 * quantifier next to one that can match the same text, so no catastrophic
 * backtracking) plus, where a pattern alone would redact too much, a check
 * of the candidate: payment card numbers must pass the Luhn checksum, IPv6
 * candidates must parse. Some detectors replace only the secret part of
 * their match (the password of a URL, the token after "Bearer ").
 */
import { isIPv6 } from 'node:net';
import type { BuiltinDetector } from './config.js';

export interface Detector {
  name: string;
  /** Global regex; group `secret`, when present, is the part replaced. */
  regex: RegExp;
  /** Cheap precondition on the whole text. */
  mayMatch?(text: string): boolean;
  /** A candidate that passes is replaced. */
  accept?(value: string): boolean;
}

/** Luhn checksum over the digits of `s` (separators ignored). */
export function luhnValid(s: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let d = c - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
    digits++;
  }
  return digits >= 13 && digits <= 19 && sum % 10 === 0;
}

const hasDigitRun = (n: number): ((t: string) => boolean) => {
  const re = new RegExp(`\\d{${n}}`);
  return (t) => re.test(t);
};

export const DETECTORS: Record<BuiltinDetector, Detector> = {
  url_password: { name: 'url_password', regex: /\b[a-zA-Z][a-zA-Z0-9+.-]{0,30}:\/\/[^\s:@/?#]{1,256}:(?<secret>[^\s@/?#]{1,256})@/g, mayMatch: (t) => t.includes('://') },
  jwt: { name: 'jwt', regex: /\beyJ[A-Za-z0-9_-]{4,4096}\.[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{8,4096}/g, mayMatch: (t) => t.includes('eyJ') },
  bearer_token: { name: 'bearer_token', regex: /\b[Bb]earer[ \t]{1,8}(?<secret>[A-Za-z0-9\-._~+/]{8,4096}=*)/g, mayMatch: (t) => /earer/.test(t) },
  aws_access_key: { name: 'aws_access_key', regex: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g },
  email: { name: 'email', regex: /\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b/g, mayMatch: (t) => t.includes('@') },
  credit_card: { name: 'credit_card', regex: /\b\d(?:[ -]?\d){12,18}\b/g, mayMatch: hasDigitRun(4), accept: luhnValid },
  us_ssn: { name: 'us_ssn', regex: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g, mayMatch: (t) => t.includes('-') },
  ipv6: { name: 'ipv6', regex: /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{1,4}|:)(?::[0-9A-Fa-f]{0,4}){1,7}(?![0-9A-Za-z:])/g, mayMatch: (t) => t.includes(':'), accept: (v) => isIPv6(v) },
  ipv4: { name: 'ipv4', regex: /(?<!\d|\d\.)(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\d|\.\d)/g, mayMatch: (t) => t.includes('.') },
};
