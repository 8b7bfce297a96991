/**
 * The cycle cost model. Every event the simulator counts has a price in CPU cycles; a run's
 * cycles are the sum of counts × prices, so changing a price never changes the counts.
 *
 * Defaults are round numbers for a recent x86 server core. Sources and reasoning per field
 * (≈ = a judgement from secondary sources, meant for shape, not for exact values):
 *
 * | cost                   | cycles | why |
 * |------------------------|-------:|-----|
 * | tlbHitCycles           |      1 | a TLB lookup overlaps the L1 access; charged once per access |
 * | memoryReferenceCycles  |     40 | a page-walk reference mostly hits the data caches: between an L2 hit (~14) and an L3 hit (~40–70) on Skylake (Intel Optimization Manual) (≈) |
 * | walkCacheHitCycles     |      2 | a hit in a small, fully associative page-walk cache (≈) |
 * | nestedTlbHitCycles     |      2 | a hit in the nested TLB (≈) |
 * | pteAccessCycles        |      5 | the guest kernel loading or storing a PTE that is in its L1 cache |
 * | invlpgCycles           |    150 | INVLPG on bare metal (≈, Agner Fog's instruction tables list 100–250) |
 * | cr3SwitchCycles        |    200 | MOV to CR3 with PCIDs on bare metal (≈) |
 * | guestPageFaultCycles   |   1500 | the guest kernel's page-fault handler for a minor fault, entry to return, without zeroing (≈) |
 * | trapCycles             |   1200 | a VM exit plus VM entry round trip: ≈ 1,000–1,500 cycles on Intel cores since Haswell (kvm-unit-tests vmexit; Agesen et al., USENIX ATC 2012 report older cores at thousands) |
 * | hypercallCycles        |    700 | a paravirtual hypercall (Xen PV, syscall-like transition, no VMCS save); also once per multicall batch and per pin or unpin (≈) |
 * | pteValidateCycles      |    300 | protected paging: the VMM checks a PTE write and translates P→M; Xen pays it per update, batched or not, and per entry of the tables it validates at a pin (≈) |
 * | shadowUpdateCycles     |    600 | shadow paging: the VMM decodes the trapped store, emulates it and fixes the shadow entry (≈) |
 * | hiddenFaultCycles      |   2000 | shadow paging: the VMM walks the guest table in software and fills the shadow; Adams & Agesen (ASPLOS 2006) single out hidden faults as the costliest shadow event. The KVM policy's dirty-bit fault is the same work (KVM's FNAME(page_fault) walks the guest table, sets D, makes the entry writable) (≈) |
 * | shadowSwitchCycles     |   1000 | shadow paging: finding (or building) the shadow root for a new guest CR3 (≈) |
 * | m2pLookupCycles        |     40 | protected paging without read traps: the guest reads the machine→physical table, one memory reference |
 * | unsyncCycles           |   2000 | shadow paging, KVM policy: a store to a write-protected, shadowed leaf table takes the shadow page-fault path, which unsyncs the shadow page instead of emulating the store (mmu_try_to_unsync_pages in linux arch/x86/kvm/mmu/mmu.c): the same guest-table walk and entry install as a hidden fault (≈) |
 * | resyncEntryCycles      |    200 | shadow paging, KVM policy: per stale entry brought up to date when an unsync table is resynced at INVLPG or a CR3 switch (sync_spte: read the guest PTE, translate P→M, rewrite the shadow entry; a few cache misses) (≈). KVM's kvm_sync_page visits every present entry of the page; charging only the changed ones is a lower bound |
 * | unshadowCycles         |   1000 | shadow paging, KVM policy: write-flood detection zaps a shadow page (kvm_mmu_prepare_zap_page + commit: unlink it from its parent, free its children, flush the TLB) (≈) |
 * | eptViolationCycles     |   3000 | nested paging, lazy host backing: the host's work on an EPT/NPT violation for an unbacked gPA, beyond the exit itself: memslot lookup, a host page fault to allocate the page (get_user_pages), the EPT entry (≈) |
 * | hostPageZeroCycles     |    400 | nested paging, lazy host backing: zeroing 4 KiB of a newly backed host page (clear_page with rep stosb runs at ≈ 10 bytes/cycle); a 2 MiB host page pays it 512 times (≈) |
 * | dataAccessCycles       |     40 | the program's own load or store, once per access: not part of any mode's `cycles`; experiments add it for program cycles and overhead vs native. Priced as a walk reference (between an L2 and an L3 hit, Intel Optimization Manual), as the synthetic workloads scatter their data as widely as their PTEs; a cache-friendly trace mostly hits L1 (4–5 cycles), so lower it there (≈) |
 *
 * The trap, hypercall and VMM-work costs are charged on top of each other: a shadow PT write
 * costs `trapCycles + shadowUpdateCycles`, a hidden fault `trapCycles + hiddenFaultCycles`, an
 * unsync `trapCycles + unsyncCycles` (then the store itself, `pteAccessCycles`), an EPT violation
 * `trapCycles + eptViolationCycles + hostPageZeroCycles × 4 KiB frames per host page`; a
 * multicall `hypercallCycles` once plus `pteValidateCycles` per update it carries.
 */
import { MemvirtError, pathJoin } from "../util/errors";

/** Prices in cycles; see the table at the top of this file. */
export interface CostModel {
  tlbHitCycles: number;
  memoryReferenceCycles: number;
  walkCacheHitCycles: number;
  nestedTlbHitCycles: number;
  pteAccessCycles: number;
  invlpgCycles: number;
  cr3SwitchCycles: number;
  guestPageFaultCycles: number;
  trapCycles: number;
  hypercallCycles: number;
  pteValidateCycles: number;
  shadowUpdateCycles: number;
  hiddenFaultCycles: number;
  shadowSwitchCycles: number;
  m2pLookupCycles: number;
  unsyncCycles: number;
  resyncEntryCycles: number;
  unshadowCycles: number;
  eptViolationCycles: number;
  hostPageZeroCycles: number;
  /** The data access itself; the Mmu never charges it (see the table above). */
  dataAccessCycles: number;
}

/** The documented defaults. */
export const DEFAULT_TRANSLATION_COSTS: Readonly<CostModel> = Object.freeze({
  tlbHitCycles: 1,
  memoryReferenceCycles: 40,
  walkCacheHitCycles: 2,
  nestedTlbHitCycles: 2,
  pteAccessCycles: 5,
  invlpgCycles: 150,
  cr3SwitchCycles: 200,
  guestPageFaultCycles: 1500,
  trapCycles: 1200,
  hypercallCycles: 700,
  pteValidateCycles: 300,
  shadowUpdateCycles: 600,
  hiddenFaultCycles: 2000,
  shadowSwitchCycles: 1000,
  m2pLookupCycles: 40,
  unsyncCycles: 2000,
  resyncEntryCycles: 200,
  unshadowCycles: 1000,
  eptViolationCycles: 3000,
  hostPageZeroCycles: 400,
  dataAccessCycles: 40,
});

/**
 * Defaults with the user's overrides applied; unknown names and bad values are rejected with
 * their path.
 *
 * @internal
 * @example
 * resolveTranslationCosts({ trapCycles: 2000 }).trapCycles // 2000
 */
export function resolveTranslationCosts(overrides: Partial<CostModel> | undefined, where = "costs"): CostModel {
  const costs: CostModel = { ...DEFAULT_TRANSLATION_COSTS };
  if (overrides === undefined) return costs;
  if (typeof overrides !== "object" || overrides === null) throw new MemvirtError("expected an object of cycle costs", { where, value: overrides });
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in DEFAULT_TRANSLATION_COSTS)) {
      throw new MemvirtError(`unknown cost (known: ${Object.keys(DEFAULT_TRANSLATION_COSTS).join(", ")})`, { where: pathJoin(where, name), value: name });
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new MemvirtError("a cost must be a non-negative number of cycles", { where: pathJoin(where, name), value });
    }
    (costs as unknown as Record<string, number>)[name] = value;
  }
  return costs;
}
