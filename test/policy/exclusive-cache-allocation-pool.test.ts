import { describe, expect, it } from "vitest";
import type { CacheTracerView, HostControl, NeedEstimate, VmView } from "../../src/host/host-policy";
import { ExclusiveCacheAllocation } from "../../src/policy/exclusive-cache-allocation";

/** Traced VMs of v = 1000 whose misses fall by 1 a page to 0 at 1000 + wants[i]; caches hold `held[i]` pages now. */
function fakeHost(wants: number[], held: number[], freePages: number) {
  const capacities = wants.map((_, i) => held[i]);
  const vms = wants.map((_, i) => ({ index: i, name: `vm${i}`, memoryPages: 1000, directPages: 1000, get cacheCapacityPages() { return capacities[i]; }, cachePages: held[i], accesses: 0 }) as unknown as VmView);
  const tracer = {
    traces: () => true,
    missesAt: (vm: number, size: number) => Math.max(0, 1000 + wants[vm] - Math.max(size, 1000)),
    maxSizePages: () => 100_000,
    estimate: (vm: number): NeedEstimate => ({ needPages: 1000 + wants[vm], bound: "exact", rule: "target", directPages: 1000, missRatio: 0.01, floorMissRatio: 0, windowAccesses: 1e6 }),
  } as unknown as CacheTracerView;
  const host = { nowSeconds: 0, freePages, vms, cacheTracer: tracer, setCacheCapacity: (vm: number, p: number) => (capacities[vm] = p), note: () => {} } as unknown as HostControl;
  return { host, capacities };
}

describe("ExclusiveCacheAllocation's pool", () => {
  it("counts the pages the caches hold now as available to share, beside free memory", () => {
    const { host, capacities } = fakeHost([400, 400], [300, 300], 100);
    const policy = new ExclusiveCacheAllocation({ budget: 10_000 });
    policy.tick(host);
    expect(policy.decisions[0].poolPages).toBe(700);
    expect(capacities[0] + capacities[1]).toBe(700);
  });

  it("gives a chunk to the VM added first when two save as many misses", () => {
    const { host, capacities } = fakeHost([500, 500], [0, 0], 1_000_000);
    new ExclusiveCacheAllocation({ budget: 50, chunk: 50 }).tick(host);
    expect(capacities).toEqual([50, 0]);
  });

  it("is not short when the wants add up to the pool exactly: each VM gets its want directly", () => {
    const { host, capacities } = fakeHost([300, 200], [0, 0], 1_000_000);
    const policy = new ExclusiveCacheAllocation({ budget: 500 });
    policy.tick(host);
    expect(capacities).toEqual([300, 200]);
    expect(policy.decisions[0].short).toBe(false);
  });

  it("refuses a budget of 0, which would empty every cache, naming the path", () => {
    expect(() => new ExclusiveCacheAllocation({ budget: 0 })).toThrow(/^cacheAllocation\.budget: must be at least one page \(0 would empty every exclusive cache\) \(got 0\)$/);
    expect(() => new ExclusiveCacheAllocation({ budget: "0 MiB" }, "experiment.cacheAllocation")).toThrow(/^experiment\.cacheAllocation\.budget: must be at least one page/);
    expect(new ExclusiveCacheAllocation({ budget: 1 }).budgetPages).toBe(1);
  });
});
