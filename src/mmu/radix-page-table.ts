/**
 * A radix page table (x86-64 shape) whose table pages live at real physical frames.
 *
 *   root (level n) ─idx─▶ level n-1 ─idx─▶ ... ─idx─▶ level 1 ─idx─▶ 4 KiB frame
 *                                        └ a PS entry at level 2 or 3 ends the walk early
 *
 * The same class serves a guest's V→P tables (table pages at guest-physical frames), the host's
 * P→M tables (at machine frames) and the VMM's V→M shadow tables (at machine frames).
 * Structural operations (`map`, `unmap`, `setFlags`, `destroy`) report every entry they read or
 * write to an optional observer: that is how a guest OS's page-table activity reaches the VMM
 * (a trap per write under shadow or protected paging). Hardware walks do not go through here;
 * they read the pool's typed arrays directly (see src/virt).
 *
 * Invariants: a mapping of `leafLevel` L covers 512^(L-1) pages and its frame is aligned to that
 * span; `lookup` returns the 4 KiB frame for any page inside a large mapping.
 */
import { MemvirtError } from "../util/errors";
import { LEVEL_SPAN_PAGES, levelIndex, type Levels } from "./page-size";
import { PageTablePool } from "./page-table-pool";
import { PTE_LARGE, PTE_PRESENT, PTE_USER, PTE_WRITABLE } from "./pte";

/**
 * Where table pages come from: a frame allocator of the space the tables live in.
 * @internal
 */
export interface FrameSource {
  /** A free 4 KiB frame for a new table page. */
  allocateFrame(): number;
  /** Give a table page's frame back. */
  releaseFrame(frame: number): void;
}

/**
 * Sees every entry a structural operation reads or writes, in order.
 * @internal
 */
export interface PageTableObserver {
  /** An entry was read (`table` id, `index`, `level` of the entry). */
  pteRead(table: number, index: number, level: number): void;
  /**
   * An entry was written. `page` is the first page the entry covers; `oldFlags` the flags before
   * the write (so a listener can tell a new mapping from a change or a removal).
   */
  pteWrite(table: number, index: number, level: number, page: number, oldFlags: number): void;
}

/**
 * Receives one leaf: first page covered, level, frame, flags, and where the entry sits.
 * @internal
 */
export type LeafVisitor = (page: number, level: number, frame: number, flags: number, table: number, index: number) => void;

/** Flags of an intermediate (non-leaf) entry. */
const TABLE_FLAGS = PTE_PRESENT | PTE_WRITABLE | PTE_USER;

/**
 * One address space's radix tree.
 *
 * @internal
 * @example
 * const pool = new PageTablePool();
 * let next = 100;
 * const pt = new RadixPageTable(pool, 4, { allocateFrame: () => next++, releaseFrame: () => {} });
 * pt.map(0x7f000, 1, 0x4242, PTE_PRESENT | PTE_WRITABLE);
 * pt.lookup(0x7f000) // 0x4242
 */
export class RadixPageTable {
  readonly pool: PageTablePool;
  readonly levels: Levels;
  /** The root table's id (CR3 points at its frame). */
  readonly root: number;
  /** Table pages this tree holds (root included). */
  tablePages = 1;
  /** After `lookup`: level, flags, table id and index of the leaf (or of the entry that was not present). */
  lastLevel = 0;
  lastFlags = 0;
  lastTable = -1;
  lastIndex = -1;
  private readonly frameSource: FrameSource;

  constructor(pool: PageTablePool, levels: Levels, frames: FrameSource) {
    this.pool = pool;
    this.levels = levels;
    this.frameSource = frames;
    this.root = pool.allocate(frames.allocateFrame(), levels);
  }

  /** The physical frame of the root table (the CR3 value, in frames). */
  get rootFrame(): number {
    return this.pool.tableFrame[this.root];
  }

  /**
   * Map `page` (4 KiB page number; for a large leaf, any page inside it) to `frame` with a leaf at
   * `leafLevel` (1, 2 or 3). Missing intermediate tables are allocated. Replaces an existing leaf.
   *
   * @example
   * pt.map(0x200, 2, 0x400, PTE_PRESENT | PTE_WRITABLE) // a 2 MiB page
   */
  map(page: number, leafLevel: number, frame: number, flags: number, observer?: PageTableObserver): void {
    const pool = this.pool;
    let table = this.root;
    for (let level = this.levels; level > leafLevel; level--) {
      const idx = levelIndex(page, level);
      const e = table * 512 + idx;
      observer?.pteRead(table, idx, level);
      const f = pool.flags[e];
      if (!(f & PTE_PRESENT)) {
        const childFrame = this.frameSource.allocateFrame();
        const child = pool.allocate(childFrame, level - 1);
        this.tablePages++;
        // allocate() may have grown the arrays: index them afresh.
        pool.frames[e] = childFrame;
        pool.flags[e] = TABLE_FLAGS;
        pool.child[e] = child;
        pool.tablePresent[table]++;
        observer?.pteWrite(table, idx, level, alignDown(page, level), f);
        table = child;
      } else if (f & PTE_LARGE) {
        throw new MemvirtError(`a ${spanName(level)} page already maps this range`, { where: "map", value: page });
      } else {
        table = pool.child[e];
      }
    }
    const idx = levelIndex(page, leafLevel);
    const e = table * 512 + idx;
    const old = pool.flags[e];
    if (old & PTE_PRESENT && pool.child[e] >= 0) {
      throw new MemvirtError(`a page table already covers this ${spanName(leafLevel)} range`, { where: "map", value: page });
    }
    if (!(old & PTE_PRESENT)) pool.tablePresent[table]++;
    pool.frames[e] = frame;
    pool.flags[e] = (flags | PTE_PRESENT | (leafLevel > 1 ? PTE_LARGE : 0)) & 0xff;
    pool.child[e] = -1;
    observer?.pteWrite(table, idx, leafLevel, alignDown(page, leafLevel), old);
  }

  /**
   * Find the leaf for `page`. Returns the 4 KiB frame holding that page, or -1 when unmapped;
   * sets `lastLevel`, `lastFlags`, `lastTable`, `lastIndex`. Does not allocate.
   *
   * @example
   * pt.lookup(0x7f000) // frame or -1
   */
  lookup(page: number): number {
    const pool = this.pool;
    let table = this.root;
    for (let level = this.levels; level >= 1; level--) {
      const idx = levelIndex(page, level);
      const e = table * 512 + idx;
      const f = pool.flags[e];
      this.lastLevel = level;
      this.lastFlags = f;
      this.lastTable = table;
      this.lastIndex = idx;
      if (!(f & PTE_PRESENT)) return -1;
      const child = pool.child[e];
      if (child < 0) return pool.frames[e] + (page - alignDown(page, level));
      table = child;
    }
    return -1;
  }

  /**
   * Remove the leaf mapping `page` (reads on the way down, one write at the leaf). Page-table
   * pages stay allocated, as Linux keeps them after a single-page unmap. Returns whether a
   * mapping was removed.
   *
   * @example
   * pt.unmap(0x7f000) // true
   */
  unmap(page: number, observer?: PageTableObserver): boolean {
    if (!this.findLeaf(page, observer)) return false;
    const pool = this.pool;
    const e = this.lastTable * 512 + this.lastIndex;
    const old = pool.flags[e];
    pool.flags[e] = 0;
    pool.frames[e] = 0;
    pool.tablePresent[this.lastTable]--;
    observer?.pteWrite(this.lastTable, this.lastIndex, this.lastLevel, alignDown(page, this.lastLevel), old);
    return true;
  }

  /**
   * Rewrite the leaf for `page` with new flags and (optionally) a new frame. Returns false if the
   * page is not mapped.
   *
   * @example
   * pt.setLeaf(0x7f000, PTE_PRESENT) // write-protect it
   */
  setLeaf(page: number, flags: number, frame = -1, observer?: PageTableObserver): boolean {
    if (!this.findLeaf(page, observer)) return false;
    const pool = this.pool;
    const e = this.lastTable * 512 + this.lastIndex;
    const old = pool.flags[e];
    pool.flags[e] = (flags | PTE_PRESENT | (this.lastLevel > 1 ? PTE_LARGE : 0)) & 0xff;
    if (frame >= 0) pool.frames[e] = frame;
    observer?.pteWrite(this.lastTable, this.lastIndex, this.lastLevel, alignDown(page, this.lastLevel), old);
    return true;
  }

  /**
   * Visit every leaf, in address order: `(page, level, frame, flags, table, index)` with `page`
   * the first page the leaf covers. Reads are reported to the observer (a fork reads every entry it copies).
   *
   * @example
   * pt.forEachLeaf((page, level, frame) => console.log(page, level, frame));
   */
  forEachLeaf(visit: LeafVisitor, observer?: PageTableObserver): void {
    this.visit(this.root, this.levels, 0, visit, observer);
  }

  /** Leaf mappings present. */
  countLeaves(): number {
    let n = 0;
    this.forEachLeaf(() => { n++; });
    return n;
  }

  /**
   * Rewrite the flags of a leaf found by `forEachLeaf` (no walk, one write).
   *
   * @example
   * pt.writeLeafFlags(table, index, 1, page, PTE_PRESENT | PTE_USER);
   */
  writeLeafFlags(table: number, index: number, level: number, page: number, flags: number, observer?: PageTableObserver): void {
    const e = table * 512 + index;
    const old = this.pool.flags[e];
    this.pool.flags[e] = (flags | PTE_PRESENT | (level > 1 ? PTE_LARGE : 0)) & 0xff;
    observer?.pteWrite(table, index, level, alignDown(page, level), old);
  }

  /**
   * The entry slot (table id × 512 + index) at `level` on the path to `page`, or -1 when the path
   * stops earlier (a missing table or a larger leaf above). Allocates nothing; sets
   * `lastTable`/`lastIndex`.
   *
   * @example
   * pt.entryAt(0x7f000, 1) // slot of the level-1 entry, or -1
   */
  entryAt(page: number, level: number): number {
    const pool = this.pool;
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const e = table * 512 + levelIndex(page, l);
      const child = pool.child[e];
      if (child < 0) return -1;
      table = child;
    }
    const idx = levelIndex(page, level);
    this.lastTable = table;
    this.lastIndex = idx;
    return table * 512 + idx;
  }

  /**
   * Clear the entry at `level` on the path to `page`, freeing the subtree below it (no observer:
   * this is for VMM-owned tables such as shadows). Returns whether an entry was present.
   *
   * @example
   * shadow.removeAt(0x7f000, 2) // drop the shadow PT covering this 2 MiB
   */
  removeAt(page: number, level: number): boolean {
    const e = this.entryAt(page, level);
    if (e < 0) return false;
    const pool = this.pool;
    if (!(pool.flags[e] & PTE_PRESENT)) return false;
    const child = pool.child[e];
    if (child >= 0) {
      this.clearTable(child, level - 1, alignDown(page, level), undefined);
      this.frameSource.releaseFrame(pool.tableFrame[child]);
      pool.release(child);
      this.tablePages--;
    }
    pool.flags[e] = 0;
    pool.frames[e] = 0;
    pool.child[e] = -1;
    pool.tablePresent[this.lastTable]--;
    return true;
  }

  /**
   * Tear the tree down: clear every leaf, then every intermediate entry (writes reported to the
   * observer, children before parents), freeing table pages. With `keepRoot` the empty root
   * stays, as after exec; otherwise the root is freed too and the tree must not be used again.
   *
   * @example
   * pt.destroy(observer, true);
   */
  destroy(observer?: PageTableObserver, keepRoot = false): void {
    this.clearTable(this.root, this.levels, 0, observer);
    if (!keepRoot) {
      this.frameSource.releaseFrame(this.pool.tableFrame[this.root]);
      this.pool.release(this.root);
      this.tablePages--;
    }
  }

  /** Walk to the leaf for `page`, reporting reads; sets last*; false if not present. */
  private findLeaf(page: number, observer?: PageTableObserver): boolean {
    const pool = this.pool;
    let table = this.root;
    for (let level = this.levels; level >= 1; level--) {
      const idx = levelIndex(page, level);
      const e = table * 512 + idx;
      observer?.pteRead(table, idx, level);
      const f = pool.flags[e];
      this.lastLevel = level;
      this.lastTable = table;
      this.lastIndex = idx;
      this.lastFlags = f;
      if (!(f & PTE_PRESENT)) return false;
      const child = pool.child[e];
      if (child < 0) return true;
      table = child;
    }
    return false;
  }

  private visit(table: number, level: number, basePage: number, fn: LeafVisitor, observer?: PageTableObserver): void {
    const pool = this.pool;
    if (pool.tablePresent[table] === 0) return;
    const span = LEVEL_SPAN_PAGES[level - 1];
    for (let i = 0; i < 512; i++) {
      const e = table * 512 + i;
      const f = pool.flags[e];
      if (!(f & PTE_PRESENT)) continue;
      observer?.pteRead(table, i, level);
      const child = pool.child[e];
      if (child >= 0) this.visit(child, level - 1, basePage + i * span, fn, observer);
      else fn(basePage + i * span, level, pool.frames[e], f, table, i);
    }
  }

  private clearTable(table: number, level: number, basePage: number, observer?: PageTableObserver): void {
    const pool = this.pool;
    const span = LEVEL_SPAN_PAGES[level - 1];
    for (let i = 0; i < 512 && pool.tablePresent[table] > 0; i++) {
      const e = table * 512 + i;
      const f = pool.flags[e];
      if (!(f & PTE_PRESENT)) continue;
      const child = pool.child[e];
      if (child >= 0) {
        this.clearTable(child, level - 1, basePage + i * span, observer);
        this.frameSource.releaseFrame(pool.tableFrame[child]);
        pool.release(child);
        this.tablePages--;
      }
      pool.flags[e] = 0;
      pool.frames[e] = 0;
      pool.child[e] = -1;
      pool.tablePresent[table]--;
      observer?.pteWrite(table, i, level, basePage + i * span, f);
    }
  }
}

/**
 * The first page of the `level` entry's span that holds `page`.
 *
 * @internal
 * @example
 * alignDown(1000, 2) // 512
 */
export function alignDown(page: number, level: number): number {
  const span = LEVEL_SPAN_PAGES[level - 1];
  return page - (page % span);
}

function spanName(level: number): string {
  return level === 1 ? "4K" : level === 2 ? "2M" : level === 3 ? "1G" : `level-${level}`;
}
