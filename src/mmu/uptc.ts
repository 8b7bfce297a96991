/**
 * UPTC: a unified page-table-entry cache tagged by physical address (AMD's "page walk cache",
 * in Barr et al.'s terms). It holds entries of any level and either dimension, keyed by the
 * entry's machine address; a hit saves that one memory reference.
 *
 * By default only non-leaf entries are cached (leaves are what the TLB and nested TLB hold).
 * Default shape (≈): 24 entries, fully associative, the size Barr et al. (ISCA 2010) use for
 * AMD's page walk cache.
 */
import { SetAssociativeCache } from "./set-associative-cache";
import { resolveShape } from "./tlb";
import { checkOptionKeys, optionalBoolean } from "./check-options";
import { pathJoin } from "../util/errors";
import type { WalkCache } from "./walk-cache";

/** UPTC configuration. */
export interface UptcOptions {
  entries?: number;
  ways?: number;
  /** Cache leaf entries too (default false). */
  cacheLeaves?: boolean;
}

/**
 * 24 entries, fully associative (≈).
 * @internal
 */
export const DEFAULT_UPTC: Readonly<Required<UptcOptions>> = { entries: 24, ways: 24, cacheLeaves: false };

/**
 * @internal
 * @example
 * const pwc = new Uptc();
 * pwc.probeEntry(0x1000 * 512 + 7, false) // false (miss, now cached)
 * pwc.probeEntry(0x1000 * 512 + 7, false) // true
 */
export class Uptc implements WalkCache {
  readonly design = "uptc" as const;
  readonly cache: SetAssociativeCache;
  readonly cacheLeaves: boolean;
  outTable = -1;
  outFrame = -1;

  constructor(options: UptcOptions = {}, where = "pwc") {
    const shape = resolveShape(options, DEFAULT_UPTC, where);
    // `design` is how createWalkCache chose this class.
    checkOptionKeys(options, ["design", "entries", "ways", "cacheLeaves"], where);
    this.cacheLeaves = optionalBoolean(options.cacheLeaves, DEFAULT_UPTC.cacheLeaves, pathJoin(where, "cacheLeaves"));
    this.cache = new SetAssociativeCache(shape, where);
  }

  get hits(): number { return this.cache.hits; }
  get stateBytes(): number { return this.cache.stateBytes; }
  get misses(): number { return this.cache.misses; }

  skipTo(_dimension: number, _tag: number, _page: number, topLevel: number): number {
    return topLevel;
  }

  probeEntry(entryKey: number, isLeaf: boolean): boolean {
    if (isLeaf && !this.cacheLeaves) return false;
    if (this.cache.lookupForFill(0, entryKey) >= 0) return true;
    this.cache.fillMissed(0, entryKey, 0, 0, 0);
    return false;
  }

  fillTable(): void {}

  invalidateEntry(entryKey: number): void {
    this.cache.invalidate(0, entryKey);
  }

  flushTag(): void {
    // Physically tagged: it cannot tell address spaces apart, so an address-space flush (after
    // page tables were freed) drops everything, as a TLB flush drops AMD's page walk cache.
    this.cache.flushAll();
  }

  flushAll(): void {
    this.cache.flushAll();
  }

  describe(): string {
    const c = this.cache;
    return `UPTC (physically tagged entry cache), ${c.entries} entries, ${c.ways === c.entries ? "fully associative" : `${c.ways}-way`}${this.cacheLeaves ? ", leaves included" : ""}`;
  }
}
