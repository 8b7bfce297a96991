import { describe, expect, it } from "vitest";
import { simulateTranslation } from "../../src/experiments/translation";
import { compareTranslation, compareTranslationModes, sweepTranslation } from "../../src/experiments/translation-sweep";
import { DEFAULT_TRANSLATION_COSTS } from "../../src/mmu/cost-model";

const base = { tlb: { entries: 64, ways: 4 }, workload: { kind: "uniform" as const, pages: 1024, writeFraction: 0.2 }, accesses: 20_000, warmupAccesses: 10_000, seed: 3 };

describe("program cycles: the data access counted in", () => {
  it("programCyclesPerAccess = cyclesPerAccess + the data access's cost; cycles leave it out", () => {
    const r = simulateTranslation({ ...base, mode: "shadow", guest: { unmapEvery: 200, forkEvery: 9000, forkTouchPages: 4 } });
    const t = r.totals;
    expect(DEFAULT_TRANSLATION_COSTS.dataAccessCycles).toBe(40);
    expect(t.programCycles).toBe(t.cycles + 40 * t.accesses);
    expect(t.programCyclesPerAccess).toBeCloseTo(t.cyclesPerAccess + 40, 9);
    expect(t.accesses).toBeGreaterThan(t.workloadAccesses); // fork children's accesses are program accesses too
    const cheap = simulateTranslation({ ...base, mode: "shadow", guest: { unmapEvery: 200, forkEvery: 9000, forkTouchPages: 4 }, costs: { dataAccessCycles: 5 } }).totals;
    expect(cheap.cycles).toBe(t.cycles);
    expect(cheap.programCyclesPerAccess).toBeCloseTo(t.cyclesPerAccess + 5, 9);
    expect(r.explain()).toMatch(/with the program's own data accesses \(40 cycles each\), [0-9,]+, [0-9.]+ per access\./);
  });
});

describe("overhead vs native", () => {
  it("is each row's program cycles over a native run's of the same input, less 1: native 0", () => {
    const withNative = compareTranslationModes({ ...base, modes: ["native", "shadow", "nested"], guest: { unmapEvery: 100 } });
    const rows = withNative.table.objects() as Array<Record<string, number | string>>;
    const native = withNative.results.native!.totals.programCyclesPerAccess;
    expect(rows[0].overheadVsNative).toBe(0);
    for (const r of rows.slice(1)) {
      const t = withNative.results[r.mode as "shadow" | "nested"]!.totals;
      expect(r.programCyclesPerAccess).toBe(t.programCyclesPerAccess);
      expect(r.overheadVsNative).toBeCloseTo(t.programCyclesPerAccess / native - 1, 12);
      expect(r.overheadVsNative as number).toBeGreaterThan(0);
    }
    // Without native among the modes, the reference is run alone: the same figures.
    const alone = compareTranslationModes({ ...base, modes: ["shadow", "nested"], guest: { unmapEvery: 100 } }).table.array("overheadVsNative");
    expect(alone).toEqual(rows.slice(1).map((r) => r.overheadVsNative));
    // native: false skips it.
    const none = compareTranslationModes({ ...base, modes: ["shadow"], native: false }).table.array("overheadVsNative") as number[];
    expect(Number.isNaN(none[0])).toBe(true);
  });

  it("runs one native reference per native configuration, and reuses a native setup that is one", () => {
    const totals: number[] = [];
    const progress = (done: number, total: number) => { if (done === total) totals.push(total); };
    const stc = { pwc: "stc" as const };
    // Native ignores trapReads, shadow caches, host pages and the nested TLB: one reference for these three...
    const shared = compareTranslation({ ...base, mode: "nested", ...stc }, { "nested": { nestedTlb: true, hostPageSize: "2M" }, "shadow": { mode: "shadow", shadowPolicy: "slides", shadowCacheSize: 2 }, "protected": { mode: "protected", trapReads: false } }, progress);
    // ... but not another walk cache or other guest activity: three references here.
    compareTranslation({ ...base, mode: "nested" }, { "stc": stc, "uptc": { pwc: "uptc" }, "unmaps": { ...stc, guest: { unmapEvery: 50 } } }, progress);
    // A native setup with the same configuration is the reference: none to run.
    const reused = compareTranslation({ ...base, mode: "nested", ...stc }, { "nested": {}, "native": { mode: "native" } }, progress);
    expect(totals).toEqual([3 + 1, 3 + 3, 2]);
    const nativeCycles = reused.results.native.totals.programCyclesPerAccess;
    expect(reused.table.array("overheadVsNative")).toEqual([reused.results.nested.totals.programCyclesPerAccess / nativeCycles - 1, 0]);
    // Warm, with no page-table activity, shadow (slides) and protected paging walk as native does and never
    // trap: no overhead. The nested walk costs more. (KVM's shadow would still take dirty-bit faults here.)
    expect((shared.table.array("overheadVsNative") as number[]).map((x) => Math.sign(x))).toEqual([1, 0, 0]);
  });

  it("sweeps compare each knob value with a native run of that value", () => {
    const set = (v: number) => ({ guest: { unmapEvery: v } });
    const t = sweepTranslation({ base, modes: ["shadow"], values: [0, 50], set });
    const rows = t.objects() as Array<Record<string, number>>;
    for (const r of rows) {
      const native = simulateTranslation({ ...base, ...set(r.x), mode: "native" }).totals.programCyclesPerAccess;
      expect(r.overheadVsNative).toBeCloseTo(r.programCyclesPerAccess / native - 1, 12);
    }
    expect(rows[1].overheadVsNative).toBeGreaterThan(rows[0].overheadVsNative);
  });

  it("a setup's costs and guest options merge with the base's", () => {
    const { results } = compareTranslation({ ...base, mode: "shadow", costs: { memoryReferenceCycles: 100 }, guest: { unmapEvery: 300 } }, { dear: { costs: { trapCycles: 2000 }, guest: { forkEvery: 9000 } } }, undefined, { native: false });
    const s = results.dear.settings.costs;
    expect([s.memoryReferenceCycles, s.trapCycles]).toEqual([100, 2000]);
    expect(results.dear.guestActivity).toMatchObject({ unmapEvery: 300, forkEvery: 9000 });
  });

  it("rows show whether each run was steady", () => {
    const { table } = compareTranslationModes({ ...base, modes: ["nested"], warmupAccesses: 0, accesses: 3000 });
    const [r] = table.objects() as Array<Record<string, number | boolean>>;
    expect(r.steady).toBe(false);
    expect(r.halfDifference as number).toBeLessThan(-0.1);
  });
});
