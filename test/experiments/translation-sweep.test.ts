import { describe, expect, it } from "vitest";
import * as aq from "arquero";
import { compareTranslationModes, findCrossover, sweepTranslation } from "../../src/experiments/translation-sweep";

const base = { tlb: { entries: 64, ways: 4 }, pwc: "uptc" as const, nestedTlb: true, workload: { kind: "uniform" as const, pages: 2048 }, accesses: 40_000, warmupAccesses: 20_000 };

describe("comparing and sweeping modes", () => {
  it("compares modes on the same input: same guest work, different costs", () => {
    const { table, results } = compareTranslationModes({ ...base, guest: { unmapEvery: 200 }, modes: ["shadow", "nested"] });
    expect(table.numRows()).toBe(2);
    expect(results.shadow?.totals.ptWrites).toBe(results.nested?.totals.ptWrites);
    expect(results.shadow?.totals.cycles).not.toBe(results.nested?.totals.cycles);
    // Each row is its mode's totals, rates per 1,000 accesses.
    const rows = table.objects() as Array<Record<string, number | string>>;
    for (const r of rows) {
      const t = results[r.mode as "shadow" | "nested"]!.totals;
      expect(r.cyclesPerAccess).toBe(t.cyclesPerAccess);
      expect(r.ptWritesPer1k).toBeCloseTo((1000 * t.ptWrites) / t.accesses, 9);
      expect(r.trapsPer1k).toBeCloseTo((1000 * t.traps.total) / t.accesses, 9);
    }
    expect(rows.map((r) => r.x)).toEqual([0, 0]);
    expect(results.shadow!.totals.ptWrites).toBeGreaterThan(0);
  });

  it("finds the page-table-update rate where nested paging starts to beat shadow paging", () => {
    const table = sweepTranslation({ base, modes: ["shadow", "nested"], values: [0, 400, 100, 40, 20], set: (v) => ({ guest: { unmapEvery: v } }) });
    expect(table.numRows()).toBe(10);
    expect(table.array("x")).toEqual([0, 0, 400, 400, 100, 100, 40, 40, 20, 20]);
    const x = findCrossover(table.derive({ x: (d: { ptWritesPer1k: number }) => d.ptWritesPer1k }), { x: "ptWritesPer1k", y: "cyclesPerAccess", a: "shadow", b: "nested" });
    expect(x).not.toBeNull();
    expect(x as number).toBeGreaterThan(0);
    expect(x as number).toBeLessThan(60);
  });

  it("interpolates a crossing exactly on a synthetic table, and reports none when lines never cross", () => {
    const t = aq.from([
      { x: 0, mode: "a", cost: 1 }, { x: 10, mode: "a", cost: 3 },
      { x: 0, mode: "b", cost: 2 }, { x: 10, mode: "b", cost: 2 },
    ]);
    expect(findCrossover(t, { x: "x", y: "cost", a: "a", b: "b" })).toBeCloseTo(5);
    expect(findCrossover(t, { x: "x", y: "cost", a: "a", b: "a" })).toBe(0);
    const apart = aq.from([{ x: 0, mode: "a", cost: 1 }, { x: 1, mode: "a", cost: 1 }, { x: 0, mode: "b", cost: 2 }, { x: 1, mode: "b", cost: 2 }]);
    expect(findCrossover(apart, { x: "x", y: "cost", a: "a", b: "b" })).toBeNull();
    expect(() => compareTranslationModes({ ...base, modes: ["hybrid" as never] })).toThrow(/modes: expected a non-empty list/);
  });
});

describe("compareTranslation", () => {
  it("runs named setups on one input and tabulates them", async () => {
    const { compareTranslation } = await import("../../src/experiments/translation-sweep");
    const { table, results } = compareTranslation({ ...base, mode: "nested" }, { "no caches": {}, "STC + nested TLB": { pwc: "stc", nestedTlb: true }, "with unmaps": { guest: { unmapEvery: 50 } } });
    expect(table.array("setup")).toEqual(["no caches", "STC + nested TLB", "with unmaps"]);
    // A setup's guest options reach its run.
    expect(results["with unmaps"].totals.ptWrites).toBeGreaterThan(results["no caches"].totals.ptWrites);
    expect(results["STC + nested TLB"].totals.referencesPerMiss).toBeLessThan(results["no caches"].totals.referencesPerMiss);
    expect(table.columnNames()).not.toContain("x");
  });
});
