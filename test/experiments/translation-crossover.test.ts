import { describe, expect, it } from "vitest";
import * as aq from "arquero";
import { crossoverTable, findCrossover, sweepTranslation } from "../../src/experiments/translation-sweep";

const small = { pwc: "stc" as const, nestedTlb: true, seed: 7, workload: { kind: "uniform" as const, pages: 1024, writeFraction: 0.2 }, accesses: 20_000, warmupAccesses: 30_000 };
const tlb = (entries: number) => ({ tlb: { entries, ways: 12 } });

describe("crossovers per TLB miss", () => {
  it("findCrossover on a per-miss axis matches a hand computation, walking the axis, not the knob", () => {
    // A sweep of unmap intervals: 0 (never) then 25, 50, 100. The knob runs against the writes it causes.
    const t = aq.from([
      { x: 0, mode: "shadow", ptWritesPer1kMisses: 0, cyclesPerAccess: 10 }, { x: 0, mode: "nested", ptWritesPer1kMisses: 0, cyclesPerAccess: 20 },
      { x: 25, mode: "shadow", ptWritesPer1kMisses: 80, cyclesPerAccess: 400 }, { x: 25, mode: "nested", ptWritesPer1kMisses: 80, cyclesPerAccess: 100 },
      { x: 50, mode: "shadow", ptWritesPer1kMisses: 40, cyclesPerAccess: 150 }, { x: 50, mode: "nested", ptWritesPer1kMisses: 40, cyclesPerAccess: 60 },
      { x: 100, mode: "shadow", ptWritesPer1kMisses: 20, cyclesPerAccess: 60 }, { x: 100, mode: "nested", ptWritesPer1kMisses: 22, cyclesPerAccess: 40 },
    ]);
    // Along the axis: (0, −10) then (21, +20), 21 being the two modes' mean: 0 + 21 × 10 / 30 = 7.
    // Taking the knob's order would interpolate from x = 0 to x = 25 instead: 80 × 10 / 310 ≈ 2.58.
    expect(findCrossover(t, { x: "ptWritesPer1kMisses", y: "cyclesPerAccess", a: "shadow", b: "nested" })).toBeCloseTo(7, 12);
    // Rows pair by knob value: a row of one mode with no partner is left out.
    const extra = t.concat(aq.from([{ x: 10, mode: "shadow", ptWritesPer1kMisses: 5, cyclesPerAccess: 1000 }]));
    expect(findCrossover(extra, { x: "ptWritesPer1kMisses", y: "cyclesPerAccess", a: "shadow", b: "nested" })).toBeCloseTo(7, 12);
    // Without a knob column, rows pair in order along the axis.
    const bare = t.select(aq.not("x"));
    expect(findCrossover(bare, { x: "ptWritesPer1kMisses", y: "cyclesPerAccess", a: "shadow", b: "nested" })).toBeCloseTo(7, 12);
  });

  it("sweep rows carry page-table writes per 1,000 TLB misses", () => {
    const t = sweepTranslation({ base: { ...small, ...tlb(384) }, modes: ["shadow"], values: [100], set: (v) => ({ guest: { unmapEvery: v } }), native: false });
    const [r] = t.objects() as Array<Record<string, number>>;
    // per 1k misses = per 1k accesses / miss rate
    expect(r.ptWritesPer1kMisses).toBeCloseTo(r.ptWritesPer1k / r.tlbMissRate, 9);
    expect(r.ptWritesPer1kMisses).toBeGreaterThan(r.ptWritesPer1k);
  });

  it("stated per miss, the shadow/nested crossover no longer depends on the workload's TLB miss rate", () => {
    // The slides' shadow paging: a fixed price per write, so the per-miss crossover is exact (KVM's is close).
    const at = (entries: number) => crossoverTable({ base: { ...small, ...tlb(entries) }, a: { mode: "shadow", shadowPolicy: "slides" }, hostPageSizes: ["4K"], values: [0, 1000, 100] }).objects()[0] as Record<string, number>;
    const starved = at(48);
    const roomy = at(768);
    expect(starved.tlbMissRate).toBeGreaterThan(3 * roomy.tlbMissRate);
    // Per access the crossover moves with the miss rate (≈ 13.7 vs 3.6); per miss it stays (≈ 14.4).
    expect(starved.crossoverPtWritesPer1k / roomy.crossoverPtWritesPer1k).toBeGreaterThan(3);
    expect(Math.abs(starved.crossoverPtWritesPer1kMisses / roomy.crossoverPtWritesPer1kMisses - 1)).toBeLessThan(0.02);
  });

  it("crossoverTable: one row per host page size × trap cost, each the crossover of its own sweep", () => {
    const values = [0, 1000, 100];
    const t = crossoverTable({ base: { ...small, ...tlb(384), costs: { memoryReferenceCycles: 40 } }, hostPageSizes: ["4K", "2M"], trapCycles: [1200, 2400], values });
    const rows = t.objects() as Array<Record<string, number | string>>;
    expect(rows.map((r) => [r.hostPageSize, r.trapCycles])).toEqual([["4K", 1200], ["4K", 2400], ["2M", 1200], ["2M", 2400]]);
    // The row for 2M pages and 2,400-cycle exits is the crossover of that sweep.
    const sweep = sweepTranslation({
      base: { ...small, ...tlb(384), hostPageSize: "2M", costs: { trapCycles: 2400 } }, values, set: (v) => ({ guest: { unmapEvery: v } }), native: false,
      setups: { shadow: { mode: "shadow" }, nested: { mode: "nested" } },
    });
    expect(rows[3].crossoverPtWritesPer1kMisses).toBe(findCrossover(sweep, { x: "ptWritesPer1kMisses", y: "cyclesPerAccess", a: "shadow", b: "nested", mode: "setup" }));
    expect(rows[3].crossoverPtWritesPer1k).toBe(findCrossover(sweep, { x: "ptWritesPer1k", y: "cyclesPerAccess", a: "shadow", b: "nested", mode: "setup" }));
    const x = (i: number) => rows[i].crossoverPtWritesPer1kMisses as number;
    // Dearer exits make shadow paging's writes dearer: the crossover comes at fewer writes.
    expect(x(1)).toBeLessThan(0.8 * x(0));
    expect(x(3)).toBeLessThan(0.8 * x(2));
    // 2 MiB host pages shorten the nested walk (one reference per miss here, against two): far fewer writes.
    expect(rows[2].referencesPerMiss).toBeLessThan(rows[0].referencesPerMiss as number);
    expect(x(2)).toBeLessThan(0.1 * x(0));
  });

  it("refuses bad settings naming them", () => {
    expect(() => crossoverTable({ base: small, hostPageSizes: [] })).toThrow(/hostPageSizes: expected a non-empty array/);
    expect(() => crossoverTable({ base: small, trapCycles: [] })).toThrow(/trapCycles: expected a non-empty array/);
    expect(() => crossoverTable({ base: small, a: { mode: "hybrid" as never } })).toThrow(/^a\.mode: expected a mode/);
  });
});
