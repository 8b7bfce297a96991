import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";

describe("the per-VM timeline's sharing columns", () => {
  it("give each VM's guest pages mapping a shared frame, and its own copy-on-write breaks per interval", () => {
    const host = new Host({ memory: 4000, seed: 1 });
    const model = { os: { name: "linux", version: "6.1", pages: 64 } };
    const a = host.addVm({ name: "a", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    const b = host.addVm({ name: "b", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    for (let p = 0; p < 256; p++) { a.touch(p); b.touch(p); }
    // t = 0.2: pages 10 and 20 shared by a and b, then b writes 20 (b copies; a keeps the frame).
    host.at(0.2, "share 10 and 20, b writes 20", () => {
      for (const p of [10, 20]) { a.sharePage(p, -1); b.sharePage(p, a.p2m[p]); }
      b.writePage(20);
    });
    // t = 0.7: b writes 10 too.
    host.at(0.7, "b writes 10", () => b.writePage(10));
    const run = host.run({ seconds: 1, sampleEvery: 0.5 });
    const rows = run.timeline.objects() as Array<Record<string, number | string>>;
    const at = (t: number, vm: string) => rows.find((r) => r.t === t && r.vm === vm)!;
    expect([at(0.5, "a").sharedPages, at(0.5, "b").sharedPages]).toEqual([2, 1]);
    expect([at(0.5, "a").cowBreaks, at(0.5, "b").cowBreaks]).toEqual([0, 1]);
    expect([at(1, "a").sharedPages, at(1, "b").sharedPages]).toEqual([2, 0]);
    expect([at(1, "a").cowBreaks, at(1, "b").cowBreaks]).toEqual([0, 1]); // per interval, not cumulative
    // The host's column is the sum over VMs.
    const hostRows = run.hostTimeline.objects() as Array<Record<string, number>>;
    expect(hostRows.map((r) => r.cowBreaks)).toEqual([1, 1]);
  });

  it("are absent without page contents", () => {
    const host = new Host({ memory: 4000 });
    host.addVm({ name: "a", memory: 256, workload: { kind: "uniform", pages: 100 } });
    const run = host.run({ seconds: 0.5, sampleEvery: 0.5 });
    expect(run.timeline.columnNames()).not.toContain("sharedPages");
    expect(run.timeline.columnNames()).not.toContain("cowBreaks");
  });
});
