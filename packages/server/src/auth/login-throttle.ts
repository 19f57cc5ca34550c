/**
 * Password guessing, slowed down: failed sign-ins are counted per username
 * and per client address. The `freeFailures`-th failure of a username
 * (`freeFailuresPerAddress`-th of an address) and each one after it lock
 * that key for `baseDelayMs * 2^n` (n = 0 for the first lock, 1 for the
 * next, ...), up to `maxDelayMs`. While a key is locked every attempt is refused with 429 and
 * Retry-After, whatever the password: a right password during the lock is
 * refused too, so a guess that happens to be right says nothing.
 *
 * Unknown usernames are counted exactly like known ones (the answer must not
 * tell whether the user exists). A success clears its username's count but
 * not its address's (one account of one's own must not reset the address
 * count between guesses at others). A key with no failure for `forgetMs`
 * after its lock ended is forgotten.
 *
 * Counts live in memory: a restart forgives them (the audit trail keeps
 * every failure). The maps are bounded; the oldest keys go first.
 */

export interface LoginThrottleOptions {
  freeFailures: number;
  freeFailuresPerAddress: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetMs: number;
  maxKeys?: number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export class LoginThrottle {
  private readonly users = new Map<string, Entry>();
  private readonly addresses = new Map<string, Entry>();
  private readonly maxKeys: number;

  constructor(private readonly opts: LoginThrottleOptions) {
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Milliseconds until an attempt for this username from this address may be checked; 0 = now. */
  waitMs(username: string, address: string, now = Date.now()): number {
    const u = this.entry(this.users, username.toLowerCase(), now);
    const a = this.entry(this.addresses, address, now);
    return Math.max(0, (u?.lockedUntil ?? 0) - now, (a?.lockedUntil ?? 0) - now);
  }

  failed(username: string, address: string, now = Date.now()): void {
    this.count(this.users, username.toLowerCase(), this.opts.freeFailures, now);
    this.count(this.addresses, address, this.opts.freeFailuresPerAddress, now);
  }

  succeeded(username: string): void {
    this.users.delete(username.toLowerCase());
  }

  private entry(map: Map<string, Entry>, key: string, now: number): Entry | undefined {
    const e = map.get(key);
    if (e && now - Math.max(e.lastFailure, e.lockedUntil) > this.opts.forgetMs) {
      map.delete(key);
      return undefined;
    }
    return e;
  }

  private count(map: Map<string, Entry>, key: string, free: number, now: number): void {
    const e = this.entry(map, key, now) ?? { failures: 0, lockedUntil: 0, lastFailure: 0 };
    e.failures += 1;
    e.lastFailure = now;
    const past = e.failures - free;
    if (past >= 0) e.lockedUntil = now + Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(past, 30));
    map.delete(key);
    map.set(key, e);
    if (map.size > this.maxKeys) map.delete(map.keys().next().value!);
  }
}
