/**
 * Page-walk caches behind one small interface.
 *
 * Two families (Barr et al., ISCA 2010) hook into a walk at different points:
 *
 *   entry caches (UPTC, AMD's page walk cache): tagged by the PHYSICAL address of an entry.
 *     Every reference the walker is about to make is probed first; a hit costs no memory
 *     reference, but the walker still visits every level.
 *
 *   translation caches (STC, Intel's paging-structure caches): indexed by a VIRTUAL address
 *     prefix. Probed once at the start of a walk; a hit names a lower-level table directly and
 *     the walker skips every level above it.
 *
 *   walk start ──skipTo()──▶ level L, table T ──┬─ probeEntry(addr) hit?  no memory reference
 *                                               └─ miss: read memory; fillTable() for STC
 *
 * A 2-D walk uses the same interface for both dimensions: dimension 0 is the guest (keyed by
 * gVA and ASID), dimension 1 the host (keyed by gPA and VPID). Entry keys are machine addresses
 * in 8-byte units (table frame × 512 + index), unique across dimensions.
 *
 * Invariant: a cache never changes what a walk returns, only how many references it costs. The
 * owner invalidates it when entries change (`invalidateEntry`, `flushTag`).
 */

/** Which design a cache implements. */
export type WalkCacheDesign = "none" | "uptc" | "stc";

/**
 * The guest (or only) dimension of a walk.
 * @internal
 */
export const GUEST_DIMENSION = 0;
/**
 * The host (nested) dimension of a 2-D walk.
 * @internal
 */
export const HOST_DIMENSION = 1;

/**
 * A page-walk cache as the walker sees it.
 * @internal
 */
export interface WalkCache {
  readonly design: WalkCacheDesign;
  /**
   * Start of a (1-D) walk over `page` from `topLevel` down to a leaf at `leafLevel`: returns the
   * deepest level whose table the cache can name (and sets `outTable`, `outFrame`), or
   * `topLevel` when it cannot help.
   */
  skipTo(dimension: number, tag: number, page: number, topLevel: number, leafLevel: number): number;
  /** After `skipTo` hit: the table id and its machine frame. */
  outTable: number;
  outFrame: number;
  /**
   * The walker is about to read the entry at machine address `entryKey` (8-byte units): true if
   * it is cached (no memory reference). On a miss the entry is filled, if the design caches it.
   */
  probeEntry(entryKey: number, isLeaf: boolean): boolean;
  /** The walk located the table at `level` for `page` (id `table`, machine frame `frame`). */
  fillTable(dimension: number, tag: number, page: number, level: number, table: number, frame: number): void;
  /** An entry at this machine address changed. */
  invalidateEntry(entryKey: number): void;
  /** Non-leaf entries of this address space changed: drop what depends on them. */
  flushTag(dimension: number, tag: number): void;
  /** Drop everything. */
  flushAll(): void;
  /** Probes that hit, probes that missed. */
  readonly hits: number;
  readonly misses: number;
  /** A one-line description of size and shape, for explain text. */
  describe(): string;
  /** Bytes of typed arrays the cache holds (for the simulator's memory budget). */
  readonly stateBytes: number;
}

/**
 * No page-walk cache: every level of every walk goes to memory.
 *
 * @internal
 * @example
 * const pwc = new NoWalkCache();
 * pwc.probeEntry(123, false) // false
 */
export class NoWalkCache implements WalkCache {
  readonly design = "none" as const;
  outTable = -1;
  outFrame = -1;
  hits = 0;
  misses = 0;
  skipTo(_dimension: number, _tag: number, _page: number, topLevel: number): number { return topLevel; }
  probeEntry(): boolean { return false; }
  fillTable(): void {}
  invalidateEntry(): void {}
  flushTag(): void {}
  flushAll(): void {}
  describe(): string { return "no page-walk cache"; }
  readonly stateBytes = 0;
}
