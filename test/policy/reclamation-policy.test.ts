import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { HostControl, VmView } from "../../src/host/host-policy";
import { Host } from "../../src/host/host";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";

type MutableView = { -readonly [K in keyof VmView]: VmView[K] };

/** A scripted HostControl that records what the policy asks for. */
function fakeHost(machinePages: number, freePages: number, vms: Array<Partial<MutableView>>) {
  const calls = { balloon: new Map<number, number>(), swap: new Map<number, number>(), blocked: new Map<number, boolean>(), states: [] as string[] };
  const views: MutableView[] = vms.map((v, i) => ({
    index: i, name: `vm${i}`, memoryPages: 8000, minPages: 0, maxPages: 8000, shares: 100, residentPages: 0, hostSwappedPages: 0,
    balloonedPages: 0, balloonTargetPages: 0, balloonMaxPages: 5200, targetPages: 8000, blocked: false, accesses: 0, hstate: new Uint8Array(0), ...v,
  }));
  const host: HostControl = {
    nowSeconds: 0, machinePages, freePages, hostSwapCapacityPages: 1e6, hostSwapUsedPages: 0, vms: views,
    setBalloonTarget: (i, p) => { const kept = Math.max(0, Math.min(p, views[i].balloonMaxPages)); calls.balloon.set(i, kept); views[i].balloonTargetPages = kept; return kept; },
    swapOut: (i, p) => { calls.swap.set(i, (calls.swap.get(i) ?? 0) + p); return p; },
    setBlocked: (i, b) => { calls.blocked.set(i, b); views[i].blocked = b; },
    setTarget: (i, p) => { views[i].targetPages = p; },
    invalidate: () => false,
    reportState: (label) => { calls.states.push(label); },
    note: () => {},
  };
  return { host, calls, views };
}

describe("ReclamationPolicy decisions", () => {
  it("does nothing in the high state", () => {
    const { host, calls } = fakeHost(10_000, 1000, [{ residentPages: 5000 }, { residentPages: 4000 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.states).toEqual(["high"]);
    expect([...calls.balloon.values()]).toEqual([0, 0]);
    expect(calls.swap.size).toBe(0);
  });

  it("balloons in the soft state, from the VM with the most pages per share, and does not swap", () => {
    // 3% free: need 600 − 300 = 300 pages back; vm0 holds 6000 pages for 100 shares, vm1 3700.
    const { host, calls, views } = fakeHost(10_000, 300, [{ residentPages: 6000 }, { residentPages: 3700 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.states).toEqual(["soft"]);
    expect(views[0].targetPages).toBe(5700);
    expect(calls.balloon.get(0)).toBe(8000 - 5700); // the guest may keep exactly its target
    expect(calls.balloon.get(1)).toBe(0);
    expect(calls.swap.size).toBe(0);
  });

  it("swaps in the soft state only where ballooning is impossible (no driver)", () => {
    const { host, calls } = fakeHost(10_000, 300, [{ residentPages: 6000, balloonMaxPages: 0 }, { residentPages: 3700 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.swap.get(0)).toBe(300);
  });

  it("swaps random pages up to the soft threshold in the hard state", () => {
    const { host, calls } = fakeHost(10_000, 150, [{ residentPages: 6000 }, { residentPages: 3850 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.states).toEqual(["hard"]);
    const swapped = [...calls.swap.values()].reduce((a, b) => a + b, 0);
    expect(swapped).toBeGreaterThanOrEqual(400 - 150);
    expect(swapped).toBeLessThanOrEqual(400 - 150 + 2);
    expect(calls.balloon.get(0)).toBeGreaterThan(0); // and keeps ballooning
  });

  it("blocks VMs above their target in the low state, and only those", () => {
    const { host, calls } = fakeHost(10_000, 50, [{ residentPages: 6000 }, { residentPages: 3950, shares: 1e6 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.states).toEqual(["low"]);
    expect(calls.blocked.get(0)).toBe(true);
    expect(calls.blocked.get(1)).toBeUndefined();
  });

  it("with ballooning off, reclaims by swapping alone", () => {
    const { host, calls } = fakeHost(10_000, 300, [{ residentPages: 6000 }, { residentPages: 3700 }]);
    new ReclamationPolicy({ balloon: false }).tick(host);
    expect(calls.balloon.size).toBe(0);
    expect(calls.swap.get(0)).toBe(300);
  });

  it("balloons a VM with a limit down to memory − max even when memory is plentiful", () => {
    const { host, calls } = fakeHost(100_000, 90_000, [{ residentPages: 100, maxPages: 3000 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.balloon.get(0)).toBe(5000);
  });

  it("rejects unknown or bad parameters, naming them", () => {
    expect(() => new ReclamationPolicy({ colour: 1 } as never)).toThrow(/reclamation\.colour/);
    expect(() => new ReclamationPolicy({ periodSeconds: 0 })).toThrow(/reclamation\.periodSeconds/);
    expect(() => new ReclamationPolicy({ balloon: "yes" } as never)).toThrow(/reclamation\.balloon/);
  });
});

describe("ReclamationPolicy on a running host", () => {
  const overcommitted = (seed: number, maxFraction = 0.65, balloon = true) => {
    const host = new Host({ memory: 6000, seed, quantumSeconds: 0.01, policies: [new ReclamationPolicy({ periodSeconds: 0.1, balloon })] });
    for (const i of [0, 1]) {
      host.addVm({ name: `vm${i}`, memory: 4000, balloon: { maxFraction, inflatePagesPerSecond: 20_000 },
        workload: { kind: "hot-cold", pages: 3500, hotFraction: 0.3, hotAccessFraction: 0.9, writeFraction: 0.3 } });
    }
    return host;
  };

  it("keeps every balloon within its max and the guest off ballooned pages, conserving memory at every step (any seed)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(0.1, 0.3, 0.65), (seed, maxFraction) => {
      const host = overcommitted(seed, maxFraction);
      const run = host.run({ seconds: 1, sampleEvery: 0.1, checkInvariants: true });
      const cap = Math.floor(maxFraction * 4000);
      expect(Math.max(...(run.timeline.array("balloonedPages") as number[]))).toBeLessThanOrEqual(cap);
      expect(Math.max(...(run.timeline.array("balloonTargetPages") as number[]))).toBeLessThanOrEqual(cap);
    }), { numRuns: 4 });
  });

  it("moves an overcommitted host out of the high state and balloons memory back", () => {
    const host = overcommitted(7);
    const run = host.run({ seconds: 3, sampleEvery: 0.1 });
    expect(run.summary.stateChanges.length).toBeGreaterThan(0);
    expect(host.vms.reduce((a, v) => a + v.balloonedPages, 0)).toBeGreaterThan(1000);
    expect(run.summary.minFreePages).toBeLessThan(0.04 * 6000);
  });

  it("deflates a balloon when the limit is raised and memory is free", () => {
    const host = new Host({ memory: 20_000, seed: 1, costs: { hitNs: 10_000 }, policies: [new ReclamationPolicy({ periodSeconds: 0.1 })] });
    host.addVm({ name: "a", memory: 4000, balloon: { inflatePagesPerSecond: 50_000, deflatePagesPerSecond: 50_000 }, workload: { kind: "uniform", pages: 1000 } });
    host.setMax("a", 2000);
    host.run({ seconds: 0.5 });
    expect(host.vm("a").balloonedPages).toBe(2000);
    host.setMax("a", 4000);
    host.run({ seconds: 0.5 });
    expect(host.vm("a").balloonedPages).toBe(0);
  });
});
