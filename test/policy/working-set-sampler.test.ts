/**
 * Waldspurger's sampler against the host's exact ground truth (the timeline's trueActivePages).
 */
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { Host } from "../../src/host/host";
import { HostControl } from "../../src/host/host-policy";
import { WorkingSetSampler } from "../../src/policy/working-set-sampler";
import { DamonEstimator } from "../../src/policy/damon-estimator";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import { ToucherWorkload } from "../../src/workloads/toucher";
import { Rng } from "../../src/util/rng";
import { FAST_GAIN, SLOW_GAIN } from "../../src/policy/activity-averages";

interface PeriodError { estimate: number; truth: number }

/**
 * Per-period sampled fraction f = t/n against the true fraction touched in the same period, for
 * one seed. A uniform workload of 1,000 accesses a period over 1,500 of the VM's 4,096 pages
 * touches about 730 of them (a different set each period); with `pressure`, the VM's limit makes
 * the host swap its pages at random, so sampled pages are also host-swapped and faulted back.
 */
function periodErrors(seed: number, samplePages: number, periods: number, pressure = false): PeriodError[] {
  const host = new Host({ memory: 8192, seed, costs: { hitNs: 1_000_000, hostSwapReadNs: 1_000_000 } });
  const sampler = new WorkingSetSampler({ vm: "a", samplePages, periodSeconds: 1 });
  host.addPolicy(sampler);
  host.addVm({ name: "a", memory: 4096, max: pressure ? 700 : 4096, balloon: !pressure, guest: { kernelOverhead: 0 }, workload: { kind: "uniform", pages: 1500 } });
  const run = host.run({ seconds: periods, sampleEvery: 1 });
  const truth = run.timeline.array("trueActivePages") as number[];
  // Period k of the sampler is [k, k + 1) s, the timeline's row k (it closes at tick k + 1, where row k is sampled).
  return sampler.periods.map((p, k) => ({ estimate: p.periodFraction, truth: truth[k] / 4096 }));
}

function stats(xs: number[]): { mean: number; sd: number; se: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd, se: sd / Math.sqrt(xs.length) };
}

describe("WorkingSetSampler", () => {
  it("is unbiased: over 300 seeds × 5 periods the mean of f − truth is within 4 standard errors (about 0.0015) of 0", () => {
    for (const pressure of [false, true]) {
      const errors: number[] = [];
      for (let seed = 1; seed <= 300; seed++) for (const e of periodErrors(seed, 1000, 6, pressure)) errors.push(e.estimate - e.truth);
      const s = stats(errors);
      expect(errors.length).toBe(1500);
      // A z-test at 4 standard errors: a sound sampler fails it with probability 6e-5 (the seeds
      // are fixed, so the test is deterministic); it detects a bias of 0.002 (a 1% undercount is 0.0036).
      expect(Math.abs(s.mean), `pressure=${pressure}: mean error ${s.mean} (se ${s.se})`).toBeLessThan(4 * s.se);
      expect(4 * s.se).toBeLessThan(0.002);
    }
  });

  it("spreads like √(f(1 − f)/n): the error's standard deviation × √n matches, within 15%, for n = 25, 100, 400", () => {
    const sds: number[] = [];
    for (const n of [25, 100, 400]) {
      const rows: PeriodError[] = [];
      for (let seed = 1; seed <= 150; seed++) rows.push(...periodErrors(seed, n, 6));
      const s = stats(rows.map((r) => r.estimate - r.truth));
      // Sampling n of P = 4096 pages without repeats: variance f(1 − f)/n × (P − n)/(P − 1).
      const fq = rows.reduce((a, r) => a + r.truth * (1 - r.truth), 0) / rows.length;
      const expected = Math.sqrt((fq / n) * ((4096 - n) / 4095));
      expect(s.sd / expected, `n = ${n}`).toBeGreaterThan(0.85);
      expect(s.sd / expected, `n = ${n}`).toBeLessThan(1.15);
      sds.push(s.sd);
    }
    expect(sds[0] / sds[2]).toBeGreaterThan(3.2); // 16× the pages, ¼ the spread
    expect(sds[0] / sds[2]).toBeLessThan(4.8);
  });

  it("rises within the period of a step up (the in-progress average) and falls no faster than the slow average after a step down", () => {
    const host = new Host({ memory: 16384, seed: 7, costs: { hitNs: 20_000 } });
    const toucher = new ToucherWorkload({ workingSetPages: 400 }, new Rng(7));
    host.addVm({ name: "a", memory: 8192, guest: { kernelOverhead: 0 }, workload: toucher });
    const sampler = new WorkingSetSampler({ vm: "a", samplePages: 2000, periodSeconds: 1 });
    host.addPolicy(sampler);
    host.at(10, "up", () => toucher.setWorkingSetPages(4000));
    host.at(20, "down", () => toucher.setWorkingSetPages(400));
    const run = host.run({ seconds: 40, sampleEvery: 0.1 });
    const rows = run.timeline.objects() as Array<{ t: number; estimatedActivePages: number }>;
    const at = (t: number) => rows.find((r) => Math.abs(r.t - t) < 1e-6)!.estimatedActivePages / 8192;
    const low = 400 / 8192;
    const high = 4000 / 8192;
    const noise = 3 * Math.sqrt((0.5 * 0.5) / 2000);
    expect(at(9.9)).toBeCloseTo(low, 1);
    // Half a period after the step up, before the period closes, the estimate has risen by the fast gain's share.
    expect(at(10.5)).toBeGreaterThan(low + FAST_GAIN * (high - low) - noise);
    expect(at(12)).toBeGreaterThan(low + 0.75 * (high - low) - noise);
    // After the step down: never below the slow average, which forgets 1/8 of its gap a period.
    const slowAtStep = sampler.periods.find((p) => p.t === 20)!.slow!;
    expect(slowAtStep).toBeGreaterThan(low + 0.6 * (high - low));
    for (let j = 1; j <= 19; j++) {
      const slowBound = low + (slowAtStep - low) * (1 - SLOW_GAIN) ** j;
      expect(at(20 + j), `t = ${20 + j}`).toBeGreaterThanOrEqual(slowBound - noise);
    }
    expect(at(39)).toBeLessThan(low + 0.2 * (high - low)); // but it does fall
  });

  it("counts VM time: a blocked VM's period waits for it to run", () => {
    const host = new Host({ memory: 16384, seed: 1, costs: { hitNs: 20_000 } });
    host.addVm({ name: "a", memory: 4096, workload: { kind: "toucher", workingSetPages: 1000 } });
    const sampler = new WorkingSetSampler({ vm: "a", samplePages: 100, periodSeconds: 2 });
    host.addPolicy(sampler);
    host.at(1, "", () => host.setBlocked(0, true));
    host.at(4, "", () => host.setBlocked(0, false));
    host.run({ seconds: 8 });
    expect(sampler.periods.map((p) => p.t)).toEqual([5, 7]);
    expect(sampler.periods.map((p) => p.runSeconds)).toEqual([2, 4]);
  });

  it("costs O(n) a period whatever the VM's size: n distinct pages, each invalidated once at most", () => {
    for (const memory of ["64 MiB", "4 GiB"]) {
      const host = new Host({ memory: "8 GiB", seed: 3 });
      host.addVm({ name: "a", memory });
      const sampler = new WorkingSetSampler({ vm: "a", samplePages: 500, periodSeconds: 0.1 });
      const invalidated: number[] = [];
      const control = new Proxy(host as unknown as HostControl, {
        get: (target, key) => (key === "invalidate" ? (vm: number, p: number) => { invalidated.push(p); return host.invalidate(vm, p); } : Reflect.get(target, key, target)),
      });
      sampler.tick(control); // the first period starts
      expect(new Set(invalidated).size).toBe(500);
      expect(sampler.periods).toHaveLength(0);
      host.run({ seconds: 0.1 });
      sampler.tick(control);
      expect(invalidated).toHaveLength(1000);
      expect(sampler.periods[0]).toMatchObject({ pagesChecked: 500, touchesSeen: 0, periodFraction: 0 });
    }
  });

  it("changes nothing the guest sees: with free traps the run is identical but for the trap count; with 2 µs traps it loses exactly their time", () => {
    const runOnce = (sampled: boolean, trapNs: number) => {
      const host = new Host({ memory: 3000, seed: 11, costs: { trapNs, guestDiskReadNs: 50_000, hostSwapReadNs: 50_000 }, policies: [new ReclamationPolicy()] });
      if (sampled) host.addPolicy(new WorkingSetSampler({ vm: "a", samplePages: 400, periodSeconds: 0.2 }));
      host.addVm({ name: "a", memory: 2000, workload: { kind: "zipf", pages: 2600, exponent: 0.8, writeFraction: 0.4 } });
      host.addVm({ name: "b", memory: 2000, workload: { kind: "uniform", pages: 1500, writeFraction: 0.2 } });
      const run = host.run({ seconds: 3, sampleEvery: 0.5 });
      return { host, run };
    };
    const plain = runOnce(false, 0);
    const sampled = runOnce(true, 0);
    const drop = ["trapFaults", "estimatedActivePages", "samplingOverheadFraction"];
    const keep = plain.run.timeline.columnNames().filter((c) => !drop.includes(c));
    expect(sampled.run.timeline.select(keep).objects()).toEqual(plain.run.timeline.select(keep).objects());
    expect(sampled.host.vms[0].trapFaults).toBeGreaterThan(100);
    expect(Buffer.from(sampled.host.vms[0].guest.flags).equals(Buffer.from(plain.host.vms[0].guest.flags))).toBe(true); // no lost referenced or dirty bits
    expect(sampled.host.vms[0].guest.guestPageOuts).toBeGreaterThan(0);

    // A resident working set, where every access is a 100 ns hit: traps take exactly trapFaults × trapNs.
    const resident = (sampled: boolean) => {
      const host = new Host({ memory: 8192, seed: 2 });
      if (sampled) host.addPolicy(new WorkingSetSampler({ vm: "a", samplePages: 1000, periodSeconds: 0.05 }));
      const vm = host.addVm({ name: "a", memory: 4096, workload: { kind: "toucher", workingSetPages: 3000 } });
      host.run({ seconds: 0.2 });
      const traps0 = vm.trapFaults;
      const a0 = vm.accesses;
      const run = host.run({ seconds: 1, sampleEvery: 0.5 });
      return { accesses: vm.accesses - a0, traps: vm.trapFaults - traps0, overhead: run.timeline.array("samplingOverheadFraction") as number[] };
    };
    const off = resident(false);
    const on = resident(true);
    expect(on.traps).toBeGreaterThan(5000);
    expect(off.accesses - on.accesses).toBeGreaterThanOrEqual((on.traps * 2000) / 100 - 1);
    expect(off.accesses - on.accesses).toBeLessThanOrEqual((on.traps * 2000) / 100 + 1);
    expect(on.overhead.reduce((a, b) => a + b, 0) / 2).toBeCloseTo((on.traps * 2000e-9) / 1, 6);
    expect(off.overhead).toEqual([0, 0]);
  });

  it("conserves memory at every step with samplers, a DAMON estimator and the idle memory tax at work (any seed, any mix)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.array(fc.record({
      memory: fc.integer({ min: 200, max: 1200 }),
      pages: fc.integer({ min: 50, max: 1500 }),
      estimator: fc.constantFrom("sampling", "damon", "none"),
      samplePages: fc.integer({ min: 1, max: 300 }),
      balloon: fc.boolean(),
    }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 300, max: 1500 }), fc.double({ min: 0, max: 0.95, noNaN: true }), (seed, vms, memory, taxRate) => {
      const host = new Host({ memory, seed, quantumSeconds: 0.005, costs: { guestDiskReadNs: 100_000, hostSwapReadNs: 100_000 } });
      vms.forEach((v, i) => {
        if (v.estimator === "sampling") host.addPolicy(new WorkingSetSampler({ vm: `vm${i}`, samplePages: v.samplePages, periodSeconds: 0.02 }));
        if (v.estimator === "damon") host.addPolicy(new DamonEstimator({ vm: `vm${i}`, periodSeconds: 0.04, sampleIntervalSeconds: 0.01, minRegions: 3, maxRegions: 40 }));
        const pages = Math.min(v.pages, 3 * v.memory - Math.round(v.memory / 64) - 1);
        host.addVm({ name: `vm${i}`, memory: v.memory, balloon: v.balloon, workload: { kind: "uniform", pages, writeFraction: 0.3 } });
      });
      host.addPolicy(new ReclamationPolicy({ periodSeconds: 0.01, allocation: { taxRate } }));
      host.run({ seconds: 0.15, sampleEvery: 0.05, checkInvariants: true });
      const by = host.memoryByState();
      const resident = Object.values(by.vms).reduce((a, r) => a + r.resident + r.trapped, 0);
      expect(resident + by.free).toBe(memory);
    }), { numRuns: 15 });
  });

  it("names bad options by their path, and a VM the host does not have", () => {
    expect(() => new WorkingSetSampler({ vm: "a", samplePages: 0 }, "vms[0].sampling")).toThrow("vms[0].sampling.samplePages: must be a whole number, at least 1 (got 0)");
    expect(() => new WorkingSetSampler({ vm: "a", periodSeconds: -1 })).toThrow(/^sampling\.periodSeconds: must be a positive number of seconds/);
    expect(() => new WorkingSetSampler({ vm: "a", fastGain: 2 })).toThrow(/^sampling\.fastGain: /);
    expect(() => new WorkingSetSampler({ vm: "a", pages: 3 } as never)).toThrow(/^sampling\.pages: unknown field/);
    expect(() => new WorkingSetSampler({} as never)).toThrow(/^sampling\.vm: must name the VM/);
    const host = new Host({ memory: 1000, policies: [new WorkingSetSampler({ vm: "nope" })] });
    host.addVm({ name: "a", memory: 500 });
    expect(() => host.run({ seconds: 0.1 })).toThrow('sampling.vm: no VM of this name on the host (VMs: a) (got "nope")');
  });
});
