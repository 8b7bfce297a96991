import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { PageValueMap } from "../../src/util/page-value-map";

describe("PageValueMap", () => {
  // Few distinct keys, so sets, deletes and re-inserts collide; some beyond 2^32 and near 2^53.
  const page = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2 ** 32, 2 ** 32 + 1, 2 ** 40 + 7, 2 ** 53 - 1, 0x7ff000000));

  it("behaves like a Map under sets, deletes and lookups, through growth and backward-shift deletion", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), page, value: fc.nat() }),
      fc.record({ kind: fc.constant("delete" as const), page }),
    );
    fc.assert(fc.property(fc.array(op, { size: "max", maxLength: 400 }), (ops) => {
      const m = new PageValueMap();
      const model = new Map<number, number>();
      for (const o of ops) {
        if (o.kind === "set") {
          m.set(o.page, o.value);
          model.set(o.page, o.value);
        } else {
          expect(m.delete(o.page)).toBe(model.get(o.page) ?? -1);
          model.delete(o.page);
        }
        expect(m.size).toBe(model.size);
      }
      for (let p = 0; p <= 40; p++) expect(m.get(p)).toBe(model.get(p) ?? -1);
      for (const p of [2 ** 32, 2 ** 32 + 1, 2 ** 40 + 7, 2 ** 53 - 1, 0x7ff000000]) expect(m.get(p)).toBe(model.get(p) ?? -1);
      const values: number[] = [];
      m.forEachValue((v) => values.push(v));
      expect(values.sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
    }));
  });

  it("keeps many consecutive pages apart, and finds each after deleting every other one", () => {
    const m = new PageValueMap();
    for (let p = 0; p < 10_000; p++) m.set(p, p * 2);
    for (let p = 0; p < 10_000; p += 2) expect(m.delete(p)).toBe(p * 2);
    expect(m.size).toBe(5_000);
    for (let p = 0; p < 10_000; p++) expect(m.get(p)).toBe(p % 2 ? p * 2 : -1);
    m.mapValues((v) => v + 1);
    expect(m.get(9_999)).toBe(19_999);
  });

  it("finds a slot to read and write in place, and says where an absent page would go", () => {
    const m = new PageValueMap();
    const missing = m.find(12);
    expect(missing).toBeLessThan(0);
    m.insertAt(missing, 12, 3);
    const slot = m.find(12);
    expect(m.valueAt(slot)).toBe(3);
    m.setValueAt(slot, 4);
    expect(m.get(12)).toBe(4);
  });
});
