/**
 * Seeded pseudo-random numbers for the demo traffic generator.
 *
 * Invariants: the same seed always yields the same sequence (tests and the
 * benchmark rely on byte-identical output), and nothing here reads the clock
 * or `Math.random`. Not cryptographic: trace and request ids only need to look
 * random and be unique enough within a demo run.
 */

/** Mixes a 32-bit value (the `lowbias32` finalizer); the base of every hash below. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Hashes a seed and a few small integers to a uniform 32-bit value. The
 * incident schedule and periodic background logs use this so that "what
 * happens at time T" depends only on (seed, T), not on how much traffic was
 * generated before.
 */
export function hash32(seed: number, ...parts: number[]): number {
  let h = mix32(seed ^ 0x9e3779b9);
  for (const part of parts) h = mix32(h ^ mix32(part + 0x632be5ab));
  return h;
}

/** A uniform float in [0, 1) from `hash32`. */
export function hashUnit(seed: number, ...parts: number[]): number {
  return hash32(seed, ...parts) / 0x1_0000_0000;
}

const HEX = '0123456789abcdef';

/** sfc32: small, fast, and passes PractRand far beyond what a demo needs. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix32(seed ^ 0xa341316c);
    this.b = mix32(seed ^ 0xc8013ea4);
    this.c = mix32(seed ^ 0xad90777d);
    this.d = 1;
    // The first outputs of sfc32 are correlated with the seed; burn them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Float in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Picks by weight; `weights` and `items` have the same length. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i] ?? 0;
      if (r < 0) return items[i] as T;
    }
    return items[items.length - 1] as T;
  }

  /** Exponentially distributed value with the given mean (Poisson inter-arrival times). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /**
   * Log-normal value around `median` (service latencies are long-tailed:
   * most requests are quick, a few are many times slower).
   */
  logNormal(median: number, sigma: number): number {
    // Box-Muller; 1 - next() keeps the logarithm's argument in (0, 1].
    const u = 1 - this.next();
    const v = this.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return median * Math.exp(sigma * z);
  }

  /** `length` lowercase hex digits. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) {
      let word = this.nextUint32();
      for (let i = 0; i < 8 && out.length < length; i++) {
        out += HEX[word & 15];
        word >>>= 4;
      }
    }
    return out;
  }

  /** A non-zero hex id (W3C trace context forbids the all-zero trace and span ids). */
  nonZeroHex(length: number): string {
    for (;;) {
      const id = this.hex(length);
      if (!/^0+$/.test(id)) return id;
    }
  }

  /** Lowercase alphanumerics, e.g. the random suffix of a Kubernetes pod name. */
  alnum(length: number, alphabet = 'bcdfghjklmnpqrstvwxz2456789'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  /** A UUID-shaped string, as Envoy generates for `x-request-id`. */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
