/**
 * Miss-ratio-curve estimators: something fed batches of page accesses that can then give the LRU
 * miss ratio at any cache size. `missRatioCurve` and `memvirt mrc` drive one, from an array or
 * a workload in memory, or from a Lackey trace streamed batch by batch.
 *
 * - `"exact"`: Mattson's stack (`MattsonStack`) into an exact depth histogram; O(log M) per
 *   access, O(M) memory for a footprint of M pages.
 * - `"shards"`: SHARDS sampling (`Shards`), at a fixed rate or, with `maxSamples`, a fixed size.
 */
import { MemvirtError } from "../util/errors";
import { MattsonStack } from "./lru-stack-distance";
import { Shards } from "./shards";
import { StackDistanceHistogram } from "./stack-distance-histogram";

/** How a curve is computed. */
export type MissRatioCurveMethod = "exact" | "shards";
/** The valid methods. */
export const MISS_RATIO_CURVE_METHODS: readonly MissRatioCurveMethod[] = ["exact", "shards"];

/** Fed page accesses, gives miss ratios. */
export interface MissRatioCurveEstimator {
  readonly method: MissRatioCurveMethod;
  /** Accesses fed so far. */
  readonly accesses: number;
  /** Feed `count` pages from `pages[from]` on. */
  feed(pages: ArrayLike<number>, from: number, count: number): void;
  /** Distinct pages touched (estimated by SHARDS). */
  footprintPages(): number;
  /** First touches, which miss at every size (estimated by SHARDS). */
  coldMisses(): number;
  /** LRU miss ratios at these cache sizes in pages, cold misses included. */
  missRatios(sizesPages: readonly number[]): Float64Array;
}

/** Options of `createMissRatioCurveEstimator` (see `ShardsOptions` for the SHARDS ones). */
export interface MissRatioCurveEstimatorOptions {
  method: MissRatioCurveMethod;
  rate?: number;
  maxSamples?: number;
  adjust?: boolean;
  salt?: number;
}

/**
 * The exact LRU miss-ratio curve: every access through a `MattsonStack` into a
 * `StackDistanceHistogram`.
 *
 * @example
 * const e = new ExactMissRatioCurve();
 * e.feed([1, 2, 1, 3, 1], 0, 5);
 * e.missRatios([1, 2, 3]) // Float64Array [1, 0.6, 0.6]: page 1 is reused at depth 2 both times
 */
export class ExactMissRatioCurve implements MissRatioCurveEstimator {
  readonly method = "exact" as const;
  readonly stack = new MattsonStack();
  readonly histogram = new StackDistanceHistogram();

  get accesses(): number {
    return this.histogram.accesses;
  }

  /**
   * Feed `count` pages from `pages[from]` on.
   *
   * @example
   * new ExactMissRatioCurve().feed(new Float64Array([4, 4]), 0, 2);
   */
  feed(pages: ArrayLike<number>, from: number, count: number): void {
    const stack = this.stack;
    const histogram = this.histogram;
    for (let i = from; i < from + count; i++) histogram.add(stack.access(pages[i]));
  }

  /**
   * Distinct pages touched.
   *
   * @example
   * const e = new ExactMissRatioCurve(); e.feed([1, 2, 1], 0, 3);
   * e.footprintPages() // 2
   */
  footprintPages(): number {
    return this.stack.sizePages;
  }

  /**
   * First touches.
   *
   * @example
   * const e = new ExactMissRatioCurve(); e.feed([1, 2, 1], 0, 3);
   * e.coldMisses() // 2
   */
  coldMisses(): number {
    return this.histogram.coldMisses;
  }

  /**
   * Exact miss ratios at these sizes.
   *
   * @example
   * const e = new ExactMissRatioCurve(); e.feed([1, 1], 0, 2);
   * e.missRatios([1]) // Float64Array [0.5]
   */
  missRatios(sizesPages: readonly number[]): Float64Array {
    return this.histogram.missRatios(sizesPages);
  }
}

/**
 * An estimator for `options.method`; `where` prefixes the paths in errors (e.g. "options").
 * SHARDS options are refused with `"exact"`, where they would silently change nothing.
 *
 * @example
 * createMissRatioCurveEstimator({ method: "shards", rate: 0.01 })
 * createMissRatioCurveEstimator({ method: "exact", rate: 0.1 }) // throws "rate: applies only to method \"shards\" ..."
 */
export function createMissRatioCurveEstimator(options: MissRatioCurveEstimatorOptions, where = ""): MissRatioCurveEstimator {
  const at = (name: string) => (where === "" ? name : `${where}.${name}`);
  const method = options.method as unknown;
  if (method === "exact") {
    for (const key of ["rate", "maxSamples", "adjust", "salt"] as const) {
      if (options[key] !== undefined) throw new MemvirtError("applies only to method \"shards\" (the exact curve samples nothing)", { where: at(key), value: options[key] });
    }
    return new ExactMissRatioCurve();
  }
  if (method === "shards") return new Shards({ rate: options.rate, maxSamples: options.maxSamples, adjust: options.adjust, salt: options.salt }, where);
  throw new MemvirtError(`must be one of ${MISS_RATIO_CURVE_METHODS.map((m) => `"${m}"`).join(", ")}`, { where: at("method"), value: method });
}
