/**
 * The interface every translation mode implements, and the parts they share.
 *
 *   Mmu.access(page) ── TLB hit? ──yes──▶ done
 *                          │ no
 *                          ▼
 *                   mode.walk(page) ── OK ──▶ fill TLB, done
 *                          │ not present / not writable
 *                          ▼
 *                   mode.handleFault(page)   (guest fault, hidden fault, COW...)  ──▶ walk again
 *
 * A mode is also the guest's `GuestHooks`: it decides what a guest page-table read or write, an
 * INVLPG or a CR3 switch costs (a store, a trap, a hypercall) and keeps the hardware caches
 * coherent with the tables (TLB, page-walk cache, shadow tables).
 *
 * Invariants: modes change costs, never results: every mode maps a gVA to the machine frame
 * p2m(guest table(gVA)). Walk code allocates nothing; the recorder is null on the hot path.
 */
import { LEVEL_SPAN_PAGES, leafLevelOf, levelIndex, type Levels, type PageSize } from "../mmu/page-size";
import type { PageTablePool } from "../mmu/page-table-pool";
import { PTE_ACCESSED, PTE_DIRTY, PTE_LARGE, PTE_PRESENT, PTE_WRITABLE, hex } from "../mmu/pte";
import type { CostModel } from "../mmu/cost-model";
import type { NestedTlb } from "../mmu/nested-tlb";
import type { Tlb } from "../mmu/tlb";
import type { WalkCache } from "../mmu/walk-cache";
import type { WalkRecorder } from "../mmu/walk-recorder";
import type { GuestHooks } from "./guest-hooks";
import type { GuestKernel } from "./guest-kernel";
import type { ModeName } from "./mode-name";
import type { TranslationStats } from "./translation-stats";
import type { VmMemory } from "./vm-memory";

// Module-local copies: imported bindings compile to property (or getter) loads, which are
// measurably slower on the per-access path than local constants.
const L_PTE_PRESENT = PTE_PRESENT;
const L_PTE_WRITABLE = PTE_WRITABLE;
const L_PTE_ACCESSED = PTE_ACCESSED;
const L_PTE_DIRTY = PTE_DIRTY;
const L_PTE_LARGE = PTE_LARGE;
const L_LEVEL_SPAN_PAGES = LEVEL_SPAN_PAGES;
const L_levelIndex = levelIndex;

/**
 * Walk statuses.
 * @internal
 */
export const WALK_OK = 0;
/**
 * The walk met a not-present entry (guest fault, or a shadow entry not yet filled).
 * @internal
 */
export const WALK_NOT_PRESENT = 1;
/**
 * The translation exists but forbids the store.
 * @internal
 */
export const WALK_PROTECTION = 2;
/**
 * Nested paging: a gPA the walk needed is not backed by host memory yet (EPT/NPT violation).
 * @internal
 */
export const WALK_EPT_VIOLATION = 3;

/** How a shadow MMU treats guest page-table writes: the slides' model, or KVM's (shadow-mode.ts). */
export type ShadowPolicy = "slides" | "kvm";
/** How protected (paravirtual) paging treats guest page-table access: the slides' model, or Xen PV's (protected-mode.ts). */
export type PvPolicy = "slides" | "xen";
/** Nested paging: the host backs guest-physical memory at the first touch ("lazy", an EPT violation), or before the VM runs ("eager"). */
export type HostBacking = "lazy" | "eager";

/**
 * What a successful walk found (fields reused, never reallocated).
 * @internal
 */
export class WalkOut {
  /** Machine frame of the 4 KiB page translated. */
  frame = -1;
  /** Guest-physical frame of that page (-1 when the walk does not see it, as under shadow paging). */
  guestFrame = -1;
  writable = false;
}

/**
 * Everything a mode works with.
 * @internal
 */
export interface ModeContext {
  guest: GuestKernel;
  vm: VmMemory;
  tlb: Tlb;
  pwc: WalkCache;
  nestedTlb: NestedTlb | null;
  costs: CostModel;
  stats: TranslationStats;
  guestLevels: Levels;
  hostLevels: Levels;
  guestPageSize: PageSize;
  hostPageSize: PageSize;
  /** Protected mode: guest page-table reads trap (M→P by the VMM). */
  trapReads: boolean;
  /** Shadow mode: how many address spaces keep their shadow table across switches. */
  shadowCacheSize: number;
  /** Shadow mode: the slides' model (every guest page-table write traps) or KVM's. */
  shadowPolicy: ShadowPolicy;
  /** Protected mode: the slides' model (every page-table write, and read with `trapReads`, traps) or Xen PV's. */
  pvPolicy: PvPolicy;
}

/**
 * A translation mode, as the Mmu drives it.
 * @internal
 */
export interface TranslationMode extends GuestHooks {
  readonly name: ModeName;
  /** Level of the translations the TLB caches (1 = 4K, 2 = 2M, 3 = 1G). */
  readonly tlbLeafLevel: number;
  /** Result of the last successful walk. */
  readonly out: WalkOut;
  /** Walk for `page` in the running address space; returns WALK_OK or WALK_NOT_PRESENT. */
  walk(page: number, write: boolean, rec: WalkRecorder | null): number;
  /** Resolve what made the last walk fail (`status`), so a new walk succeeds. */
  handleFault(status: number, page: number, write: boolean, rec: WalkRecorder | null): void;
  /** References a walk with cold caches makes, and the formula. */
  coldWalk(): { references: number; formula: string };
  /** Shadow table pages now and at peak (0 outside shadow mode). */
  shadowPages(): number;
  peakShadowPages(): number;
}

/**
 * Shared machinery: the 1-D walker, native-cost guest hooks, TLB range invalidation.
 * Subclasses override what differs.
 * @internal
 */
export abstract class ModeBase implements TranslationMode {
  abstract readonly name: ModeName;
  readonly tlbLeafLevel: number;
  readonly out = new WalkOut();
  protected readonly ctx: ModeContext;
  protected readonly guest: GuestKernel;
  protected readonly vm: VmMemory;
  protected readonly tlb: Tlb;
  protected readonly pwc: WalkCache;
  protected readonly costs: CostModel;
  protected readonly stats: TranslationStats;
  protected readonly pwcIsStc: boolean;
  /** The page-walk cache answers per-entry probes (UPTC); other designs never do. */
  protected readonly pwcProbes: boolean;
  protected readonly guestLeafLevel: number;
  /** The running address space and its guest root table id. */
  protected asid = 0;
  protected guestRoot = -1;

  constructor(ctx: ModeContext, tlbLeafLevel: number) {
    this.ctx = ctx;
    this.guest = ctx.guest;
    this.vm = ctx.vm;
    this.tlb = ctx.tlb;
    this.pwc = ctx.pwc;
    this.costs = ctx.costs;
    this.stats = ctx.stats;
    this.pwcIsStc = ctx.pwc.design === "stc";
    this.pwcProbes = ctx.pwc.design === "uptc";
    this.guestLeafLevel = leafLevelOf(ctx.guestPageSize);
    this.tlbLeafLevel = tlbLeafLevel;
  }

  abstract walk(page: number, write: boolean, rec: WalkRecorder | null): number;
  abstract coldWalk(): { references: number; formula: string };

  shadowPages(): number { return 0; }
  peakShadowPages(): number { return 0; }

  /** Machine frame of a guest page-table page (where hardware caches see its entries). */
  protected guestTableMachineFrame(table: number): number {
    return this.vm.p2m(this.guest.pool.tableFrame[table]);
  }

  // --- guest hooks at native cost ---------------------------------------------------------------
  pteRead(_asid: number, _table: number, _index: number, _level: number): void {
    this.stats.ptReads++;
    this.stats.cyclesGuest += this.costs.pteAccessCycles;
  }

  pteWrite(asid: number, table: number, index: number, level: number, _page: number, oldFlags: number): void {
    this.stats.ptWrites++;
    this.stats.cyclesGuest += this.costs.pteAccessCycles;
    this.invalidateGuestEntry(asid, table, index, level, oldFlags);
  }

  invalidatePage(asid: number, page: number): void {
    this.stats.cyclesGuest += this.costs.invlpgCycles;
    this.flushTlbRange(asid, page, this.guestLeafLevel);
  }

  flushAddressSpace(asid: number): void {
    this.stats.cyclesGuest += this.costs.invlpgCycles;
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
  }

  switchAddressSpace(asid: number): void {
    this.stats.cr3Switches++;
    this.stats.cyclesGuest += this.costs.cr3SwitchCycles;
    this.setCurrent(asid);
  }

  createAddressSpace(_asid: number): void {}

  enterLazyMmu(_asid: number): void {}

  leaveLazyMmu(_asid: number): void {}

  beginTeardown(_asid: number): void {}

  endTeardown(_asid: number): void {}

  destroyAddressSpace(asid: number): void {
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
  }

  /** Guest-visible fault, handled by the guest without the VMM (native, nested). */
  handleFault(_status: number, page: number, write: boolean, rec: WalkRecorder | null): void {
    this.guestFault(page, write, rec);
  }

  // --- shared helpers ----------------------------------------------------------------------------
  protected setCurrent(asid: number): void {
    this.asid = asid;
    this.guestRoot = this.guest.tableOf(asid).root;
    if (!this.tlb.tagged) {
      this.tlb.flush();
      this.pwc.flushTag(0, asid);
    }
  }

  protected guestFault(page: number, write: boolean, rec: WalkRecorder | null): void {
    this.stats.guestPageFaults++;
    this.stats.cyclesGuest += this.costs.guestPageFaultCycles;
    if (rec !== null) rec.note(`page fault: the guest OS ${write ? "handles a store to" : "maps"} page ${hex(page * 4096)} (demand paging or copy-on-write); the walk restarts`);
    this.guest.handleFault(this.asid, page, write);
  }

  /** Hardware caches after a guest entry changed (native, protected and nested walk guest tables). */
  protected invalidateGuestEntry(asid: number, table: number, index: number, level: number, oldFlags: number): void {
    if (!(oldFlags & L_PTE_PRESENT)) return;
    this.pwc.invalidateEntry(this.guestTableMachineFrame(table) * 512 + index);
    if (level > this.guestLeafLevel) this.pwc.flushTag(0, asid);
  }

  /** Drop TLB entries for the guest page at `page` (a leaf of `level`), splinters included. */
  protected flushTlbRange(asid: number, page: number, level: number): void {
    const tlbSpan = L_LEVEL_SPAN_PAGES[this.tlbLeafLevel - 1];
    const span = L_LEVEL_SPAN_PAGES[level - 1];
    if (span <= tlbSpan) {
      this.tlb.flushPage(asid, Math.floor(page / tlbSpan));
      return;
    }
    const pieces = span / tlbSpan;
    if (pieces > 64) {
      this.tlb.flushAsid(asid);
      return;
    }
    const base = Math.floor((page - (page % span)) / tlbSpan);
    for (let i = 0; i < pieces; i++) this.tlb.flushPage(asid, base + i);
  }

  /**
   * The 1-D hardware walk over `pool` from `root`, for native (guest table), protected (guest
   * table, frames seen through P→M) and shadow (shadow table) paging.
   */
  protected walk1d(pool: PageTablePool, root: number, levels: number, leafLevel: number, page: number, write: boolean, p2m: boolean, rec: WalkRecorder | null): number {
    const stats = this.stats;
    const pwc = this.pwc;
    const vm = this.vm;
    const asid = this.asid;
    const probe = this.pwcProbes;
    let level = levels;
    let table = root;
    let machine = p2m ? vm.p2m(pool.tableFrame[root]) : pool.tableFrame[root];
    if (this.pwcIsStc) {
      const start = pwc.skipTo(0, asid, page, levels, leafLevel);
      if (start < levels) {
        stats.walkCacheHits++;
        if (rec !== null) rec.cacheHit("stc", 0, start, levels - start, 0, 0, `the L${start} table for this address prefix is cached; skip L${levels}..L${start + 1}`);
        level = start;
        table = pwc.outTable;
        machine = pwc.outFrame;
      }
    }
    for (;;) {
      const idx = L_levelIndex(page, level);
      const e = table * 512 + idx;
      const flags = pool.flags[e];
      // A present entry is a leaf exactly at level 1 or with PS set (radix-page-table.ts), so a
      // leaf needs no load of `child` (one cache line less per step).
      const leaf = level === 1 || (flags & L_PTE_LARGE) !== 0;
      const key = machine * 512 + idx;
      if (probe && (flags & L_PTE_PRESENT) !== 0 && pwc.probeEntry(key, leaf)) {
        stats.walkCacheHits++;
        if (rec !== null) rec.cacheHit("pwc", 0, level, 1, levels - level, 0, `L${level} entry at ${hex(key * 8)} is cached`);
      } else {
        stats.memoryReferences++;
        if (rec !== null) {
          const entry = (flags & L_PTE_PRESENT) === 0 ? 0 : (p2m ? vm.p2m(pool.frames[e]) : pool.frames[e]) * 4096 + flags;
          rec.reference(0, level, machine * 4096, idx, entry, key * 8, -1, -1, levels - level, 0);
        }
      }
      if ((flags & L_PTE_PRESENT) === 0) return WALK_NOT_PRESENT;
      if (leaf) {
        const frame = pool.frames[e] + (level === 1 ? 0 : page % L_LEVEL_SPAN_PAGES[level - 1]);
        const out = this.out;
        out.guestFrame = frame;
        out.frame = p2m ? vm.p2m(frame) : frame;
        out.writable = (flags & L_PTE_WRITABLE) !== 0;
        pool.flags[e] = flags | L_PTE_ACCESSED | (write && out.writable ? L_PTE_DIRTY : 0);
        return WALK_OK;
      }
      level--;
      table = pool.child[e];
      const tableFrame = pool.frames[e];
      machine = p2m ? vm.p2m(tableFrame) : tableFrame;
      if (this.pwcIsStc) pwc.fillTable(0, asid, page, level, table, machine);
    }
  }
}
