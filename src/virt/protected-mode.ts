/**
 * Protected page tables: paravirtual direct paging, as in Xen PV.
 *
 *   guest page table (read-only to the guest) holds MACHINE frames
 *   guest wants PTE := P frame  ──trap/hypercall──▶ VMM validates, writes M = p2m(P)
 *   guest reads a PTE           ──trap (switch)──▶ VMM returns P = m2p(M)
 *                               (or, as real Xen allows, the guest reads the M→P table itself)
 *
 * The MMU walks the guest's own table: one reference per level, at machine addresses. CR3
 * switches and TLB flushes are hypercalls; guest page faults are bounced to the guest by the
 * VMM; INVLPG is folded into the update hypercall.
 *
 * `pvPolicy: "slides"`, the slides' model: every page-table write is a hypercall; reads trap
 * when `trapReads` is on (default), else cost one extra memory reference into the M→P table.
 *
 * `pvPolicy: "xen"` (the default), what Xen PV and its Linux guests do (xen arch/x86/mm.c, linux
 * arch/x86/xen/mmu_pv.c and multicalls.c):
 * - Reads go through the read-only M→P table: one memory reference, never a trap.
 * - Tables are pinned (MMUEXT_PIN_L4_TABLE) before the address space first runs: the VMM then
 *   validates every present entry (`validatedEntries`, `pteValidateCycles` each) in one
 *   hypercall (`pin` trap). Until then they are ordinary guest pages, written directly
 *   (`directPtWrites`): a fork child's copied tables cost nothing until the pin. Before tearing
 *   an address space down the guest unpins it (one `pin` hypercall), so exit and exec write
 *   directly too; after exec the empty root serves the new image and is pinned again.
 * - Updates of pinned tables inside a lazy-MMU section (fork's write-protection of the parent,
 *   munmap, mprotect) are queued and sent as multicalls, one hypercall (`multicall` trap) per
 *   32 updates (`batchedPtWrites`) and at the section's end: Linux's multicall buffer holds 32
 *   entries and 512 bytes of arguments, 32 16-byte mmu_update requests (MC_BATCH, MC_ARGS in
 *   multicalls.c). Each update is still validated (`pteValidateCycles`).
 * - Other updates of pinned tables (a demand fault, a copy-on-write break) are one mmu_update
 *   hypercall each, as under "slides".
 * Simplifications: pinning is per address space (Linux pins every table of an mm together);
 * unpinning is charged one hypercall, not per entry; Linux's fork write-protects the parent's
 * PTEs with a plain store that Xen's writable-page-table emulation traps, which the model
 * treats as a queued update.
 *
 * Large guest pages need machine-contiguous backing, so the guest page size may not exceed the
 * host page size (Xen PV superpages have the same rule).
 */
import { MemvirtError } from "../util/errors";
import { leafLevelOf } from "../mmu/page-size";
import { PTE_LARGE, PTE_PRESENT } from "../mmu/pte";
import type { WalkRecorder } from "../mmu/walk-recorder";
import { ModeBase, type ModeContext } from "./translation-mode";

/**
 * Page-table updates per multicall (Linux's MC_BATCH; see the top of this file).
 * @internal
 */
export const MULTICALL_BATCH = 32;

/**
 * @internal
 * @example
 * const mmu = new Mmu({ mode: "protected", pvPolicy: "slides", trapReads: false });
 */
export class ProtectedMode extends ModeBase {
  readonly name = "protected" as const;
  private readonly xen: boolean;
  /** Xen policy: address spaces whose tables are pinned (validated, read-only to the guest). */
  private readonly pinned = new Set<number>();
  /** Xen policy: open lazy-MMU sections, and updates queued for the next multicall. */
  private lazyDepth = 0;
  private queued = 0;

  constructor(ctx: ModeContext) {
    if (leafLevelOf(ctx.guestPageSize) > leafLevelOf(ctx.hostPageSize)) {
      throw new MemvirtError(`protected paging maps guest pages to machine frames directly, so a ${ctx.guestPageSize} guest page needs ${ctx.guestPageSize} host pages`, { where: "guestPageSize", value: ctx.guestPageSize });
    }
    super(ctx, ctx.guest.leafLevel);
    this.xen = ctx.pvPolicy === "xen";
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
    const stats = this.stats;
    const costs = this.costs;
    stats.ptWrites++;
    if (this.xen && !this.pinned.has(asid)) {
      // An unpinned table is an ordinary page: a plain store, validated when it is pinned.
      stats.directPtWrites++;
      stats.cyclesGuest += costs.pteAccessCycles;
    } else if (this.xen && this.lazyDepth > 0) {
      stats.batchedPtWrites++;
      stats.cyclesGuest += costs.pteAccessCycles;
      stats.cyclesVmm += costs.pteValidateCycles;
      if (++this.queued === MULTICALL_BATCH) this.issueMulticall();
    } else {
      stats.trapPtWrite++;
      stats.cyclesVmm += costs.hypercallCycles + costs.pteValidateCycles;
    }
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
    // Xen runs only validated tables: a new address space is pinned before its first run.
    if (this.xen && !this.pinned.has(asid)) this.pin(asid);
    this.stats.cr3Switches++;
    this.stats.trapCr3Switch++;
    this.stats.cyclesVmm += this.costs.hypercallCycles;
    this.stats.cyclesGuest += this.costs.cr3SwitchCycles;
    this.setCurrent(asid);
  }

  override destroyAddressSpace(asid: number): void {
    super.destroyAddressSpace(asid);
    this.pinned.delete(asid);
  }

  override enterLazyMmu(_asid: number): void {
    this.lazyDepth++;
  }

  override leaveLazyMmu(_asid: number): void {
    if (this.lazyDepth > 0 && --this.lazyDepth === 0 && this.queued > 0) this.issueMulticall();
  }

  override beginTeardown(asid: number): void {
    if (!this.xen || !this.pinned.has(asid)) return;
    // MMUEXT_UNPIN_TABLE: the tables become ordinary pages, torn down with plain stores.
    this.pinned.delete(asid);
    this.stats.trapPin++;
    this.stats.cyclesVmm += this.costs.hypercallCycles;
  }

  override endTeardown(asid: number): void {
    // After exec the running process's empty root serves the new image: pinned again.
    if (this.xen && asid === this.asid && !this.pinned.has(asid)) this.pin(asid);
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

  /** One multicall carries the queued updates (each validated when it was queued). */
  private issueMulticall(): void {
    this.queued = 0;
    this.stats.trapMulticall++;
    this.stats.cyclesVmm += this.costs.hypercallCycles;
  }

  /** MMUEXT_PIN_L4_TABLE: one hypercall that validates every present entry of `asid`'s tables. */
  private pin(asid: number): void {
    const entries = this.presentEntries(this.guest.tableOf(asid).root);
    this.pinned.add(asid);
    this.stats.trapPin++;
    this.stats.validatedEntries += entries;
    this.stats.cyclesVmm += this.costs.hypercallCycles + entries * this.costs.pteValidateCycles;
  }

  /** Present entries in `table` and the tables below it. */
  private presentEntries(table: number): number {
    const pool = this.guest.pool;
    let n = pool.tablePresent[table];
    if (pool.tableLevel[table] === 1) return n;
    for (let i = 0; i < 512; i++) {
      const e = table * 512 + i;
      if ((pool.flags[e] & PTE_PRESENT) !== 0 && (pool.flags[e] & PTE_LARGE) === 0 && pool.child[e] >= 0) n += this.presentEntries(pool.child[e]);
    }
    return n;
  }
}
