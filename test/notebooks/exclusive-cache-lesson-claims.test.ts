/**
 * Notebook 07 states numbers in its prose; they must hold for the calls it makes (seed 42, the
 * same workloads, trace, sizes and options as its cells).
 */
import { describe, expect, it } from "vitest";
import { missRatioCurveData } from "../../src/analysis/miss-ratio-curve";
import { Shards } from "../../src/analysis/shards";
import { loadLackeyTraceSync } from "../../src/trace/load-lackey";
import { createWorkload } from "../../src/workloads/create-workload";
import { Rng } from "../../src/util/rng";

const seed = 42;

/** 100 evenly spaced sizes up to the footprint, as the notebook's MAE uses. */
const evenSizes = (footprint: number) => Array.from({ length: 100 }, (_, i) => Math.max(1, Math.round((footprint * (i + 1)) / 100)));
const meanAbsoluteError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
};

describe("notebook 07's claims", () => {
  it("curve shapes: hot-cold's knee at 1,024 pages (0.26, then 0.094 at 1,536 and 0.043 at 3,072), zipf 0.307/0.164/0.076, loop 1 below 2,048 pages; cold-miss floors 0.010 and 0.020", () => {
    const sizes = [1024, 1536, 2048, 2047, 3072, 64];
    const curve = (spec: object) => missRatioCurveData(spec as never, { method: "exact", sizes, accesses: 200_000, seed: seed });
    const hot = curve({ kind: "hot-cold", pages: 4096, hotFraction: 0.25, hotAccessFraction: 0.9 });
    expect([hot.missRatios[0].toFixed(2), hot.missRatios[1].toFixed(3), hot.missRatios[4].toFixed(3)]).toEqual(["0.26", "0.094", "0.043"]);
    const zipf = curve({ kind: "zipf", pages: 4096, exponent: 0.9 });
    expect([zipf.missRatios[0].toFixed(3), zipf.missRatios[2].toFixed(3), zipf.missRatios[4].toFixed(3)]).toEqual(["0.307", "0.164", "0.076"]);
    const loop = curve({ kind: "loop", pages: 2048 });
    expect([loop.missRatios[5], loop.missRatios[3]]).toEqual([1, 1]);
    expect(loop.missRatios[2]).toBe(2048 / 200_000);
    expect(loop.coldMisses).toBe(2048);
    expect((loop.coldMisses / 200_000).toFixed(3)).toBe("0.010");
    expect([zipf.coldMisses, hot.coldMisses]).toEqual([4096, 4089]);
    for (const d of [zipf, hot]) expect((d.coldMisses / 200_000).toFixed(3)).toBe("0.020");
  });

  describe("sort.lackey.gz", () => {
    const trace = loadLackeyTraceSync("data/traces/sort.lackey.gz");

    it("3.3 million accesses, a footprint of 220 pages; 0.55 in one page, under 1% from 12 pages, under 0.1% from 24", () => {
      const d = missRatioCurveData(trace, { method: "exact", sizes: [1, 11, 12, 23, 24] });
      expect((d.accesses / 1e6).toFixed(1)).toBe("3.3");
      expect([d.footprintPages, d.coldMisses]).toEqual([220, 220]);
      expect(d.missRatios[0].toFixed(2)).toBe("0.55");
      expect(d.missRatios[1]).toBeGreaterThanOrEqual(0.01);
      expect(d.missRatios[2]).toBeLessThan(0.01);
      expect(d.missRatios[3]).toBeGreaterThanOrEqual(0.001);
      expect(d.missRatios[4]).toBeLessThan(0.001);
    });

    it("SHARDS at 0.01 tracks 2 pages, estimates 200, MAE 0.026; a fixed size of 64 ends at rate 0.36, MAE 0.0024", () => {
      const sizes = evenSizes(220);
      const exact = missRatioCurveData(trace, { method: "exact", sizes }).missRatios;
      const atRate = missRatioCurveData(trace, { method: "shards", rate: 0.01, sizes });
      expect(Math.round(atRate.footprintPages)).toBe(200);
      expect(meanAbsoluteError(atRate.missRatios, exact).toFixed(3)).toBe("0.026");
      const fixed = missRatioCurveData(trace, { method: "shards", maxSamples: 64, sizes });
      expect(meanAbsoluteError(fixed.missRatios, exact).toFixed(4)).toBe("0.0024");
      const rateSampler = new Shards({ rate: 0.01 });
      rateSampler.feed(trace.pages, 0, trace.pages.length);
      expect(rateSampler.trackedPages).toBe(2);
      const fixedSampler = new Shards({ maxSamples: 64 });
      fixedSampler.feed(trace.pages, 0, trace.pages.length);
      expect(fixedSampler.rate.toFixed(2)).toBe("0.36");
    });
  });

  it("zipf, 100,000 pages, a million accesses: footprint 80,681, SHARDS at 0.01 tracks about 800 with MAE 0.0077, a fixed 64 pages a rate under 0.001 with MAE 0.0098", () => {
    const spec = { kind: "zipf", pages: 100_000, exponent: 1, scatter: true } as const;
    const exact = missRatioCurveData(spec, { method: "exact", accesses: 1_000_000, seed: seed });
    expect(exact.footprintPages).toBe(80681);
    const sizes = evenSizes(exact.footprintPages);
    const exactRatios = missRatioCurveData(spec, { method: "exact", accesses: 1_000_000, seed: seed, sizes }).missRatios;
    const atRate = missRatioCurveData(spec, { method: "shards", rate: 0.01, accesses: 1_000_000, seed: seed, sizes });
    expect(meanAbsoluteError(atRate.missRatios, exactRatios).toFixed(4)).toBe("0.0077");
    const fixed = missRatioCurveData(spec, { method: "shards", maxSamples: 64, accesses: 1_000_000, seed: seed, sizes });
    expect(meanAbsoluteError(fixed.missRatios, exactRatios).toFixed(4)).toBe("0.0098");
    // The same accesses missRatioCurve draws (its workload stream), into samplers we can ask.
    const pages = new Float64Array(1_000_000);
    createWorkload(spec, new Rng(seed).split("workload"), "trace").fill(pages, new Uint8Array(pages.length));
    const rateSampler = new Shards({ rate: 0.01 });
    rateSampler.feed(pages, 0, pages.length);
    expect(Math.round(rateSampler.trackedPages / 100) * 100).toBe(800);
    const fixedSampler = new Shards({ maxSamples: 64 });
    fixedSampler.feed(pages, 0, pages.length);
    expect(fixedSampler.rate).toBeLessThan(0.001);
  });
});
