import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { Host } from "../../src/host/host";
import { RESIDENT } from "../../src/host/page-state";
import { WRITE } from "../../src/workloads/workload";

describe("Host", () => {
  it("conserves memory at every step: frames = free + resident, swap slots = host-swapped pages (any seed, any mix)", () => {
    const vmArb = fc.record({
      memory: fc.integer({ min: 200, max: 1500 }),
      maxFraction: fc.double({ min: 0.3, max: 1, noNaN: true }),
      pages: fc.integer({ min: 50, max: 2500 }),
      kind: fc.constantFrom("uniform", "zipf", "hot-cold"),
      writeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      balloon: fc.boolean(),
    });
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.array(vmArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 300, max: 2000 }), (seed, vms, memory) => {
      const host = new Host({ memory, seed, quantumSeconds: 0.005 });
      vms.forEach((v, i) => {
        // At most what the guest can hold (memory beside the kernel, plus default swap of twice the memory, less a slot).
        const pages = Math.min(v.pages, v.memory - Math.round(v.memory / 64) + 2 * v.memory - 1);
        const workload = v.kind === "zipf" ? { kind: "zipf", pages, exponent: 0.9, writeFraction: v.writeFraction }
          : v.kind === "hot-cold" ? { kind: "hot-cold", pages, hotFraction: 0.2, hotAccessFraction: 0.8, writeFraction: v.writeFraction }
          : { kind: "uniform", pages, writeFraction: v.writeFraction };
        host.addVm({ name: `vm${i}`, memory: v.memory, max: Math.max(40, Math.floor(v.memory * v.maxFraction)), balloon: v.balloon, workload });
      });
      host.run({ seconds: 0.1, sampleEvery: 0.05, checkInvariants: true });
      const by = host.memoryByState();
      const resident = Object.values(by.vms).reduce((a, r) => a + r.resident + r.trapped, 0);
      expect(resident + by.free).toBe(memory);
    }), { numRuns: 15 });
  });

  it("backs a page only when the guest first touches it (one hidden alloc fault per page)", () => {
    const host = new Host({ memory: 10_000 });
    const vm = host.addVm({ name: "a", memory: 4000, guest: { kernelOverhead: 0 }, workload: { kind: "uniform", pages: 1000 } });
    expect(vm.residentPages).toBe(0);
    host.run({ seconds: 0.1 });
    expect(vm.residentPages).toBe(1000);
    expect(vm.hostAllocFaults).toBe(1000);
    expect(host.freePages).toBe(9000);
  });

  it("wires the guest kernel's pages at boot", () => {
    const host = new Host({ memory: 10_000 });
    const vm = host.addVm({ name: "a", memory: 6400 });
    expect(vm.guest.settings.kernelPages).toBe(100);
    expect(vm.residentPages).toBe(100);
  });

  it("keeps a VM at or below its limit by swapping its own pages at random", () => {
    const host = new Host({ memory: 10_000, seed: 3 });
    const vm = host.addVm({ name: "a", memory: 2000, max: 500, balloon: false, guest: { kernelOverhead: 0 }, workload: { kind: "uniform", pages: 800 } });
    const run = host.run({ seconds: 1, sampleEvery: 0.1, checkInvariants: true });
    expect(Math.max(...(run.timeline.array("residentPages") as number[]))).toBeLessThanOrEqual(500);
    expect(vm.residentPages).toBe(500);
    expect(vm.hostSwappedPages).toBeGreaterThan(200);
    expect(vm.residentPages + vm.hostSwappedPages).toBeLessThanOrEqual(800);
    expect(vm.hostSwapFaults).toBeGreaterThan(0);
    expect(host.freePages).toBe(9500);
  });

  it("makes a fault wait for hostSwapWriteNs only when the host must swap to free a frame", () => {
    const host = new Host({ memory: 10_000, seed: 3, costs: { hostSwapWriteNs: 1_000_000 } });
    const vm = host.addVm({ name: "a", memory: 2000, max: 500, balloon: false, guest: { kernelOverhead: 0 } });
    for (let v = 0; v < 500; v++) expect(vm.guest.access(v, WRITE)).toBe(2_000 + 1_000 + 100); // frames to spare
    expect(vm.guest.access(500, WRITE)).toBe(1_000_000 + 2_000 + 1_000 + 100); // at its limit: one swap-out first
    expect(host.swap.writes).toBe(1);
    expect(host.swapOut(0, 10)).toBe(10); // a policy's swap-outs are asynchronous: nobody waits
    expect(vm.guest.access(501, WRITE)).toBe(2_000 + 1_000 + 100);
    host.checkInvariants();
  });

  it("never swaps when every VM fits", () => {
    const host = new Host({ memory: 5000, seed: 2 });
    host.addVm({ name: "a", memory: 2000, workload: { kind: "uniform", pages: 1500 } });
    host.addVm({ name: "b", memory: 2000, workload: { kind: "zipf", pages: 1500, exponent: 1 } });
    const run = host.run({ seconds: 0.5 });
    expect(run.summary.vms.every((v) => v.hostSwapOuts === 0 && v.doublePagingEvents === 0)).toBe(true);
  });

  it("swaps random pages from the VM furthest above its target when frames run out", () => {
    const host = new Host({ memory: 1000, seed: 5 });
    const a = host.addVm({ name: "a", memory: 900, guest: { kernelOverhead: 0 }, workload: { kind: "uniform", pages: 900 } });
    host.run({ seconds: 0.2 });
    expect(a.residentPages).toBe(900);
    host.setTarget(0, 100); // a is now far above its target
    const b = host.addVm({ name: "b", memory: 900, guest: { kernelOverhead: 0 }, workload: { kind: "uniform", pages: 600 } });
    host.run({ seconds: 0.2, checkInvariants: true });
    expect(a.hostSwapOuts).toBeGreaterThan(0);
    expect(b.hostSwapOuts).toBe(0);
  });

  it("double paging arises by itself: a guest under its own pressure pages out pages the host already swapped", () => {
    const config = (max: number) => {
      const host = new Host({ memory: 20_000, seed: 9 });
      const vm = host.addVm({ name: "a", memory: 1000, max, balloon: false, guest: { kernelOverhead: 0 },
        workload: { kind: "uniform", pages: 1500, writeFraction: 0.5 } });
      host.run({ seconds: 2, checkInvariants: false });
      host.checkInvariants();
      return vm;
    };
    const limited = config(600);
    expect(limited.doublePagingEvents).toBeGreaterThan(0);
    expect(limited.guest.guestPageOuts).toBeGreaterThan(limited.doublePagingEvents);
    const free = config(1000);
    expect(free.doublePagingEvents).toBe(0);
    expect(free.guest.guestPageOuts).toBeGreaterThan(0);
  });

  it("an invalidated page traps once on its next access and is resident again", () => {
    const host = new Host({ memory: 1000 });
    const vm = host.addVm({ name: "a", memory: 100, guest: { kernelOverhead: 0 } });
    vm.guest.access(3, 0);
    const p = vm.guest.vspace.get(3);
    const traps: number[] = [];
    host.addPolicy({ name: "spy", periodSeconds: 1000, tick: () => {}, onTrap: (_h, v, ppn) => { traps.push(v, ppn); } });
    expect(host.invalidate(0, p)).toBe(true);
    expect(vm.guest.access(3, 0)).toBe(2_000 + 100);
    expect(vm.guest.access(3, 0)).toBe(100);
    expect(traps).toEqual([0, p]);
    expect(vm.hstate[p]).toBe(RESIDENT);
    expect(vm.trapFaults).toBe(1);
  });

  it("continues the clock across runs", () => {
    const host = new Host({ memory: 1000 });
    host.addVm({ name: "a", memory: 100, workload: { kind: "uniform", pages: 50 } });
    host.run({ seconds: 0.5, sampleEvery: 0.25 });
    const run = host.run({ seconds: 0.5, sampleEvery: 0.25 });
    expect(run.timeline.array("t")).toEqual([0.75, 1]);
    expect(run.summary.startSeconds).toBe(0.5);
  });

  it("refuses a workload larger than guest memory plus guest swap when the VM is added; the largest that fits runs", () => {
    // 1000 pages, 16 wired by the kernel, 500 of guest swap: 1483 anonymous pages fit (a page read
    // back from swap keeps its slot, so one slot must stay free); a loop over 1484 dies on its second pass.
    const vm = { name: "a", memory: 1000, balloon: false, guest: { swap: 500 } };
    const host = new Host({ memory: 5000 });
    expect(() => host.addVm({ ...vm, workload: { kind: "loop", pages: 1484 } })).toThrow(
      "vms[0].workload: the workload touches 1,484 pages (5.80 MiB) of anonymous memory, more than the guest can hold: 984 pages (3.84 MiB) of memory beside its kernel plus 500 pages (1.95 MiB) of guest swap, less the one slot a page coming back from swap needs; give the guest more swap (\"guest\": {\"swap\": ...}) or memory, or shrink the workload");
    expect(host.vms).toHaveLength(0);
    const ok = host.addVm({ ...vm, workload: { kind: "loop", pages: 1483, writeFraction: 1 } });
    host.run({ seconds: 0.5, sampleEvery: 0.5 });
    expect(ok.accesses).toBeGreaterThan(1483 + 50); // into the second pass: pages come back from swap
    expect(ok.guest.guestDiskReads).toBeGreaterThan(50);
    expect(ok.guest.guestSwappedPages).toBe(499);
    // Overlapping phases count once; another base page counts apart; file-backed pages need no swap.
    expect(() => new Host({ memory: 5000 }).addVm({ ...vm, workload: { kind: "phases", phases: [
      { accesses: 10, workload: { kind: "uniform", pages: 1400 } }, { accesses: 10, workload: { kind: "uniform", pages: 1483 } }] } })).not.toThrow();
    expect(() => new Host({ memory: 5000 }).addVm({ ...vm, workload: { kind: "phases", phases: [
      { accesses: 10, workload: { kind: "uniform", pages: 1400 } }, { accesses: 10, workload: { kind: "uniform", pages: 100, basePage: 5000 } }] } }, { where: "x" })).toThrow(/^x\.workload: the workload touches 1,500 pages/);
    // Half file-backed: about 1,400 of 2,800 pages are anonymous, so it fits; 3,200 do not.
    expect(() => new Host({ memory: 5000 }).addVm({ ...vm, guest: { swap: 500, fileBackedFraction: 0.5 }, workload: { kind: "loop", pages: 2800 } })).not.toThrow();
    expect(() => new Host({ memory: 5000 }).addVm({ ...vm, guest: { swap: 500, fileBackedFraction: 0.5 }, workload: { kind: "loop", pages: 3200 } })).toThrow(/the workload touches 1,[56]\d\d pages/);
  });

  it("checks a new workload from code against the guest too", () => {
    const host = new Host({ memory: 5000 });
    host.addVm({ name: "a", memory: 1000, guest: { swap: 0 } });
    expect(() => host.setWorkload("a", { kind: "uniform", pages: 985 })).toThrow(/^a\.workload: the workload touches 985 pages/); // no swap: 984 beside the kernel
    host.setWorkload("a", { kind: "uniform", pages: 984 });
  });

  it("runs an at() action due at the end of a run in the next run, and says so in the first", () => {
    const host = new Host({ memory: 1000 });
    host.addVm({ name: "a", memory: 200 });
    let calls = 0;
    // 0.498 rounds to the quantum at 0.5 s, the end of the first run.
    host.at(0.498, "the action runs", () => { calls++; });
    const first = host.run({ seconds: 0.5, sampleEvery: 0.25 });
    expect(calls).toBe(0);
    expect(first.events.map((e) => e.text)).toEqual(["1 scheduled action (at 0.5 s) falls after this run's last quantum and has not run; it runs when the host runs on"]);
    expect(first.events[0].t).toBe(0.5);
    const second = host.run({ seconds: 0.5, sampleEvery: 0.25 });
    expect(calls).toBe(1);
    expect(second.events).toEqual([{ t: 0.5, text: "the action runs" }]);
  });

  it("runs an at() action in the run's last quantum", () => {
    const host = new Host({ memory: 1000 });
    host.addVm({ name: "a", memory: 200 });
    let calls = 0;
    host.at(0.494, "last", () => { calls++; });
    expect(host.run({ seconds: 0.5 }).events).toEqual([{ t: 0.49, text: "last" }]);
    expect(calls).toBe(1);
  });

  it("checks at() actions and onProgress where they are given, not when first called", () => {
    const host = new Host({ memory: 1000 });
    host.addVm({ name: "a", memory: 200 });
    expect(() => host.at(1, "grow", "host.setMax('a', 100)" as never)).toThrow(/^at\.action: must be a function to call at that time/);
    expect(() => host.at(1, "grow", undefined as never)).toThrow("at.action: must be a function to call at that time, e.g. () => host.setMax(\"web\", \"256 MiB\") (got undefined)");
    expect(() => host.at(1, 7 as never, () => {})).toThrow(/^at\.label: must be a string/);
    expect(() => host.run({ seconds: 0.1, onProgress: "bar" as never })).toThrow("run.onProgress: must be a function, e.g. (doneSeconds, totalSeconds) => { ... } (got \"bar\")");
    expect(() => host.run({ seconds: 0.1, onProgress: {} as never })).toThrow(/^run\.onProgress: must be a function/);
    expect(host.nowSeconds).toBe(0); // refused before anything ran
  });
});

describe("double paging, step by step", () => {
  /** A 4-page guest holding virtual pages 0..3 in guest pages 0..3, all dirty. */
  function fullGuest() {
    const host = new Host({ memory: 1000, seed: 1 });
    const vm = host.addVm({ name: "a", memory: 4, balloon: false, guest: { kernelOverhead: 0 } });
    for (let v = 0; v < 4; v++) vm.guest.access(v, WRITE);
    expect(Array.from({ length: 4 }, (_, v) => vm.guest.vspace.get(v))).toEqual([0, 1, 2, 3]);
    return { host, vm };
  }

  it("a guest page-out of a host-swapped page costs a host swap-in first, and is counted", () => {
    const { host, vm } = fullGuest();
    expect(vm.swapOut(0)).toBe(true); // the host swaps guest page 0 (virtual page 0) at random
    const reads = host.swap.reads;
    // A fifth page: the guest's CLOCK clears every referenced bit, then evicts guest page 0.
    const ns = vm.guest.access(4, WRITE);
    expect(vm.doublePagingEvents).toBe(1);
    expect(host.swap.reads).toBe(reads + 1);
    expect(vm.hostSwapFaults).toBe(0); // not a guest access: the guest's own page-out read it
    expect(vm.guest.guestPageOuts).toBe(1);
    expect(ns).toBe(5_000_000 + 1_000 + 100); // the host swap-in + zero-fill + hit
    expect(vm.guest.vspace.get(4)).toBe(0);
    expect(vm.hstate[0]).toBe(RESIDENT);
    expect(vm.hostSwappedPages).toBe(0);
    host.checkInvariants();
  });

  it("a page-out of a page the host left resident is no double paging", () => {
    const { host, vm } = fullGuest();
    expect(vm.swapOut(3)).toBe(true); // not the page CLOCK will pick
    expect(vm.guest.access(4, WRITE)).toBe(1_000 + 100);
    expect(vm.doublePagingEvents).toBe(0);
    expect(vm.hostSwappedPages).toBe(1);
    host.checkInvariants();
  });
});
