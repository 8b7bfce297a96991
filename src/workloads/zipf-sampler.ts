/**
 * Sampling Zipf ranks: P(rank r) = r^-s / H(N, s), for r = 1..N.
 *
 * Exact methods, chosen by size:
 * - N <= 2^18: Vose's alias table (O(1) per draw, 8 bytes per rank, 2 MiB at most, so it stays
 *   in cache; bigger tables miss the cache on every draw). Tables are immutable and cached by
 *   (N, s), so 64 VMs running the same spec share one table.
 * - larger N, "hybrid": the 2^16 most popular ranks from an alias table, the tail by
 *   Hörmann & Derflinger's rejection-inversion (O(1) expected, no memory; as in Apache Commons'
 *   RejectionInversionZipfSampler). Pure rejection-inversion is available as "rejection".
 *
 * Both return 0-based ranks (0 is the most popular).
 */
import { Rng } from "../util/rng";

/** How ranks are drawn: a full alias table, rejection-inversion, or alias head + rejection tail. */
export type ZipfMethod = "alias" | "rejection" | "hybrid";

/**
 * A sampler of 0-based Zipf ranks.
 * @internal
 */
export interface ZipfSampler {
  readonly pages: number;
  readonly exponent: number;
  readonly method: ZipfMethod;
  /** One 0-based rank in [0, pages). */
  sample(rng: Rng): number;
}

/**
 * Largest N that gets an alias table.
 * @internal
 */
export const ZIPF_ALIAS_MAX_PAGES = 1 << 18;

/**
 * An alias table, interleaved so one draw touches one cache line:
 * entries[2i] is column i's keep threshold (keep when a 32-bit draw < threshold),
 * entries[2i + 1] its alias. 8 bytes per rank.
 * @internal
 */
export interface AliasTable {
  readonly pages: number;
  readonly entries: Uint32Array;
}

const aliasCache = new Map<string, AliasTable>();
const ALIAS_CACHE_ENTRIES = 4;

/**
 * The (cached) alias table for Zipf(N, s).
 *
 * @internal
 * @example
 * const t = zipfAliasTable(1000, 1.0);
 * t.entries.length // 2000
 */
export function zipfAliasTable(pages: number, exponent: number): AliasTable {
  const key = `${pages}:${exponent}`;
  const hit = aliasCache.get(key);
  if (hit) {
    aliasCache.delete(key); // move to most-recent
    aliasCache.set(key, hit);
    return hit;
  }
  const n = pages;
  const prob = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.pow(i + 1, -exponent);
    prob[i] = w;
    sum += w;
  }
  const scale = n / sum;
  for (let i = 0; i < n; i++) prob[i] *= scale;
  // Vose: one worklist, "small" grows from the front, "large" from the back.
  const entries = new Uint32Array(2 * n);
  const work = new Uint32Array(n);
  let small = 0;
  let large = n;
  for (let i = 0; i < n; i++) {
    if (prob[i] < 1) work[small++] = i;
    else work[--large] = i;
  }
  while (small > 0 && large < n) {
    const l = work[--small];
    const g = work[large++];
    entries[2 * l] = Math.min(4294967295, Math.round(prob[l] * 4294967296));
    entries[2 * l + 1] = g;
    prob[g] = prob[g] + prob[l] - 1;
    if (prob[g] < 1) work[small++] = g;
    else work[--large] = g;
  }
  // Leftovers have probability 1 up to rounding: alias to themselves, so the threshold is moot.
  while (small > 0) {
    const i = work[--small];
    entries[2 * i] = 4294967295;
    entries[2 * i + 1] = i;
  }
  while (large < n) {
    const i = work[large++];
    entries[2 * i] = 4294967295;
    entries[2 * i + 1] = i;
  }
  const table = { pages: n, entries };
  aliasCache.set(key, table);
  if (aliasCache.size > ALIAS_CACHE_ENTRIES) aliasCache.delete(aliasCache.keys().next().value as string);
  return table;
}

class AliasZipfSampler implements ZipfSampler {
  readonly method = "alias" as const;
  readonly entries: Uint32Array;
  constructor(readonly pages: number, readonly exponent: number) {
    this.entries = zipfAliasTable(pages, exponent).entries;
  }
  sample(rng: Rng): number {
    const col = rng.int(this.pages) * 2;
    return rng.nextUint32() < this.entries[col] ? col >>> 1 : this.entries[col + 1];
  }
}

/** Rejection-inversion (Hörmann & Derflinger 1996), exact for any s >= 0 and N. */
/**
 * Rejection-inversion over ranks first..N (1-based), generalised from Apache's first = 1:
 * u is uniform on [H(first + 0.5) - h(first), H(N + 0.5)], and the quick-accept constant
 * comes from rank first + 1 (the worst case; rank `first` itself is always accepted).
 */
class RejectionZipfSampler implements ZipfSampler {
  readonly method = "rejection" as const;
  private readonly hIntegralX1: number;
  private readonly hIntegralN: number;
  private readonly s: number;
  constructor(readonly pages: number, readonly exponent: number, private readonly first = 1) {
    this.hIntegralX1 = this.hIntegral(first + 0.5) - this.h(first);
    this.hIntegralN = this.hIntegral(pages + 0.5);
    this.s = first + 1 - this.hIntegralInverse(this.hIntegral(first + 1.5) - this.h(first + 1));
  }
  sample(rng: Rng): number {
    const n = this.pages;
    const first = this.first;
    const oneMinusS = 1 - this.exponent;
    for (;;) {
      const u = this.hIntegralN + rng.next() * (this.hIntegralX1 - this.hIntegralN);
      // x = hIntegralInverse(u), inlined: the common path costs one log1p and one exp.
      let t = u * oneMinusS;
      if (t < -1) t = -1;
      const x = Math.exp((Math.abs(t) > 1e-8 ? Math.log1p(t) / t : 1 - t * (0.5 - t * (1 / 3 - 0.25 * t))) * u);
      let k = Math.floor(x + 0.5);
      if (k < first) k = first;
      else if (k > n) k = n;
      if (k - x <= this.s || u >= this.hIntegral(k + 0.5) - this.h(k)) return k - 1;
    }
  }
  private h(x: number): number {
    return Math.exp(-this.exponent * Math.log(x));
  }
  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.exponent) * logX) * logX;
  }
  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.exponent);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  }
}

/**
 * Head-and-tail sampler for large N: with probability P(rank <= head) draw from a small,
 * cache-resident alias table over the head ranks; otherwise rejection-inversion over the tail.
 * The head's mass uses an Euler–Maclaurin sum for the tail (error far below 1e-15 for a head
 * of 2^16 ranks), so no O(N) work is needed.
 */
class HybridZipfSampler implements ZipfSampler {
  readonly method = "hybrid" as const;
  readonly headPages: number;
  /** Keep-head threshold for a 32-bit draw. */
  readonly headThreshold: number;
  private readonly entries: Uint32Array;
  private readonly tail: RejectionZipfSampler;
  constructor(readonly pages: number, readonly exponent: number, headPages = ZIPF_HYBRID_HEAD_PAGES) {
    this.headPages = Math.min(headPages, pages);
    this.entries = zipfAliasTable(this.headPages, exponent).entries;
    let headMass = 0;
    for (let r = this.headPages; r >= 1; r--) headMass += Math.pow(r, -exponent);
    const tailMass = this.headPages < pages ? zipfPartialSum(this.headPages + 1, pages, exponent) : 0;
    this.headThreshold = Math.min(4294967296, Math.round((headMass / (headMass + tailMass)) * 4294967296));
    this.tail = new RejectionZipfSampler(pages, exponent, this.headPages + 1);
  }
  sample(rng: Rng): number {
    if (rng.nextUint32() < this.headThreshold) {
      const col = rng.int(this.headPages) * 2;
      return rng.nextUint32() < this.entries[col] ? col >>> 1 : this.entries[col + 1];
    }
    return this.tail.sample(rng);
  }
}

/**
 * Ranks in the head of a hybrid sampler: 2^16 ranks, a 512 KiB table.
 * @internal
 */
export const ZIPF_HYBRID_HEAD_PAGES = 1 << 16;

/**
 * sum_{k=a..b} k^-s by Euler–Maclaurin (integral, endpoint and two derivative terms);
 * accurate to ~1e-15 relative once a is in the hundreds.
 *
 * @internal
 * @example
 * zipfPartialSum(1000, 2000, 1) // ≈ ln(2000/1000) + (1/1000 + 1/2000) / 2 + ...
 */
export function zipfPartialSum(a: number, b: number, s: number): number {
  const integral = s === 1 ? Math.log(b / a) : (Math.pow(b, 1 - s) - Math.pow(a, 1 - s)) / (1 - s);
  const f = (x: number) => Math.pow(x, -s);
  const d1 = (x: number) => -s * Math.pow(x, -s - 1);
  const d3 = (x: number) => -s * (s + 1) * (s + 2) * Math.pow(x, -s - 3);
  return integral + (f(a) + f(b)) / 2 + (d1(b) - d1(a)) / 12 - (d3(b) - d3(a)) / 720;
}

/** log1p(x)/x, stable near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x)/x, stable near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + 0.25 * x));
}

/**
 * A Zipf rank sampler for N pages and exponent s; `method` defaults by size.
 *
 * @internal
 * @example
 * const z = zipfSampler(4096, 1.1);
 * z.sample(new Rng(1)); // a rank in 0..4095, small ranks most often
 */
export function zipfSampler(pages: number, exponent: number, method?: ZipfMethod, headPages?: number): ZipfSampler {
  const m = method ?? (pages <= ZIPF_ALIAS_MAX_PAGES ? "alias" : "hybrid");
  if (m === "alias") return new AliasZipfSampler(pages, exponent);
  if (m === "hybrid") return new HybridZipfSampler(pages, exponent, headPages);
  return new RejectionZipfSampler(pages, exponent);
}

/**
 * The exact Zipf probability of 0-based rank r, for checks and plots.
 *
 * @internal
 * @example
 * zipfProbability(0, 2, 0) // 0.5
 */
export function zipfProbability(rank: number, pages: number, exponent: number): number {
  let h = 0;
  for (let i = 1; i <= pages; i++) h += Math.pow(i, -exponent);
  return Math.pow(rank + 1, -exponent) / h;
}
