/**
 * STC: split translation caches indexed by virtual-address prefix (Intel's paging-structure
 * caches, in Barr et al.'s terms). One small cache per table level:
 *
 *   tables at level 1 (PT)   keyed by page >> 9    ("PDE cache")
 *   tables at level 2 (PD)   keyed by page >> 18   ("PDPTE cache")
 *   tables at level 3 (PDPT) keyed by page >> 27   ("PML4E cache")
 *   tables at level 4 (PML4) keyed by page >> 36   ("PML5E cache", 5-level paging only)
 *
 * At the start of a walk the deepest hit names a table directly, skipping every level above.
 * With EPT, Intel keeps "combined" guest entries that yield the host-physical address of the
 * next guest table, so a guest-dimension hit also skips the host walks of the skipped tables;
 * host-dimension (EPT) entries are keyed by gPA prefix. Each dimension has its own caches.
 *
 * The level caches keep LRU order with use stamps (set-associative-cache.ts): they hit on nearly
 * every walk and have few ways, so a hit costs one store.
 *
 * Default sizes (≈): 32 / 4 / 2 / 2 entries (the PDE cache 4-way, the others fully
 * associative): Intel does not publish them; these are the sizes measured for Intel cores and
 * used by Barr et al. (ISCA 2010).
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { LEVEL_SPAN_PAGES } from "./page-size";
import { SetAssociativeCache } from "./set-associative-cache";
import type { WalkCache } from "./walk-cache";
import { checkOptionKeys } from "./check-options";

// A module-local copy: imported bindings compile to property loads on the hot path.
const SPAN = LEVEL_SPAN_PAGES;
/** 1 / SPAN[k], exact: every span is a power of two. */
const INV_SPAN: readonly number[] = SPAN.map((span) => 1 / span);

/** STC configuration per level cache, index 0 = tables at level 1 (the PDE cache). */
export interface StcOptions {
  /** Entries per level cache. */
  entries?: number[];
  /** Ways per level cache (default: 4 for the PDE cache, fully associative above). */
  ways?: number[];
}

/**
 * PDE 32 (4-way), PDPTE 4, PML4E 2, PML5E 2 entries (≈).
 * @internal
 */
export const DEFAULT_STC: Readonly<{ entries: readonly number[]; ways: readonly number[] }> = { entries: [32, 4, 2, 2], ways: [4, 4, 2, 2] };

/**
 * @internal
 * @example
 * const stc = new Stc();
 * stc.fillTable(0, 1, 0x7f123, 1, 42, 0x9000);   // the PT for this 2 MiB region is table 42
 * stc.skipTo(0, 1, 0x7f1ff, 4, 1)                 // 1: start at the PT
 */
export class Stc implements WalkCache {
  readonly design = "stc" as const;
  /** caches[dimension][level - 1] */
  readonly caches: SetAssociativeCache[][];
  /** The same caches in one array: flat[dimension × 4 + level − 1] (padding beyond `depth`). */
  private readonly flat: SetAssociativeCache[];
  /** Levels with a cache (1..4). */
  private readonly depth: number;
  outTable = -1;
  outFrame = -1;
  hits = 0;
  misses = 0;

  constructor(options: StcOptions = {}, where = "pwc") {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new MemvirtError("expected an object such as { entries: [32, 4, 2] }", { where, value: options });
    }
    // `design` is how createWalkCache chose this class.
    checkOptionKeys(options, ["design", "entries", "ways"], where);
    const sizes = options.entries ?? DEFAULT_STC.entries;
    if (!Array.isArray(sizes) || sizes.length < 1 || sizes.length > 4) {
      throw new MemvirtError("expected 1 to 4 entry counts, one per table level (PDE, PDPTE, PML4E, PML5E)", { where: pathJoin(where, "entries"), value: sizes });
    }
    const ways = options.ways ?? (options.entries === undefined ? DEFAULT_STC.ways : sizes.map((n) => n));
    if (!Array.isArray(ways) || ways.length !== sizes.length) {
      throw new MemvirtError("expected one ways value per level cache", { where: pathJoin(where, "ways"), value: ways });
    }
    this.caches = [0, 1].map(() => sizes.map((n, i) => new SetAssociativeCache({ entries: n, ways: ways[i] }, pathJoin(where, "entries", i), "stamp")));
    this.depth = sizes.length;
    this.flat = [];
    for (const dim of this.caches) for (let i = 0; i < 4; i++) this.flat.push(dim[i] ?? dim[0]);
  }

  skipTo(dimension: number, tag: number, page: number, topLevel: number, leafLevel: number): number {
    const flat = this.flat;
    const first = dimension * 4 - 1; // flat[first + level] = the cache of tables at `level`
    const last = topLevel - 1 < this.depth ? topLevel - 1 : this.depth;
    for (let level = leafLevel; level <= last; level++) {
      const cache = flat[first + level];
      // page × 2^-(9·level) is exact (a power of two), so this equals ⌊page / 512^level⌋ without a division.
      const slot = cache.lookup(tag, Math.floor(page * INV_SPAN[level]));
      if (slot >= 0) {
        this.outTable = cache.values[slot];
        this.outFrame = cache.values2[slot];
        this.hits++;
        return level;
      }
    }
    this.misses++;
    return topLevel;
  }

  /**
   * The level cache `skipTo(dimension, tag, page, topLevel, leafLevel)` probes first, or null
   * when it probes none. A batch kernel may probe it itself (nested-mode.ts `runStc`); on a hit
   * it must also count the STC's `hits`, as `skipTo` would.
   *
   * @example
   * const pde = stc.firstProbe(0, 4, 1); // the PDE cache
   */
  firstProbe(dimension: number, topLevel: number, leafLevel: number): SetAssociativeCache | null {
    const last = topLevel - 1 < this.depth ? topLevel - 1 : this.depth;
    return leafLevel <= last ? this.flat[dimension * 4 - 1 + leafLevel] : null;
  }

  probeEntry(): boolean {
    return false;
  }

  get stateBytes(): number {
    let bytes = 0;
    for (const dim of this.caches) for (const cache of dim) bytes += cache.stateBytes;
    return bytes;
  }

  fillTable(dimension: number, tag: number, page: number, level: number, table: number, frame: number): void {
    if (level < 1 || level > this.depth) return;
    this.flat[dimension * 4 - 1 + level].insert(tag, Math.floor(page * INV_SPAN[level]), table, frame, 0);
  }

  invalidateEntry(): void {}

  flushTag(dimension: number, tag: number): void {
    for (const cache of this.caches[dimension]) cache.flushTag(tag);
  }

  flushAll(): void {
    for (const dim of this.caches) for (const cache of dim) cache.flushAll();
  }

  describe(): string {
    const shape = this.caches[0].map((c) => `${c.entries}${c.ways === c.entries ? "" : `/${c.ways}-way`}`).join(", ");
    return `STC (split translation caches by address prefix), ${shape} entries for PT, PD, PDPT${this.caches[0].length > 3 ? ", PML4" : ""} tables, per dimension`;
  }
}
