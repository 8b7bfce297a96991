/**
 * SHARDS: Spatially Hashed Approximate Reuse Distance Sampling (Waldspurger et al., FAST 2015).
 *
 * Sample *pages*, not accesses: a page is tracked when hash(page) mod P < T (P = 2^24), so every
 * access to a tracked page is seen and its reuse distance among tracked pages is exact. With
 * R = T/P, a distance among sampled pages is scaled by 1/R to estimate the distance among all:
 *
 *   depth ≈ (sampled depth − 1) / R + 1          (depth 1 = top of the LRU stack)
 *
 * and each sampled access adds 1 to the histogram at that depth (`ScaledDistanceHistogram`).
 *
 * - **Fixed rate** (`rate`): T = round(R·P) for the whole trace; the LRU stack holds about R·M
 *   pages for a footprint of M.
 * - **Fixed size** (`maxSamples` = s_max): start at `rate` (default 1) and, whenever more than
 *   s_max pages are tracked, drop the tracked pages with the largest hash value T_max, lower T to
 *   T_max (so no page at or above it is sampled again) and rescale the histogram by T_new/T_old,
 *   so counts gathered at the old rate stand for what the new rate would have seen. Memory is
 *   O(s_max) however long the trace and however large its footprint.
 * - **SHARDS_adj** (`adjust`, on by default): the number of sampled accesses S deviates from its
 *   expectation E = N·R when a few hot pages happen to be in (or out of) the sample; the paper
 *   adds E − S to the first histogram bucket (depth 1). Its hits then count E − S more, and the
 *   total is E. We apply it in both modes (with R the final rate in fixed-size mode, whose
 *   counts are all scaled to it), as libCacheSim does; miss ratios are clamped to [0, 1].
 *   It assumes the mis-sampled accesses are short reuses (hot pages): on zipf traces it cuts the
 *   error several times, but on a flat hot set (hot-cold, 20% of 50,000 pages taking 80% of
 *   accesses, rate 0.01) it doubles it (mean absolute error 0.022 against 0.010 over 20 salts);
 *   `adjust: false` turns it off.
 *
 * Hash: murmur3's 32-bit finalizer over the page's two 32-bit halves plus an offset from the
 * optional `salt` (another salt draws another sample); its top 24 bits are hash mod P. The rate is rounded to a
 * multiple of 2^-24 (`rate` reports the one in effect).
 */
import { MemvirtError } from "../util/errors";
import { MattsonStack } from "./lru-stack-distance";
import { ScaledDistanceHistogram } from "./scaled-distance-histogram";

/** P: hash values are taken mod 2^24, so rates are multiples of 2^-24. */
export const SHARDS_MODULUS = 2 ** 24;

/** Options of a SHARDS sampler. */
export interface ShardsOptions {
  /** Sampling rate R in (0, 1]: fixed for a fixed-rate sampler (default 0.01), the starting rate with `maxSamples` (default 1). */
  rate?: number;
  /** Fixed size: track at most this many pages, lowering the rate as they fill (default: fixed rate). */
  maxSamples?: number;
  /** Apply SHARDS_adj: add (expected − actual sampled accesses) at depth 1 (default true). */
  adjust?: boolean;
  /** A 32-bit salt for the page hash, to draw another sample (default 0). */
  salt?: number;
}

/**
 * The SHARDS hash of a page, in [0, 2^24).
 *
 * @example
 * shardsHash(0x400) // the same value on every run and machine
 * shardsHash(0x400, 1) !== shardsHash(0x400) // (almost surely) another sample
 */
export function shardsHash(page: number, salt = 0): number {
  const lo = page >>> 0;
  const hi = page > 4294967295 ? (page / 4294967296) >>> 0 : 0;
  let h = ((lo ^ Math.imul(hi, 0x9e3779b1)) + saltOffset(salt)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 8;
}

/** What the salt adds before the finalizer: with salt 0 too, so page 0 does not hash to 0 (sampled at every rate). */
function saltOffset(salt: number): number {
  return Math.imul(salt ^ 0x6a09e667, 0xc2b2ae35);
}

/**
 * A SHARDS miss-ratio-curve estimator, fed one batch of pages at a time.
 *
 * @example
 * const s = new Shards({ rate: 0.01 });
 * s.feed(pages, 0, pages.length);
 * s.missRatios([1024, 4096]) // estimated miss ratios of LRU caches of 1,024 and 4,096 pages
 * const small = new Shards({ maxSamples: 8192 }); // fixed size: memory stays flat
 */
export class Shards {
  readonly method = "shards" as const;
  /** True with `maxSamples`: the rate falls as the sample fills. */
  readonly fixedSize: boolean;
  /** The most pages tracked at once (Infinity at a fixed rate). */
  readonly maxSamples: number;
  readonly adjust: boolean;
  readonly salt: number;
  /** Accesses fed. */
  accesses = 0;
  /** Accesses to tracked pages (each went through the LRU stack). */
  sampledAccesses = 0;
  private threshold: number;
  private readonly stack = new MattsonStack();
  private readonly histogram = new ScaledDistanceHistogram();
  /** Max-heap of the tracked pages by hash value (fixed size only). */
  private heapHashes: Int32Array;
  private heapPages: Float64Array;
  private heapSize = 0;

  constructor(options: ShardsOptions = {}, where = "") {
    const at = (name: string) => (where === "" ? name : `${where}.${name}`);
    this.fixedSize = options.maxSamples !== undefined;
    if (this.fixedSize) {
      const m = options.maxSamples;
      if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 1 || m > 2 ** 28) {
        throw new MemvirtError("must be a whole number of pages from 1 to 2^28", { where: at("maxSamples"), value: m });
      }
      this.maxSamples = m;
    } else this.maxSamples = Infinity;
    const rate = options.rate ?? (this.fixedSize ? 1 : 0.01);
    if (typeof rate !== "number" || !(rate > 0 && rate <= 1)) {
      throw new MemvirtError("must be a sampling rate in (0, 1], e.g. 0.01", { where: at("rate"), value: options.rate });
    }
    this.threshold = Math.round(rate * SHARDS_MODULUS);
    if (this.threshold < 1) throw new MemvirtError(`is below the sampler's resolution of 2^-24 (${(1 / SHARDS_MODULUS).toExponential(2)})`, { where: at("rate"), value: rate });
    if (options.adjust !== undefined && typeof options.adjust !== "boolean") throw new MemvirtError("must be true or false", { where: at("adjust"), value: options.adjust });
    this.adjust = options.adjust ?? true;
    const salt = options.salt ?? 0;
    if (typeof salt !== "number" || !Number.isInteger(salt) || salt < 0 || salt > 0xffffffff) throw new MemvirtError("must be a whole number from 0 to 2^32-1", { where: at("salt"), value: salt });
    this.salt = salt;
    const heapCapacity = this.fixedSize ? Math.min(this.maxSamples + 1, 1 << 16) : 0;
    this.heapHashes = new Int32Array(heapCapacity);
    this.heapPages = new Float64Array(heapCapacity);
  }

  /** The sampling rate in effect, R = T / 2^24. */
  get rate(): number {
    return this.threshold / SHARDS_MODULUS;
  }

  /** Pages tracked now (at most `maxSamples`). */
  get trackedPages(): number {
    return this.stack.sizePages;
  }

  /**
   * S of SHARDS_adj: the sampled accesses counted in the histogram, cold ones included (in
   * fixed-size mode rescaled to the current rate, so a fraction). Its expectation is N·R.
   *
   * @example
   * s.sampledWeight / (s.accesses * s.rate) // ≈ 1
   */
  get sampledWeight(): number {
    return this.histogram.total;
  }

  /** Histogram buckets in use (with the stack and heap, the sampler's memory). */
  get histogramBuckets(): number {
    return this.histogram.bucketCount;
  }

  /**
   * Feed `count` pages from `pages[from]` on.
   *
   * @example
   * new Shards({ rate: 0.1 }).feed(new Float64Array([1, 2, 3]), 0, 3);
   */
  feed(pages: ArrayLike<number>, from: number, count: number): void {
    const offset = saltOffset(this.salt);
    let threshold = this.threshold;
    const end = from + count;
    for (let i = from; i < end; i++) {
      const page = pages[i];
      // shardsHash, inlined: this loop runs for every access, sampled or not.
      const hi = page > 4294967295 ? (page / 4294967296) >>> 0 : 0;
      let h = (((page >>> 0) ^ Math.imul(hi, 0x9e3779b1)) + offset) | 0;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      const hash = h >>> 8;
      if (hash < threshold) {
        this.sample(page, hash);
        threshold = this.threshold;
      }
    }
    this.accesses += count;
  }

  /**
   * Feed one page.
   *
   * @example
   * new Shards({ rate: 1 }).access(7);
   */
  access(page: number): void {
    const hash = shardsHash(page, this.salt);
    if (hash < this.threshold) this.sample(page, hash);
    this.accesses++;
  }

  /**
   * Estimated footprint in pages: tracked pages / R. (Every page ever seen with a hash below the
   * final threshold is still tracked: the threshold only falls, and only pages at or above it
   * are dropped.)
   *
   * @example
   * s.footprintPages() // ≈ distinct pages fed
   */
  footprintPages(): number {
    return this.stack.sizePages / this.rate;
  }

  /**
   * Estimated cold misses (first touches) among the accesses fed.
   *
   * @example
   * s.coldMisses() // ≈ footprintPages()
   */
  coldMisses(): number {
    return this.histogram.coldMisses / this.rate;
  }

  /**
   * Estimated LRU miss ratios at these sizes (pages), cold misses included.
   *
   * @example
   * s.missRatios([100, 1000]) // Float64Array of two ratios, non-increasing
   */
  missRatios(sizesPages: readonly number[]): Float64Array {
    const h = this.histogram;
    const actual = this.sampledWeight;
    const expected = this.accesses * this.rate;
    const total = this.adjust ? expected : actual;
    const extraHits = this.adjust ? expected - actual : 0;
    const out = new Float64Array(sizesPages.length);
    for (let i = 0; i < sizesPages.length; i++) {
      const hits = h.hits(sizesPages[i]) + (sizesPages[i] >= 1 ? extraHits : 0);
      out[i] = total > 0 ? Math.min(1, Math.max(0, (total - hits) / total)) : NaN;
    }
    return out;
  }

  private sample(page: number, hash: number): void {
    this.sampledAccesses++;
    const depth = this.stack.access(page);
    if (depth === Infinity) {
      this.histogram.add(Infinity);
      if (this.fixedSize) {
        this.heapPush(hash, page);
        if (this.stack.sizePages > this.maxSamples) this.lowerThreshold();
      }
    } else {
      this.histogram.add((depth - 1) / this.rate + 1);
    }
  }

  /** Drop every tracked page with the largest hash until at most maxSamples remain; T = that hash. */
  private lowerThreshold(): void {
    while (this.stack.sizePages > this.maxSamples) {
      const top = this.heapHashes[0];
      while (this.heapSize > 0 && this.heapHashes[0] === top) this.stack.remove(this.heapPop());
      if (top === 0) throw new MemvirtError(`more than ${this.maxSamples} sampled pages share hash value 0; raise maxSamples`, { where: "maxSamples", value: this.maxSamples });
      this.histogram.rescale(top / this.threshold);
      this.threshold = top;
    }
  }

  private heapPush(hash: number, page: number): void {
    if (this.heapSize === this.heapHashes.length) {
      const size = Math.max(16, this.heapHashes.length * 2);
      const hashes = new Int32Array(size);
      hashes.set(this.heapHashes);
      const pages = new Float64Array(size);
      pages.set(this.heapPages);
      this.heapHashes = hashes;
      this.heapPages = pages;
    }
    const hashes = this.heapHashes;
    const pages = this.heapPages;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (hashes[parent] >= hash) break;
      hashes[i] = hashes[parent];
      pages[i] = pages[parent];
      i = parent;
    }
    hashes[i] = hash;
    pages[i] = page;
  }

  /** Remove the page with the largest hash and return it. */
  private heapPop(): number {
    const hashes = this.heapHashes;
    const pages = this.heapPages;
    const top = pages[0];
    const n = --this.heapSize;
    const hash = hashes[n];
    const page = pages[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && hashes[child + 1] > hashes[child]) child++;
      if (hashes[child] <= hash) break;
      hashes[i] = hashes[child];
      pages[i] = pages[child];
      i = child;
    }
    hashes[i] = hash;
    pages[i] = page;
    return top;
  }
}
