/**
 * `missRatioCurve(trace, { method, rate, sizes })`: the LRU miss ratio at each cache size, as an
 * arquero table with columns `sizePages` and `missRatio`.
 *
 *   loaded Lackey trace ─┐
 *   page-number array  ──┼─ batches of pages ─▶ estimator ("exact" | "shards") ─▶ miss ratios
 *   workload (spec/obj) ─┘
 *
 * A miss ratio counts every access that misses an LRU cache of that many pages, cold misses
 * (first touches) included, over all accesses. Without `sizes`, the sizes are those of
 * `defaultMrcSizes`: every size up to 64 pages, then 8 per doubling, up to the footprint (the
 * estimated one for SHARDS).
 *
 * Input rules (each a one-line MemvirtError naming the option): an empty trace, a page that is
 * not a whole number from 0 to 2^53 − 1, a rate outside (0, 1], sizes that are not positive
 * whole numbers, a workload without an access count, and SHARDS options with `"exact"`.
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { Rng, type Seed } from "../util/rng";
import type { LackeyTrace } from "../trace/load-lackey";
import type { Workload } from "../workloads/workload";
import { createWorkload, type WorkloadSpec } from "../workloads/create-workload";
import { createMissRatioCurveEstimator, type MissRatioCurveEstimator, type MissRatioCurveEstimatorOptions } from "./mrc-estimator";
import { defaultMrcSizes } from "./mrc-sizes";

/** What a curve can be computed from. */
export type MissRatioCurveInput = LackeyTrace | ArrayLike<number> | Workload | WorkloadSpec;

/** Options of `missRatioCurve`. */
export interface MissRatioCurveOptions extends MissRatioCurveEstimatorOptions {
  /** Cache sizes in pages, each a whole number ≥ 1, in the order wanted (default: `defaultMrcSizes`). */
  sizes?: readonly number[];
  /**
   * Accesses to use: required for a workload (unless its spec sets `accesses`); for a trace or
   * an array, the first this many.
   */
  accesses?: number;
  /** Seed of a workload spec (default 1). */
  seed?: Seed;
}

/** The curve and the counts behind it. */
export interface MissRatioCurveData {
  sizesPages: number[];
  missRatios: Float64Array;
  /** Accesses fed. */
  accesses: number;
  /** Distinct pages (estimated by SHARDS). */
  footprintPages: number;
  /** First touches (estimated by SHARDS). */
  coldMisses: number;
}

const OPTION_KEYS = ["method", "rate", "maxSamples", "adjust", "salt", "sizes", "accesses", "seed"];
const BATCH_PAGES = 65536;
const MAX_PAGE = Number.MAX_SAFE_INTEGER;

/**
 * The LRU miss-ratio curve of a trace, an array of page numbers or a workload.
 *
 * @example
 * import { missRatioCurve, loadLackeyTraceSync } from "memvirt";
 * missRatioCurve([1, 2, 1, 3, 1], { method: "exact", sizes: [1, 2] }).objects()
 * // [{ sizePages: 1, missRatio: 1 }, { sizePages: 2, missRatio: 0.6 }]
 * missRatioCurve(loadLackeyTraceSync("data/traces/sort.lackey.gz"), { method: "shards", rate: 0.1 })
 * missRatioCurve({ kind: "zipf", pages: 50_000, exponent: 0.9 }, { method: "exact", accesses: 1_000_000, seed: 7 })
 */
export function missRatioCurve(trace: MissRatioCurveInput, options: MissRatioCurveOptions): aq.ColumnTable {
  const data = missRatioCurveData(trace, options);
  return missRatioCurveTable(data.sizesPages, data.missRatios);
}

/**
 * `missRatioCurve`'s numbers with the footprint, access and cold-miss counts behind them.
 *
 * @example
 * const d = missRatioCurveData([1, 2, 1], { method: "exact" });
 * d.footprintPages // 2; d.coldMisses // 2; d.sizesPages // [1, 2]
 */
export function missRatioCurveData(trace: MissRatioCurveInput, options: MissRatioCurveOptions): MissRatioCurveData {
  if (typeof options !== "object" || options === null) throw new MemvirtError("must be an object such as { method: \"exact\" }", { where: "options", value: options });
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new MemvirtError(`unknown option (valid: ${OPTION_KEYS.join(", ")})`, { where: key });
  }
  if (options.method === undefined) throw new MemvirtError("is required: \"exact\" or \"shards\"", { where: "method" });
  const sizes = options.sizes === undefined ? undefined : checkMrcSizes(options.sizes, "sizes");
  const limit = options.accesses === undefined ? undefined : checkAccesses(options.accesses);
  const estimator = createMissRatioCurveEstimator(options);
  feedInput(estimator, trace, limit, options.seed);
  if (estimator.accesses === 0) throw new MemvirtError("is empty: no accesses to compute a miss-ratio curve from", { where: "trace" });
  return finishMissRatioCurve(estimator, sizes, "rate");
}

/**
 * The finished curve of an estimator: at `sizes`, or the default sizes up to its footprint.
 * `rateWhere` names the rate option in the error for a sample that caught nothing.
 *
 * @example
 * const e = createMissRatioCurveEstimator({ method: "exact" });
 * e.feed([1, 1], 0, 2);
 * finishMissRatioCurve(e).missRatios // Float64Array [0.5]
 */
export function finishMissRatioCurve(estimator: MissRatioCurveEstimator, sizes?: readonly number[], rateWhere = "rate"): MissRatioCurveData {
  const footprintPages = estimator.footprintPages();
  if (footprintPages === 0) {
    // Only SHARDS can see nothing: no page of the trace hashed below the threshold.
    const rate = (estimator as { rate?: number }).rate;
    throw new MemvirtError(`sampled none of the ${estimator.accesses.toLocaleString("en-US")} accesses; raise the rate or use the exact method`, { where: rateWhere, value: rate });
  }
  const sizesPages = sizes === undefined ? defaultMrcSizes(footprintPages) : [...sizes];
  return { sizesPages, missRatios: estimator.missRatios(sizesPages), accesses: estimator.accesses, footprintPages, coldMisses: estimator.coldMisses() };
}

/**
 * The curve as an arquero table with columns `sizePages` and `missRatio`.
 *
 * @example
 * missRatioCurveTable([1, 2], Float64Array.of(0.5, 0.25)).numRows() // 2
 */
export function missRatioCurveTable(sizesPages: readonly number[], missRatios: ArrayLike<number>): aq.ColumnTable {
  return aq.table({ sizePages: [...sizesPages], missRatio: Array.from(missRatios) });
}

/**
 * Check a list of cache sizes: non-empty, each a whole number of pages ≥ 1.
 *
 * @example
 * checkMrcSizes([1, 64, 4096], "sizes") // [1, 64, 4096]
 * checkMrcSizes([0], "sizes")           // throws "sizes[0]: must be a whole number of pages ≥ 1 (got 0)"
 */
export function checkMrcSizes(sizes: unknown, where: string): number[] {
  if (!Array.isArray(sizes) && !ArrayBuffer.isView(sizes)) throw new MemvirtError("must be an array of cache sizes in pages, e.g. [64, 1024, 16384]", { where, value: sizes });
  const list = Array.from(sizes as ArrayLike<unknown>);
  if (list.length === 0) throw new MemvirtError("is empty: give at least one cache size in pages", { where });
  list.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 1) throw new MemvirtError("must be a whole number of pages ≥ 1", { where: `${where}[${i}]`, value: s });
  });
  return list as number[];
}

function checkAccesses(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw new MemvirtError("must be a whole number of accesses ≥ 1", { where: "accesses", value });
  return value;
}

/** Feed the whole input (or its first `limit` accesses) to the estimator. */
function feedInput(estimator: MissRatioCurveEstimator, trace: MissRatioCurveInput, limit: number | undefined, seed: Seed | undefined): void {
  if (typeof trace !== "object" || trace === null) {
    throw new MemvirtError("must be a loaded Lackey trace, an array of page numbers, or a workload", { where: "trace", value: trace });
  }
  if (seed !== undefined && !isWorkloadSpec(trace)) throw new MemvirtError("applies only to a workload spec (it seeds the generator)", { where: "seed", value: seed });
  if (isLackeyTrace(trace)) {
    feedPages(estimator, trace.pages, limit, "trace.pages");
    return;
  }
  if (Array.isArray(trace) || isNumericTypedArray(trace)) {
    feedPages(estimator, trace as ArrayLike<number>, limit, "trace");
    return;
  }
  if (ArrayBuffer.isView(trace)) throw new MemvirtError("must hold numbers (a BigInt or untyped view is not a page list)", { where: "trace", value: trace.constructor.name });
  let workload: Workload;
  let accesses = limit;
  if (typeof (trace as Workload).fill === "function") workload = trace as Workload;
  else if (isWorkloadSpec(trace)) {
    const spec = trace as { accesses?: unknown };
    workload = createWorkload(trace, new Rng(seed ?? 1).split("workload"), "trace");
    if (accesses === undefined && typeof spec.accesses === "number") accesses = spec.accesses;
  } else throw new MemvirtError("must be a loaded Lackey trace, an array of page numbers, or a workload", { where: "trace", value: trace });
  if (accesses === undefined) throw new MemvirtError("is required for a workload: how many accesses to draw from it", { where: "accesses" });
  feedWorkload(estimator, workload, accesses);
}

/** Feed an array a batch at a time, checking each page as it is copied into the batch. */
function feedPages(estimator: MissRatioCurveEstimator, pages: ArrayLike<number>, limit: number | undefined, where: string): void {
  const n = Math.min(pages.length, limit ?? Infinity);
  const batch = new Float64Array(Math.min(BATCH_PAGES, Math.max(1, n)));
  for (let start = 0; start < n; start += batch.length) {
    const count = Math.min(batch.length, n - start);
    for (let i = 0; i < count; i++) {
      const page = pages[start + i];
      if (!(page >= 0 && page <= MAX_PAGE && Math.floor(page) === page)) {
        throw new MemvirtError("must be a page number: a whole number from 0 to 2^53-1", { where: `${where}[${start + i}]`, value: page });
      }
      batch[i] = page;
    }
    estimator.feed(batch, 0, count);
  }
}

function feedWorkload(estimator: MissRatioCurveEstimator, workload: Workload, accesses: number): void {
  const pages = new Float64Array(Math.min(BATCH_PAGES, accesses));
  const kinds = new Uint8Array(pages.length);
  let done = 0;
  while (done < accesses) {
    const n = workload.fill(pages, kinds);
    if (n === 0) break;
    const count = Math.min(n, accesses - done);
    estimator.feed(pages, 0, count);
    done += count;
  }
}

function isLackeyTrace(x: object): x is LackeyTrace {
  const t = x as Partial<LackeyTrace>;
  return t.pages instanceof Float64Array && typeof t.stats === "object" && t.stats !== null;
}

function isNumericTypedArray(x: object): boolean {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

function isWorkloadSpec(x: object): boolean {
  return !Array.isArray(x) && !ArrayBuffer.isView(x) && typeof (x as { kind?: unknown }).kind === "string";
}
