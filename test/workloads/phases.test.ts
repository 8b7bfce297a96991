import { describe, expect, it } from "vitest";
import { createWorkload, LoopWorkload, PhasesWorkload, Rng, ScanWorkload, UniformWorkload } from "../../src";
import { take } from "./helpers";

describe("PhasesWorkload", () => {
  it("switches phase at the exact access count, even inside a batch", () => {
    const rng = new Rng(1);
    const w = new PhasesWorkload([
      { workload: new LoopWorkload({ pages: 2 }, rng.split("a")), accesses: 3 },
      { workload: new LoopWorkload({ pages: 2, basePage: 100 }, rng.split("b")), accesses: 4 },
    ]);
    expect(take(w, 100, 5).pages).toEqual([0, 1, 0, 100, 101, 100, 101]);
    expect(w.phaseIndex).toBe(2);
  });

  it("moves the active set: each phase touches only its own region", () => {
    const rng = new Rng(2);
    const w = new PhasesWorkload([
      { workload: new UniformWorkload({ pages: 50 }, rng.split("a")), accesses: 5000 },
      { workload: new UniformWorkload({ pages: 50, basePage: 1000 }, rng.split("b")), accesses: 5000 },
    ]);
    const { pages } = take(w, 10_000, 333);
    expect(pages.slice(0, 5000).every((p) => p < 50)).toBe(true);
    expect(pages.slice(5000).every((p) => p >= 1000 && p < 1050)).toBe(true);
  });

  it("a finite sub-workload ends its phase early; repeat restarts at phase 0 and continues its stream", () => {
    const rng = new Rng(3);
    const w = new PhasesWorkload(
      [
        { workload: new ScanWorkload({ pages: 2 }, rng.split("a")) },
        { workload: new LoopWorkload({ pages: 3, basePage: 10 }, rng.split("b")), accesses: 2 },
      ],
      { repeat: true, accesses: 8 },
    );
    // The scan ends after one pass and stays finished; the loop continues where it left off.
    expect(take(w, 100, 3).pages).toEqual([0, 1, 10, 11, 12, 10, 11, 12]);
  });

  it("repeat stops when no phase can produce anything", () => {
    const w = new PhasesWorkload([{ workload: new ScanWorkload({ pages: 2 }, new Rng(1)) }], { repeat: true });
    expect(take(w, 100).pages).toEqual([0, 1]);
  });

  it("needs at least one phase", () => {
    expect(() => new PhasesWorkload([])).toThrow("phases.phases: needs at least one phase");
  });
});

describe("phases nesting", () => {
  /** A phases spec nested `levels` deep around a uniform workload. */
  function nested(levels: number): unknown {
    let spec: unknown = { kind: "uniform", pages: 10 };
    for (let i = 0; i < levels; i++) spec = { kind: "phases", phases: [{ workload: spec }] };
    return spec;
  }

  it("refuses phases nested 3,000 deep with a clear error at the path, not a stack overflow", () => {
    // As an experiment file would hold it (JSON.parse takes this depth; the old builder did not).
    const spec = JSON.parse(`${'{"kind":"phases","phases":[{"workload":'.repeat(3000)}{"kind":"uniform","pages":10}${"}]}".repeat(3000)}`);
    expect(() => createWorkload(spec, new Rng(1), "vms[0].workload")).toThrow(
      "vms[0].workload.phases[0].workload.phases[0].workload…(60 more levels)….phases[0].workload.phases[0].workload.phases: phases nest more than 64 deep; at most 64 levels are allowed");
  });

  it("accepts 64 levels and refuses 65, from a spec or from code", () => {
    const deep = createWorkload(nested(64), new Rng(1)) as PhasesWorkload;
    expect(deep.depth).toBe(64);
    expect(take(deep, 5).pages).toHaveLength(5);
    expect(() => createWorkload(nested(65), new Rng(1), "w")).toThrow(/^w\.phases\[0\].*\.phases: phases nest more than 64 deep/);
    expect(() => new PhasesWorkload([{ workload: deep }], {}, "mine")).toThrow("mine: phases nest 65 deep; at most 64 levels are allowed");
  });

  it("reports the footprint of every phase (the host checks it against guest memory plus swap)", () => {
    const w = createWorkload({ kind: "phases", phases: [
      { accesses: 10, workload: { kind: "uniform", pages: 100 } },
      { accesses: 10, workload: { kind: "phases", phases: [{ workload: { kind: "toucher", workingSetPages: 7, basePage: 500 } }] } },
    ] }, new Rng(1));
    expect(w.footprint?.()).toEqual([[0, 100], [500, 7]]);
  });
});
