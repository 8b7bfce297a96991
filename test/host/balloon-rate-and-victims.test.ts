import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";

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
