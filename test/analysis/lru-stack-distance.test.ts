import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MattsonStack } from "../../src/analysis/lru-stack-distance";
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

  it("holds pages beyond 2^32 apart from their low 32 bits", () => {
    const s = new MattsonStack();
    expect([5, 2 ** 32 + 5, 2 ** 52 + 5, 5, 2 ** 32 + 5].map((p) => s.access(p))).toEqual([Infinity, Infinity, Infinity, 3, 3]);
  });
});
