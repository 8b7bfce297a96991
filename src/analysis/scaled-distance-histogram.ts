/**
 * A histogram of *estimated* LRU stack depths, for samplers (SHARDS): depths are real numbers
 * (a sampled distance scaled by 1/R), counts are weights, and every count can be rescaled at once.
 *
 * Buckets: one per whole depth below `exactBelow`, then `binsPerDoubling` geometric buckets per
 * doubling of the depth (256 by default, each 0.27% wide). So memory is O(log of the deepest
 * depth), not O(footprint): a fixed-size sampler stays flat however large the trace's footprint.
 * `hits` interpolates linearly inside a geometric bucket; with the defaults that moves a miss
 * ratio by far less than the sampling error itself.
 *
 * Rescaling (fixed-size SHARDS lowers its rate from R to R' and must shrink the counts gathered at
 * R by R'/R) is O(1): counts are stored divided by a running scale factor.
 */

/** Options of a `ScaledDistanceHistogram`. */
export interface ScaledDistanceHistogramOptions {
  /** Depths below this get one bucket each (default 4096). */
  exactBelow?: number;
  /** Geometric buckets per doubling above `exactBelow` (default 256). */
  binsPerDoubling?: number;
}

/**
 * Weighted counts of estimated stack depths.
 *
 * @example
 * const h = new ScaledDistanceHistogram();
 * h.add(Infinity); h.add(1); h.add(150.2);
 * h.hits(100) // 1
 * h.rescale(0.5);
 * h.total     // 1.5
 */
export class ScaledDistanceHistogram {
  readonly exactBelow: number;
  readonly binsPerDoubling: number;
  private counts = new Float64Array(256);
  private used = 0;
  /** True count = stored count × scale. */
  private scale = 1;
  private stored = 0;
  private coldStored = 0;
  private cumulative: Float64Array | null = null;

  constructor(options: ScaledDistanceHistogramOptions = {}) {
    this.exactBelow = options.exactBelow ?? 4096;
    this.binsPerDoubling = options.binsPerDoubling ?? 256;
  }

  /** The sum of all weights, cold misses included. */
  get total(): number {
    return this.stored * this.scale;
  }

  /** The weight at infinite depth. */
  get coldMisses(): number {
    return this.coldStored * this.scale;
  }

  /** Buckets in use (memory is 8 bytes each). */
  get bucketCount(): number {
    return this.used;
  }

  /**
   * Add `weight` at `depth` (a real number ≥ 1, or Infinity for a cold miss); the weight may be
   * negative (the SHARDS adjustment).
   *
   * @example
   * new ScaledDistanceHistogram().add(12.5, 2);
   */
  add(depth: number, weight = 1): void {
    const w = weight / this.scale;
    this.stored += w;
    this.cumulative = null;
    if (depth === Infinity) {
      this.coldStored += w;
      return;
    }
    const b = this.bucketOf(depth);
    if (b >= this.counts.length) {
      let size = this.counts.length * 2;
      while (size <= b) size *= 2;
      const bigger = new Float64Array(size);
      bigger.set(this.counts);
      this.counts = bigger;
    }
    this.counts[b] += w;
    if (b + 1 > this.used) this.used = b + 1;
  }

  /**
   * Multiply every count by `factor`, in O(1).
   *
   * @example
   * const h = new ScaledDistanceHistogram(); h.add(1, 4);
   * h.rescale(0.25);
   * h.total // 1
   */
  rescale(factor: number): void {
    this.scale *= factor;
  }

  /**
   * The weight at depths ≤ `sizePages`: the accesses that hit an LRU cache of that size.
   *
   * @example
   * const h = new ScaledDistanceHistogram(); h.add(2); h.add(9);
   * h.hits(5) // 1
   */
  hits(sizePages: number): number {
    if (!(sizePages >= 1) || this.used === 0) return 0;
    const cumulative = this.cumulativeCounts();
    const b = this.bucketOf(sizePages);
    if (b >= this.used) return cumulative[this.used] * this.scale;
    if (b < this.exactBelow) return cumulative[b + 1] * this.scale;
    // Inside a geometric bucket: the part of [low, high) at or below the size.
    const low = this.lowerBound(b);
    const high = this.lowerBound(b + 1);
    const fraction = Math.min(1, Math.max(0, (sizePages - low) / (high - low)));
    return (cumulative[b] + fraction * this.counts[b]) * this.scale;
  }

  /** Bucket of a depth: whole depths below `exactBelow`, geometric above. */
  private bucketOf(depth: number): number {
    const rounded = Math.round(depth);
    if (rounded < this.exactBelow) return rounded;
    return this.exactBelow + Math.floor(Math.log2(Math.max(depth, this.exactBelow) / this.exactBelow) * this.binsPerDoubling);
  }

  /** The smallest depth of geometric bucket b. */
  private lowerBound(b: number): number {
    return this.exactBelow * 2 ** ((b - this.exactBelow) / this.binsPerDoubling);
  }

  /** cumulative[b] = stored counts of buckets below b. */
  private cumulativeCounts(): Float64Array {
    if (this.cumulative === null) {
      const c = new Float64Array(this.used + 1);
      for (let b = 0; b < this.used; b++) c[b + 1] = c[b] + this.counts[b];
      this.cumulative = c;
    }
    return this.cumulative;
  }
}
