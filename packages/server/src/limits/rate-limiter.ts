/**
 * Rate limits and quotas per identity and per tenant: token buckets, one per
 * key (`identity:<principal id>`, `tenant:<tenant>`, `ip:<address>` for
 * calls nobody authenticated, `bytes:<tenant>` for ingest volume). A call
 * takes one token from each bucket that applies; an empty bucket refuses it
 * and says when the next token arrives (the Retry-After the client gets).
 *
 * Why not @fastify/rate-limit: it keys one limit per route; this needs
 * several keys per call (identity and tenant and bytes), shared with the
 * gRPC listener, which is not Fastify. The buckets are in memory, per
 * server: a cluster of N servers admits up to N times the limits (noted in
 * docs/security.md).
 *
 * Memory is bounded: idle buckets (full again) are dropped on a sweep, and
 * at most `maxKeys` are kept (the oldest go first; a dropped bucket starts
 * full, which only errs toward admitting).
 */

export interface BucketSpec {
  /** Tokens added per second (0 = unlimited). */
  ratePerSecond: number;
  /** Bucket size: the burst admitted at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAt = 0;

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Takes `cost` tokens from every bucket in `checks`, or none of them.
   * Returns 0 when admitted, else the seconds until it would be.
   */
  take(checks: readonly { key: string; spec: BucketSpec; cost?: number }[]): number {
    const t = this.now();
    this.sweep(t);
    let waitSeconds = 0;
    const filled: [Bucket, number][] = [];
    for (const c of checks) {
      if (c.spec.ratePerSecond <= 0) continue;
      const cost = c.cost ?? 1;
      const b = this.refill(c.key, c.spec, t);
      // A single call larger than the burst is admitted when the bucket is full (it could never pass otherwise), and drains it.
      const need = Math.min(cost, c.spec.burst);
      if (b.tokens < need) waitSeconds = Math.max(waitSeconds, (need - b.tokens) / c.spec.ratePerSecond);
      filled.push([b, cost]);
    }
    if (waitSeconds > 0) return waitSeconds;
    for (const [b, cost] of filled) b.tokens -= cost;
    return 0;
  }

  /** Seconds until `key` has a token, without taking one (0 = it has one now). */
  wait(key: string, spec: BucketSpec): number {
    if (spec.ratePerSecond <= 0) return 0;
    const b = this.refill(key, spec, this.now());
    return b.tokens >= 1 ? 0 : (1 - b.tokens) / spec.ratePerSecond;
  }

  private refill(key: string, spec: BucketSpec, t: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: spec.burst, at: t };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(spec.burst, b.tokens + ((t - b.at) / 1000) * spec.ratePerSecond);
    b.at = t;
    return b;
  }

  /** Drops buckets idle for a minute (they would be full again anyway with any sane rate). */
  private sweep(t: number): void {
    if (t < this.sweepAt) return;
    this.sweepAt = t + 60_000;
    for (const [k, b] of this.buckets) if (t - b.at > 60_000) this.buckets.delete(k);
  }
}
