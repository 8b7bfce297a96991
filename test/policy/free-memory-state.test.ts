import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { classifyFreeMemory, HARD, HIGH, LOW, resolveThresholds, SOFT, FreeMemoryState } from "../../src/policy/free-memory-state";

describe("free-memory states", () => {
  it.each([
    [0.07, HIGH, HIGH], [0.05, HIGH, HIGH], [0.04, HIGH, HIGH], [0.039, HIGH, SOFT], [0.02, HIGH, SOFT], [0.019, HIGH, HARD], [0.01, HIGH, HARD], [0.009, HIGH, LOW],
  ])("from high, %f free enters state %i… (%i)", (free, prev, expected) => {
    expect(classifyFreeMemory(free, prev as FreeMemoryState)).toBe(expected);
  });

  it.each([
    [0.05, SOFT, SOFT], [0.06, SOFT, HIGH], [0.061, SOFT, HIGH], [0.04, HARD, SOFT], [0.02, LOW, HARD],
    [0.03, HARD, HARD], [0.041, HARD, SOFT], [0.07, HARD, HIGH],
    [0.015, LOW, LOW], [0.025, LOW, HARD], [0.045, LOW, SOFT], [0.07, LOW, HIGH],
  ])("leaves a state only above the next threshold up: %f free in state %i gives %i", (free, prev, expected) => {
    expect(classifyFreeMemory(free, prev as FreeMemoryState)).toBe(expected);
  });

  it("never gets calmer as free memory falls, whatever the previous state", () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 0.2, noNaN: true }), fc.double({ min: 0, max: 0.2, noNaN: true }), fc.constantFrom(HIGH, SOFT, HARD, LOW), (a, b, prev) => {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      expect(classifyFreeMemory(lo, prev as FreeMemoryState)).toBeGreaterThanOrEqual(classifyFreeMemory(hi, prev as FreeMemoryState));
    }));
  });

  it("validates thresholds, naming the bad one", () => {
    expect(resolveThresholds({ high: 0.1 })).toEqual({ high: 0.1, soft: 0.04, hard: 0.02, low: 0.01 });
    expect(() => resolveThresholds({ soft: 0.07 })).toThrow(/high > soft > hard > low/);
    expect(() => resolveThresholds({ medium: 0.03 } as never)).toThrow(/reclamation\.thresholds\.medium/);
    expect(() => resolveThresholds({ low: -1 })).toThrow(/reclamation\.thresholds\.low/);
  });
});
