import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { WRITE } from "../../src/workloads/workload";
import { range } from "./helpers";

describe("a fixed-rate balloon after a stall", () => {
  function guestWith(balloon: Record<string, unknown>) {
    const host = new Host({ memory: 100_000, seed: 1 });
    return host.addVm({ name: "g", memory: 10_000, guest: { kernelOverhead: 0 }, balloon });
  }

  it("moves at most one second's worth of pages in a step however long the stall, then keeps its rate", () => {
    const vm = guestWith({ inflatePagesPerSecond: 100, deflatePagesPerSecond: 50 });
    vm.balloon.setTarget(5000);
    expect(vm.balloon.step(60)).toBe(100); // 60 s of credit would be 6,000 pages: capped at 100
    expect(vm.balloon.step(0.5)).toBe(50);
    vm.balloon.setTarget(0);
    expect(vm.balloon.step(3600)).toBe(-50);
    expect(vm.balloon.sizePages).toBe(100);
  });

  it("caps the credit the same way when steps are given the quantum's end time", () => {
    const vm = guestWith({ inflatePagesPerSecond: 100 });
    vm.balloon.setTarget(5000);
    expect(vm.balloon.step(0.01, 0.01e9)).toBe(1);
    expect(vm.balloon.step(30, 30.01e9)).toBe(100);
    expect(vm.balloon.sizePages).toBe(101);
  });
});

describe("the host's victim when frames run out", () => {
  it("never swaps a VM at its reservation (min), even when it is furthest above its target", () => {
    // 1,000 frames: "reserved" holds 500 at its min of 500; "other" then wants 600.
    const host = new Host({ memory: 1000, swap: "auto", seed: 1 });
    const reserved = host.addVm({ name: "reserved", memory: 500, min: 500, balloon: false, guest: { kernelOverhead: 0 } });
    const other = host.addVm({ name: "other", memory: 600, balloon: false, guest: { kernelOverhead: 0 } });
    for (const v of range(500)) reserved.guest.access(v, WRITE);
    expect(reserved.residentPages).toBe(500);
    // Excess over target: reserved 500 − 500 = 0 beats other's ≤ 0, so only min protects it.
    for (let pass = 0; pass < 3; pass++) for (const v of range(600)) other.guest.access(v, WRITE);
    expect(host.freePages).toBe(0);
    expect(other.hostSwappedPages).toBeGreaterThan(0); // frames were short: other paid with its own
    expect(reserved.hostSwappedPages).toBe(0);
    expect(reserved.residentPages).toBe(500);
    host.checkInvariants();
  });
});
