import { describe, expect, it } from "vitest";
import { Rng, ZipfWorkload, zipfProbability } from "../../src";
import { histogram, take } from "./helpers";

describe("ZipfWorkload", () => {
  it("page 0 is the most popular and the rank-frequency slope is -s on a log-log plot", () => {
    const w = new ZipfWorkload({ pages: 1000, exponent: 1.0 }, new Rng(1));
    const h = histogram(take(w, 400_000).pages);
    const f = (p: number) => (h.get(p) ?? 0) / 400_000;
    expect(f(0)).toBeCloseTo(zipfProbability(0, 1000, 1), 2);
    // log f(r) = -s log r + c: between ranks 1 and 10 (pages 0 and 9) the ratio is 10^s.
    expect(f(0) / f(9)).toBeGreaterThan(8.5);
    expect(f(0) / f(9)).toBeLessThan(11.8);
  });

  it("scatter is a permutation of the region: same frequencies, spread pages", () => {
    const w = new ZipfWorkload({ pages: 1000, exponent: 1.2, scatter: true }, new Rng(4));
    const seen = new Set<number>();
    for (let r = 0; r < 1000; r++) seen.add(w.pageOfRank(r));
    expect(seen.size).toBe(1000);
    const h = histogram(take(w, 100_000).pages);
    const hottest = [...h.entries()].sort((a, b) => b[1] - a[1])[0][0];
    expect(hottest).toBe(w.pageOfRank(0));
    expect(w.pageOfRank(1)).not.toBe(w.pageOfRank(0) + 1);
  });

  it("stays inside its region with a base page", () => {
    const w = new ZipfWorkload({ pages: 64, exponent: 0.9, basePage: 1000, scatter: true }, new Rng(2));
    const { pages } = take(w, 10_000);
    expect(pages.reduce((m, p) => Math.min(m, p), Infinity)).toBe(1000);
    expect(pages.reduce((m, p) => Math.max(m, p), 0)).toBe(1063);
  });

  it("alias and rejection methods agree on the head of the distribution", () => {
    const a = histogram(take(new ZipfWorkload({ pages: 10_000, exponent: 1.1, method: "alias" }, new Rng(1)), 200_000).pages);
    const b = histogram(take(new ZipfWorkload({ pages: 10_000, exponent: 1.1, method: "rejection" }, new Rng(2)), 200_000).pages);
    for (const page of [0, 1, 2, 5, 10]) {
      const p = zipfProbability(page, 10_000, 1.1);
      const sd = Math.sqrt((p * (1 - p)) / 200_000);
      expect(Math.abs((a.get(page) ?? 0) / 200_000 - (b.get(page) ?? 0) / 200_000)).toBeLessThan(7 * sd);
    }
  });

  it("names itself", () => {
    expect(new ZipfWorkload({ pages: 4096, exponent: 1.1, writeFraction: 0.3 }, new Rng(1)).name).toBe("zipf(1.1) over 4,096 pages, 30% writes");
  });

  it("rejects a missing or negative exponent, naming the field", () => {
    expect(() => new ZipfWorkload({ pages: 10 } as never, new Rng(1), "w")).toThrow("w.exponent: is required");
    expect(() => new ZipfWorkload({ pages: 10, exponent: -1 }, new Rng(1), "w")).toThrow(/^w\.exponent: must be a number between 0 and 100 \(got -1\)/);
  });
});
