import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { BALLOONED, G_PINNED, UNBACKED } from "../../src/host/page-state";
import { WRITE } from "../../src/workloads/workload";
import { range } from "./helpers";

function guestWith(memory: number, balloon: Record<string, unknown> = {}) {
  const host = new Host({ memory: 100_000, seed: 1 });
  const vm = host.addVm({ name: "g", memory, guest: { kernelOverhead: 0 }, balloon });
  return { host, vm };
}

describe("BalloonDriver", () => {
  it("clamps its target to the maximum, however far the host asks", () => {
    const { vm } = guestWith(1000, { maxFraction: 0.5 });
    expect(vm.balloon.setTarget(10_000)).toBe(500);
    vm.balloon.step(100);
    expect(vm.balloon.sizePages).toBe(500);
    expect(vm.balloonedPages).toBe(500);
    expect(vm.balloon.setTarget(-5)).toBe(0);
  });

  it("moves at most rate × dt pages per step, carrying fractions over", () => {
    const { vm } = guestWith(10_000, { inflatePagesPerSecond: 1000, deflatePagesPerSecond: 250 });
    vm.balloon.setTarget(5000);
    expect(vm.balloon.step(0.0015)).toBe(1);
    expect(vm.balloon.step(0.0015)).toBe(2); // 1.5 + 1.5 credits
    for (let i = 0; i < 100; i++) vm.balloon.step(0.01);
    expect(vm.balloon.sizePages).toBe(1003);
    vm.balloon.setTarget(0);
    expect(vm.balloon.step(1)).toBe(-250);
  });

  it("takes free guest pages first, and only then makes the guest page out (its own choice)", () => {
    const { vm } = guestWith(100, { maxFraction: 0.6 });
    for (const v of range(80)) vm.guest.access(v, WRITE);
    vm.balloon.setTarget(50);
    vm.balloon.step(1);
    expect(vm.balloon.sizePages).toBe(50);
    expect(vm.guest.guestPageOuts).toBe(30); // 20 free pages went first
    expect(vm.guest.inUsePages).toBe(50);
    vm.checkInvariants();
  });

  it("pins its pages: the host state is BALLOONED, the frames go back to the host, the guest skips them", () => {
    const { host, vm } = guestWith(100);
    for (const v of range(100)) vm.guest.access(v, WRITE);
    const freeBefore = host.freePages;
    vm.balloon.setTarget(40);
    vm.balloon.step(1);
    expect(host.freePages).toBe(freeBefore + 40);
    for (const p of vm.balloon.pinnedPages()) {
      expect(vm.hstate[p]).toBe(BALLOONED);
      expect(vm.guest.flags[p]).toBe(G_PINNED);
    }
    // The guest keeps running on the 60 pages left without ever touching a pinned one.
    for (let pass = 0; pass < 5; pass++) for (const v of range(100)) vm.guest.access(v, WRITE);
    host.checkInvariants();
  });

  it("deflating gives pages back to the guest's free list, unbacked until touched", () => {
    const { host, vm } = guestWith(100);
    vm.balloon.setTarget(30);
    vm.balloon.step(1);
    vm.balloon.setTarget(10);
    vm.balloon.step(1);
    expect(vm.balloon.sizePages).toBe(10);
    expect(vm.guest.freePages).toBe(90);
    expect(vm.stateCounts[UNBACKED]).toBe(90);
    host.checkInvariants();
  });

  it("does nothing when no driver is installed", () => {
    const { vm } = guestWith(100, { enabled: false });
    expect(vm.balloon.setTarget(50)).toBe(0);
    vm.balloon.step(1);
    expect(vm.balloonedPages).toBe(0);
  });
});
