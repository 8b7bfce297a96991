import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Rng, hashString32 } from "../../src/util/rng";

describe("Rng", () => {
  it("gives the same sequence for the same seed", () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      for (let i = 0; i < 20; i++) if (a.nextUint32() !== b.nextUint32()) return false;
      return true;
    }));
  });

  it("gives different sequences for different seeds and labels", () => {
    expect(new Rng(1).nextUint32()).not.toBe(new Rng(2).nextUint32());
    const root = new Rng(7);
    expect(root.split("vm:a").nextUint32()).not.toBe(root.split("vm:b").nextUint32());
  });

  it("splits independently of the order children are made in", () => {
    const r1 = new Rng(9);
    const a1 = r1.split("a").next();
    const r2 = new Rng(9);
    r2.split("b");
    r2.next();
    expect(r2.split("a").next()).toBe(a1);
  });

  it("draws integers in range, roughly uniformly", () => {
    const rng = new Rng(3);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer(), (n, seed) => {
      const v = new Rng(seed).int(n);
      return Number.isInteger(v) && v >= 0 && v < n;
    }));
  });

  it("accepts string seeds", () => {
    expect(new Rng("abc").nextUint32()).toBe(new Rng("abc").nextUint32());
    expect(hashString32("abc")).not.toBe(hashString32("abd"));
  });
});
