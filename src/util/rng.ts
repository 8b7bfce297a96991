/**
 * Seeded random numbers.
 *
 * Invariants:
 * - Nothing in `src/` uses the unseeded global generator; every random choice comes from an `Rng`.
 * - Streams are split by label (`rng.split("vm:web")`), so adding a VM or a policy does not
 *   shift the numbers any other component sees. The same seed gives the same tables.
 * - The generator is xoshiro128** on 32-bit integers: no BigInt and no allocation per draw,
 *   so it is safe on per-access hot paths.
 */

/** A seed as the user writes it: a number or a string. */
export type Seed = number | string;

/**
 * Hash a string to 32 bits (FNV-1a followed by a murmur3 finaliser).
 *
 * @example
 * hashString32("vm:web") // a stable 32-bit unsigned integer
 */
export function hashString32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/**
 * The murmur3 32-bit finaliser: a cheap, good avalanche on one integer.
 *
 * @example
 * mix32(1) // 0x514e28b7
 */
export function mix32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A seeded pseudo-random generator (xoshiro128**), splittable by label.
 *
 * @example
 * const rng = new Rng(42);
 * const vmRng = rng.split("vm:web");
 * vmRng.int(100); // 0..99, the same every run
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** The seed this generator was made from (after splitting, the derived seed). */
  readonly seed: number;

  constructor(seed: Seed = 1) {
    const base = typeof seed === "string" ? hashString32(seed) : seedToUint32(seed);
    this.seed = base;
    // SplitMix32 expands one word into the four words of state; state must not be all zero.
    let z = base;
    const next = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
      t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A child generator for one component, independent of the order components are made in.
   *
   * @example
   * new Rng(7).split("policy:balloon").next()
   */
  split(label: string): Rng {
    return new Rng(hashString32(label, this.seed ^ 0x9e3779b9));
  }

  /**
   * The next 32-bit unsigned integer.
   *
   * @example
   * new Rng(1).nextUint32()
   */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * A float in [0, 1) with 32 bits of randomness.
   *
   * @example
   * new Rng(1).next() < 1 // true
   */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * An integer in [0, n), for n up to 2^32 (float-based for larger n, up to 2^53).
   *
   * @example
   * new Rng(1).int(6) // a die roll, 0..5
   */
  int(n: number): number {
    if (n <= 4294967296) return Math.floor(this.next() * n);
    return Math.floor((this.nextUint32() * 4294967296 + this.nextUint32()) / 18446744073709551616 * n);
  }

  /**
   * An exponential variate with the given mean.
   *
   * @example
   * new Rng(1).exponential(10)
   */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /**
   * Shuffle an array (or typed array) in place (Fisher–Yates).
   *
   * @example
   * new Rng(3).shuffle([1, 2, 3, 4])
   */
  shuffle<T extends { length: number; [i: number]: any }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function seedToUint32(seed: number): number {
  if (!Number.isFinite(seed)) return 1;
  // Fold the high part in, so seeds above 2^32 still differ.
  return mix32((seed >>> 0) ^ Math.floor(seed / 4294967296));
}
