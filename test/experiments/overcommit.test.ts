import { describe, expect, it } from "vitest";
import { hostStatesTable, overcommitScenario } from "../../src/experiments/overcommit";

describe("overcommitScenario", () => {
  // The notebook's defaults (a 256 MiB host, 4 VMs of 128 MiB, working sets from 24 MiB growing 1.5 MiB/s).
  const { host, touchers } = overcommitScenario({ seed: 42 });
  const run = host.run({ seconds: 60, sampleEvery: 1 });

  it("goes soft, then low with every VM blocked (the balloons' first cycle takes untouched free pages), then back to high", () => {
    const changes = run.summary.stateChanges;
    expect(changes.slice(0, 3).map((c) => [c.to, c.t])).toEqual([["soft", 25], ["low", 26], ["high", 27]]);
    expect(run.summary.vms.every((v) => v.blockedSeconds === 1)).toBe(true);
    expect(run.summary.secondsInState.high).toBeGreaterThan(10);
    host.checkInvariants();
  });

  it("enters soft again as growth goes on, and stays there by hysteresis with free memory between 4% and 6%, then returns to high", () => {
    const changes = run.summary.stateChanges;
    expect(changes.slice(3).map((c) => c.to)).toEqual(["soft", "high"]);
    const [soft, high] = [changes[3].t, changes[4].t];
    expect(high - soft).toBeGreaterThan(10);
    const rows = run.hostTimeline.objects() as Array<{ t: number; freeFraction: number; hostState: string }>;
    const held = rows.filter((r) => r.t > soft && r.t < high);
    expect(held.every((r) => r.hostState === "soft" && r.freeFraction >= 0.04 && r.freeFraction < 0.06)).toBe(true);
  });

  it("never needs the hard state with the driver's adaptive rate; the old fixed 2,048 pages/s balloon does", () => {
    expect(run.summary.secondsInState.hard ?? 0).toBe(0);
    const fixed = overcommitScenario({ seed: 42, balloon: { rate: "fixed" } }).host.run({ seconds: 60, sampleEvery: 1 });
    expect(fixed.summary.secondsInState.hard).toBeGreaterThan(0);
  });

  it("grows every VM's working set, up to what its guest can hold", () => {
    for (const w of touchers) expect(w.workingSetPages).toBe(24 * 256 + 384 * 40);
  });

  it("stops a working set at what the guest can hold beside its kernel", () => {
    // 16 MiB = 4096 pages; the guest keeps 4096/64 = 64 for its kernel, and one more.
    const small = overcommitScenario({ seed: 1, vmCount: 1, hostMemory: "64 MiB", vmMemory: "16 MiB", startWorkingSet: "8 MiB", growthPagesPerSecond: 2048, growSeconds: 2 });
    small.host.run({ seconds: 3, sampleEvery: 1 });
    expect(small.touchers[0].workingSetPages).toBe(4096 - 64 - 1);
  });

  it("reclaims by ballooning, and swaps when ballooning is not fast enough", () => {
    const last = run.hostTimeline.objects()[run.hostTimeline.numRows() - 1] as Record<string, number>;
    expect(last.balloonedPages).toBeGreaterThan(0);
    expect(run.summary.vms.reduce((a, v) => a + v.hostSwapOuts, 0)).toBeGreaterThan(0);
  });

  it("adds plotting columns: free memory in percent and the state as a level", () => {
    const t = hostStatesTable(run);
    const rows = t.objects() as Array<Record<string, number | string>>;
    for (const r of rows) {
      expect(r.freePercent).toBeCloseTo((r.freeFraction as number) * 100, 9);
      expect(r.stateLevel).toBe(["high", "soft", "hard", "low"].indexOf(r.hostState as string));
    }
  });
});
