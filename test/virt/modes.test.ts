import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Mmu, type MmuOptions } from "../../src/virt/mmu";
import { MODE_NAMES, type ModeName } from "../../src/virt/mode-name";
import { READ, WRITE } from "../../src/workloads/workload";
import { leafLevelOf, type PageSize } from "../../src/mmu/page-size";
import { forkExecBurst, hardwareArb } from "./helpers";
import { DEFAULT_TRANSLATION_COSTS, type CostModel } from "../../src/mmu/cost-model";
import type { TranslationCounts } from "../../src/virt/translation-stats";

type Op =
  | { op: "access"; page: number; write: boolean }
  | { op: "unmap"; page: number }
  | { op: "burst"; touches: number[] }
  | { op: "spawn" }
  | { op: "switch"; to: number };

const pageArb = fc.integer({ min: 0, max: 60 }).map((i) => (i % 5) * 0x80000 + (i % 37) * 97 + (i >> 3));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constant("access" as const), page: pageArb, write: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("unmap" as const), page: pageArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("burst" as const), touches: fc.array(pageArb, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: "spawn" as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("switch" as const), to: fc.integer({ min: 0, max: 3 }) }) },
);

/** Apply one guest-level operation; returns the machine frames of the accesses it made. */
function apply(mmu: Mmu, op: Op, procs: number[]): number[] {
  const g = mmu.guest;
  switch (op.op) {
    case "access": return [mmu.accessPage(op.page, op.write ? WRITE : READ)];
    case "unmap": g.unmapPage(g.current, op.page); return [];
    case "spawn": if (procs.length < 4) procs.push(g.createProcess()); return [];
    case "switch": g.switchTo(procs[op.to % procs.length]); return [];
    case "burst": return forkExecBurst(mmu, op.touches);
  }
}

const settingsArb = fc.record(hardwareArb);

describe("all modes map every gVA to the same machine address", () => {
  it("native, protected, shadow and nested agree access by access (fast-check over guest activity)", () => {
    fc.assert(fc.property(settingsArb, fc.array(opArb, { minLength: 30, maxLength: 120 }), (s, ops) => {
      const modes = MODE_NAMES.filter((m) => m !== "protected" || leafLevelOf(s.guestPageSize) <= leafLevelOf(s.hostPageSize));
      // The slides' variants, whose read trapping is a switch (policies.test.ts compares the variants).
      const base: MmuOptions = { ...s, shadowPolicy: "slides", pvPolicy: "slides", guestMemory: "48 MiB", guestPageTableFrames: 512, tlb: { entries: 16, ways: 4 } };
      // identity P→M: every mode must return exactly native's frame
      const identity = modes.map((mode) => new Mmu({ ...base, mode, p2m: "identity" }));
      // scattered P→M: every virtualized mode must return p2m(native frame)
      const scattered = modes.filter((m) => m !== "native").map((mode) => new Mmu({ ...base, mode, seed: 7 }));
      const all = [...identity, ...scattered];
      const procs = all.map(() => [1]);
      for (const op of ops) {
        const frames = all.map((mmu, i) => apply(mmu, op, procs[i]));
        const native = frames[0];
        for (let i = 1; i < identity.length; i++) expect(frames[i], `${modes[i]} (identity) after ${JSON.stringify(op)}`).toEqual(native);
        for (let j = 0; j < scattered.length; j++) {
          expect(frames[identity.length + j], `${scattered[j].settings.mode} (scattered)`).toEqual(native.map((f) => scattered[j].vm.p2m(f)));
        }
      }
      // They differ only in cost: the guest saw the same faults and made the same PT updates.
      const counts = all.map((m) => m.counts());
      for (const c of counts) {
        expect(c.accesses).toBe(counts[0].accesses);
        expect(c.guestPageFaults).toBe(counts[0].guestPageFaults);
        expect(c.ptWrites).toBe(counts[0].ptWrites);
      }
      return true;
    }), { numRuns: 40 });
  });
});

/**
 * A run of guest activity with page-table churn, the same for every mode, under the slides'
 * variants (every page-table write traps; the host backed the VM up front): policies.test.ts
 * covers KVM's, Xen's and lazy backing.
 */
function churn(mode: ModeName, extra: MmuOptions = {}): Mmu {
  const mmu = new Mmu({ mode, shadowPolicy: "slides", pvPolicy: "slides", hostBacking: "eager", guestMemory: "64 MiB", tlb: { entries: 64, ways: 4 }, ...extra });
  const g = mmu.guest;
  const second = g.createProcess();
  for (let round = 0; round < 5; round++) {
    for (let p = 0; p < 200; p++) mmu.accessPage(p * 3, p % 4 === 0 ? WRITE : READ);
    g.switchTo(second);
    for (let p = 0; p < 50; p++) mmu.accessPage(1000 + p, WRITE);
    g.switchTo(1);
    const child = g.fork(1);
    g.switchTo(child);
    g.exec(child);
    mmu.accessPage(5, WRITE);
    g.switchTo(1);
    g.exit(child);
    for (let p = 0; p < 20; p++) g.unmapPage(1, p * 3);
  }
  return mmu;
}

describe("mode costs", () => {
  it("native and nested take no traps; protected and shadow trap every page-table write", () => {
    const mmus = Object.fromEntries(MODE_NAMES.map((m) => [m, churn(m)]));
    const runs = Object.fromEntries(MODE_NAMES.map((m) => [m, mmus[m].counts()]));
    const guest = Object.fromEntries(MODE_NAMES.map((m) => [m, mmus[m].guest.counts]));
    expect(runs.native.traps.total).toBe(0);
    expect(runs.nested.traps.total).toBe(0);
    expect(runs.protected.traps.ptWrite).toBe(runs.protected.ptWrites);
    expect(runs.shadow.traps.ptWrite).toBe(runs.shadow.ptWrites);
    expect(runs.shadow.ptWrites).toBe(runs.native.ptWrites);
    expect(runs.shadow.traps.cr3Switch).toBe(runs.native.cr3Switches);
    // Every INVLPG and address-space flush of the guest exits; protected paging folds INVLPG
    // into the update hypercall and traps only the flushes.
    const g = guest.native;
    expect(runs.shadow.traps.tlbFlush).toBe(g.unmaps + g.cowFaults + g.forks + g.execs + g.exits);
    expect(runs.protected.traps.tlbFlush).toBe(g.forks + g.execs + g.exits);
    expect(g.unmaps + g.cowFaults).toBeGreaterThan(0);
    expect(runs.shadow.traps.pageFault).toBe(runs.native.guestPageFaults);
    // 2-D walks make more references than 1-D walks of the same misses
    expect(runs.nested.memoryReferences).toBeGreaterThan(runs.shadow.memoryReferences);
  });

  it("protected paging counts read traps separately, and read trapping is a switch", () => {
    const on = churn("protected", { trapReads: true }).counts();
    const off = churn("protected", { trapReads: false }).counts();
    expect(on.traps.ptRead).toBe(on.ptReads);
    expect(on.traps.ptRead).toBeGreaterThan(0);
    expect(off.traps.ptRead).toBe(0);
    expect(off.traps.ptWrite).toBe(on.traps.ptWrite);
    expect(on.cycles - off.cycles).toBe(on.ptReads * (DEFAULT_TRANSLATION_COSTS.hypercallCycles - DEFAULT_TRANSLATION_COSTS.pteAccessCycles - DEFAULT_TRANSLATION_COSTS.m2pLookupCycles));
  });

  it("shadow paging has hidden faults, refills after its shadow is evicted, and costs shadow memory", () => {
    const mmu = new Mmu({ mode: "shadow", shadowPolicy: "slides", shadowCacheSize: 1 });
    for (let p = 0; p < 10; p++) mmu.accessPage(p, READ);
    const c1 = mmu.counts();
    // First touch: each guest fault is reflected by the VMM. Page 0 then takes a hidden fault
    // (no shadow table yet); later pages are filled when the VMM emulates the guest's PTE write,
    // because their shadow leaf table now exists.
    expect(c1.traps.pageFault).toBe(10);
    expect(c1.hiddenFaults).toBe(1);
    expect(mmu.memory().shadowBytes).toBe(4 * 4096);
    const other = mmu.guest.createProcess();
    mmu.guest.switchTo(other); // evicts process 1's shadow (cache of 1)
    mmu.guest.switchTo(1);
    mmu.tlb.flush();
    mmu.resetStats();
    for (let p = 0; p < 10; p++) mmu.accessPage(p, READ);
    const c2 = mmu.counts();
    expect(c2.hiddenFaults).toBe(10);
    expect(c2.traps.hiddenFault).toBe(10);
    expect(c2.guestPageFaults).toBe(0);
    const kept = new Mmu({ mode: "shadow", shadowPolicy: "slides", shadowCacheSize: 2 });
    for (let p = 0; p < 10; p++) kept.accessPage(p, READ);
    const o = kept.guest.createProcess();
    kept.guest.switchTo(o);
    kept.guest.switchTo(1);
    kept.tlb.flush();
    kept.resetStats();
    for (let p = 0; p < 10; p++) kept.accessPage(p, READ);
    expect(kept.counts().hiddenFaults).toBe(0);
    kept.guest.exit(o);
    expect(kept.memory().peakShadowBytes).toBeGreaterThan(kept.memory().shadowBytes);
  });

  it("shadow paging keeps the shadow in step when the guest changes a mapping", () => {
    const mmu = new Mmu({ mode: "shadow" });
    // The guest's first data page is guest frame 256 (the first MiB is left alone, guest-memory.ts).
    const f1 = mmu.accessPage(42, WRITE);
    expect(mmu.guest.tableOf(1).lookup(42)).toBe(256);
    expect(f1).toBe(mmu.vm.p2m(256));
    mmu.guest.unmapPage(1, 42);
    // Page 43 takes the freed frame, so 42 comes back at the next one: a stale shadow entry
    // would still give f1.
    expect(mmu.accessPage(43, WRITE)).toBe(f1);
    const f2 = mmu.accessPage(42, WRITE);
    expect(mmu.guest.tableOf(1).lookup(42)).toBe(257);
    expect(f2).toBe(mmu.vm.p2m(257));
    expect(f2).not.toBe(f1);
  });

  it("cycles are the sum of every cost times its event count, and linear in each cost", () => {
    const names = Object.keys(DEFAULT_TRANSLATION_COSTS) as Array<keyof CostModel>;
    const base = Object.fromEntries(MODE_NAMES.map((m) => {
      const mmu = churn(m);
      return [m, { counts: mmu.counts(), events: costEvents(m, mmu) }];
    })) as Record<ModeName, { counts: TranslationCounts; events: Record<keyof CostModel, number> }>;
    for (const mode of MODE_NAMES) {
      const { counts, events } = base[mode];
      expect(counts.cycles, mode).toBe(names.reduce((sum, name) => sum + DEFAULT_TRANSLATION_COSTS[name] * events[name], 0));
    }
    fc.assert(fc.property(fc.constantFrom(...MODE_NAMES), fc.constantFrom(...names), fc.integer({ min: 1, max: 1000 }), (mode, name, d) => {
      const a = base[mode].counts;
      const b = churn(mode, { costs: { [name]: DEFAULT_TRANSLATION_COSTS[name] + d } }).counts();
      expect(b.cycles - a.cycles, `${mode} ${name}`).toBe(d * base[mode].events[name]);
      // structure never changes with prices
      return b.memoryReferences === a.memoryReferences && b.traps.total === a.traps.total;
    }), { numRuns: 25 });
  });

  it("a guest page-table write drops the walk cache's copy of that entry", () => {
    const mmu = new Mmu({ mode: "native", pwc: { design: "uptc", cacheLeaves: true }, tlb: { entries: 4, ways: 4 } });
    mmu.accessPage(42, READ);
    mmu.guest.unmapPage(1, 42);
    // L4..L2 from the cache; the leaf is read twice from memory (not present, then remapped):
    // a stale cached leaf would answer the second read.
    const r = mmu.access(42 * 4096, "read");
    expect([r.guestPageFaults, r.walkCacheHits, r.memoryReferences]).toEqual([1, 6, 2]);
  });
});

/**
 * An independent model of the cost accounting: how many times each cost is paid, from the
 * counters and the guest kernel's own counts (what each mode charges, cost-model.ts).
 */
function costEvents(mode: ModeName, mmu: Mmu): Record<keyof CostModel, number> {
  const c = mmu.counts();
  const g = mmu.guest.counts;
  const invalidations = g.unmaps + g.cowFaults; // INVLPG after an unmap or a copy-on-write
  const flushes = g.forks + g.execs + g.exits; // address-space flushes
  const zero = Object.fromEntries(Object.keys(DEFAULT_TRANSLATION_COSTS).map((k) => [k, 0])) as Record<keyof CostModel, number>;
  const common = { ...zero, tlbHitCycles: c.accesses, memoryReferenceCycles: c.memoryReferences, walkCacheHitCycles: c.walkCacheHits, nestedTlbHitCycles: c.nestedTlbHits, guestPageFaultCycles: c.guestPageFaults };
  if (mode === "native" || mode === "nested") {
    return { ...common, pteAccessCycles: c.ptReads + c.ptWrites, invlpgCycles: invalidations + flushes, cr3SwitchCycles: c.cr3Switches };
  }
  if (mode === "protected") {
    const trapReads = mmu.settings.trapReads;
    return {
      ...common, hypercallCycles: c.traps.total, pteValidateCycles: c.ptWrites, invlpgCycles: invalidations, cr3SwitchCycles: c.cr3Switches,
      pteAccessCycles: trapReads ? 0 : c.ptReads, m2pLookupCycles: trapReads ? 0 : c.ptReads,
    };
  }
  return { ...common, trapCycles: c.traps.total, shadowUpdateCycles: c.ptWrites, hiddenFaultCycles: c.hiddenFaults, shadowSwitchCycles: c.traps.cr3Switch, pteAccessCycles: c.ptReads };
}
