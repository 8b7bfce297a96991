/**
 * A histogram of LRU stack depths, and the miss-ratio curve it implies.
 *
 * An access at depth d (1 = the page on top of the stack) hits an LRU cache of C pages iff
 * d ≤ C; a first touch has infinite depth and misses at every size (a cold miss). So
 *
 *   missRatio(C) = 1 − (accesses at depths 1..C) / (all accesses).
 *
 * Invariant: counts are exact (whole numbers in doubles, exact up to 2^53); one bucket per depth,
 * so memory is O(deepest depth seen) = O(pages touched).
 */
import { MemvirtError } from "../util/errors";
import { grownToHold } from "../util/grow-typed-array";

/**
 * Counts of accesses by stack depth.
 *
 * @example
 * const h = new StackDistanceHistogram();
 * for (const d of [Infinity, Infinity, 2, 1]) h.add(d);
 * h.missRatio(1) // 0.75 (only the depth-1 access hits one page)
 * h.missRatio(2) // 0.5  (the two cold misses remain)
 */
export class StackDistanceHistogram {
  private counts = new Float64Array(64);
  private deepest = 0;
  private total = 0;
  private cold = 0;
  /** cumulative[d] = accesses at depths 1..d, rebuilt after adds; null when stale. */
  private cumulative: Float64Array | null = null;

  /** Accesses counted. */
  get accesses(): number {
    return this.total;
  }

  /** Accesses of infinite depth (first touches). */
  get coldMisses(): number {
    return this.cold;
  }

  /** The deepest finite depth counted (0 when none). */
  get maxDepth(): number {
    return this.deepest;
  }

  /**
   * Count `count` accesses at `depth` (a whole number ≥ 1, or Infinity for a cold miss).
   *
   * @example
   * new StackDistanceHistogram().add(3);
   */
  add(depth: number, count = 1): void {
    this.total += count;
    this.cumulative = null;
    if (depth === Infinity) {
      this.cold += count;
      return;
    }
    if (depth >= this.counts.length) this.counts = grownToHold(this.counts, depth);
    this.counts[depth] += count;
    if (depth > this.deepest) this.deepest = depth;
  }

  /**
   * Accesses at exactly `depth`.
   *
   * @example
   * const h = new StackDistanceHistogram(); h.add(2); h.add(2);
   * h.countAt(2) // 2
   */
  countAt(depth: number): number {
    return depth >= 1 && depth < this.counts.length ? this.counts[depth] : 0;
  }

  /**
   * Accesses that hit an LRU cache of `sizePages` pages: those at depths 1..sizePages.
   *
   * @example
   * const h = new StackDistanceHistogram(); h.add(1); h.add(5);
   * h.hits(4) // 1
   */
  hits(sizePages: number): number {
    if (!(sizePages >= 1)) return 0;
    const cumulative = this.cumulativeCounts();
    return cumulative[Math.min(Math.floor(sizePages), this.deepest)];
  }

  /**
   * The miss ratio of an LRU cache of `sizePages` pages (cold misses included).
   *
   * @example
   * const h = new StackDistanceHistogram(); h.add(Infinity); h.add(1);
   * h.missRatio(1) // 0.5
   */
  missRatio(sizePages: number): number {
    if (this.total === 0) throw new MemvirtError("no accesses counted yet: a miss ratio needs at least one", { where: "histogram" });
    // (total − hits) / total, not 1 − hits/total: exact integers give the correctly rounded ratio.
    return (this.total - this.hits(sizePages)) / this.total;
  }

  /**
   * `missRatio` for each size.
   *
   * @example
   * const h = new StackDistanceHistogram(); h.add(Infinity); h.add(1);
   * h.missRatios([1, 2]) // Float64Array [0.5, 0.5]
   */
  missRatios(sizesPages: readonly number[]): Float64Array {
    const out = new Float64Array(sizesPages.length);
    for (let i = 0; i < sizesPages.length; i++) out[i] = this.missRatio(sizesPages[i]);
    return out;
  }

  private cumulativeCounts(): Float64Array {
    if (this.cumulative === null) {
      const c = new Float64Array(this.deepest + 1);
      for (let d = 1; d <= this.deepest; d++) c[d] = c[d - 1] + this.counts[d];
      this.cumulative = c;
    }
    return this.cumulative;
  }
}
