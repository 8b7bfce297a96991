import { describe, expect, it } from "vitest";
import { ballooningComparison } from "../../src/experiments/ballooning";

describe("ballooningComparison (Waldspurger's Figure 2, in shape)", () => {
  const result = ballooningComparison({
    largeSize: 2048, sizes: [1024, 1536, 2048], footprint: 2560, warmupSeconds: 5, measureSeconds: 5, balloonPagesPerSecond: 4096, seed: 3,
  });
  const gaps = result.gaps();

  it("a VM ballooned down to X performs close to a VM configured with X", () => {
    for (const g of gaps) expect(Math.abs(g.balloonGapPercent)).toBeLessThan(5);
  });

  it("reclaiming the same memory by random host swapping is clearly worse, with double paging", () => {
    const smallest = gaps[0];
    expect(smallest.swapped).toBeLessThan(0.75 * smallest.configured);
    for (const g of gaps.slice(0, -1)) expect(g.swapped).toBeLessThan(g.ballooned);
    expect(smallest.swappedDoublePaging).toBeGreaterThan(0);
    const ballooned = result.rows.filter((r) => r.setup === "ballooned" && r.sizePages < 2048);
    for (const r of ballooned) expect(r.doublePagingEvents).toBe(0);
  });

  it("derives each gap from the throughputs: the ballooned gap in percent of configured, the swapped slowdown as a ratio", () => {
    for (const g of gaps) {
      expect(g.balloonGapPercent).toBeCloseTo(((g.configured - g.ballooned) / g.configured) * 100, 9);
      expect(g.swappedSlowdown).toBeCloseTo(g.configured / g.swapped, 9);
    }
    expect(gaps[0].swappedSlowdown).toBeGreaterThan(1 / 0.75);
  });

  it("at the full size all three setups are the same run", () => {
    const full = gaps[gaps.length - 1];
    expect(full.ballooned).toBe(full.configured);
    expect(full.swapped).toBe(full.configured);
  });

  it("more memory means more throughput for the configured VM", () => {
    for (let i = 1; i < gaps.length; i++) expect(gaps[i].configured).toBeGreaterThan(gaps[i - 1].configured);
  });

  it("reports a table, the gaps and an explanation with a one-line summary", () => {
    expect(result.table.numRows()).toBe(9);
    expect(result.gapTable.columnNames()).toContain("balloonGapPercent");
    const lines = result.explain().split("\n");
    expect(lines[0]).toMatch(/^Setting: /);
    expect(lines[lines.length - 1]).toMatch(/^Summary: ballooned down to X, the VM runs within .*% of a VM configured with X/);
    // The range covers the sizes below the large size only (at full size nothing was reclaimed).
    const below = gaps.slice(0, -1).map((g) => g.balloonGapPercent);
    expect(lines[lines.length - 1]).toContain(`within ${Math.min(...below).toFixed(2)}–${Math.max(...below).toFixed(2)}% of`);
    const slow = gaps.slice(0, -1).map((g) => g.swappedSlowdown);
    expect(lines[lines.length - 1]).toContain(`is ${Math.min(...slow).toFixed(1)}–${Math.max(...slow).toFixed(1)}× slower`);
  });

  it("rejects a size above the large size, naming it", () => {
    expect(() => ballooningComparison({ largeSize: 1000, sizes: [500, 2000] })).toThrow(/sizes\[1\]/);
  });
});
