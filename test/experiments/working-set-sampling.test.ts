import { describe, expect, it } from "vitest";
import { accuracyChart, compareEstimators, errorBarChart, samplingAccuracy, workingSetSteps } from "../../src/experiments/working-set-sampling";
import * as aq from "arquero";

const small = { vmMemory: "32 MiB", workingSet: "8 MiB", steps: [{ at: 100, workingSet: "24 MiB" }, { at: 200, workingSet: "4 MiB" }], seconds: 300, periodSeconds: 10, seed: 5 };

describe("workingSetSteps", () => {
  const r = workingSetSteps({ ...small, samplePages: 400, resolutionSeconds: 5 });

  it("puts the truth of each period beside the sampled fraction and the averages", () => {
    const rows = r.periods.objects() as Array<Record<string, number>>;
    expect(rows).toHaveLength(29);
    const at = (t: number) => rows.find((x) => x.t === t)!;
    expect(at(90).truthPercent).toBeCloseTo(25, 0);
    expect(at(150).truthPercent).toBeCloseTo(75, 0);
    expect(at(250).truthPercent).toBeCloseTo(12.5, 0);
    for (const x of rows) expect(Math.abs(x.sampledPercent - x.truthPercent)).toBeLessThan(10);
    // Up fast (the fast average), down slowly (the slow average).
    expect(at(130).estimatePercent).toBeGreaterThan(65);
    expect(at(230).estimatePercent).toBeGreaterThan(40);
  });

  it("gives the estimates every resolutionSeconds in long form, with the truth as a series", () => {
    const series = new Set(Array.from(r.estimates.array("series") as ArrayLike<string>));
    expect([...series].sort()).toEqual(["estimate", "fast", "fast + current", "slow", "truth"]);
    const est = r.estimates.filter(aq.escape((d: { series: string }) => d.series === "estimate")).array("t") as ArrayLike<number>;
    expect(est[1] - est[0]).toBe(5);
  });
});

describe("samplingAccuracy", () => {
  it("finds no bias and a spread like √(f(1−f)/n) for each n", () => {
    const t = samplingAccuracy({ samplePages: [20, 320], seeds: 15, periods: 4, vmMemory: "16 MiB", workingSet: "6 MiB", seed: 3 });
    const rows = t.objects() as Array<Record<string, number>>;
    expect(rows.map((r) => r.samplePages)).toEqual([20, 320]);
    for (const r of rows) {
      expect(r.estimates).toBe(60);
      expect(r.sdErrorPercent / r.expectedSdPercent).toBeGreaterThan(0.7);
      expect(r.sdErrorPercent / r.expectedSdPercent).toBeLessThan(1.3);
      expect(Math.abs(r.meanErrorPercent)).toBeLessThan((4 * r.sdErrorPercent) / Math.sqrt(60));
    }
    expect(rows[0].sdErrorPercent / rows[1].sdErrorPercent).toBeGreaterThan(2.5); // 4 in theory: 16 times the pages
    const fig = accuracyChart(t);
    expect(fig.data[0].error_y).toEqual({ type: "data", array: rows.map((r) => r.sdErrorPercent), visible: true });
    expect(fig.data.map((d) => d.name)).toEqual(["mean error ± sd", "± √(f(1−f)/n)", ""]);
    expect(() => samplingAccuracy({ seeds: 1 })).toThrow(/^seeds: must be a whole number, at least 2/);
  });

  it("puts error bars on each colour's own rows", () => {
    const table = aq.table({ x: [1, 2, 1, 2], y: [1, 2, 3, 4], e: [0.1, 0.2, 0.3, 0.4], c: ["a", "a", "b", "b"] });
    const fig = errorBarChart(table, { x: "x", y: "y", error: "e", color: "c" });
    expect(fig.data.map((d) => (d.error_y as { array: number[] }).array)).toEqual([[0.1, 0.2], [0.3, 0.4]]);
  });
});

describe("compareEstimators", () => {
  it("reports each estimator's error and cost per period in the same units", () => {
    const { summary, periods } = compareEstimators({ ...small, setups: [
      { label: "sampling", sampling: { samplePages: 100, periodSeconds: 10 } },
      { label: "damon", sampling: { estimator: "damon", periodSeconds: 10, maxRegions: 100 } },
    ] });
    const rows = summary.objects() as Array<Record<string, number | string>>;
    expect(rows.map((r) => r.estimator)).toEqual(["sampling", "damon"]);
    expect(rows[0].pagesCheckedPerPeriod).toBe(100);
    expect(rows[1].pagesCheckedPerPeriod as number).toBeGreaterThan(200);
    expect(rows[1].trapsPerPeriod as number).toBeGreaterThan(rows[0].trapsPerPeriod as number);
    expect(rows[0].overheadPercent as number).toBeCloseTo(((rows[0].trapsPerPeriod as number) * 2000e-9 / 10) * 100, 8);
    expect(periods.numRows()).toBe(2 * 29);
    expect(periods.columnNames()).toEqual(expect.arrayContaining(["label", "truthPercent", "errorPercent", "traps", "overheadPercent", "pagesChecked"]));
  });
});
