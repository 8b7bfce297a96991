import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { DIRECT_LIMIT_PAGES, VirtualSpace } from "../../src/host/virtual-space";
import { V_UNTOUCHED } from "../../src/host/page-state";

describe("VirtualSpace", () => {
  it("indexes small page numbers directly and grows on demand", () => {
    const vs = new VirtualSpace(16);
    const slot = vs.slotOf(5000);
    expect(slot).toBe(5000);
    expect(vs.direct.length).toBeGreaterThan(5000);
    vs.set(slot, 7);
    expect(vs.direct[5000]).toBe(7);
    expect(vs.get(vs.slotOf(4999))).toBe(V_UNTOUCHED);
  });

  it("hashes sparse 57-bit page numbers (a Lackey stack near 2^35) to negative slots", () => {
    const vs = new VirtualSpace();
    const stack = 0x7ff000000;
    const slot = vs.slotOf(stack);
    expect(slot).toBeLessThan(0);
    vs.set(slot, 3);
    expect(vs.get(vs.slotOf(stack))).toBe(3);
    expect(vs.vpnOf(slot)).toBe(stack);
  });

  it("agrees with a Map model for any mix of direct and hashed pages", () => {
    const page = fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: DIRECT_LIMIT_PAGES, max: 2 ** 45 }));
    fc.assert(fc.property(fc.array(fc.tuple(page, fc.integer({ min: -3, max: 1_000_000 })), { maxLength: 400 }), (writes) => {
      const vs = new VirtualSpace(16);
      const model = new Map<number, number>();
      for (const [vpn, value] of writes) {
        vs.set(vs.slotOf(vpn), value);
        model.set(vpn, value);
      }
      for (const [vpn, value] of model) expect(vs.get(vs.slotOf(vpn))).toBe(value);
      let seen = 0;
      vs.forEach(() => { seen++; });
      expect(seen).toBe([...model.values()].filter((v) => v !== V_UNTOUCHED).length);
    }));
  });
});
