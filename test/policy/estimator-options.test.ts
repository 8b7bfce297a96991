import { describe, expect, it } from "vitest";
import { createEstimator } from "../../src/policy/estimator-options";
import { WorkingSetSampler } from "../../src/policy/working-set-sampler";
import { DamonEstimator } from "../../src/policy/damon-estimator";

describe("createEstimator", () => {
  it("builds Waldspurger's sampler by default, DAMON on request, none for false", () => {
    const s = createEstimator("web", { samplePages: 50 }, "vms[0].sampling") as WorkingSetSampler;
    expect(s).toBeInstanceOf(WorkingSetSampler);
    expect([s.vmName, s.samplePages, s.samplingPeriodSeconds]).toEqual(["web", 50, 30]);
    const t = createEstimator("web", true) as WorkingSetSampler;
    expect([t.samplePages, t.samplingPeriodSeconds]).toEqual([100, 30]);
    const d = createEstimator("web", { estimator: "damon", periodSeconds: 10 }) as DamonEstimator;
    expect(d).toBeInstanceOf(DamonEstimator);
    expect([d.aggregationSeconds, d.sampleIntervalSeconds, d.minRegions, d.maxRegions]).toEqual([10, 0.5, 10, 1000]);
    expect(createEstimator("web", false)).toBeNull();
  });

  it("names a bad estimator, a stray vm key and a bad shape by their path", () => {
    expect(() => createEstimator("web", { estimator: "lru" }, "vms[1].sampling")).toThrow('vms[1].sampling.estimator: must be one of "sampling", "damon" (got "lru")');
    expect(() => createEstimator("web", { vm: "db" }, "vms[1].sampling")).toThrow('vms[1].sampling.vm: is implied by the VM this belongs to: leave it out (got "db")');
    expect(() => createEstimator("web", 3, "vms[1].sampling")).toThrow(/^vms\[1\]\.sampling: must be an object/);
    expect(() => createEstimator("web", { estimator: "damon", samplePages: 5 }, "vms[1].sampling")).toThrow(/^vms\[1\]\.sampling\.samplePages: unknown field/);
  });
});
