/**
 * `walk(options)`: one page walk, recorded reference by reference, with cold caches.
 *
 * It builds a fresh Mmu in the requested mode, lets the guest OS map the address (demand
 * paging, not recorded), flushes every cache, then translates the address once more and returns
 * that walk. By default there is no page-walk cache and no nested TLB, so the count is the
 * textbook one: (n+1)(m+1)−1 for nested paging, one reference per level otherwise. Pass `pwc` /
 * `nestedTlb` to see what they save within a single walk (host walks of neighbouring guest
 * tables share their upper levels).
 */
import { MemvirtError } from "../util/errors";
import { READ } from "../workloads/workload";
import type { WalkCacheOption } from "../mmu/create-walk-cache";
import type { NestedTlbOptions } from "../mmu/nested-tlb";
import type { Levels, PageSize } from "../mmu/page-size";
import { parsePageSize } from "../mmu/page-size";
import type { Walk } from "../mmu/walk-result";
import type { Seed } from "../util/rng";
import type { ModeName } from "./mode-name";
import { Mmu } from "./mmu";

/** Options of `walk`. */
export interface WalkOptions {
  /** "native", "protected", "shadow" or "nested" (default "nested"). */
  mode?: ModeName;
  guestLevels?: Levels;
  hostLevels?: Levels;
  guestPageSize?: PageSize | string;
  hostPageSize?: PageSize | string;
  /** The virtual address, a number or a hex string (default 0x7f1234567abc). */
  address?: number | string;
  /** Page-walk cache (default none). */
  pwc?: WalkCacheOption;
  /** Nested TLB (default off). */
  nestedTlb?: NestedTlbOptions | boolean;
  /** Guest memory (default 1 GiB, 4 GiB with 1G guest pages). */
  guestMemory?: number | string;
  /** Seed of the P→M scatter. */
  seed?: Seed;
}

/** The address `walk` translates unless told otherwise. */
export const DEFAULT_WALK_ADDRESS = 0x7f1234567abc;

/**
 * One recorded walk with cold caches.
 *
 * @example
 * const w = walk({ mode: "nested", guestLevels: 4, hostLevels: 4 });
 * w.memoryReferences   // 24
 * w.toTable()          // one row per reference
 * walk({ mode: "nested", hostPageSize: "2M" }).memoryReferences // 19
 */
export function walk(options: WalkOptions = {}): Walk {
  if (typeof options !== "object" || options === null) throw new MemvirtError("expected an options object", { where: "walk", value: options });
  const { address, ...rest } = options;
  const guestPageSize = parsePageSize(options.guestPageSize ?? "4K", "guestPageSize");
  const mmu = new Mmu({
    ...rest,
    pwc: options.pwc ?? "none",
    nestedTlb: options.nestedTlb ?? false,
    guestMemory: options.guestMemory ?? (guestPageSize === "1G" ? "4 GiB" : "1 GiB"),
  });
  const va = parseAddress(address ?? DEFAULT_WALK_ADDRESS, "address");
  const page = mmu.checkAddress(va, "address");
  mmu.accessPage(page, READ);
  mmu.flushTlb();
  const result = mmu.access(va, "read");
  return result.walk as Walk;
}

/**
 * A virtual address from a number or a decimal / `0x` hex string.
 *
 * @internal
 * @example
 * parseAddress("0x7f1234567abc", "--address") // 139765774187196
 */
export function parseAddress(value: unknown, where: string): number {
  let n: number = NaN;
  if (typeof value === "number") n = Number.isInteger(value) ? value : NaN;
  else if (typeof value === "string") {
    const text = value.trim().replace(/_/g, "");
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) {
      const big = BigInt(text);
      n = Number(big);
      // Addresses above 2^53 must be exact in a double (page-aligned ones are).
      if (BigInt(n) !== big) throw new MemvirtError("address is not exact in a double; use one with fewer low bits set", { where, value });
    }
  }
  if (Number.isNaN(n) || n < 0) throw new MemvirtError("expected a non-negative address, decimal or 0x hex", { where, value });
  return n;
}
