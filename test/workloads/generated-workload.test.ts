import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createWorkload, Rng, UniformWorkload, WRITE, READ, WorkloadSpec } from "../../src";
import { take } from "./helpers";

const specs: WorkloadSpec[] = [
  { kind: "uniform", pages: 1000, writeFraction: 0.3 },
  { kind: "zipf", pages: 1000, exponent: 1.1, scatter: true, writeFraction: 0.5 },
  { kind: "hot-cold", pages: 1000, hotFraction: 0.1, hotAccessFraction: 0.9 },
  { kind: "loop", pages: 77, writeFraction: 0.1 },
  { kind: "toucher", workingSetPages: 300 },
  { kind: "phases", phases: [{ accesses: 100, workload: { kind: "uniform", pages: 10 } }, { accesses: 50, workload: { kind: "zipf", pages: 10, exponent: 1 } }], repeat: true },
];

describe("generator options shared by all generators", () => {
  it("writeFraction sets the share of WRITE accesses; the rest are READ", () => {
    for (const f of [0, 0.3, 1]) {
      const { kinds } = take(new UniformWorkload({ pages: 10, writeFraction: f }, new Rng(1)), 100_000);
      const writes = kinds.filter((k) => k === WRITE).length / kinds.length;
      expect(Math.abs(writes - f)).toBeLessThan(0.006);
      expect(kinds.every((k) => k === READ || k === WRITE)).toBe(true);
    }
  });

  it("changing writeFraction does not change which pages are touched", () => {
    const a = take(new UniformWorkload({ pages: 1000, writeFraction: 0 }, new Rng(9)), 5000).pages;
    const b = take(new UniformWorkload({ pages: 1000, writeFraction: 0.7 }, new Rng(9)), 5000).pages;
    expect(a).toEqual(b);
  });

  it("accesses makes a generator finite: fill returns 0 afterwards", () => {
    const w = new UniformWorkload({ pages: 10, accesses: 2500 }, new Rng(1));
    expect(take(w, 10_000, 1000).pages.length).toBe(2500);
    expect(w.fill(new Float64Array(10), new Uint8Array(10))).toBe(0);
    expect(w.produced).toBe(2500);
  });

  it("fills no more than the shorter of the two arrays", () => {
    const w = new UniformWorkload({ pages: 10 }, new Rng(1));
    expect(w.fill(new Float64Array(10), new Uint8Array(4))).toBe(4);
  });

  it("property: for every kind, the same seed gives the same stream whatever the batch size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: specs.length - 1 }), fc.integer({ min: 1, max: 700 }), (seed, i, batch) => {
        const a = take(createWorkload(specs[i], new Rng(seed)), 2000, batch);
        const b = take(createWorkload(specs[i], new Rng(seed)), 2000, 1000);
        expect(a).toEqual(b);
      }),
      { numRuns: 60 },
    );
  });
});
