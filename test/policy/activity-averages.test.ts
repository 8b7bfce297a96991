import { describe, expect, it } from "vitest";
import { ActivityAverages, FAST_GAIN, SLOW_GAIN, timeConstantPeriods } from "../../src/policy/activity-averages";

/** Feed `fractions` period by period; return the estimate after each. */
function estimates(fractions: number[], avg = new ActivityAverages()): number[] {
  return fractions.map((f) => {
    avg.closePeriod(f);
    return avg.snapshot(0)!.estimate;
  });
}

describe("ActivityAverages", () => {
  it("has no estimate before a period closes, then starts both averages at the first f", () => {
    const avg = new ActivityAverages();
    expect(avg.snapshot(0.5)).toBeNull();
    avg.closePeriod(0.3);
    expect(avg.snapshot(0)).toMatchObject({ slow: 0.3, fast: 0.3 });
  });

  it("rises within one fast time constant of a step up: by the fast gain each period, and at once with the period in progress", () => {
    const avg = new ActivityAverages();
    estimates([0.1, 0.1, 0.1], avg);
    // In the period after the step the sampled pages are touched: the in-progress average rises before the period ends.
    const during = avg.snapshot(0.8)!;
    expect(during.estimate).toBeCloseTo(0.1 + FAST_GAIN * 0.7, 10);
    const after = estimates([0.8, 0.8], avg);
    expect(after[0]).toBeCloseTo(0.1 + FAST_GAIN * 0.7, 10);
    const tau = Math.ceil(timeConstantPeriods(FAST_GAIN)); // 2 periods
    expect(after[tau - 1]).toBeGreaterThanOrEqual(0.1 + (1 - 1 / Math.E) * 0.7);
  });

  it("falls no faster than the slow average after a step down", () => {
    const avg = new ActivityAverages();
    estimates(Array(10).fill(0.8), avg);
    const down = estimates(Array(12).fill(0.1), avg);
    down.forEach((e, j) => {
      const slow = 0.1 + 0.7 * (1 - SLOW_GAIN) ** (j + 1);
      expect(e).toBeCloseTo(slow, 10); // the slow average is the max once the fast one has dropped
    });
    expect(down[11]).toBeGreaterThan(0.1 + 0.7 * 0.2); // still well above the new level after 12 periods
  });

  it("takes its gains from the caller and names a bad one", () => {
    expect(estimates([0, 1], new ActivityAverages(0.5, 1))[1]).toBe(1);
    expect(() => new ActivityAverages(0, 0.5, "vms[0].sampling")).toThrow("vms[0].sampling.slowGain: must be a gain per period in (0, 1] (1 keeps only the last period) (got 0)");
    expect(() => new ActivityAverages(0.1, 1.5, "s")).toThrow(/^s\.fastGain: /);
    expect(timeConstantPeriods(SLOW_GAIN)).toBeCloseTo(7.49, 2);
  });
});
