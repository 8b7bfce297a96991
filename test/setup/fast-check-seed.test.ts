import { describe, expect, it } from "vitest";
import fc from "fast-check";

describe("fast-check's seed", () => {
  it.skipIf(process.env.MEMVIRT_FC_SEED !== undefined)("is fixed for the suite, so a run's properties see the same inputs every time", () => {
    expect(fc.readConfigureGlobal().seed).toBe(20261129);
    const draw = () => fc.sample(fc.integer(), 3);
    expect(draw()).toEqual(draw());
  });
});
