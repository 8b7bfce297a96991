import { describe, expect, it } from "vitest";
import { ScaledDistanceHistogram } from "../../src/analysis/scaled-distance-histogram";

describe("ScaledDistanceHistogram", () => {
  it("below exactBelow, counts a rounded depth exactly: hits(s) is the weight at depths ≤ s", () => {
    const h = new ScaledDistanceHistogram({ exactBelow: 100 });
    h.add(1);
    h.add(10.4, 2);
    h.add(10.6, 3);
    h.add(Infinity, 4);
    expect([0, 1, 9, 10, 11, 99].map((s) => h.hits(s))).toEqual([0, 1, 1, 3, 6, 6]);
    expect(h.total).toBe(10);
    expect(h.coldMisses).toBe(4);
  });

  it("above it, buckets grow geometrically and hits interpolate inside one, within its width", () => {
    const h = new ScaledDistanceHistogram({ exactBelow: 64, binsPerDoubling: 4 });
    h.add(100, 8);
    // 100 lies in the bucket [64·2^(2/4), 64·2^(3/4)) = [90.5, 107.6).
    expect(h.hits(90)).toBe(0);
    expect(h.hits(108)).toBe(8);
    const mid = h.hits(99);
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(8);
    expect(mid).toBeCloseTo((8 * (99 - 64 * 2 ** 0.5)) / (64 * 2 ** 0.75 - 64 * 2 ** 0.5), 10);
    // Memory follows log(depth): a depth of 2^40 adds about 38 doublings of 4 buckets.
    h.add(2 ** 40);
    expect(h.bucketCount).toBeLessThan(64 + 4 * 40);
  });

  it("rescales every count at once, and later adds count at face value", () => {
    const h = new ScaledDistanceHistogram();
    h.add(5, 10);
    h.add(Infinity, 2);
    h.rescale(0.5);
    h.add(5, 1);
    expect(h.hits(5)).toBe(6);
    expect(h.coldMisses).toBe(1);
    expect(h.total).toBe(7);
  });
});
