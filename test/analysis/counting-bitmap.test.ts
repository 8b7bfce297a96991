import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CountingBitmap } from "../../src/analysis/counting-bitmap";

describe("CountingBitmap", () => {
  it("counts the set bits of any range like a boolean array, across word boundaries and refills", () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("push" as const), set: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("clear" as const), at: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("fill" as const), count: fc.nat({ max: 200 }) }) },
    );
    fc.assert(fc.property(fc.array(op, { size: "max", maxLength: 500 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { size: "max", maxLength: 30 }), (ops, queries) => {
      const b = new CountingBitmap(700);
      let model: boolean[] = [false]; // position 0 unused
      for (const o of ops) {
        if (o.kind === "push") {
          b.push(o.set);
          model.push(o.set);
        } else if (o.kind === "clear") {
          const set = model.flatMap((v, i) => (v ? [i] : []));
          if (set.length > 0) {
            const at = set[o.at % set.length];
            b.clear(at);
            model[at] = false;
          }
        } else {
          b.fillOnes(o.count);
          model = [false, ...new Array(o.count).fill(true)];
        }
      }
      expect(b.length).toBe(model.length - 1);
      const n = model.length - 1;
      const count = (after: number, upTo: number) => model.slice(after + 1, upTo + 1).filter((v) => v).length;
      for (const [x, y] of [...queries, [0, n] as [number, number]]) {
        const lo = Math.min(x, y) % (n + 1);
        const hi = Math.max(lo, Math.max(x, y) % (n + 1));
        expect(b.countRange(lo, hi)).toBe(count(lo, hi));
      }
    }));
  });

  it("counts whole words: every bit of positions 31..96, then with some cleared", () => {
    const b = new CountingBitmap(200);
    for (let t = 1; t <= 130; t++) b.push(true);
    expect(b.countRange(30, 96)).toBe(66);
    expect(b.countRange(31, 63)).toBe(32);
    b.clear(32);
    b.clear(64);
    expect(b.countRange(0, 130)).toBe(128);
    expect(b.countRange(31, 32)).toBe(0);
    expect(b.countRange(63, 64)).toBe(0);
  });

  it("ranks each set position among the set ones, as renumbering them 1, 2, 3, ... would", () => {
    fc.assert(fc.property(fc.nat({ max: 100 }), fc.array(fc.boolean(), { size: "max", maxLength: 300 }), (filled, bits) => {
      const b = new CountingBitmap(400);
      b.fillOnes(filled); // as after an earlier compaction
      bits.forEach((bit) => b.push(bit));
      b.prepareRanks();
      let seen = 0;
      [...new Array(filled).fill(true), ...bits].forEach((bit, i) => {
        if (bit) expect(b.rank(i + 1)).toBe(++seen);
      });
    }));
  });

  it("refuses a capacity out of range and a refill beyond it", () => {
    expect(() => new CountingBitmap(0)).toThrow(/capacity: must be a whole number/);
    expect(() => new CountingBitmap(64).fillOnes(65)).toThrow(/count: must be at most the capacity, 64/);
  });
});
