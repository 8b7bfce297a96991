import { describe, expect, it } from "vitest";
import { hostStatesTable, overcommitScenario } from "../../src/experiments/overcommit";

describe("overcommitScenario", () => {
  // The notebook's defaults (a 256 MiB host, 4 VMs of 128 MiB, working sets from 24 MiB growing 1.5 MiB/s).
  const { host, touchers } = overcommitScenario({ seed: 42 });
  const run = host.run({ seconds: 60, sampleEvery: 1 });

  it("moves the host from high through soft to hard as the working sets grow", () => {
    const order = run.summary.stateChanges.map((c) => c.to);
    expect(order[0]).toBe("soft");
    expect(order).toContain("hard");
    expect(run.summary.secondsInState.high).toBeGreaterThan(10);
    host.checkInvariants();
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
