import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { DamonEstimator } from "../../src/policy/damon-estimator";
import { ToucherWorkload } from "../../src/workloads/toucher";
import { Rng } from "../../src/util/rng";

/** A VM of 8,192 pages whose toucher steps from 1,000 to 5,000 pages at t = 40 s; DAMON with 2 s periods. */
function stepRun(params: Partial<ConstructorParameters<typeof DamonEstimator>[0]> = {}) {
  const host = new Host({ memory: 16384, seed: 4, costs: { hitNs: 20_000 } });
  const toucher = new ToucherWorkload({ workingSetPages: 1000 }, new Rng(4));
  host.addVm({ name: "a", memory: 8192, guest: { kernelOverhead: 0 }, workload: toucher });
  const damon = new DamonEstimator({ vm: "a", periodSeconds: 2, sampleIntervalSeconds: 0.1, ...params });
  const bounds: Array<Array<[number, number]>> = [];
  host.addPolicy(damon);
  host.addPolicy({ name: "spy", periodSeconds: 2, tick: () => { bounds.push(damon.regionBounds()); } });
  host.at(40, "", () => toucher.setWorkingSetPages(5000));
  const run = host.run({ seconds: 80, sampleEvery: 2 });
  return { host, damon, run, bounds };
}

describe("DamonEstimator", () => {
  it("keeps its regions tiling memory, between min and max regions", () => {
    const { damon, bounds } = stepRun({ minRegions: 10, maxRegions: 60 });
    expect(damon.periods.length).toBe(39);
    for (const regions of bounds.slice(1)) {
      expect(regions.length).toBeGreaterThanOrEqual(10);
      expect(regions.length).toBeLessThanOrEqual(60);
      expect(regions[0][0]).toBe(0);
      expect(regions[regions.length - 1][1]).toBe(8192);
      regions.forEach(([s, e], k) => {
        expect(e).toBeGreaterThan(s);
        if (k > 0) expect(s).toBe(regions[k - 1][1]);
      });
    }
    expect(Math.max(...bounds.map((b) => b.length))).toBeGreaterThan(20); // it does split where access changes
  });

  it("follows the working set once its regions have adapted (within 5% of memory), and publishes every estimate", () => {
    const { damon, run } = stepRun();
    const truth = run.timeline.array("trueActivePages") as number[];
    const published = run.timeline.array("estimatedActivePages") as Array<number | null>;
    for (const p of damon.periods) {
      const k = Math.round(p.t / 2) - 1; // the timeline row of the period that ends at p.t
      if (p.t > 10 && p.t <= 40) expect(Math.abs(p.estimatedActivePages - truth[k]), `t = ${p.t}`).toBeLessThan(0.05 * 8192);
      if (p.t > 50) expect(Math.abs(p.estimatedActivePages - truth[k]), `t = ${p.t}`).toBeLessThan(0.05 * 8192);
      expect(published[k]).toBe(p.estimatedActivePages);
    }
  });

  it("costs regions × checks per period, against sampling's n, and sees at most one touch per check", () => {
    const { damon } = stepRun();
    for (const p of damon.periods.slice(1)) {
      expect(p.pagesChecked).toBeGreaterThanOrEqual(20 * 10);
      expect(p.pagesChecked).toBeLessThanOrEqual(20 * 1000);
      expect(p.touchesSeen).toBeLessThanOrEqual(p.pagesChecked);
    }
    expect(damon.periods[0].pagesChecked).toBe(20 * 10); // the first period checks the 10 initial regions 20 times
    // Merging keeps a steady, sharp working set in few regions (splitting alone would reach ~500).
    for (const p of damon.periods.filter((q) => q.t > 10 && q.t <= 40)) expect(p.regions, `t = ${p.t}`).toBeLessThanOrEqual(60);
  });

  it("names bad options by their path", () => {
    expect(() => new DamonEstimator({ vm: "a", sampleIntervalSeconds: 0.7, periodSeconds: 2 }, "vms[0].sampling")).toThrow("vms[0].sampling.sampleIntervalSeconds: must divide periodSeconds (2) into a whole number of intervals (got 0.7)");
    expect(() => new DamonEstimator({ vm: "a", minRegions: 20, maxRegions: 10 })).toThrow("sampling.maxRegions: must be at least minRegions (20) (got 10)");
    expect(() => new DamonEstimator({ vm: "a", minRegions: 0 })).toThrow(/^sampling\.minRegions: must be a whole number, at least 1/);
    expect(() => new DamonEstimator({ vm: "a", regions: 5 } as never)).toThrow(/^sampling\.regions: unknown field \(valid fields: vm, periodSeconds, sampleIntervalSeconds, minRegions, maxRegions\)/);
  });
});
