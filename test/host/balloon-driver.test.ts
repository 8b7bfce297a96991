import { describe, expect, it } from "vitest";
import { BalloonDriver, BalloonGuest, BalloonSettings, VMW_BALLOON_RATES } from "../../src/host/balloon-driver";
import { Host } from "../../src/host/host";
import { resolveVmSettings } from "../../src/host/host-config";
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

/**
 * A scripted guest: `free` pages on its free list, then `evictable` pages it can page out (each
 * costing `pageOutNs` of the driver's time), then allocations fail (−1).
 */
class ScriptedGuest implements BalloonGuest {
  readonly flags = new Uint8Array(1 << 20);
  pendingNs = 0;
  pageOuts = 0;
  private next = 0;
  constructor(public freePages: number, public evictable = 0, public pageOutNs = 0) {}
  allocatePage(): number {
    if (this.freePages > 0) this.freePages--;
    else if (this.evictable > 0) {
      this.evictable--;
      this.pageOuts++;
      this.pendingNs += this.pageOutNs;
    } else return -1;
    return this.next++;
  }
  releasePage(): void {
    this.freePages++;
  }
  takePendingNs(): number {
    const ns = this.pendingNs;
    this.pendingNs = 0;
    return ns;
  }
}

const ADAPTIVE: BalloonSettings = { enabled: true, maxPages: 1 << 20, rate: "adaptive", inflatePagesPerSecond: 2048, deflatePagesPerSecond: 2048 };
const port = { balloonPage: () => {}, unballoonPage: () => {} };
const QUANTUM_NS = 10e6;

/** Run the driver through whole 10 ms quanta from `fromSeconds` to `toSeconds`; the pages moved. */
function runDriver(balloon: BalloonDriver, fromSeconds: number, toSeconds: number): number {
  let moved = 0;
  for (let q = Math.round(fromSeconds * 100); q < Math.round(toSeconds * 100); q++) moved += balloon.step(0.01, (q + 1) * QUANTUM_NS);
  return moved;
}

describe("BalloonDriver's adaptive rate (vmw_balloon.c 1.2.1.3-k)", () => {
  const R = VMW_BALLOON_RATES;

  it("uses the driver's constants", () => {
    expect(R).toMatchObject({ noSleepAllocMaxPages: 16384, rateAllocMinPages: 512, rateAllocMaxPages: 2048, rateAllocIncPages: 16, rateFreeMinPages: 512, rateFreeMaxPages: 16384, rateFreeIncPages: 16, slowCycles: 4, cycleSeconds: 1 });
  });

  it("takes up to 16,384 free pages in one cycle without sleeping, then waits a second for the next cycle", () => {
    const guest = new ScriptedGuest(100_000);
    const balloon = new BalloonDriver(ADAPTIVE, guest, port);
    balloon.setTarget(50_000);
    expect(runDriver(balloon, 0, 0.01)).toBe(16384); // the whole cycle in the first quantum
    expect(runDriver(balloon, 0.01, 1)).toBe(0);
    expect(runDriver(balloon, 1, 1.01)).toBe(16384);
    expect(runDriver(balloon, 1.01, 3)).toBe(16384); // the cycle at 2 s
    expect(runDriver(balloon, 3, 4)).toBe(50_000 - 3 * 16384);
    expect(balloon.noSleepAllocations).toBe(50_000);
    expect(balloon.sleepAllocations).toBe(0);
    expect(balloon.slowCycles).toBe(0);
  });

  it("under guest pressure (no free page) takes 2,048 pages a cycle by sleeping allocations, and the next 3 cycles stay at 2,048 even from free memory", () => {
    const guest = new ScriptedGuest(0, 1_000_000);
    const balloon = new BalloonDriver(ADAPTIVE, guest, port);
    balloon.setTarget(200_000);
    expect(runDriver(balloon, 0, 1)).toBe(2048);
    expect(balloon.sleepAllocations).toBe(2048);
    expect(guest.pageOuts).toBe(2048); // the guest chose what to page out
    expect(balloon.slowCycles).toBe(R.slowCycles);
    guest.freePages = 1_000_000; // pressure gone: free memory again
    for (let cycle = 1; cycle <= 3; cycle++) expect(runDriver(balloon, cycle, cycle + 1)).toBe(2048);
    expect(balloon.noSleepAllocations).toBe(3 * 2048);
    expect(runDriver(balloon, 4, 5)).toBe(16384);
  });

  it("when free pages run out part-way, tops the cycle up to 2,048 pages by sleeping, or stops if it already has 2,048", () => {
    const some = new ScriptedGuest(1000, 1_000_000);
    const a = new BalloonDriver(ADAPTIVE, some, port);
    a.setTarget(100_000);
    expect(runDriver(a, 0, 1)).toBe(2048);
    expect([a.noSleepAllocations, a.sleepAllocations, a.noSleepFailures]).toEqual([1000, 1048, 1]);
    const many = new ScriptedGuest(3000, 1_000_000);
    const b = new BalloonDriver(ADAPTIVE, many, port);
    b.setTarget(100_000);
    expect(runDriver(b, 0, 1)).toBe(3000);
    expect([b.sleepAllocations, b.slowCycles]).toEqual([0, R.slowCycles]);
  });

  it("halves rate_alloc when a sleeping allocation fails (down to 512), and raises it by 16 per rate_alloc pages a cycle takes", () => {
    const guest = new ScriptedGuest(0, 0);
    const balloon = new BalloonDriver(ADAPTIVE, guest, port);
    balloon.setTarget(100_000);
    const rates: number[] = [];
    for (let cycle = 0; cycle < 4; cycle++) {
      runDriver(balloon, cycle, cycle + 1);
      rates.push(balloon.rateAllocPages);
    }
    expect(rates).toEqual([1024, 512, 512, 512]);
    expect(balloon.sleepFailures).toBe(4);
    guest.evictable = 1_000_000;
    expect(runDriver(balloon, 4, 5)).toBe(512);
    expect(balloon.rateAllocPages).toBe(528);
    expect(runDriver(balloon, 5, 6)).toBe(528);
    expect(balloon.rateAllocPages).toBe(544);
  });

  it("deflates up to 16,384 pages a cycle", () => {
    const guest = new ScriptedGuest(100_000);
    const balloon = new BalloonDriver(ADAPTIVE, guest, port);
    balloon.setTarget(40_000);
    runDriver(balloon, 0, 3);
    expect(balloon.sizePages).toBe(40_000);
    balloon.setTarget(0);
    expect(runDriver(balloon, 3, 4)).toBe(-16384);
    expect(runDriver(balloon, 4, 6)).toBe(-(40_000 - 16384));
    expect(guest.freePages).toBe(100_000);
  });

  it("waits for the guest's page-outs on its own clock, and starts the next cycle a second after the last one ended", () => {
    const guest = new ScriptedGuest(0, 1_000_000, 5e6); // 5 ms per page-out
    const balloon = new BalloonDriver(ADAPTIVE, guest, port);
    balloon.setTarget(100_000);
    expect(runDriver(balloon, 0, 0.01)).toBe(2); // two 5 ms page-outs fit in a 10 ms quantum
    expect(runDriver(balloon, 0.01, 10.24)).toBe(2046); // the cycle's 2,048 take 10.24 s
    expect(runDriver(balloon, 10.24, 11.24)).toBe(0); // then the worker sleeps a second
    expect(runDriver(balloon, 11.24, 11.25)).toBe(2);
  });

  it("is the default, on a real guest: an idle 64k-page guest gives up 16,384 untouched pages in the first second", () => {
    const { vm } = guestWith(65_536, { maxFraction: 0.9 });
    expect(vm.balloon.settings.rate).toBe("adaptive");
    vm.balloon.setTarget(40_000);
    expect(vm.balloon.step(0.01, 10e6)).toBe(16384);
    expect(vm.guest.guestPageOuts).toBe(0);
  });

  it("keeps a fixed rate as an option: giving a rate means fixed, and a rate with \"adaptive\" is refused by name", () => {
    const settings = (balloon: Record<string, unknown>) => resolveVmSettings({ name: "g", memory: 1000, balloon }, "vms[0]").balloon;
    expect(settings({}).rate).toBe("adaptive");
    expect(settings({ inflatePagesPerSecond: 100 })).toMatchObject({ rate: "fixed", inflatePagesPerSecond: 100, deflatePagesPerSecond: 2048 });
    expect(settings({ rate: "fixed" })).toMatchObject({ rate: "fixed", inflatePagesPerSecond: 2048 });
    expect(() => settings({ rate: "adaptive", deflatePagesPerSecond: 100 })).toThrow(/vms\[0\]\.balloon\.deflatePagesPerSecond/);
    expect(() => settings({ rate: "fast" })).toThrow(/vms\[0\]\.balloon\.rate.*"adaptive", "fixed"/);
  });
});
