import { describe, expect, it } from "vitest";
import { findCrossover, simulateTranslation, sweepTranslation } from "../../src/experiments";

const base = { tlb: { entries: 64, ways: 4 }, pwc: "uptc" as const, workload: { kind: "uniform" as const, pages: 1024 }, accesses: 10_000, warmupAccesses: 5_000, seed: 3 };

describe("sweepTranslation with named setups", () => {
  it("runs each setup with its own overrides and labels its rows, so two variants of one mode sit side by side", () => {
    const t = sweepTranslation({
      base, values: [0, 100], set: (v) => ({ guest: { unmapEvery: v } }),
      setups: { "protected, reads trap": { mode: "protected", pvPolicy: "slides", trapReads: true }, "protected, M→P table": { mode: "protected", pvPolicy: "slides", trapReads: false } },
    });
    expect(t.array("setup")).toEqual(["protected, reads trap", "protected, M→P table", "protected, reads trap", "protected, M→P table"]);
    expect(t.array("mode")).toEqual(["protected", "protected", "protected", "protected"]);
    // Each row is exactly the run its setup names.
    const rows = t.objects() as Array<Record<string, number>>;
    const direct = simulateTranslation({ ...base, mode: "protected", pvPolicy: "slides", trapReads: false, guest: { unmapEvery: 100 } });
    expect(rows[3].cyclesPerAccess).toBe(direct.totals.cyclesPerAccess);
    const trapped = rows[2].trapsPer1k;
    expect(trapped).toBeGreaterThan(rows[3].trapsPer1k);
    expect(findCrossover(t, { x: "x", y: "cyclesPerAccess", a: "protected, reads trap", b: "protected, M→P table", mode: "setup" })).toBeNull();
  });

  it("refuses a setup without a valid mode, naming it", () => {
    expect(() => sweepTranslation({ base, values: [0], set: () => ({}), setups: { odd: { mode: "hybrid" as never } } })).toThrow(/setups\["odd"\]\.mode: expected a mode/);
    expect(() => sweepTranslation({ base, values: [0], set: () => ({}), setups: {} })).toThrow(/setups: expected an object/);
  });
});
