import { describe, expect, it } from "vitest";
import { StackDistanceHistogram } from "../../src/analysis/stack-distance-histogram";

describe("StackDistanceHistogram", () => {
  it("an access at depth d hits every cache of d pages or more; cold misses miss at every size", () => {
    const h = new StackDistanceHistogram();
    for (const d of [Infinity, Infinity, 1, 3, 3, 200]) h.add(d);
    expect(h.accesses).toBe(6);
    expect(h.coldMisses).toBe(2);
    expect(h.maxDepth).toBe(200);
    expect(h.countAt(3)).toBe(2);
    expect([1, 2, 3, 199, 200, 10_000].map((s) => h.hits(s))).toEqual([1, 1, 3, 3, 4, 4]);
    expect(h.missRatios([1, 3, 200, 10_000])).toEqual(Float64Array.of(5 / 6, 3 / 6, 2 / 6, 2 / 6));
  });

  it("adds counts in bulk and updates its miss ratios after each add", () => {
    const h = new StackDistanceHistogram();
    h.add(2, 3);
    expect(h.missRatio(2)).toBe(0);
    h.add(Infinity, 1);
    expect(h.missRatio(2)).toBe(0.25);
    h.add(1);
    expect(h.missRatio(1)).toBe(0.8);
    h.add(9);
    expect(h.missRatio(9)).toBe(1 / 6);
  });

  it("refuses a miss ratio before any access", () => {
    expect(() => new StackDistanceHistogram().missRatio(4)).toThrow(/histogram: no accesses counted yet/);
  });
});
