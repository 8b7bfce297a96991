/**
 * Counters of a translation run. One mutable object per Mmu; the hot path bumps plain number
 * fields (no allocation). `snapshot()` copies them into a plain `TranslationCounts` object, and
 * `diffCounts` subtracts two snapshots (e.g. for one access, or one interval).
 *
 * Cycles are kept in three buckets, whose sum is `cycles`:
 *   translation  TLB lookups, walk references, walk-cache and nested-TLB hits: computed from
 *                the counts and the prices at snapshot time (the per-access path only counts)
 *   guest        the guest kernel's own work: fault handler, PTE loads/stores, INVLPG, CR3
 *   vmm          traps, hypercalls and the VMM's work behind them
 */

import type { CostModel } from "../mmu/cost-model";

/** Traps to the VMM by cause. */
export interface TrapCounts {
  /** Guest page-table writes (shadow: write-protection fault; protected: hypercall). */
  ptWrite: number;
  /** Guest page-table reads (protected paging with read trapping on). */
  ptRead: number;
  /** Guest page faults that pass through the VMM first (shadow, protected). */
  pageFault: number;
  /** Hidden (shadow) page faults: the guest mapping exists, the shadow entry does not yet. */
  hiddenFault: number;
  /** Address-space switches (MOV CR3 exits, new_baseptr hypercalls). */
  cr3Switch: number;
  /** TLB invalidations (INVLPG exits, TLB-flush hypercalls). */
  tlbFlush: number;
  /**
   * Shadow paging, KVM policy: the first write to a shadowed, in-sync leaf table, which the VMM
   * answers by letting the table go out of sync (writable, resynced later) instead of emulating.
   */
  unsync: number;
  /** Shadow paging, KVM policy: the hidden fault of the first store after a read filled the entry (dirty-bit emulation). */
  dirtyBit: number;
  /** Protected paging, Xen policy: multicalls, each carrying a batch of queued page-table updates. */
  multicall: number;
  /** Protected paging, Xen policy: pin and unpin hypercalls (a pin validates every entry of the tables). */
  pin: number;
  /** Nested paging with lazy host backing: EPT/NPT violations, the first touch of a gPA the host has not backed yet. */
  eptViolation: number;
  /** All of the above. */
  total: number;
}

/** A plain copy of the counters. */
export interface TranslationCounts {
  accesses: number;
  tlbHits: number;
  tlbMisses: number;
  /** Hardware walks started (a faulting access walks again after the fault is handled). */
  walks: number;
  /** Memory references made by hardware walks (both dimensions). */
  memoryReferences: number;
  walkCacheHits: number;
  nestedTlbHits: number;
  /** Guest-visible page faults (demand paging, copy-on-write). */
  guestPageFaults: number;
  hiddenFaults: number;
  traps: TrapCounts;
  /** Guest page-table entry reads and writes by the guest OS. */
  ptReads: number;
  ptWrites: number;
  /** Guest page-table writes that were plain stores: no trap, no hypercall, nothing queued (tables nothing shadows or pins, unsync tables). */
  directPtWrites: number;
  /** Guest page-table writes queued into multicalls (Xen policy). */
  batchedPtWrites: number;
  /** Page-table entries the VMM validated when the guest pinned its tables (Xen policy). */
  validatedEntries: number;
  /** Shadow entries brought up to date from out-of-sync guest tables, at INVLPG or a CR3 switch (KVM policy). */
  resyncedEntries: number;
  /** Shadow tables dropped by write-flood detection: the guest table is no longer used as one (KVM policy). */
  unshadowedTables: number;
  cr3Switches: number;
  cyclesTranslation: number;
  cyclesGuest: number;
  cyclesVmm: number;
  cycles: number;
}

/**
 * @internal
 * @example
 * const stats = new TranslationStats(DEFAULT_TRANSLATION_COSTS);
 * stats.accesses++;
 * stats.snapshot().accesses // 1
 */
export class TranslationStats {
  /** Prices of the per-access events (translation cycles are counts × these). */
  private readonly prices: Pick<CostModel, "tlbHitCycles" | "memoryReferenceCycles" | "walkCacheHitCycles" | "nestedTlbHitCycles">;

  accesses = 0;
  tlbHits = 0;
  tlbMisses = 0;
  walks = 0;
  memoryReferences = 0;
  walkCacheHits = 0;
  nestedTlbHits = 0;
  guestPageFaults = 0;
  hiddenFaults = 0;
  trapPtWrite = 0;
  trapPtRead = 0;
  trapPageFault = 0;
  trapHiddenFault = 0;
  trapCr3Switch = 0;
  trapTlbFlush = 0;
  trapUnsync = 0;
  trapDirtyBit = 0;
  trapMulticall = 0;
  trapPin = 0;
  trapEptViolation = 0;
  ptReads = 0;
  ptWrites = 0;
  directPtWrites = 0;
  batchedPtWrites = 0;
  validatedEntries = 0;
  resyncedEntries = 0;
  unshadowedTables = 0;
  cr3Switches = 0;
  cyclesGuest = 0;
  cyclesVmm = 0;

  constructor(prices: Pick<CostModel, "tlbHitCycles" | "memoryReferenceCycles" | "walkCacheHitCycles" | "nestedTlbHitCycles">) {
    this.prices = prices;
  }

  /** Cycles spent translating: every access's TLB lookup, walk references, cache hits. */
  get cyclesTranslation(): number {
    const p = this.prices;
    return this.accesses * p.tlbHitCycles + this.memoryReferences * p.memoryReferenceCycles + this.walkCacheHits * p.walkCacheHitCycles + this.nestedTlbHits * p.nestedTlbHitCycles;
  }

  /**
   * A plain copy of the counters.
   *
   * @example
   * const before = stats.snapshot();
   */
  snapshot(): TranslationCounts {
    const traps: TrapCounts = {
      ptWrite: this.trapPtWrite,
      ptRead: this.trapPtRead,
      pageFault: this.trapPageFault,
      hiddenFault: this.trapHiddenFault,
      cr3Switch: this.trapCr3Switch,
      tlbFlush: this.trapTlbFlush,
      unsync: this.trapUnsync,
      dirtyBit: this.trapDirtyBit,
      multicall: this.trapMulticall,
      pin: this.trapPin,
      eptViolation: this.trapEptViolation,
      total: this.trapPtWrite + this.trapPtRead + this.trapPageFault + this.trapHiddenFault + this.trapCr3Switch + this.trapTlbFlush
        + this.trapUnsync + this.trapDirtyBit + this.trapMulticall + this.trapPin + this.trapEptViolation,
    };
    return {
      accesses: this.accesses,
      tlbHits: this.tlbHits,
      tlbMisses: this.tlbMisses,
      walks: this.walks,
      memoryReferences: this.memoryReferences,
      walkCacheHits: this.walkCacheHits,
      nestedTlbHits: this.nestedTlbHits,
      guestPageFaults: this.guestPageFaults,
      hiddenFaults: this.hiddenFaults,
      traps,
      ptReads: this.ptReads,
      ptWrites: this.ptWrites,
      directPtWrites: this.directPtWrites,
      batchedPtWrites: this.batchedPtWrites,
      validatedEntries: this.validatedEntries,
      resyncedEntries: this.resyncedEntries,
      unshadowedTables: this.unshadowedTables,
      cr3Switches: this.cr3Switches,
      cyclesTranslation: this.cyclesTranslation,
      cyclesGuest: this.cyclesGuest,
      cyclesVmm: this.cyclesVmm,
      cycles: this.cyclesTranslation + this.cyclesGuest + this.cyclesVmm,
    };
  }
}

/**
 * `after - before`, field by field.
 *
 * @internal
 * @example
 * diffCounts(stats.snapshot(), before).tlbMisses
 */
export function diffCounts(after: TranslationCounts, before: TranslationCounts): TranslationCounts {
  const traps = {} as TrapCounts;
  for (const k of Object.keys(after.traps) as Array<keyof TrapCounts>) traps[k] = after.traps[k] - before.traps[k];
  const out = { traps } as TranslationCounts;
  for (const k of Object.keys(after) as Array<keyof TranslationCounts>) {
    if (k !== "traps") (out as unknown as Record<string, number>)[k] = (after[k] as number) - (before[k] as number);
  }
  return out;
}
