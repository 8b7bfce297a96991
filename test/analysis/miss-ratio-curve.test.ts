import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { missRatioCurve, missRatioCurveData } from "../../src/analysis/miss-ratio-curve";
import { defaultMrcSizes } from "../../src/analysis/mrc-sizes";
import { parseLackeyBuffer } from "../../src/trace/load-lackey";
import { createWorkload } from "../../src/workloads/create-workload";
import { UniformWorkload } from "../../src/workloads/uniform";
import { Rng } from "../../src/util/rng";
import * as memvirt from "../../src";
import { bruteForceMissRatio } from "./helpers";

describe("missRatioCurve (exact)", () => {
  it("equals a brute-force LRU simulation at every size, cold misses included", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { size: "max", minLength: 1, maxLength: 300 }), (pages) => {
      const footprint = new Set(pages).size;
      const sizes = Array.from({ length: footprint + 2 }, (_, i) => i + 1);
      const table = missRatioCurve(pages, { method: "exact", sizes });
      expect(table.columnNames()).toEqual(["sizePages", "missRatio"]);
      expect(table.array("sizePages")).toEqual(sizes);
      expect(Array.from(table.array("missRatio") as ArrayLike<number>)).toEqual(sizes.map((s) => bruteForceMissRatio(pages, s)));
    }));
  });

  it("without sizes, reports the default sizes up to the footprint, where only cold misses remain", () => {
    const pages = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 300);
    const d = missRatioCurveData(pages, { method: "exact" });
    expect(d.footprintPages).toBe(300);
    expect(d.coldMisses).toBe(300);
    expect(d.accesses).toBe(5000);
    expect(d.sizesPages).toEqual(defaultMrcSizes(300));
    expect(d.missRatios.at(-1)).toBe(300 / 5000);
  });

  it("takes a loaded Lackey trace, typed arrays, a workload spec or a Workload, and reads the same pages", () => {
    const text = ["==1== banner", "I  0400d7d4,8", " L 7ff0005b8,8", "I  0400d7dc,4", " S 1ffc,8", " M 0400d000,4"].join("\n");
    const trace = parseLackeyBuffer(text, "t.lackey");
    const pages = Array.from(trace.pages); // 0x400d, 0x7ff000, 0x400d, 1, 2, 0x400d
    const sizes = [1, 2, 3, 4];
    const want = missRatioCurve(pages, { method: "exact", sizes }).objects() as Array<{ sizePages: number; missRatio: number }>;
    expect(want.map((r) => r.missRatio)).toEqual([1, 5 / 6, 4 / 6, 4 / 6]);
    expect(missRatioCurve(trace, { method: "exact", sizes }).objects()).toEqual(want);
    expect(missRatioCurve(Float64Array.from(pages), { method: "exact", sizes }).objects()).toEqual(want);
    expect(missRatioCurve(Uint32Array.from(pages), { method: "exact", sizes }).objects()).toEqual(want);

    const spec = { kind: "zipf" as const, pages: 500, exponent: 0.9 };
    const drawn = new Float64Array(3000);
    createWorkload(spec, new Rng(7).split("workload")).fill(drawn, new Uint8Array(3000));
    const fromPages = missRatioCurve(drawn, { method: "exact", sizes: [10, 100] }).objects();
    expect(missRatioCurve(spec, { method: "exact", sizes: [10, 100], accesses: 3000, seed: 7 }).objects()).toEqual(fromPages);
    expect(missRatioCurve({ ...spec, accesses: 3000 }, { method: "exact", sizes: [10, 100], seed: 7 }).objects()).toEqual(fromPages);
    expect(missRatioCurve(spec, { method: "exact", sizes: [10, 100], accesses: 3000, seed: 8 }).objects()).not.toEqual(fromPages);
    const w = new UniformWorkload({ pages: 50 }, new Rng(1));
    expect(missRatioCurveData(w, { method: "exact", accesses: 1234 }).accesses).toBe(1234);
    // `accesses` also takes the first N of an array; a finite workload may end sooner.
    expect(missRatioCurveData(pages, { method: "exact", accesses: 2 }).accesses).toBe(2);
    expect(missRatioCurveData({ kind: "scan", pages: 10 }, { method: "exact", accesses: 99 }).accesses).toBe(10);
  });

  it("is exported from the package with SHARDS as the other method", () => {
    const t = memvirt.missRatioCurve({ kind: "uniform", pages: 1000 }, { method: "shards", rate: 0.5, accesses: 20_000, sizes: [500, 2000] });
    const [half, all] = t.array("missRatio") as number[];
    expect(half).toBeGreaterThan(0.4);
    expect(half).toBeLessThan(0.6);
    expect(all).toBeLessThan(0.1);
  });
});

describe("missRatioCurve refuses what is odd, naming the option", () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ["an empty array", () => missRatioCurve([], { method: "exact" }), /^trace: is empty: no accesses/],
    ["a negative page", () => missRatioCurve([1, -1], { method: "exact" }), /^trace\[1\]: must be a page number: a whole number from 0 to 2\^53-1 \(got -1\)/],
    ["a fractional page", () => missRatioCurve([1.5], { method: "exact" }), /^trace\[0\]: must be a page number/],
    ["a NaN page", () => missRatioCurve(Float64Array.of(3, NaN), { method: "exact" }), /^trace\[1\]: must be a page number/],
    ["not a trace", () => missRatioCurve(42 as unknown as number[], { method: "exact" }), /^trace: must be a loaded Lackey trace, an array of page numbers, or a workload \(got 42\)/],
    ["a BigInt array", () => missRatioCurve(new BigInt64Array(2) as unknown as number[], { method: "exact" }), /^trace: must hold numbers/],
    ["no method", () => missRatioCurve([1], {} as never), /^method: is required/],
    ["an unknown method", () => missRatioCurve([1], { method: "lru" as never }), /^method: must be one of "exact", "shards" \(got "lru"\)/],
    ["rate 0", () => missRatioCurve([1], { method: "shards", rate: 0 }), /^rate: must be a sampling rate in \(0, 1\], e.g. 0.01 \(got 0\)/],
    ["rate above 1", () => missRatioCurve([1], { method: "shards", rate: 1.5 }), /^rate: must be a sampling rate in \(0, 1\], e.g. 0.01 \(got 1.5\)/],
    ["a rate with the exact method", () => missRatioCurve([1], { method: "exact", rate: 0.1 }), /^rate: applies only to method "shards"/],
    ["maxSamples with the exact method", () => missRatioCurve([1], { method: "exact", maxSamples: 10 }), /^maxSamples: applies only to method "shards"/],
    ["a size of 0", () => missRatioCurve([1], { method: "exact", sizes: [4, 0] }), /^sizes\[1\]: must be a whole number of pages ≥ 1 \(got 0\)/],
    ["a fractional size", () => missRatioCurve([1], { method: "exact", sizes: [2.5] }), /^sizes\[0\]: must be a whole number of pages ≥ 1 \(got 2.5\)/],
    ["no sizes", () => missRatioCurve([1], { method: "exact", sizes: [] }), /^sizes: is empty/],
    ["sizes as a string", () => missRatioCurve([1], { method: "exact", sizes: "1,2" as never }), /^sizes: must be an array of cache sizes/],
    ["an unknown option", () => missRatioCurve([1], { method: "exact", size: [1] } as never), /^size: unknown option/],
    ["a workload without a count", () => missRatioCurve({ kind: "uniform", pages: 10 }, { method: "exact" }), /^accesses: is required for a workload/],
    ["zero accesses", () => missRatioCurve([1], { method: "exact", accesses: 0 }), /^accesses: must be a whole number of accesses ≥ 1/],
    ["a seed for an array", () => missRatioCurve([1], { method: "exact", seed: 3 }), /^seed: applies only to a workload spec/],
    ["a bad workload spec", () => missRatioCurve({ kind: "zipf", pages: 10 } as never, { method: "exact", accesses: 5 }), /^trace\.exponent: /],
    ["a sample that caught nothing", () => missRatioCurve([1, 2, 3], { method: "shards", rate: 2 ** -20 }), /^rate: sampled none of the 3 accesses; raise the rate or use the exact method/],
  ];
  for (const [what, run, message] of cases) {
    it(what, () => {
      expect(run).toThrow(memvirt.MemvirtError);
      expect(run).toThrow(message);
    });
  }
});
