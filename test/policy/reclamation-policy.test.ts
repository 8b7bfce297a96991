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

  it("swaps random pages up to the high threshold in the hard state, as Waldspurger's every state aims at high (§6.3)", () => {
    const { host, calls } = fakeHost(10_000, 150, [{ residentPages: 6000 }, { residentPages: 3850 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.states).toEqual(["hard"]);
    const swapped = [...calls.swap.values()].reduce((a, b) => a + b, 0);
    expect(swapped).toBeGreaterThanOrEqual(600 - 150); // high (6%), not soft (4%): 450 pages, not 250
    expect(swapped).toBeLessThanOrEqual(600 - 150 + 2);
    expect(calls.balloon.get(0)).toBeGreaterThan(0); // and keeps ballooning
    expect([...calls.blocked.values()]).not.toContain(true); // blocking is for the low state only
  });

  it("does not swap with swapping off, and never swaps a VM below its reservation", () => {
    const off = fakeHost(10_000, 150, [{ residentPages: 6000 }, { residentPages: 3850 }]);
    new ReclamationPolicy({ swap: false }).tick(off.host);
    expect(off.calls.swap.size).toBe(0);
    const reserved = fakeHost(10_000, 150, [{ residentPages: 6000, minPages: 5990, balloonMaxPages: 0 }, { residentPages: 3850, minPages: 3800, balloonMaxPages: 0 }]);
    new ReclamationPolicy().tick(reserved.host);
    expect([reserved.calls.swap.get(0), reserved.calls.swap.get(1)]).toEqual([10, 50]);
  });

  it("counts reclamation already in flight: a second soft tick before the balloon inflates lowers no target further", () => {
    const { host, views } = fakeHost(10_000, 300, [{ residentPages: 6000 }, { residentPages: 3700 }]);
    const policy = new ReclamationPolicy();
    policy.tick(host);
    policy.tick(host); // the guest has not given anything up yet
    expect(views[0].targetPages).toBe(5700);
  });

  it("never deflates a balloon under pressure", () => {
    const { host, calls } = fakeHost(10_000, 300, [{ residentPages: 6000, balloonTargetPages: 2500 }, { residentPages: 3700 }]);
    new ReclamationPolicy().tick(host);
    expect(calls.balloon.get(0)).toBe(2500); // memory − target would be 2300
  });

  it("raises targets again when memory is plentiful, unless deflating is off", () => {
    for (const deflate of [true, false]) {
      const { host, views, calls } = fakeHost(10_000, 300, [{ residentPages: 6000 }, { residentPages: 3700 }]);
      const policy = new ReclamationPolicy({ deflate });
      policy.tick(host);
      (host as { freePages: number }).freePages = 5000;
      policy.tick(host);
      expect(views[0].targetPages).toBe(deflate ? 8000 : 5700);
      expect(calls.balloon.get(0)).toBe(deflate ? 0 : 2300);
    }
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
    const { host, calls, views } = fakeHost(100_000, 90_000, [{ residentPages: 100, maxPages: 3000 }]);
    const policy = new ReclamationPolicy();
    policy.tick(host);
    expect(calls.balloon.get(0)).toBe(5000);
    // A limit lowered later caps the target the policy already holds.
    views[0].maxPages = 2900;
    policy.tick(host);
    expect(calls.balloon.get(0)).toBe(5100);
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

  it("conserves memory at every step for any mix of VMs, limits, policy settings and seeds", () => {
    const vmArb = fc.record({
      memory: fc.integer({ min: 300, max: 1500 }),
      minFraction: fc.constantFrom(0, 0, 0.1),
      shares: fc.integer({ min: 1, max: 1000 }),
      balloon: fc.option(fc.record({ maxFraction: fc.double({ min: 0.05, max: 0.9, noNaN: true }), inflatePagesPerSecond: fc.integer({ min: 100, max: 100_000 }) }), { nil: undefined }),
      kind: fc.constantFrom("uniform", "zipf", "hot-cold", "toucher", "scan"),
      pagesFraction: fc.double({ min: 0.2, max: 1.9, noNaN: true }),
      writeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      limitAt: fc.option(fc.double({ min: 0.3, max: 1, noNaN: true }), { nil: undefined }),
    });
    const policyArb = fc.record({
      periodSeconds: fc.constantFrom(0.01, 0.05, 0.1),
      high: fc.double({ min: 0.03, max: 0.3, noNaN: true }),
      balloon: fc.boolean(),
      swap: fc.boolean(),
      block: fc.boolean(),
      deflate: fc.boolean(),
    });
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e9 }), fc.double({ min: 0.3, max: 1.2, noNaN: true }), fc.array(vmArb, { minLength: 1, maxLength: 4 }), policyArb, (seed, overcommit, vms, p) => {
      // Machine memory as a fraction of the VMs' total, so most cases are under pressure.
      const memory = Math.max(400, Math.floor(overcommit * vms.reduce((a, v) => a + v.memory, 0)));
      const policy = new ReclamationPolicy({
        periodSeconds: p.periodSeconds, balloon: p.balloon, swap: p.swap, block: p.block, deflate: p.deflate,
        thresholds: { high: p.high, soft: (p.high * 2) / 3, hard: p.high / 3, low: p.high / 6 },
      });
      const host = new Host({ memory, seed, quantumSeconds: 0.005, costs: { hitNs: 1000 }, policies: [policy] });
      vms.forEach((v, i) => {
        const pages = Math.max(1, Math.floor(v.memory * v.pagesFraction));
        const workload = v.kind === "zipf" ? { kind: "zipf", pages, exponent: 0.9, writeFraction: v.writeFraction }
          : v.kind === "hot-cold" ? { kind: "hot-cold", pages, hotFraction: 0.2, hotAccessFraction: 0.9, writeFraction: v.writeFraction }
          : v.kind === "toucher" ? { kind: "toucher", workingSetPages: pages, writeFraction: v.writeFraction }
          : { kind: v.kind, pages, writeFraction: v.writeFraction };
        host.addVm({ name: `vm${i}`, memory: v.memory, min: Math.floor(v.minFraction * v.memory), shares: v.shares, balloon: v.balloon ?? false, workload });
        if (v.limitAt !== undefined) {
          const vm = host.vms[i];
          const max = Math.max(vm.minPages, vm.guest.settings.kernelPages + 1, Math.floor(v.limitAt * v.memory));
          host.at(0.1, "", () => host.setMax(`vm${i}`, max));
        }
      });
      const run = host.run({ seconds: 0.25, sampleEvery: 0.05, checkInvariants: true });
      // checkInvariants ran after every quantum: frames = free + resident, swap = host-swapped,
      // per-state counts, balloons within their caps, no virtual page on a pinned guest page.
      const rows = run.timeline.objects() as Array<Record<string, number | string>>;
      for (const r of rows) {
        const vm = host.vm(r.vm as string);
        expect(r.balloonedPages as number).toBeLessThanOrEqual(vm.balloonMaxPages);
      }
      for (const h of run.hostTimeline.objects() as Array<Record<string, number>>) {
        const inVms = rows.filter((r) => r.t === h.t).reduce((a, r) => a + (r.residentPages as number), 0);
        expect(inVms + h.freePages).toBe(memory);
      }
    }), { numRuns: 25 });
  });

  it("moves an overcommitted host out of the high state and balloons memory back", () => {
    const host = overcommitted(7);
    const run = host.run({ seconds: 3, sampleEvery: 0.1 });
    expect(run.summary.stateChanges.length).toBeGreaterThan(0);
    expect(host.vms.reduce((a, v) => a + v.balloonedPages, 0)).toBeGreaterThan(1000);
    expect(run.summary.minFreePages).toBeLessThan(0.04 * 6000);
  });

  it("blocks VMs without balloons in the low state on a real host, though its swap-outs complete at once", () => {
    const host = new Host({ memory: 1200, seed: 3, quantumSeconds: 0.005, costs: { hitNs: 1000 }, policies: [new ReclamationPolicy({ periodSeconds: 0.05 })] });
    for (const name of ["a", "b"]) host.addVm({ name, memory: 1000, balloon: false, guest: { kernelOverhead: 0 }, workload: { kind: "uniform", pages: 1000 } });
    const run = host.run({ seconds: 0.5, sampleEvery: 0.05, checkInvariants: true });
    expect(run.summary.secondsInState.low).toBeGreaterThan(0);
    expect(run.summary.vms.every((v) => v.blockedSeconds > 0)).toBe(true);
    const rows = run.timeline.objects() as Array<Record<string, number | string>>;
    // Blocked only for periods that began in the low state; targets are in frames (no balloon).
    for (const r of rows) if ((r.blockedFraction as number) > 0) expect(r.targetPages as number).toBeLessThan(1000);
    expect(run.events.map((e) => e.text).join("\n")).toMatch(/a is blocked \(above its target while free memory is low\)/);
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
