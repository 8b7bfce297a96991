import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import type { CacheTracerView, HostControl, NeedEstimate, VmView } from "../../src/host/host-policy";
import { ExclusiveCacheAllocation } from "../../src/policy/exclusive-cache-allocation";
import "../../src/policy/exclusive-cache-tracer";

/** Two traced VMs of v = 1000 whose misses fall linearly to 0 at 1000 + wants[i], `slopes[i]` misses per page. */
function fakeHost(slopes: number[], wants: number[], freePages = 1_000_000) {
  const capacities = slopes.map(() => 0);
  const vms = slopes.map((_, i) => ({ index: i, name: `vm${i}`, memoryPages: 1000, directPages: 1000, get cacheCapacityPages() { return capacities[i]; }, cachePages: 0, accesses: 0 }) as unknown as VmView);
  const tracer = {
    traces: () => true,
    missesAt: (vm: number, size: number) => slopes[vm] * Math.max(0, 1000 + wants[vm] - size),
    maxSizePages: () => 100_000,
    estimate: (vm: number): NeedEstimate => ({ needPages: 1000 + wants[vm], bound: "exact", rule: "target", directPages: 1000, missRatio: 0.01, floorMissRatio: 0, windowAccesses: 1e6 }),
  } as unknown as CacheTracerView;
  const notes: string[] = [];
  const host = {
    nowSeconds: 0, freePages, vms, cacheTracer: tracer,
    setCacheCapacity: (vm: number, pages: number) => (capacities[vm] = pages),
    note: (t: string) => notes.push(t),
  } as unknown as HostControl;
  return { host, capacities, notes };
}

describe("ExclusiveCacheAllocation", () => {
  it("gives each VM its need − v when the budget covers every need", () => {
    const { host, capacities, notes } = fakeHost([1, 1], [300, 200]);
    new ExclusiveCacheAllocation({ budget: 1000 }).tick(host);
    expect(capacities).toEqual([300, 200]);
    expect(notes[0]).toMatch(/covers every need.*vm0 300, vm1 200 pages/);
  });

  it("when the budget is short, hands out chunks where they save the most misses, never above the budget", () => {
    const { host, capacities, notes } = fakeHost([1, 10], [500, 500]);
    const policy = new ExclusiveCacheAllocation({ budget: 600, chunk: 50 });
    policy.tick(host);
    expect(capacities).toEqual([100, 500]); // the steeper curve first, up to its need
    expect(policy.decisions[0]).toMatchObject({ short: true, poolPages: 600, capacities: { vm0: 100, vm1: 500 } });
    expect(notes[0]).toMatch(/short.*vm0 100 of 500 wanted, vm1 500 pages/);
  });

  it("never gives more than free machine memory plus what the caches hold", () => {
    const { host, capacities } = fakeHost([1, 1], [500, 500], 300);
    new ExclusiveCacheAllocation({ budget: 10_000 }).tick(host);
    expect(capacities[0] + capacities[1]).toBe(300);
  });

  it("past the target ('more than'), wants only the range where the curve still falls: nothing for a VM whose misses are all first reads", () => {
    const capacities = [7, 7];
    const vms = [0, 1].map((i) => ({ index: i, name: `vm${i}`, memoryPages: 1000, directPages: 1000, get cacheCapacityPages() { return capacities[i]; }, cachePages: 0, accesses: 0 }) as unknown as VmView);
    // vm0: flat at 500 misses (all of unknown depth); vm1: falls until 1300, then flat.
    const misses = [(s: number) => 500, (s: number) => 500 + Math.max(0, 1300 - Math.max(s, 1000))];
    const tracer = {
      traces: () => true,
      missesAt: (vm: number, size: number) => misses[vm](size),
      maxSizePages: () => 2000,
      estimate: (vm: number): NeedEstimate => ({ needPages: 2000, bound: "more-than", rule: "target", directPages: 1000, missRatio: 0.5, floorMissRatio: 0.5, windowAccesses: 1000 }),
    } as unknown as CacheTracerView;
    const host = { nowSeconds: 0, freePages: 1_000_000, vms, cacheTracer: tracer, setCacheCapacity: (vm: number, p: number) => (capacities[vm] = p), note: () => {} } as unknown as HostControl;
    const policy = new ExclusiveCacheAllocation({ budget: 5000 });
    policy.tick(host);
    expect(capacities).toEqual([0, 300]);
    expect(policy.decisions[0].wants).toEqual({ vm0: 0, vm1: 300 });
  });

  it("prints in two lines: its settings and its last decision", () => {
    const { host } = fakeHost([1, 1], [300, 200]);
    const policy = new ExclusiveCacheAllocation({ budget: 1000 });
    expect(inspect(policy)).toMatch(/^ExclusiveCacheAllocation: a budget of 1,000 pages .*, every 5 s;\n  0 decisions \(\.decisions\), no decision yet$/);
    policy.tick(host);
    expect(inspect(policy)).toMatch(/\n  1 decision \(\.decisions\), last at t = 0 s: vm0 300, vm1 200 pages of a 1,000 pages \(3\.91 MiB\) pool$/);
  });

  it("refuses bad options with one-line errors naming the path", () => {
    expect(() => new ExclusiveCacheAllocation({} as never)).toThrow(/^cacheAllocation\.budget: is required/);
    expect(() => new ExclusiveCacheAllocation({ budget: "128" })).toThrow(/^cacheAllocation\.budget: a size string needs a unit/);
    expect(() => new ExclusiveCacheAllocation({ budget: -5 })).toThrow(/^cacheAllocation\.budget: size must not be negative/);
    expect(() => new ExclusiveCacheAllocation({ budget: "1 MiB", periodSeconds: 0 })).toThrow(/^cacheAllocation\.periodSeconds: must be a positive number/);
    expect(() => new ExclusiveCacheAllocation({ budget: "1 MiB", chunk: 0 })).toThrow(/^cacheAllocation\.chunk: must be at least one page/);
    expect(() => new ExclusiveCacheAllocation({ budget: "1 MiB", bogus: 1 } as never)).toThrow(/^cacheAllocation\.bogus: unknown field/);
  });
});

/** Two VMs of 2,048 pages: "big" reads 3,500 pages uniformly (it needs ~1,300 more), "small" 2,200 (~70 more). */
function twoVms(budget: number) {
  const policy = new ExclusiveCacheAllocation({ budget, periodSeconds: 2 });
  const host = new Host({ memory: "64 MiB", seed: 11, costs: { guestDiskReadNs: 20_000 }, policies: [policy] });
  const tracing = { exclusiveCache: { size: 256, ghosts: 2000, decay: 0.8 } };
  host.addVm({ name: "big", memory: 2048, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 3500 }, tracing });
  host.addVm({ name: "small", memory: 2048, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 2200 }, tracing });
  const run = host.run({ seconds: 6, sampleEvery: 1 });
  return { host, policy, run };
}

describe("adaptive allocation from the hypervisor's curves (host level)", () => {
  it("gives the larger cache to the VM whose curve needs it, within the budget, with or without enough to go round", () => {
    for (const budget of [3000, 800]) {
      const { policy, run } = twoVms(budget);
      const last = policy.decisions[policy.decisions.length - 1];
      expect(last.capacities.big).toBeGreaterThan(last.capacities.small);
      expect(last.short).toBe(budget < 1500);
      for (const d of policy.decisions) expect(d.capacities.big + d.capacities.small).toBeLessThanOrEqual(budget);
      const rows = run.timeline.objects() as Array<Record<string, number | string>>;
      for (const t of new Set(rows.map((r) => r.t))) {
        const at = rows.filter((r) => r.t === t);
        expect(at.reduce((a, r) => a + (r.cacheCapacityPages as number), 0)).toBeLessThanOrEqual(Math.max(budget, 512));
      }
      if (budget === 3000) {
        // Uniform over W pages: miss ratio 1 − s/W, so 5% needs 0.95 W (±10% for sampling noise).
        expect(run.cacheNeed("big")!.needPages).toBeGreaterThan(0.95 * 3500 * 0.9);
        expect(run.cacheNeed("big")!.needPages).toBeLessThan(0.95 * 3500 * 1.1);
        expect(last.capacities.big).toBeGreaterThan(900);
        expect(last.capacities.small).toBeLessThan(300);
      }
      expect(run.explain()).toMatch(/exclusive caches set from the estimated needs/);
    }
  });

  it("is deterministic per seed: the same decisions and timeline twice", () => {
    const a = twoVms(800);
    const b = twoVms(800);
    expect(b.policy.decisions).toEqual(a.policy.decisions);
    expect(b.run.timeline.objects()).toEqual(a.run.timeline.objects());
  });
});
