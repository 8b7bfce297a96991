import { describe, expect, it } from "vitest";
import { ballooningComparison, BallooningOptions } from "../../src/experiments/ballooning";

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
    // The baseline is a VM configured with X; the other two start at the large size.
    for (const r of result.rows) {
      expect(r.configuredPages).toBe(r.setup === "configured" ? r.sizePages : 2048);
      if (r.setup === "configured") expect(r.balloonedPages).toBe(0);
    }
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

describe("ballooningComparison with the page-cache workload (as memory-sensitive as the paper's dbench)", () => {
  // 16 MiB VM, X = 8 and 12 MiB, a 20 MiB file set; kernel 1/64 of configured memory.
  const small: BallooningOptions = { workload: "page-cache", largeSize: 4096, sizes: [2048, 3072, 4096], footprint: 5120, warmupSeconds: 100, measureSeconds: 300, seed: 3 };
  const result = ballooningComparison(small);
  const gaps = result.gaps();

  it("throughput rises with memory over the whole range: every miss is a disk read", () => {
    expect(gaps[1].configured).toBeGreaterThan(1.3 * gaps[0].configured);
    expect(gaps[2].configured).toBeGreaterThan(1.3 * gaps[1].configured);
  });

  it("the ballooned gap follows the extra pages its kernel wires, as a uniform cache predicts", () => {
    // Usable cache pages: X less the kernel, sized by configured memory (X, or largeSize ballooned).
    const missNs = (usable: number) => 10_000 + (1 - usable / 5120) * 5e6;
    for (const [i, x] of [[0, 2048], [1, 3072]]) {
      const model = (1 - missNs(x - x / 64) / missNs(x - 4096 / 64)) * 100;
      expect(gaps[i].balloonGapPercent).toBeGreaterThan(0);
      expect(Math.abs(gaps[i].balloonGapPercent - model)).toBeLessThan(0.3);
    }
    expect(gaps[0].balloonGapPercent).toBeGreaterThan(gaps[1].balloonGapPercent); // fewer extra pages at larger X
  });

  it("without memory-sized kernel structures the ballooned VM runs exactly like the configured one", () => {
    const none = ballooningComparison({ ...small, sizes: [2048, 4096], measureSeconds: 100, kernelOverhead: 0 }).gaps();
    expect(none[0].ballooned).toBe(none[0].configured);
  });

  it("takes the VM down to X with the driver's default adaptive rate before measuring", () => {
    for (const r of result.rows.filter((r) => r.setup === "ballooned")) expect(r.balloonedPages).toBe(4096 - r.sizePages);
    expect(result.rows.filter((r) => r.setup === "swapped" && r.sizePages < 4096).every((r) => r.hostSwappedPages > 0 && r.doublePagingEvents > 0)).toBe(true);
  });

  it("reads the file set before warming up, longer where the host swaps, and says so", () => {
    const load = (s: string) => result.rows.filter((r) => r.setup === s && r.sizePages === 2048)[0].loadSeconds;
    expect(load("configured")).toBeGreaterThanOrEqual(5120 * 0.005);
    expect(load("swapped")).toBeGreaterThanOrEqual(load("configured"));
    const text = result.explain();
    expect(text).toMatch(/page-cache-bound workload \(dbench-like\): it reads a 20 MiB file set once/);
    expect(text).toContain("our addition: Waldspurger's figure has the first two");
    expect(text).toMatch(/gap \d+\.\d\d%; its kernel wires 32 pages more/);
  });

  it("rejects an unknown workload, hot-cold options with the page-cache workload, and a bad kernel overhead, naming them", () => {
    expect(() => ballooningComparison({ workload: "dbench" as never })).toThrow(/workload.*"hot-cold", "page-cache"/);
    expect(() => ballooningComparison({ workload: "page-cache", hotFraction: 0.2 })).toThrow(/hotFraction/);
    expect(() => ballooningComparison({ kernelOverhead: 0.9 })).toThrow(/kernelOverhead/);
  });
});
