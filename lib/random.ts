/**
 * The project's one source of deterministic random numbers (synthesis, weights, batches, split,
 * subsample, the SVM's split and folds): a 32-bit hash to derive seeds, a small fast generator
 * (sfc32) with uniform, normal and choice helpers, and a shuffle. Everything is integer
 * arithmetic on 32-bit values, so the same seed gives the same stream on every platform.
 * Cached results depend on these exact streams: a change here must leave tests/random.test.ts's
 * sequences as they are, or bump the version of every kind that draws from it.
 */

/** A 32-bit avalanche hash (murmur3's finaliser) of one unsigned integer. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hashes a list of integers and strings into one unsigned 32-bit value. */
export function hash32(...parts: (number | string)[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    if (typeof part === "number") {
      // Integers up to 2^53: both 32-bit halves take part.
      const lo = part >>> 0;
      const hi = Math.floor(part / 4294967296) >>> 0;
      h = mix32(h ^ lo) ^ mix32(hi + 0x632be5ab);
    } else {
      for (let i = 0; i < part.length; i++) h = mix32(h ^ part.charCodeAt(i)) + 0x7f4a7c15;
      h = mix32(h ^ part.length);
    }
  }
  return mix32(h) >>> 0;
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded by hashing. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number) {
    this.a = hash32(seed, 1);
    this.b = hash32(seed, 2);
    this.c = hash32(seed, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
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
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** -1 or +1 with equal probability. */
  sign(): -1 | 1 {
    return this.next() < 0.5 ? -1 : 1;
  }

  /** Log-uniform in [lo, hi). */
  logUniform(lo: number, hi: number): number {
    return Math.exp(this.uniform(Math.log(lo), Math.log(hi)));
  }
}

/** A shuffled copy (Fisher-Yates from the end, one `next()` per position). */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
