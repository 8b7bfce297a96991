/**
 * Shadow page tables.
 *
 *   guest V→P table (write-protected by the VMM)      VMM P→M map
 *              \                                      /
 *               └──────── VMM combines ──────────────┘
 *                              ▼
 *                  shadow V→M table  ◀── the MMU walks this (one reference per level)
 *
 * - Every guest page-table write traps (the page is write-protected); the VMM emulates it and
 *   fixes the shadow: a changed leaf is updated in place when its shadow table exists, a
 *   removed table entry drops the shadow subtree below it.
 * - Shadows fill lazily. When the MMU finds no shadow entry it traps; if the guest table maps
 *   the page it is a hidden fault (the guest never sees it) and the VMM fills the shadow entry,
 *   otherwise it is a real guest fault that the VMM reflects to the guest.
 * - MOV CR3 traps: the VMM switches to the cached shadow of the new address space, or starts an
 *   empty one (refilled by hidden faults). At most `shadowCacheSize` shadows are kept.
 * - INVLPG traps too.
 * - Shadow tables cost machine memory: `shadowPages()` now, `peakShadowPages()` at most.
 *
 * A shadow leaf is the smaller of the guest and host page size: a 2M guest page on 4K host
 * pages is shadowed by 512 4K entries.
 *
 * Simplifications: guest page-table pages stay write-protected even when no shadow uses them;
 * accessed/dirty bits are copied to the guest table at fill time without extra traps; real VMMs
 * batch or unshadow heavily written tables (KVM's write-flood detection), which this does not.
 */
import { leafLevelOf, smallerPageSize } from "../mmu/page-size";
import { PageTablePool } from "../mmu/page-table-pool";
import { PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_USER, PTE_WRITABLE, hex } from "../mmu/pte";
import { alignDown, RadixPageTable } from "../mmu/radix-page-table";
import type { WalkRecorder } from "../mmu/walk-recorder";
import { ModeBase, WALK_NOT_PRESENT, type ModeContext } from "./translation-mode";

/**
 * @example
 * const mmu = new Mmu({ mode: "shadow", shadowCacheSize: 4 });
 */
export class ShadowMode extends ModeBase {
  readonly name = "shadow" as const;
  /** Shadow table pages of every address space (at machine frames the VMM owns). */
  readonly shadowPool = new PageTablePool(64);
  /** Address space → its shadow; Map order is least recently switched-to first. */
  private readonly shadows = new Map<number, RadixPageTable>();
  private shadowRoot = -1;
  private readonly shadowLeafLevel: number;

  constructor(ctx: ModeContext) {
    const leaf = leafLevelOf(smallerPageSize(ctx.guestPageSize, ctx.hostPageSize));
    super(ctx, leaf);
    this.shadowLeafLevel = leaf;
  }

  walk(page: number, write: boolean, rec: WalkRecorder | null): number {
    const status = this.walk1d(this.shadowPool, this.shadowRoot, this.ctx.guestLevels, this.shadowLeafLevel, page, write, false, rec);
    this.out.guestFrame = -1;
    return status;
  }

  override handleFault(status: number, page: number, write: boolean, rec: WalkRecorder | null): void {
    const table = this.guest.tableOf(this.asid);
    const guestFrame = table.lookup(page);
    const guestFlags = table.lastFlags;
    if (status === WALK_NOT_PRESENT && guestFrame >= 0 && (!write || guestFlags & PTE_WRITABLE)) {
      this.stats.hiddenFaults++;
      this.stats.trapHiddenFault++;
      this.stats.cyclesVmm += this.costs.trapCycles + this.costs.hiddenFaultCycles;
      if (rec !== null) rec.note(`hidden fault: the guest maps ${hex(page * 4096)} but the shadow does not yet; the VMM walks the guest table, fills the shadow entry and resumes the guest`);
      this.fillShadow(page, guestFrame, guestFlags, write, table.lastTable * 512 + table.lastIndex);
      return;
    }
    this.stats.trapPageFault++;
    this.stats.cyclesVmm += this.costs.trapCycles;
    if (rec !== null) rec.note("the fault exits to the VMM, which finds no guest mapping (or a read-only one) and reflects it to the guest");
    this.guestFault(page, write, rec);
  }

  override pteWrite(asid: number, table: number, index: number, level: number, page: number, oldFlags: number): void {
    this.stats.ptWrites++;
    this.stats.trapPtWrite++;
    this.stats.cyclesVmm += this.costs.trapCycles + this.costs.shadowUpdateCycles;
    const shadow = this.shadows.get(asid);
    if (shadow === undefined) return;
    const pool = this.guest.pool;
    const e = table * 512 + index;
    if (level === this.guestLeafLevel) {
      const flags = pool.flags[e];
      if (this.shadowLeafLevel === level) {
        // Same granule: keep the shadow entry in step with the guest entry, if its table exists.
        const slot = shadow.entryAt(page, level);
        if (slot >= 0) {
          const present = (this.shadowPool.flags[slot] & PTE_PRESENT) !== 0;
          if (flags & PTE_PRESENT) shadow.map(page, level, this.vm.p2m(pool.frames[e]), flags & (PTE_WRITABLE | PTE_USER));
          else if (present) shadow.unmap(page);
          if (present) this.pwc.invalidateEntry(this.shadowPool.tableFrame[shadow.lastTable] * 512 + shadow.lastIndex);
        }
      } else {
        // Splintered: drop the shadow table of pieces; hidden faults refill it.
        shadow.removeAt(page, level);
        this.pwc.flushAll();
      }
      this.flushTlbRange(asid, page, level);
    } else if (oldFlags & PTE_PRESENT) {
      if (shadow.removeAt(page, level)) {
        this.pwc.flushAll();
        this.tlb.flushAsid(asid);
      }
    }
  }

  override invalidatePage(asid: number, page: number): void {
    this.stats.trapTlbFlush++;
    this.stats.cyclesVmm += this.costs.trapCycles;
    this.flushTlbRange(asid, page, this.guestLeafLevel);
  }

  override flushAddressSpace(asid: number): void {
    this.stats.trapTlbFlush++;
    this.stats.cyclesVmm += this.costs.trapCycles;
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
  }

  override switchAddressSpace(asid: number): void {
    this.stats.cr3Switches++;
    this.stats.trapCr3Switch++;
    this.stats.cyclesVmm += this.costs.trapCycles + this.costs.shadowSwitchCycles;
    this.setCurrent(asid);
    let shadow = this.shadows.get(asid);
    if (shadow !== undefined) {
      this.shadows.delete(asid);
    } else {
      shadow = new RadixPageTable(this.shadowPool, this.ctx.guestLevels, this.vm);
      while (this.shadows.size >= this.ctx.shadowCacheSize) {
        const [oldest, table] = this.shadows.entries().next().value as [number, RadixPageTable];
        this.dropShadow(oldest, table);
      }
    }
    this.shadows.set(asid, shadow);
    this.shadowRoot = shadow.root;
  }

  override destroyAddressSpace(asid: number): void {
    super.destroyAddressSpace(asid);
    const shadow = this.shadows.get(asid);
    if (shadow !== undefined) this.dropShadow(asid, shadow);
  }

  override shadowPages(): number {
    return this.shadowPool.liveTables;
  }

  override peakShadowPages(): number {
    return this.shadowPool.peakTables;
  }

  coldWalk(): { references: number; formula: string } {
    const n = this.ctx.guestLevels - this.shadowLeafLevel + 1;
    return { references: n, formula: `${n} (one reference per shadow level; the shadow maps gVA → hPA directly)` };
  }

  private fillShadow(page: number, guestFrame: number, guestFlags: number, write: boolean, guestSlot: number): void {
    const shadow = this.shadows.get(this.asid) as RadixPageTable;
    const base = alignDown(page, this.shadowLeafLevel);
    const guestBase = guestFrame - (page - base);
    shadow.map(base, this.shadowLeafLevel, this.vm.p2m(guestBase), guestFlags & (PTE_WRITABLE | PTE_USER));
    this.guest.pool.flags[guestSlot] = guestFlags | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
  }

  private dropShadow(asid: number, shadow: RadixPageTable): void {
    shadow.destroy();
    this.shadows.delete(asid);
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
    this.pwc.flushAll();
  }
}
