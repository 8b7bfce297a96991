import { describe, expect, it } from "vitest";
import { LoopWorkload, Rng, ScanWorkload } from "../../src";
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
