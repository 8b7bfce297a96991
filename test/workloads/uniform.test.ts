import { describe, expect, it } from "vitest";
import { Rng, UniformWorkload } from "../../src";
import { histogram, take } from "./helpers";

describe("UniformWorkload", () => {
  it("covers every page of the region about equally", () => {
    const w = new UniformWorkload({ pages: 100 }, new Rng(1));
    const { pages } = take(w, 100_000);
    const h = histogram(pages);
    expect(h.size).toBe(100);
    for (const [page, count] of h) {
      expect(page).toBeGreaterThanOrEqual(0);
      expect(page).toBeLessThan(100);
      // mean 1000, sd ~31: 5 sd band
      expect(Math.abs(count - 1000)).toBeLessThan(160);
    }
  });

  it("stays inside [basePage, basePage + pages)", () => {
    const w = new UniformWorkload({ pages: "64 KiB", basePage: "1 GiB" }, new Rng(2));
    const { pages } = take(w, 10_000);
    expect(Math.min(...pages)).toBe(262144);
    expect(Math.max(...pages)).toBe(262144 + 15);
  });

  it("is named after its shape", () => {
    expect(new UniformWorkload({ pages: 4096, writeFraction: 0.25 }, new Rng(1)).name).toBe("uniform over 4,096 pages, 25% writes");
  });

  it("the same seed gives the same stream, another seed another", () => {
    const a = take(new UniformWorkload({ pages: 1 << 20 }, new Rng(5)), 1000);
    const b = take(new UniformWorkload({ pages: 1 << 20 }, new Rng(5)), 1000);
    const c = take(new UniformWorkload({ pages: 1 << 20 }, new Rng(6)), 1000);
    expect(a).toEqual(b);
    expect(a.pages).not.toEqual(c.pages);
  });
});
