/**
 * Seeded random numbers.
 *
 * Invariants:
 * - Nothing in `src/` uses the unseeded global generator; every random choice comes from an `Rng`.
 * - Streams are split by label (`rng.split("vm:web")`), so adding a VM or a policy does not
 *   shift the numbers any other component sees. The same seed gives the same tables.
 * - The generator is xoshiro128** on 32-bit integers: no BigInt and no allocation per draw,
 *   so it is safe on per-access hot paths.
 * - Distinct accepted seeds give distinct 128-bit states: integers provably (see `integerState`),
 *   strings through a 128-bit hash. A canonical decimal string ("42") is the integer 42, so a
 *   `--seed 42` flag and a JSON `"seed": 42` or `"seed": "42"` mean the same run. Seeds the state
 *   cannot tell apart (1.5, 2^53, 1e300, NaN) are rejected, never folded onto another seed.
 */
import { MemvirtError } from "./errors";

/** A seed as the user writes it: a safe integer, or a string. */
export type Seed = number | string;

const TWO_32 = 4294967296;
/** The golden-ratio increment of SplitMix32. */
const GAMMA = 0x9e3779b9;
/** A canonical decimal integer: no sign but "-", no leading zeros, no "-0". */
const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/**
 * Validate a seed as the user wrote it and return it in canonical form: a safe integer, or a
 * string that does not look like a number. A canonical decimal string ("42") becomes the number
 * 42; a string that looks like a number in any other way ("1.5", "007", "1e3", "9007199254740993")
 * is ambiguous and rejected, as are fractional, non-finite and unsafe numbers.
 *
 * @internal
 * @example
 * checkSeed("42", "--seed") // 42
 * checkSeed("run-a")        // "run-a"
 * checkSeed(1.5, "seed")    // throws "seed: must be a whole number ... (got 1.5)"
 */
export function checkSeed(value: unknown, where = "seed"): Seed {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new MemvirtError("must be a whole number between -(2^53-1) and 2^53-1, or a string", { where, value });
    }
    return value === 0 ? 0 : value; // -0 is 0
  }
  if (typeof value === "string") {
    if (CANONICAL_INTEGER.test(value)) {
      const n = Number(value);
      if (Number.isSafeInteger(n)) return n;
      throw new MemvirtError("is a whole number beyond 2^53-1, which a seed cannot hold exactly; use a smaller number or a name", { where, value });
    }
    if (looksNumeric(value)) {
      throw new MemvirtError("looks like a number but is not a plain whole number; write one (e.g. 42) or a name (e.g. \"run-a\")", { where, value });
    }
    return value;
  }
  throw new MemvirtError("must be a whole number or a string", { where, value });
}

function looksNumeric(text: string): boolean {
  const t = text.trim();
  return t !== "" && (!Number.isNaN(Number(t)) || /^[+-]?(Infinity|NaN)$/.test(t));
}

/**
 * Hash a string to 32 bits (FNV-1a followed by a murmur3 finaliser).
 *
 * @internal
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
 * Hash a string to 128 bits (four 32-bit words), keyed by four words: four multiply-xor lanes
 * that feed each other per character, then a murmur3 finaliser per word with cross-mixing.
 *
 * @internal
 * @example
 * hashString128("run-a") // [w0, w1, w2, w3], each a 32-bit unsigned integer
 */
export function hashString128(text: string, key: readonly number[] = [0, 0, 0, 0]): [number, number, number, number] {
  let h1 = (0x6a09e667 ^ key[0]) >>> 0;
  let h2 = (0xbb67ae85 ^ key[1]) >>> 0;
  let h3 = (0x3c6ef372 ^ key[2]) >>> 0;
  let h4 = (0xa54ff53a ^ key[3]) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 ^= text.length;
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 = mix32(h1 ^ h2 ^ h3 ^ h4);
  return [h1, mix32(h2 ^ h1), mix32(h3 ^ h1), mix32(h4 ^ h1)];
}

/**
 * The murmur3 32-bit finaliser: a cheap, good avalanche on one integer (a bijection on 32 bits
 * that maps 0 to 0).
 *
 * @internal
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

/** The SplitMix32 output function: a bijection on 32 bits (xor-shifts and odd multipliers). */
function splitMixOut(z: number): number {
  let t = z >>> 0;
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

/**
 * The 128-bit state of a safe integer n. Write |n| = hi·2^32 + lo (hi < 2^21) and
 * tag = 2·hi + (n < 0), so tag = 0 exactly for n in [0, 2^32). SplitMix32 expands
 * base = mix32(lo) into s0..s3, as it always has; a nonzero tag then xors mix32(tag) into s1
 * (and other functions of tag into s2, s3).
 *
 * Injective: s0 = splitMixOut(base + γ) is a bijection of lo (mix32, + γ and splitMixOut are
 * bijections on 32 bits), so s0 gives lo; lo gives the untagged s1, and s1 xor that is
 * mix32(tag), a bijection of tag (0 for tag 0), which gives hi and the sign. So the state gives
 * n back, and integers in [0, 2^32) keep exactly the streams they had before tags existed.
 * Never all zero: s0 = 0 only when base + γ = 0, and then the untagged s1 = splitMixOut(γ) ≠ 0;
 * a tag would have to equal mix32⁻¹(splitMixOut(γ)), which is not below 2^22 (checked in
 * test/util/rng.test.ts), so the all-zero guard below never fires for an integer.
 */
function integerState(n: number): [number, number, number, number] {
  const magnitude = Math.abs(n);
  const lo = magnitude % TWO_32;
  const hi = (magnitude - lo) / TWO_32;
  const tag = hi * 2 + (n < 0 ? 1 : 0);
  let z = mix32(lo);
  z = (z + GAMMA) >>> 0;
  const s0 = splitMixOut(z);
  z = (z + GAMMA) >>> 0;
  let s1 = splitMixOut(z);
  z = (z + GAMMA) >>> 0;
  let s2 = splitMixOut(z);
  z = (z + GAMMA) >>> 0;
  let s3 = splitMixOut(z);
  if (tag !== 0) {
    s1 = (s1 ^ mix32(tag)) >>> 0;
    s2 = (s2 ^ mix32(tag + 0x632be5ab)) >>> 0;
    s3 = (s3 ^ mix32(tag + 0x85157af5)) >>> 0;
  }
  return [s0, s1, s2, s3];
}

/** A seed in [0, 2^32): its stream and its children's are the ones it had before 128-bit seeding. */
function isLegacyInteger(seed: Seed): seed is number {
  return typeof seed === "number" && seed >= 0 && seed < TWO_32;
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
  /**
   * A 32-bit digest of the seed (for a seed in [0, 2^32), the key its children derive from).
   * Not unique: distinct seeds may share it; the generator's state is what tells them apart.
   */
  readonly seed: number;
  /** The initial state, which children derive from; null for a seed in [0, 2^32) (children derive from `seed`). */
  private readonly key: readonly number[] | null;

  /**
   * @param seed a safe integer or a string (see `checkSeed`); bad seeds throw a MemvirtError naming `where`.
   */
  constructor(seed: Seed = 1, where = "seed") {
    const s = checkSeed(seed, where);
    let words: [number, number, number, number];
    if (typeof s === "number") {
      words = integerState(s);
      this.seed = isLegacyInteger(s) ? mix32(s) : (words[0] ^ words[1]) >>> 0;
    } else {
      words = hashString128(s);
      this.seed = words[0];
    }
    // xoshiro's state must not be all zero (never for an integer; see integerState).
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    [this.s0, this.s1, this.s2, this.s3] = words;
    this.key = isLegacyInteger(s) ? null : words.slice();
  }

  /** A generator with exactly this state (children of non-32-bit seeds). */
  private static fromState(words: [number, number, number, number], seed: number): Rng {
    const rng = new Rng(0);
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    [rng.s0, rng.s1, rng.s2, rng.s3] = words;
    (rng as { seed: number }).seed = seed;
    (rng as unknown as { key: readonly number[] }).key = words.slice();
    return rng;
  }

  /**
   * A child generator for one component, independent of the order components are made in.
   * A seed in [0, 2^32) gives the children it always gave; any other seed keys a 128-bit hash
   * of the label with its whole state, so its children differ from every 32-bit seed's.
   *
   * @example
   * new Rng(7).split("policy:balloon").next()
   */
  split(label: string): Rng {
    if (this.key === null) return new Rng(hashString32(label, this.seed ^ GAMMA));
    const words = hashString128(label, this.key);
    return Rng.fromState(words, words[0]);
  }

  /**
   * A generator seeded by this one's key alone, one derivation deeper: for a seed in [0, 2^32),
   * `new Rng(this.seed)` (how the Mmu's P→M scatter has always been drawn); otherwise a hash of
   * the whole state.
   *
   * @example
   * new Rng(1).reseeded().split("p2m").nextUint32()
   */
  reseeded(): Rng {
    if (this.key === null) return new Rng(this.seed);
    const words = hashString128("\u0000reseeded", this.key);
    return Rng.fromState(words, words[0]);
  }

  /**
   * The current 128-bit state (four 32-bit words), to compare generators in tests.
   *
   * @example
   * new Rng(1).stateWords() // [s0, s1, s2, s3]
   */
  stateWords(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
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
