import { describe, expect, it } from "vitest";
import { createWorkload, LoopWorkload, Rng, ScanWorkload } from "../../src";
import { take } from "./helpers";

describe("ScanWorkload and LoopWorkload", () => {
  it("a scan visits each page once, in order, then ends", () => {
    const w = new ScanWorkload({ pages: 5, basePage: 10 }, new Rng(1));
    expect(take(w, 100, 3).pages).toEqual([10, 11, 12, 13, 14]);
    expect(w.fill(new Float64Array(4), new Uint8Array(4))).toBe(0);
  });

  it("accessesPerPage repeats each page in a row, across batch boundaries", () => {
    const w = new ScanWorkload({ pages: 3, accessesPerPage: 3 }, new Rng(1));
    expect(take(w, 100, 2).pages).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  });

  it("a loop repeats the range forever", () => {
    const w = new LoopWorkload({ pages: 3 }, new Rng(1));
    expect(take(w, 10, 4).pages).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    expect(w.name).toBe("loop over 3 pages");
  });

  it("a loop with a length ends after that many accesses", () => {
    const w = new LoopWorkload({ pages: 3, accesses: 7 }, new Rng(1));
    expect(take(w, 100, 4).pages).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});

describe("a scan's length", () => {
  it("refuses more accesses than one pass, naming the JSON path and suggesting a loop", () => {
    expect(() => createWorkload({ kind: "scan", pages: 100, accesses: 2e7 }, new Rng(1), "vms[1].workload"))
      .toThrow(/^vms\[1\]\.workload\.accesses: is more than one pass over the scan's region \(100 pages × 1 = 100 accesses\), and a scan ends after one pass: use "kind": "loop".* \(got 20000000\)$/);
    expect(() => new ScanWorkload({ pages: 3, accessesPerPage: 2, accesses: 7 }, new Rng(1))).toThrow(/^scan\.accesses: .*3 pages × 2 = 6 accesses/);
  });

  it("accepts up to one pass, and ends there: the length it names is the length it runs", () => {
    const w = new ScanWorkload({ pages: 3, accessesPerPage: 2, accesses: 6 }, new Rng(1));
    expect(w.name).toBe("scan over 3 pages, 2 accesses per page, 6 accesses");
    expect(take(w, 100, 4).pages).toEqual([0, 0, 1, 1, 2, 2]);
    expect(take(new ScanWorkload({ pages: 5, accesses: 2 }, new Rng(1)), 100, 4).pages).toEqual([0, 1]);
  });

  it("lets a loop run longer than one pass", () => {
    expect(createWorkload({ kind: "loop", pages: 100, accesses: 2e7 }, new Rng(1)).name).toBe("loop over 100 pages, 20,000,000 accesses");
  });
});
