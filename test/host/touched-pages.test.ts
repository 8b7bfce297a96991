/**
 * The ground truth beside working-set estimates: the timeline's trueActivePages counts, exactly,
 * the distinct guest-physical pages the guest touched in each interval; and a policy hears of
 * every first access to a page that had no mapping (trap, first touch, host swap-in).
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { HostControl, HostPolicy } from "../../src/host/host-policy";
import { RESIDENT } from "../../src/host/page-state";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import { ScriptWorkload, range } from "./helpers";

/** Invalidates every resident page of VM 0 at each tick and records the distinct pages it then sees touched. */
class ScanEverything implements HostPolicy {
  readonly name = "scan";
  readonly seen: number[] = [];
  private touched = new Set<number>();
  private started = false;
  constructor(readonly periodSeconds: number) {}
  tick(host: HostControl): void {
    if (this.started) this.seen.push(this.touched.size);
    this.started = true;
    this.touched = new Set();
    const vm = host.vms[0];
    for (let p = 0; p < vm.memoryPages; p++) if (vm.hstate[p] === RESIDENT) host.invalidate(0, p);
  }
  onTrap(_h: HostControl, _vm: number, ppn: number): void { this.touched.add(ppn); }
  onHostFault(_h: HostControl, _vm: number, ppn: number): void { this.touched.add(ppn); }
}

describe("trueActivePages", () => {
  it("counts the distinct pages touched in each interval: 200, then the 50 a new workload reuses, then none", () => {
    const host = new Host({ memory: 4000, seed: 1, costs: { hitNs: 100_000 } });
    host.addVm({ name: "a", memory: 1000, guest: { kernelOverhead: 0 }, workload: new ScriptWorkload(range(200), [], true) });
    host.at(1, "", () => host.setWorkload("a", new ScriptWorkload(range(50, 100), [], true)));
    host.at(2, "", () => host.setWorkload("a", undefined));
    const run = host.run({ seconds: 3, sampleEvery: 1 });
    expect(run.timeline.array("trueActivePages")).toEqual([200, 50, 0]);
    expect(run.timeline.array("estimatedActivePages")).toEqual([null, null, null]);
  });

  it("agrees with a policy that traps every page, while the guest pages and the balloon inflates over touched pages", () => {
    // 300 guest pages, 450 virtual ones touched ~500 times an interval: the guest evicts all the
    // time, and lowering the limit every second makes the balloon evict (and pin) pages the guest
    // touched earlier in the same interval.
    const host = new Host({ memory: 4000, seed: 5, costs: { hitNs: 1_000_000, guestDiskReadNs: 20_000, hostSwapReadNs: 20_000 } });
    const scan = new ScanEverything(0.5);
    host.addPolicy(scan);
    host.addPolicy(new ReclamationPolicy());
    host.addVm({ name: "a", memory: 300, guest: { kernelOverhead: 0 }, balloon: { rate: "fixed", inflatePagesPerSecond: 100 }, workload: { kind: "uniform", pages: 450, writeFraction: 0.5 } });
    for (let t = 1; t <= 4; t++) host.at(t, "", () => host.setMax("a", 300 - 40 * t));
    const run = host.run({ seconds: 6, sampleEvery: 0.5, checkInvariants: true });
    const truth = run.timeline.array("trueActivePages") as number[];
    expect(host.vms[0].guest.guestPageOuts).toBeGreaterThan(1000);
    expect(host.vms[0].balloonedPages).toBe(160);
    // The scan's interval k is [0.5k, 0.5(k + 1)), the timeline's row k.
    expect(truth.slice(0, scan.seen.length)).toEqual(scan.seen);
    expect(new Set(truth).size).toBeGreaterThan(5);
  });

  it("tells policies of a first touch and of a host swap-in, not only of traps", () => {
    const faults: number[] = [];
    const host = new Host({ memory: 4000, seed: 1, costs: { hitNs: 100_000 } });
    host.addPolicy({ name: "ear", periodSeconds: 1, tick: () => {}, onHostFault: (_h, _vm, ppn) => { faults.push(ppn); } });
    const vm = host.addVm({ name: "a", memory: 1000, guest: { kernelOverhead: 0 }, workload: new ScriptWorkload(range(3), [], true) });
    host.run({ seconds: 0.1 });
    expect(faults.sort()).toEqual([0, 1, 2]);
    faults.length = 0;
    const p = vm.guest.vspace.get(vm.guest.vspace.slotOf(1));
    expect(vm.swapOut(p)).toBe(true);
    host.run({ seconds: 0.1 });
    expect(faults).toEqual([p]);
  });
});
