import { describe, expect, it } from "vitest";
import { idleTaxComparison } from "../../src/experiments/idle-memory-tax";

describe("idleTaxComparison", () => {
  const result = idleTaxComparison({ seed: 42 });

  it("splits memory evenly at τ = 0 and moves it to the active VM at τ = 0.75, which then runs more than 30% faster", () => {
    const [zero, taxed] = result.rows;
    expect(result.rows.map((r) => r.taxRate)).toEqual([0, 0.75]);
    expect(Math.abs(zero.activeMiB - zero.idleMiB)).toBeLessThan(10);
    expect(taxed.activeMiB - taxed.idleMiB).toBeGreaterThan(25);
    expect(taxed.activeMiB).toBeGreaterThan(zero.activeMiB + 10);
    expect(taxed.gainPercent).toBeGreaterThan(30);
    expect(taxed.gainPercent).toBeCloseTo(((taxed.activeThroughput - zero.activeThroughput) / zero.activeThroughput) * 100, 6);
    expect(zero.gainPercent).toBe(0);
  });

  it("tags every timeline row with its τ and tells the story", () => {
    const taus = new Set(Array.from(result.timeline.array("taxRate") as ArrayLike<number>));
    expect([...taus]).toEqual([0, 0.75]);
    expect(result.timeline.numRows()).toBe(2 * 2 * 75);
    expect(result.explain()).toMatch(/τ = 0\.75 \(an idle page costs 4 active ones\): idle VM \d+ MiB, active VM \d+ MiB, [\d,]+ operations\/s \(\+[\d,]+% against τ = 0\)/);
    expect(result.runs.get(0.75)!.explain()).toMatch(/idle memory tax: reclaiming from idle/);
  });

  it("always runs τ = 0 as the baseline of the gain, and names a bad tax rate", () => {
    const only = idleTaxComparison({ seed: 1, taxRates: [0.5], seconds: 20, growSeconds: 10 });
    expect(only.rows.map((r) => r.taxRate)).toEqual([0, 0.5]);
    expect(() => idleTaxComparison({ taxRates: [0, 1] })).toThrow(/^taxRates\[1\]: must be a tax rate/);
    expect(() => idleTaxComparison({ taxRates: [] })).toThrow(/^taxRates: must be a non-empty array/);
  });
});
