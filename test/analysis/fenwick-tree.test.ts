import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FenwickTree } from "../../src/analysis/fenwick-tree";

describe("FenwickTree", () => {
  it("range and prefix sums match a plain array under pushes, adds and refills", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("push" as const), value: fc.integer({ min: -3, max: 3 }) }),
      fc.record({ kind: fc.constant("add" as const), at: fc.nat(), value: fc.integer({ min: -3, max: 3 }) }),
      fc.record({ kind: fc.constant("fill" as const), count: fc.nat({ max: 40 }) }),
    );
    fc.assert(fc.property(fc.array(op, { size: "max", maxLength: 300 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { size: "max", maxLength: 20 }), (ops, queries) => {
      const f = new FenwickTree(300);
      let model: number[] = [];
      for (const o of ops) {
        if (o.kind === "push") {
          f.push(o.value);
          model.push(o.value);
        } else if (o.kind === "add" && model.length > 0) {
          const at = 1 + (o.at % model.length);
          f.add(at, o.value);
          model[at - 1] += o.value;
        } else if (o.kind === "fill") {
          f.fillOnes(o.count);
          model = new Array(o.count).fill(1);
        }
        expect(f.length).toBe(model.length);
      }
      const prefix = (n: number) => model.slice(0, n).reduce((a, b) => a + b, 0);
      for (let p = 0; p <= model.length; p++) expect(f.prefixSum(p)).toBe(prefix(p));
      for (const [a, b] of queries) {
        const lo = Math.min(a, b) % (model.length + 1);
        const hi = Math.max(lo, Math.max(a, b) % (model.length + 1));
        expect(f.rangeSum(lo, hi)).toBe(prefix(hi) - prefix(lo));
      }
    }));
  });

  it("refuses a capacity that is not a whole number from 1, and a refill beyond it", () => {
    expect(() => new FenwickTree(0)).toThrow(/capacity: must be a whole number from 1/);
    expect(() => new FenwickTree(2.5)).toThrow(/capacity/);
    expect(() => new FenwickTree(4).fillOnes(5)).toThrow(/count: must be at most the capacity, 4/);
  });
});
