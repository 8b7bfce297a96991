/**
 * The guest kernel model (GuestKernel): a guest OS whose page-table activity is the workload of the translation modes.
 *
 * What it does, and which page-table reads and writes each step makes (every one goes through
 * `hooks`, so a mode can charge it: nothing natively, a trap under shadow paging...):
 *
 *   demand paging   first touch of a page: walk the table (reads), allocate missing table pages
 *                   (a write per new table), write the leaf PTE
 *   copy-on-write   a store to a write-protected page after fork: rewrite the leaf (write), INVLPG
 *   unmap           clear one leaf (reads + write), INVLPG
 *   reclaim         when data memory is full: a clock hand over physical chunks picks an
 *                   unshared chunk and unmaps it from its owner
 *   switch          MOV CR3 to another process's root
 *   fork            read every parent leaf; write-protect the writable ones (write); write each
 *                   into the child's new table (writes); flush the parent's TLB entries
 *   exec / exit     clear every leaf and every table entry (writes), free the table pages
 *   mprotect        rewrite the writable bit of each mapped leaf in a range (reads + writes),
 *                   then INVLPG each page, or flush the address space past 33 pages
 *
 * Runs of updates the guest does not rely on until they end are lazy-MMU sections, as in Linux
 * (`hooks.enterLazyMmu` / `leaveLazyMmu`): fork's copy, munmap's and the teardown's zap, and
 * mprotect, so a paravirtual VMM can batch them. A teardown is bracketed by `beginTeardown` /
 * `endTeardown` (Linux's exit_mmap: Xen PV unpins the tables first).
 *
 * Data pages are chunks of the guest page size (4K, 2M or 1G); page-table pages are 4K frames
 * from their own region (see guest-memory.ts). Address spaces are numbered by ASID; the first
 * process has ASID 1.
 *
 * Invariants: chunkRefs[c] counts the leaf mappings of chunk c (more than one only between a
 * fork and the child's exec/exit); a chunk is free exactly when chunkRefs[c] = 0.
 */
import { MemvirtError } from "../util/errors";
import { leafLevelOf, LEVEL_SPAN_PAGES, type Levels, type PageSize } from "../mmu/page-size";
import { PageTablePool } from "../mmu/page-table-pool";
import { PTE_DIRTY, PTE_LARGE, PTE_PRESENT, PTE_USER, PTE_WRITABLE } from "../mmu/pte";
import { alignDown, RadixPageTable, type FrameSource, type PageTableObserver } from "../mmu/radix-page-table";
import type { Rng } from "../util/rng";
import { GuestMemory } from "./guest-memory";
import { NULL_HOOKS, type GuestHooks } from "./guest-hooks";
import type { VmMemory } from "./vm-memory";

/**
 * Above this many pages an mprotect flushes the address space instead of INVLPG per page (Linux x86's default).
 * @internal
 */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/**
 * Settings of a guest OS.
 * @internal
 */
export interface GuestKernelOptions {
  levels: Levels;
  pageSize: PageSize;
  memory: GuestMemory;
  vm: VmMemory;
}

/** Counts of guest OS work. */
export interface GuestKernelCounts {
  demandFaults: number;
  cowFaults: number;
  unmaps: number;
  reclaims: number;
  switches: number;
  forks: number;
  execs: number;
  exits: number;
  /** mprotect calls. */
  protects: number;
}

/**
 * @internal
 * @example
 * const guest = new GuestKernel({ levels: 4, pageSize: "4K", memory, vm });
 * const pid = guest.createProcess();
 * guest.handleFault(pid, 0x7f000, true); // demand-pages 0x7f000
 */
export class GuestKernel implements PageTableObserver, FrameSource {
  readonly levels: Levels;
  readonly pageSize: PageSize;
  readonly leafLevel: number;
  readonly memory: GuestMemory;
  readonly vm: VmMemory;
  /** Guest page-table pages of every process. */
  readonly pool: PageTablePool;
  hooks: GuestHooks = NULL_HOOKS;
  /** The running process's ASID. */
  current = 0;
  readonly counts: GuestKernelCounts = { demandFaults: 0, cowFaults: 0, unmaps: 0, reclaims: 0, switches: 0, forks: 0, execs: 0, exits: 0, protects: 0 };
  private readonly spaces = new Map<number, RadixPageTable>();
  private nextAsid = 1;
  /** Per chunk: mappings, owner ASID, first page mapped. */
  private readonly chunkRefs: Uint16Array;
  private readonly chunkOwner: Int32Array;
  private readonly chunkPage: Float64Array;
  /** Dense list of allocated chunks (for random picks) and each chunk's position in it. */
  private readonly usedList: Int32Array;
  private readonly usedPos: Int32Array;
  private usedCount = 0;
  private clockHand = 0;
  /** The ASID whose table the current structural operation touches (for observer calls). */
  private observing = 0;

  constructor(options: GuestKernelOptions) {
    this.levels = options.levels;
    this.pageSize = options.pageSize;
    this.leafLevel = leafLevelOf(options.pageSize);
    this.memory = options.memory;
    this.vm = options.vm;
    this.pool = new PageTablePool(64);
    const n = options.memory.chunks;
    this.chunkRefs = new Uint16Array(n);
    this.chunkOwner = new Int32Array(n).fill(-1);
    this.chunkPage = new Float64Array(n);
    this.usedList = new Int32Array(n);
    this.usedPos = new Int32Array(n).fill(-1);
  }

  // --- PageTableObserver: forward structural reads and writes to the mode ---------------------
  pteRead(table: number, index: number, level: number): void {
    this.hooks.pteRead(this.observing, table, index, level);
  }

  pteWrite(table: number, index: number, level: number, page: number, oldFlags: number): void {
    this.hooks.pteWrite(this.observing, table, index, level, page, oldFlags);
  }

  // --- FrameSource: guest page-table pages -----------------------------------------------------
  allocateFrame(): number {
    const f = this.memory.allocatePtFrame();
    this.vm.back(f);
    return f;
  }

  releaseFrame(frame: number): void {
    this.memory.releasePtFrame(frame);
  }

  /**
   * The page table of a process.
   *
   * @example
   * guest.tableOf(1).rootFrame
   */
  tableOf(asid: number): RadixPageTable {
    const t = this.spaces.get(asid);
    if (t === undefined) throw new MemvirtError("no such process", { where: "asid", value: asid });
    return t;
  }

  /** ASIDs of live processes. */
  processes(): number[] {
    return [...this.spaces.keys()];
  }

  /**
   * A new process with an empty address space; returns its ASID.
   *
   * @example
   * const asid = guest.createProcess();
   */
  createProcess(): number {
    const asid = this.nextAsid++;
    this.spaces.set(asid, new RadixPageTable(this.pool, this.levels, this));
    this.hooks.createAddressSpace(asid);
    return asid;
  }

  /**
   * MOV CR3: run another process.
   *
   * @example
   * guest.switchTo(2);
   */
  switchTo(asid: number): void {
    this.tableOf(asid);
    this.current = asid;
    this.counts.switches++;
    this.hooks.switchAddressSpace(asid);
  }

  /**
   * The page-fault handler: demand-page an unmapped `page`, or break copy-on-write on a store
   * to a write-protected one.
   *
   * @example
   * guest.handleFault(1, 0x7f000, false);
   */
  handleFault(asid: number, page: number, write: boolean): void {
    const table = this.tableOf(asid);
    this.observing = asid;
    const frame = table.lookup(page);
    if (frame >= 0) {
      if (!write || table.lastFlags & PTE_WRITABLE) return; // spurious: already fixed
      this.breakCow(asid, table, page, frame);
      return;
    }
    const chunk = this.allocateChunk();
    const base = alignDown(page, this.leafLevel);
    this.chunkRefs[chunk] = 1;
    this.chunkOwner[chunk] = asid;
    this.chunkPage[chunk] = base;
    this.observing = asid;
    table.map(base, this.leafLevel, this.memory.chunkFrame(chunk), PTE_PRESENT | PTE_WRITABLE | PTE_USER | (write ? PTE_DIRTY : 0), this);
    this.counts.demandFaults++;
  }

  /**
   * munmap of one page (its whole chunk for large pages). Returns whether it was mapped.
   *
   * @example
   * guest.unmapPage(1, 0x7f000) // true
   */
  unmapPage(asid: number, page: number): boolean {
    const table = this.tableOf(asid);
    const frame = table.lookup(page);
    if (frame < 0) return false;
    const chunk = this.memory.chunkOf(frame);
    this.observing = asid;
    this.hooks.enterLazyMmu(asid);
    table.unmap(page, this);
    this.hooks.leaveLazyMmu(asid);
    this.hooks.invalidatePage(asid, page);
    this.dropRef(chunk);
    this.counts.unmaps++;
    return true;
  }

  /**
   * Unmap one randomly chosen mapped (unshared) page, as a program freeing memory would.
   * Returns whether one was found.
   *
   * @example
   * guest.unmapRandom(rng);
   */
  unmapRandom(rng: Rng): boolean {
    for (let tries = 0; tries < 8 && this.usedCount > 0; tries++) {
      const chunk = this.usedList[rng.int(this.usedCount)];
      if (this.chunkRefs[chunk] !== 1) continue;
      const owner = this.chunkOwner[chunk];
      if (!this.spaces.has(owner)) continue;
      if (this.unmapPage(owner, this.chunkPage[chunk])) return true;
    }
    return false;
  }

  /**
   * fork(): a child that shares every page copy-on-write. Returns the child's ASID.
   *
   * @example
   * const child = guest.fork(1);
   */
  fork(asid: number): number {
    const parent = this.tableOf(asid);
    const childAsid = this.createProcess();
    const child = this.tableOf(childAsid);
    this.hooks.enterLazyMmu(asid);
    parent.forEachLeaf((page, level, frame, flags, t, i) => {
      let shared = flags;
      if (flags & PTE_WRITABLE) {
        shared = flags & ~PTE_WRITABLE;
        this.observing = asid;
        parent.writeLeafFlags(t, i, level, page, shared, this);
      }
      this.observing = childAsid;
      child.map(page, level, frame, shared & ~PTE_DIRTY, this);
      const chunk = this.memory.chunkOf(frame);
      this.chunkRefs[chunk]++;
    }, this.observerFor(asid));
    this.hooks.leaveLazyMmu(asid);
    this.hooks.flushAddressSpace(asid);
    this.counts.forks++;
    return childAsid;
  }

  /**
   * exec(): drop every mapping and table page of the process (the root stays, empty).
   *
   * @example
   * guest.exec(child);
   */
  exec(asid: number): void {
    this.tearDown(asid, true);
    this.counts.execs++;
  }

  /**
   * exit(): drop the process and its address space. It must not be running.
   *
   * @example
   * guest.exit(child);
   */
  exit(asid: number): void {
    if (asid === this.current) throw new MemvirtError("a process cannot exit while it runs; switch away first", { where: "asid", value: asid });
    this.tearDown(asid, false);
    this.spaces.delete(asid);
    this.hooks.destroyAddressSpace(asid);
    this.counts.exits++;
  }

  /**
   * mprotect(): make the mapped pages of [page, page + pages) read-only, or writable again.
   * Pages still shared copy-on-write stay read-only (as Linux keeps them), and a store to a
   * read-only page is resolved as copy-on-write (the model has no SIGSEGV). The TLB is then
   * invalidated page by page, or flushed whole past 33 pages (Linux's
   * tlb_single_page_flush_ceiling, arch/x86/mm/tlb.c). Returns how many leaves changed.
   *
   * @example
   * guest.protectRange(1, 0x7f000, 16, false) // 16 pages read-only
   */
  protectRange(asid: number, page: number, pages: number, writable: boolean): number {
    const table = this.tableOf(asid);
    if (!Number.isInteger(page) || !Number.isInteger(pages) || page < 0 || pages < 0) throw new MemvirtError("expected whole, non-negative page numbers", { where: "protectRange", value: { page, pages } });
    const span = LEVEL_SPAN_PAGES[this.leafLevel - 1];
    const first = alignDown(page, this.leafLevel);
    const end = page + pages;
    this.observing = asid;
    this.hooks.enterLazyMmu(asid);
    let changed = 0;
    for (let p = first; p < end; p += span) {
      const frame = table.lookup(p);
      if (frame < 0) continue;
      const flags = table.lastFlags;
      const exclusive = this.chunkRefs[this.memory.chunkOf(frame)] === 1;
      const next = writable ? (exclusive ? flags | PTE_WRITABLE : flags) : flags & ~PTE_WRITABLE;
      if (next === flags) continue;
      table.setLeaf(p, next & ~PTE_LARGE, -1, this);
      changed++;
    }
    this.hooks.leaveLazyMmu(asid);
    if (changed > 0) {
      if ((end - first) / span <= TLB_SINGLE_PAGE_FLUSH_CEILING) {
        for (let p = first; p < end; p += span) this.hooks.invalidatePage(asid, p);
      } else {
        this.hooks.flushAddressSpace(asid);
      }
    }
    this.counts.protects++;
    return changed;
  }

  /** Pages mapped by a process (leaves, each of the guest page size). */
  mappedPages(asid: number): number {
    return this.tableOf(asid).countLeaves();
  }

  /** Guest page-table pages in use, all processes. */
  get pageTablePages(): number {
    return this.pool.liveTables;
  }

  private tearDown(asid: number, keepRoot: boolean): void {
    const table = this.tableOf(asid);
    table.forEachLeaf((_page, _level, frame) => this.dropRef(this.memory.chunkOf(frame)));
    this.observing = asid;
    this.hooks.beginTeardown(asid);
    this.hooks.enterLazyMmu(asid);
    table.destroy(this, keepRoot);
    this.hooks.leaveLazyMmu(asid);
    this.hooks.flushAddressSpace(asid);
    this.hooks.endTeardown(asid);
  }

  private breakCow(asid: number, table: RadixPageTable, page: number, frame: number): void {
    const chunk = this.memory.chunkOf(frame);
    const flags = (table.lastFlags | PTE_WRITABLE | PTE_DIRTY) & ~0x80;
    if (this.chunkRefs[chunk] > 1) {
      const copy = this.allocateChunk();
      this.chunkRefs[chunk]--;
      this.chunkRefs[copy] = 1;
      this.chunkOwner[copy] = asid;
      this.chunkPage[copy] = alignDown(page, this.leafLevel);
      this.observing = asid;
      table.setLeaf(page, flags, this.memory.chunkFrame(copy), this);
    } else {
      this.observing = asid;
      table.setLeaf(page, flags, -1, this);
    }
    this.hooks.invalidatePage(asid, page);
    this.counts.cowFaults++;
  }

  private allocateChunk(): number {
    let chunk = this.memory.allocateChunk();
    if (chunk < 0) {
      this.reclaim();
      chunk = this.memory.allocateChunk();
      if (chunk < 0) throw new MemvirtError("guest memory is full of shared pages; raise guestMemory", { where: "guestMemory" });
    }
    this.vm.back(this.memory.chunkFrame(chunk), this.memory.chunkFrames);
    this.usedPos[chunk] = this.usedCount;
    this.usedList[this.usedCount++] = chunk;
    return chunk;
  }

  /** Clock over physical chunks: unmap the first unshared one after the hand. */
  private reclaim(): void {
    const n = this.memory.chunks;
    for (let step = 0; step < 2 * n; step++) {
      const chunk = this.clockHand;
      this.clockHand = (this.clockHand + 1) % n;
      if (this.chunkRefs[chunk] !== 1) continue;
      const owner = this.chunkOwner[chunk];
      if (!this.spaces.has(owner)) continue;
      const before = this.memory.chunksInUse;
      if (this.unmapPage(owner, this.chunkPage[chunk])) this.counts.reclaims++;
      if (this.memory.chunksInUse < before) return;
    }
  }

  private dropRef(chunk: number): void {
    if (--this.chunkRefs[chunk] > 0) return;
    this.chunkOwner[chunk] = -1;
    const pos = this.usedPos[chunk];
    const last = this.usedList[--this.usedCount];
    this.usedList[pos] = last;
    this.usedPos[last] = pos;
    this.usedPos[chunk] = -1;
    this.memory.releaseChunk(chunk);
  }

  private observerFor(asid: number): PageTableObserver {
    return {
      pteRead: (t, i, l) => this.hooks.pteRead(asid, t, i, l),
      pteWrite: (t, i, l, p, o) => this.hooks.pteWrite(asid, t, i, l, p, o),
    };
  }
}
