import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MattsonStack } from "../../src/analysis/lru-stack-distance";
import { StackDistanceHistogram } from "../../src/analysis/stack-distance-histogram";
import { bruteForceDepths } from "./helpers";

describe("MattsonStack", () => {
  it("reports each access's LRU stack depth exactly as an array LRU list does", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { size: "max", maxLength: 400 }), (pages) => {
      const s = new MattsonStack();
      expect(pages.map((p) => s.access(p))).toEqual(bruteForceDepths(pages));
      expect(s.sizePages).toBe(new Set(pages).size);
    }));
  });

  it("stays exact through many compactions of its clock (a long trace over few pages)", () => {
    // 1,024-time minimum capacity and ~60 live pages: a compaction every ~960 accesses.
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { size: "max", minLength: 3000, maxLength: 6000 }), (pages) => {
      const s = new MattsonStack();
      expect(pages.map((p) => s.access(p))).toEqual(bruteForceDepths(pages));
    }), { numRuns: 20 });
  });

  it("removes pages: the depth they had, and the pages below move up, as in the array model", () => {
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ remove: fc.constant(false), page: fc.integer({ min: 0, max: 25 }) }) },
      { weight: 1, arbitrary: fc.record({ remove: fc.constant(true), page: fc.integer({ min: 0, max: 25 }) }) },
    );
    fc.assert(fc.property(fc.array(step, { size: "max", maxLength: 3000 }), (steps) => {
      const s = new MattsonStack();
      const model: number[] = [];
      for (const { remove, page } of steps) {
        const i = model.indexOf(page);
        const expected = i >= 0 ? i + 1 : Infinity;
        if (i >= 0) model.splice(i, 1);
        if (remove) expect(s.remove(page)).toBe(expected);
        else {
          model.unshift(page);
          expect(s.access(page)).toBe(expected);
        }
        expect(s.sizePages).toBe(model.length);
      }
      for (let p = 0; p <= 25; p++) {
        const i = model.indexOf(p);
        expect(s.depthOf(p)).toBe(i >= 0 ? i + 1 : Infinity);
      }
    }), { numRuns: 50 });
  });

  it("kept below a VM's LRU memory of v pages, as an exclusive cache, gives the exact curve at every size ≥ v", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { size: "max", minLength: 1, maxLength: 400 }), fc.integer({ min: 1, max: 12 }), (pages, v) => {
      const vm: number[] = []; // the VM's own LRU list, most recent first
      const cache = new MattsonStack(); // pages the VM evicted, most recently evicted on top
      const seen = new StackDistanceHistogram();
      for (const page of pages) {
        const i = vm.indexOf(page);
        if (i >= 0) {
          vm.splice(i, 1);
          seen.add(1); // a VM hit: invisible to the hypervisor, but somewhere in depths 1..v
        } else {
          seen.add(v + cache.remove(page)); // Infinity + v: never seen before
          if (vm.length === v) cache.access(vm.pop()!);
        }
        vm.unshift(page);
      }
      const exact = new StackDistanceHistogram();
      const all = new MattsonStack();
      for (const page of pages) exact.add(all.access(page));
      for (let size = v; size <= v + 45; size++) expect(seen.missRatio(size)).toBe(exact.missRatio(size));
    }), { numRuns: 200 });
  });

  it("holds pages beyond 2^32 apart from their low 32 bits", () => {
    const s = new MattsonStack();
    expect([5, 2 ** 32 + 5, 2 ** 52 + 5, 5, 2 ** 32 + 5].map((p) => s.access(p))).toEqual([Infinity, Infinity, Infinity, 3, 3]);
  });
});
