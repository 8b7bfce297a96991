import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Mmu, type MmuOptions } from "../../src/virt/mmu";
import { READ, WRITE } from "../../src/workloads/workload";
import { DEFAULT_TRANSLATION_COSTS, type CostModel } from "../../src/mmu/cost-model";
import { framesPerPage } from "../../src/mmu/page-size";

/**
 * What KVM's shadow MMU, Xen PV and lazy host backing charge: cycles are the sum of every price
 * times an independently counted number of events, and linear in each price; every page-table
 * write is accounted for exactly once (trapped, batched or a plain store).
 */

type Variant = "shadow kvm" | "protected xen" | "nested lazy 4K" | "nested lazy 2M";
const VARIANTS: Record<Variant, MmuOptions> = {
  "shadow kvm": { mode: "shadow", shadowPolicy: "kvm" },
  "protected xen": { mode: "protected", pvPolicy: "xen" },
  "nested lazy 4K": { mode: "nested", hostBacking: "lazy" },
  "nested lazy 2M": { mode: "nested", hostBacking: "lazy", hostPageSize: "2M" },
};

/** Guest activity with forks, execs, exits, unmaps and mprotects; returns the Mmu and its INVLPGs from mprotect. */
function churn(options: MmuOptions): { mmu: Mmu; protectInvlpgs: number } {
  const mmu = new Mmu({ guestMemory: "64 MiB", tlb: { entries: 64, ways: 4 }, ...options });
  const g = mmu.guest;
  const second = g.createProcess();
  let protectInvlpgs = 0;
  for (let round = 0; round < 4; round++) {
    for (let p = 0; p < 300; p++) mmu.accessPage(p * 3, p % 4 === 0 ? WRITE : READ);
    for (let p = 1; p < 300; p += 16) mmu.accessPage(p * 3, WRITE); // stores to pages read so far
    g.switchTo(second);
    for (let p = 0; p < 50; p++) mmu.accessPage(1000 + p * 700, WRITE);
    g.switchTo(1);
    const child = g.fork(1);
    g.switchTo(child);
    mmu.accessPage(7, WRITE); // copy-on-write in the child
    g.exec(child);
    mmu.accessPage(5, WRITE);
    g.switchTo(1);
    g.exit(child);
    // A short-lived process over 8 leaf tables: its exit floods its L2 table.
    const brief = g.createProcess();
    g.switchTo(brief);
    for (let t = 0; t < 8; t++) mmu.accessPage(0x40000 + t * 512, WRITE);
    g.switchTo(1);
    g.exit(brief);
    // mprotect of 30 pages (one INVLPG each, 30 ≤ 33), read-only and back.
    for (const writable of [false, true]) if (g.protectRange(1, 300, 30, writable) > 0) protectInvlpgs += 30;
    for (let p = 0; p < 20; p++) g.unmapPage(1, p * 3);
  }
  return { mmu, protectInvlpgs };
}

/** How many times each price is paid, from the counters and the guest kernel's own counts. */
function costEvents(variant: Variant, mmu: Mmu, protectInvlpgs: number): Record<keyof CostModel, number> {
  const c = mmu.counts();
  const g = mmu.guest.counts;
  const invalidations = g.unmaps + g.cowFaults + protectInvlpgs;
  const flushes = g.forks + g.execs + g.exits;
  const zero = Object.fromEntries(Object.keys(DEFAULT_TRANSLATION_COSTS).map((k) => [k, 0])) as Record<keyof CostModel, number>;
  const common = { ...zero, tlbHitCycles: c.accesses, memoryReferenceCycles: c.memoryReferences, walkCacheHitCycles: c.walkCacheHits, nestedTlbHitCycles: c.nestedTlbHits, guestPageFaultCycles: c.guestPageFaults };
  if (variant === "shadow kvm") {
    return {
      ...common, trapCycles: c.traps.total, shadowUpdateCycles: c.traps.ptWrite, hiddenFaultCycles: c.hiddenFaults, shadowSwitchCycles: c.traps.cr3Switch,
      unsyncCycles: c.traps.unsync, resyncEntryCycles: c.resyncedEntries, unshadowCycles: c.unshadowedTables, pteAccessCycles: c.ptReads + c.directPtWrites,
    };
  }
  if (variant === "protected xen") {
    return {
      ...common, hypercallCycles: c.traps.total, pteValidateCycles: c.traps.ptWrite + c.batchedPtWrites + c.validatedEntries,
      pteAccessCycles: c.ptReads + c.directPtWrites + c.batchedPtWrites, m2pLookupCycles: c.ptReads, invlpgCycles: invalidations, cr3SwitchCycles: c.cr3Switches,
    };
  }
  const zeroed = c.traps.eptViolation * framesPerPage(mmu.settings.hostPageSize);
  return {
    ...common, pteAccessCycles: c.ptReads + c.ptWrites, invlpgCycles: invalidations + flushes, cr3SwitchCycles: c.cr3Switches,
    trapCycles: c.traps.eptViolation, eptViolationCycles: c.traps.eptViolation, hostPageZeroCycles: zeroed,
  };
}

describe("costs of KVM's shadow MMU, Xen PV and lazy host backing", () => {
  const names = Object.keys(DEFAULT_TRANSLATION_COSTS) as Array<keyof CostModel>;
  const variants = Object.keys(VARIANTS) as Variant[];
  const base = Object.fromEntries(variants.map((v) => {
    const { mmu, protectInvlpgs } = churn(VARIANTS[v]);
    return [v, { counts: mmu.counts(), events: costEvents(v, mmu, protectInvlpgs) }];
  })) as Record<Variant, { counts: ReturnType<Mmu["counts"]>; events: Record<keyof CostModel, number> }>;

  it("every new event happened in the churn (so the model below is exercised)", () => {
    const k = base["shadow kvm"].counts;
    const positive = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, n > 0]));
    expect(positive({ unsync: k.traps.unsync, dirtyBit: k.traps.dirtyBit, resynced: k.resyncedEntries, unshadowed: k.unshadowedTables, direct: k.directPtWrites, emulated: k.traps.ptWrite }))
      .toEqual({ unsync: true, dirtyBit: true, resynced: true, unshadowed: true, direct: true, emulated: true });
    const x = base["protected xen"].counts;
    expect(positive({ multicall: x.traps.multicall, pin: x.traps.pin, batched: x.batchedPtWrites, direct: x.directPtWrites, validated: x.validatedEntries, single: x.traps.ptWrite }))
      .toEqual({ multicall: true, pin: true, batched: true, direct: true, validated: true, single: true });
    expect(x.traps.ptRead).toBe(0);
    expect(base["nested lazy 4K"].counts.traps.eptViolation).toBeGreaterThan(base["nested lazy 2M"].counts.traps.eptViolation);
    expect(base["nested lazy 2M"].counts.traps.eptViolation).toBeGreaterThan(0);
  });

  it("every guest page-table write is trapped, batched or a plain store, exactly once", () => {
    const k = base["shadow kvm"].counts;
    expect(k.traps.ptWrite + k.directPtWrites).toBe(k.ptWrites);
    const x = base["protected xen"].counts;
    expect(x.traps.ptWrite + x.batchedPtWrites + x.directPtWrites).toBe(x.ptWrites);
    expect(Math.ceil(x.batchedPtWrites / 32)).toBeLessThanOrEqual(x.traps.multicall);
  });

  it("cycles are the sum of every cost times its event count, and linear in each cost", () => {
    for (const v of variants) {
      const { counts, events } = base[v];
      expect(counts.cycles, v).toBe(names.reduce((sum, name) => sum + DEFAULT_TRANSLATION_COSTS[name] * events[name], 0));
    }
    const linear = (v: Variant, name: keyof CostModel, d: number) => {
      const a = base[v].counts;
      const b = churn({ ...VARIANTS[v], costs: { [name]: DEFAULT_TRANSLATION_COSTS[name] + d } }).mmu.counts();
      expect(b.cycles - a.cycles, `${v} ${name}`).toBe(d * base[v].events[name]);
      return b.memoryReferences === a.memoryReferences && b.traps.total === a.traps.total;
    };
    // Every price a variant pays, one by one (a price charged for the wrong event fails here)...
    for (const v of variants) for (const name of names) if (base[v].events[name] > 0) expect(linear(v, name, 7)).toBe(true);
    // ...and a sample of the rest, which must not move the cycles at all.
    fc.assert(fc.property(fc.constantFrom(...variants), fc.constantFrom(...names), fc.integer({ min: 1, max: 1000 }), linear), { numRuns: 10 });
  });
});
