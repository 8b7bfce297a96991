/**
 * Protected page tables: paravirtual direct paging, as in Xen PV.
 *
 *   guest page table (read-only to the guest) holds MACHINE frames
 *   guest wants PTE := P frame  ──trap/hypercall──▶ VMM validates, writes M = p2m(P)
 *   guest reads a PTE           ──trap (switch)──▶ VMM returns P = m2p(M)
 *                               (or, as real Xen allows, the guest reads the M→P table itself)
 *
 * The MMU walks the guest's own table: one reference per level, at machine addresses. Every
 * write costs a trap; reads cost a trap when `trapReads` is on (default), else one extra
 * memory reference into the machine→physical table. CR3 switches and TLB flushes are
 * hypercalls; guest page faults are bounced to the guest by the VMM.
 *
 * Large guest pages need machine-contiguous backing, so the guest page size may not exceed the
 * host page size (Xen PV superpages have the same rule).
 */
import { MemvirtError } from "../util/errors";
import { leafLevelOf } from "../mmu/page-size";
import type { WalkRecorder } from "../mmu/walk-recorder";
import { ModeBase, type ModeContext } from "./translation-mode";

/**
 * @example
 * const mmu = new Mmu({ mode: "protected", trapReads: false });
 */
export class ProtectedMode extends ModeBase {
  readonly name = "protected" as const;

  constructor(ctx: ModeContext) {
    if (leafLevelOf(ctx.guestPageSize) > leafLevelOf(ctx.hostPageSize)) {
      throw new MemvirtError(`protected paging maps guest pages to machine frames directly, so a ${ctx.guestPageSize} guest page needs ${ctx.guestPageSize} host pages`, { where: "guestPageSize", value: ctx.guestPageSize });
    }
    super(ctx, ctx.guest.leafLevel);
  }

  walk(page: number, write: boolean, rec: WalkRecorder | null): number {
    return this.walk1d(this.guest.pool, this.guestRoot, this.ctx.guestLevels, this.guestLeafLevel, page, write, true, rec);
  }

  override pteRead(): void {
    this.stats.ptReads++;
    if (this.ctx.trapReads) {
      this.stats.trapPtRead++;
      this.stats.cyclesVmm += this.costs.hypercallCycles;
    } else {
      this.stats.cyclesGuest += this.costs.pteAccessCycles + this.costs.m2pLookupCycles;
    }
  }

  override pteWrite(asid: number, table: number, index: number, level: number, _page: number, oldFlags: number): void {
    this.stats.ptWrites++;
    this.stats.trapPtWrite++;
    this.stats.cyclesVmm += this.costs.hypercallCycles + this.costs.pteValidateCycles;
    this.invalidateGuestEntry(asid, table, index, level, oldFlags);
  }

  override invalidatePage(asid: number, page: number): void {
    // Folded into the update hypercall (update_va_mapping with UVMF_INVLPG): no extra trap.
    this.stats.cyclesGuest += this.costs.invlpgCycles;
    this.flushTlbRange(asid, page, this.guestLeafLevel);
  }

  override flushAddressSpace(asid: number): void {
    this.stats.trapTlbFlush++;
    this.stats.cyclesVmm += this.costs.hypercallCycles;
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
  }

  override switchAddressSpace(asid: number): void {
    this.stats.cr3Switches++;
    this.stats.trapCr3Switch++;
    this.stats.cyclesVmm += this.costs.hypercallCycles;
    this.stats.cyclesGuest += this.costs.cr3SwitchCycles;
    this.setCurrent(asid);
  }

  override handleFault(_status: number, page: number, write: boolean, rec: WalkRecorder | null): void {
    this.stats.trapPageFault++;
    this.stats.cyclesVmm += this.costs.hypercallCycles;
    if (rec !== null) rec.note("the fault goes to the VMM first, which bounces it to the guest's handler");
    this.guestFault(page, write, rec);
  }

  coldWalk(): { references: number; formula: string } {
    const n = this.ctx.guestLevels - this.guestLeafLevel + 1;
    return { references: n, formula: `${n} (one reference per guest level; the entries already hold machine frames)` };
  }
}
