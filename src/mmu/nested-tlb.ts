/**
 * The nested TLB (NTLB): caches host-dimension translations gPA page → hPA page during 2-D
 * walks, tagged by VM (VPID/ASID of the guest). A hit replaces a whole host walk (m references)
 * by one lookup. Bhargava et al. (ASPLOS 2008) report it adds 3–7% on top of a nested-aware
 * page-walk cache.
 *
 * Default shape (≈): 16 entries, fully associative. AMD does not publish its NTLB size; small,
 * fully associative structures like this one are what the 2008 study evaluated.
 */
import { SetAssociativeCache } from "./set-associative-cache";
import { resolveShape } from "./tlb";
import { checkOptionKeys } from "./check-options";

/** Nested TLB configuration. */
export interface NestedTlbOptions {
  entries?: number;
  ways?: number;
}

/**
 * 16 entries, fully associative (≈).
 * @internal
 */
export const DEFAULT_NESTED_TLB: Readonly<Required<NestedTlbOptions>> = { entries: 16, ways: 16 };

/**
 * Keys are host-page numbers of guest-physical addresses; values the host frame of that page.
 * Like `Tlb`, it holds its cache (one cache class for every structure; see tlb.ts); the 2-D
 * walker uses `cache` directly.
 *
 * @internal
 * @example
 * const ntlb = new NestedTlb();
 * ntlb.insert(0, gpaPage, hpaFrame);
 * ntlb.lookup(0, gpaPage) >= 0 // true
 */
export class NestedTlb {
  readonly cache: SetAssociativeCache;
  readonly entries: number;
  readonly ways: number;

  constructor(options: NestedTlbOptions = {}, where = "nestedTlb") {
    const shape = resolveShape(options, DEFAULT_NESTED_TLB, where);
    checkOptionKeys(options, ["entries", "ways"], where);
    this.cache = new SetAssociativeCache(shape, where);
    this.entries = this.cache.entries;
    this.ways = this.cache.ways;
  }

  /**
   * The slot caching (vpid, gPA page), marked most recently used, or -1.
   *
   * @example
   * ntlb.lookup(0, gpaPage) >= 0
   */
  lookup(vpid: number, page: number): number {
    return this.cache.lookup(vpid, page);
  }

  /**
   * Cache a host translation (evicting the LRU entry when full). Returns the slot.
   *
   * @example
   * ntlb.insert(0, gpaPage, hpaFrame);
   */
  insert(vpid: number, page: number, hostFrame: number): number {
    return this.cache.insert(vpid, page, hostFrame, 0, 0);
  }

  /**
   * Drop every entry.
   *
   * @example
   * ntlb.flushAll();
   */
  flushAll(): void {
    this.cache.flushAll();
  }
}
