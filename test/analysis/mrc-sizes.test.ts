import { describe, expect, it } from "vitest";
import { defaultMrcSizes, summaryMrcSizes } from "../../src/analysis/mrc-sizes";

describe("default miss-ratio-curve sizes", () => {
  it("list every size up to 64 pages, then 8 per doubling, and end at the footprint", () => {
    expect(defaultMrcSizes(5)).toEqual([1, 2, 3, 4, 5]);
    const s = defaultMrcSizes(100);
    expect(s.slice(0, 64)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(s.slice(64)).toEqual([70, 76, 83, 91, 99, 100]);
    const big = defaultMrcSizes(1_000_000);
    expect(big.at(-1)).toBe(1_000_000);
    for (let i = 1; i < big.length; i++) expect(big[i]).toBeGreaterThan(big[i - 1]);
    // About 9% apart, give or take the rounding to whole pages.
    for (let i = 65; i < big.length - 1; i++) expect(Math.abs(big[i] / big[i - 1] - 2 ** (1 / 8))).toBeLessThan(1 / big[i - 1]);
    expect(big.length).toBeLessThan(200);
  });

  it("round an estimated footprint up to a whole page", () => {
    expect(defaultMrcSizes(2.2)).toEqual([1, 2, 3]);
    expect(defaultMrcSizes(0.3)).toEqual([1]);
  });

  it("the short human table keeps the powers of two and the last size", () => {
    expect(summaryMrcSizes([1, 2, 3, 4, 5, 6, 7])).toEqual([1, 2, 4, 7]);
    expect(summaryMrcSizes([3, 5, 8])).toEqual([8]);
  });
});
