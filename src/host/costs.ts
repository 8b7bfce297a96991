/**
 * What each kind of access costs in simulated time.
 *
 * Every guest access advances its VM's clock by one of these; throughput is accesses per simulated
 * second, so the ratios between them decide every result. Defaults (overridable per host):
 *
 * | cost               | default | source                                                    |
 * |--------------------|---------|-----------------------------------------------------------|
 * | hitNs              | 100 ns  | a DRAM access (Hennessy & Patterson, ~60–100 ns)          |
 * | minorFaultNs       | 1 µs    | a guest zero-fill page fault (Linux, ~0.5–2 µs)           |
 * | guestDiskReadNs    | 5 ms    | a random 4 KiB disk read, seek + rotation (2002-era disk) |
 * | guestDiskWriteNs   | 0       | write-back of an evicted page: asynchronous, off the path |
 * | hostAllocNs        | 2 µs    | host fault: the host allocates and zeroes a frame         |
 * | hostSwapReadNs     | 5 ms    | host swap-in: the same kind of disk read                  |
 * | hostSwapWriteNs    | 0       | host swap-out; a fault waits for it only when the host    |
 * |                    |         | must swap to free a frame (asynchronous by default)       |
 * | trapNs             | 2 µs    | host fault on an invalidated page (a VM exit, ~1–2 µs)    |
 * | cachePutNs         | 2.5 µs  | exclusive cache put: a hypercall (a VM exit, ~1–2 µs) and |
 * |                    |         | a 4 KiB copy (~0.5 µs at ~8 GB/s memcpy)                  |
 * | cacheHitNs         | 2.5 µs  | exclusive cache hit: the trapped disk read (VM exit) and a|
 * |                    |         | 4 KiB copy into the guest page (Lu & Shen, ATC 2007: a    |
 * |                    |         | cache hit costs microseconds, a disk read milliseconds)   |
 */
import { MemvirtError, pathJoin } from "../util/errors";

/** Simulated time per event, in nanoseconds. */
export interface AccessCosts {
  hitNs: number;
  minorFaultNs: number;
  guestDiskReadNs: number;
  guestDiskWriteNs: number;
  hostAllocNs: number;
  hostSwapReadNs: number;
  hostSwapWriteNs: number;
  trapNs: number;
  /** The guest's put hypercall into its exclusive cache, charged to the guest per eviction. */
  cachePutNs: number;
  /** A disk read served from the exclusive cache instead of the disk. */
  cacheHitNs: number;
}

/** The defaults, from the literature (see the table above). */
export const DEFAULT_COSTS: Readonly<AccessCosts> = Object.freeze({
  hitNs: 100,
  minorFaultNs: 1_000,
  guestDiskReadNs: 5_000_000,
  guestDiskWriteNs: 0,
  hostAllocNs: 2_000,
  hostSwapReadNs: 5_000_000,
  hostSwapWriteNs: 0,
  trapNs: 2_000,
  cachePutNs: 2_500,
  cacheHitNs: 2_500,
});

/**
 * Names of the cost fields, for validation and docs.
 * @internal
 */
export const COST_KEYS = Object.keys(DEFAULT_COSTS) as Array<keyof AccessCosts>;

/**
 * Merge user overrides into the defaults, rejecting unknown names and bad values.
 *
 * @internal
 * @example
 * resolveCosts({ guestDiskReadNs: 100_000 }) // an SSD instead of a disk
 */
export function resolveCosts(overrides: Partial<AccessCosts> | undefined, where = "costs"): AccessCosts {
  const costs: AccessCosts = { ...DEFAULT_COSTS };
  if (overrides === undefined) return costs;
  if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
    throw new MemvirtError("must be an object of costs in nanoseconds", { where, value: overrides });
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (!(COST_KEYS as string[]).includes(key)) {
      throw new MemvirtError(`unknown cost (valid: ${COST_KEYS.join(", ")})`, { where: pathJoin(where, key), value });
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new MemvirtError("must be a non-negative number of nanoseconds", { where: pathJoin(where, key), value });
    }
    costs[key as keyof AccessCosts] = value;
  }
  if (costs.hitNs <= 0) throw new MemvirtError("must be positive, or time would not advance", { where: pathJoin(where, "hitNs"), value: costs.hitNs });
  return costs;
}
