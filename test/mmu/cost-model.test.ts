import { describe, expect, it } from "vitest";
import { DEFAULT_TRANSLATION_COSTS, resolveTranslationCosts } from "../../src/mmu/cost-model";

describe("cost model", () => {
  it("starts from the documented defaults and applies overrides", () => {
    const costs = resolveTranslationCosts({ trapCycles: 2500 });
    expect(costs.trapCycles).toBe(2500);
    expect(costs.memoryReferenceCycles).toBe(DEFAULT_TRANSLATION_COSTS.memoryReferenceCycles);
  });

  it("rejects unknown names and bad values with their path", () => {
    expect(() => resolveTranslationCosts({ trapCycle: 1 } as never, "costs")).toThrow(/costs\.trapCycle: unknown cost/);
    expect(() => resolveTranslationCosts({ trapCycles: -1 })).toThrow(/costs\.trapCycles: a cost must be a non-negative number/);
  });
});
