import { describe, expect, it } from "vitest";
import { checkTaxRate, idleCostFactor, sharesPerPage } from "../../src/policy/shares-per-page";

describe("sharesPerPage", () => {
  it("gives the brief's check values: S=1000, P=256, f=0.25 → 1.202 at τ=0.75, 3.906 at τ=0", () => {
    expect(sharesPerPage({ shares: 1000, pages: 256, activeFraction: 0.25, taxRate: 0.75 })).toBeCloseTo(1.2019, 4);
    expect(sharesPerPage({ shares: 1000, pages: 256, activeFraction: 0.25, taxRate: 0 })).toBeCloseTo(3.9063, 4);
  });

  it("is plain shares per page at τ = 0 whatever f is, and charges a wholly idle VM k = 1/(1−τ) per page", () => {
    for (const f of [0, 0.1, 0.5, 1]) expect(sharesPerPage({ shares: 300, pages: 100, activeFraction: f, taxRate: 0 })).toBe(3);
    expect(idleCostFactor(0, 0.75)).toBe(4);
    expect(idleCostFactor(1, 0.75)).toBe(1);
    expect(idleCostFactor(0.5, 0.5)).toBe(1.5);
  });

  it("falls as the VM idles, the more so the higher the tax", () => {
    const rho = (f: number, t: number) => sharesPerPage({ shares: 1000, pages: 256, activeFraction: f, taxRate: t });
    expect(rho(0.1, 0.75)).toBeLessThan(rho(0.9, 0.75));
    expect(rho(0.1, 0.9)).toBeLessThan(rho(0.1, 0.5));
  });

  it("names the bad value", () => {
    expect(() => sharesPerPage({ shares: 1000, pages: 0, activeFraction: 0.5, taxRate: 0.5 })).toThrow("sharesPerPage.pages: must be a positive number of pages (got 0)");
    expect(() => sharesPerPage({ shares: -1, pages: 10, activeFraction: 0.5, taxRate: 0.5 })).toThrow(/^sharesPerPage\.shares: /);
    expect(() => sharesPerPage({ shares: 1, pages: 10, activeFraction: 1.5, taxRate: 0.5 })).toThrow(/^sharesPerPage\.activeFraction: .*\(got 1\.5\)$/);
    expect(() => sharesPerPage({ shares: 1, pages: 10, activeFraction: 0.5, taxRate: 1 })).toThrow(/^sharesPerPage\.taxRate: must be a tax rate from 0 up to, not including, 1/);
    expect(() => checkTaxRate(-0.1, "allocation.taxRate")).toThrow(/^allocation\.taxRate: /);
    expect(() => sharesPerPage(null as never)).toThrow(/^sharesPerPage: expected/);
  });
});
