/**
 * The TLB: a set-associative, LRU cache of final translations, tagged by address space.
 *
 *   (ASID, page at the TLB granule) ──▶ machine frame of that page, writable bit
 *
 * The granule is the size of the translation the walk produced: a 2M guest page backed by 4K
 * host pages is cached as 4K pieces (hardware splinters it the same way). One run uses one
 * granule, so one structure suffices. With `tagged` (PCID/VPID), switching address spaces keeps
 * entries; without it, every CR3 write flushes the TLB.
 *
 * Default shape: 1536 entries, 12-way, the second-level TLB (STLB) of Intel Skylake (Intel 64 and
 * IA-32 Architectures Optimization Reference Manual, Skylake microarchitecture: "1536 entries,
 * 12-way, shared by 4K and 2M pages").
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { SetAssociativeCache, type CacheShape } from "./set-associative-cache";
import { checkOptionKeys, optionalBoolean } from "./check-options";

/** TLB configuration; every field optional. */
export interface TlbOptions {
  /** Total entries (default 1536). */
  entries?: number;
  /** Ways per set (default 12). */
  ways?: number;
  /** Entries carry an ASID/PCID tag, so a CR3 switch does not flush (default true). */
  tagged?: boolean;
}

/**
 * Skylake STLB: 1536 entries, 12-way.
 * @internal
 */
export const DEFAULT_TLB: Readonly<Required<TlbOptions>> = { entries: 1536, ways: 12, tagged: true };

/**
 * Flag bit stored with a TLB entry: the translation allows stores.
 * @internal
 */
export const TLB_WRITABLE = 1;

/**
 * The TLB holds its cache rather than extending it: every TLB, nested TLB and walk cache is then
 * one `SetAssociativeCache` class, so V8 sees one object shape at each lookup site. Subclasses
 * have shapes of their own: in a standalone loop doing a nested TLB miss's cache work, mixing
 * them made the lookups ≈ 1.7× slower. Hot paths use `tlb.cache` directly.
 *
 * @example
 * const tlb = new Tlb({ entries: 64, ways: 4 });
 * tlb.insert(1, 0x7f000, 0x4242, 0, TLB_WRITABLE);
 * tlb.lookup(1, 0x7f000) >= 0 // true
 */
export class Tlb {
  /** @internal */
  readonly cache: SetAssociativeCache;
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  readonly tagged: boolean;
  /** Flushes by kind, for explain text and tests. */
  fullFlushes = 0;
  asidFlushes = 0;
  pageFlushes = 0;

  constructor(options: TlbOptions = {}, where = "tlb") {
    const shape = resolveShape(options, DEFAULT_TLB, where);
    checkOptionKeys(options, ["entries", "ways", "tagged"], where);
    this.tagged = optionalBoolean(options.tagged, DEFAULT_TLB.tagged, pathJoin(where, "tagged"));
    this.cache = new SetAssociativeCache(shape, where);
    this.entries = this.cache.entries;
    this.ways = this.cache.ways;
    this.sets = this.cache.sets;
  }

  /**
   * The slot caching (asid, page), marked most recently used, or -1.
   *
   * @internal
   * @example
   * tlb.lookup(asid, page) >= 0
   */
  lookup(asid: number, page: number): number {
    return this.cache.lookup(asid, page);
  }

  /**
   * Cache a translation (evicting the set's LRU entry when full). Returns the slot.
   *
   * @internal
   * @example
   * tlb.insert(asid, page, frame, 0, TLB_WRITABLE);
   */
  insert(asid: number, page: number, frame: number, value2: number, flags: number): number {
    return this.cache.insert(asid, page, frame, value2, flags);
  }

  /**
   * Valid entries now.
   *
   * @example
   * tlb.occupancy() // 0 after a flush
   */
  occupancy(): number {
    return this.cache.occupancy();
  }

  /**
   * INVLPG: drop one page of one address space.
   *
   * @example
   * tlb.flushPage(asid, page);
   */
  flushPage(asid: number, page: number): void {
    this.pageFlushes++;
    this.cache.invalidate(asid, page);
  }

  /**
   * Drop one address space's entries (e.g. after its page tables were freed).
   *
   * @example
   * tlb.flushAsid(asid);
   */
  flushAsid(asid: number): void {
    this.asidFlushes++;
    this.cache.flushTag(asid);
  }

  /**
   * Drop everything (an untagged CR3 switch).
   *
   * @example
   * tlb.flush();
   */
  flush(): void {
    this.fullFlushes++;
    this.cache.flushAll();
  }
}

/**
 * Fill a cache shape from options and defaults, checking the values (entries and ways must be
 * positive integers).
 *
 * @internal
 * @example
 * resolveShape({ entries: 64, ways: 4 }, DEFAULT_TLB, "tlb") // { entries: 64, ways: 4 }
 */
export function resolveShape(options: { entries?: number; ways?: number } | undefined, defaults: CacheShape, where: string): CacheShape {
  if (options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))) {
    throw new MemvirtError("expected an object such as { entries: 64, ways: 4 }", { where, value: options });
  }
  const entries = options?.entries ?? defaults.entries;
  // Changing only the entries keeps the default associativity when it still divides evenly;
  // otherwise the structure becomes fully associative.
  let ways = options?.ways ?? defaults.ways;
  if (options?.ways === undefined && options?.entries !== undefined) {
    const sets = entries / ways;
    if (!Number.isInteger(sets) || (sets & (sets - 1)) !== 0) ways = entries;
  }
  for (const [name, v] of [["entries", entries], ["ways", ways]] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new MemvirtError(`${name} must be a positive whole number`, { where: pathJoin(where, name), value: v });
  }
  return { entries, ways };
}
