import { describe, expect, it } from "vitest";
import { grownToHold } from "../../src/util/grow-typed-array";

describe("grownToHold", () => {
  it("returns the same array when the index fits", () => {
    const a = new Float64Array(8);
    expect(grownToHold(a, 7)).toBe(a);
  });
  it("doubles until the index fits, keeping old values and zeroing the rest", () => {
    const a = Float64Array.from([1, 2, 3, 4]);
    const b = grownToHold(a, 9);
    expect(b.length).toBe(16);
    expect([...b.subarray(0, 5)]).toEqual([1, 2, 3, 4, 0]);
    expect(grownToHold(a, 4).length).toBe(8);
  });
  it("grows an empty array", () => {
    expect(grownToHold(new Float64Array(0), 0).length).toBe(2);
  });
});
