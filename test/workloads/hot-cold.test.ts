import { describe, expect, it } from "vitest";
import { HotColdWorkload, Rng } from "../../src";
import { take } from "./helpers";

describe("HotColdWorkload", () => {
  it("sends hotAccessFraction of accesses to the first hotFraction of the pages, uniformly", () => {
    const w = new HotColdWorkload({ pages: 1000, hotFraction: 0.2, hotAccessFraction: 0.8 }, new Rng(1));
    expect(w.hotPages).toBe(200);
    const { pages } = take(w, 200_000);
    const hot = pages.filter((p) => p < 200).length / pages.length;
    expect(Math.abs(hot - 0.8)).toBeLessThan(0.005);
    const hotSet = new Set(pages.filter((p) => p < 200));
    const coldSet = new Set(pages.filter((p) => p >= 200));
    expect(hotSet.size).toBe(200);
    expect(coldSet.size).toBe(800);
    expect(pages.reduce((m, p) => Math.max(m, p), 0)).toBe(999);
  });

  it("with every page hot, all accesses are hot", () => {
    const w = new HotColdWorkload({ pages: 10, hotFraction: 1, hotAccessFraction: 0.5 }, new Rng(1));
    expect(take(w, 1000).pages.every((p) => p < 10)).toBe(true);
  });

  it("keeps at least one hot page", () => {
    expect(new HotColdWorkload({ pages: 10, hotFraction: 0, hotAccessFraction: 0.9 }, new Rng(1)).hotPages).toBe(1);
  });

  it("rejects a fraction above 1, naming the field", () => {
    expect(() => new HotColdWorkload({ pages: 10, hotFraction: 1.5, hotAccessFraction: 0.9 }, new Rng(1), "vms[0].workload")).toThrow("vms[0].workload.hotFraction: must be a number between 0 and 1 (got 1.5)");
  });
});
