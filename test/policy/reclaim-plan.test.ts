import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { planReclaim, ReclaimCandidate } from "../../src/policy/reclaim-plan";

/** The definition: take one page at a time from the VM with the lowest ρ = shares / (pages × cost). */
function greedy(vms: ReclaimCandidate[], need: number): number[] {
  const alloc = vms.map((v) => v.allocatedPages);
  const out = vms.map(() => 0);
  for (let k = 0; k < need; k++) {
    let best = -1;
    let bestRho = Infinity;
    vms.forEach((v, i) => {
      if (alloc[i] <= v.minPages) return;
      const rho = v.shares / (alloc[i] * (v.costFactor ?? 1));
      if (rho < bestRho) { bestRho = rho; best = i; }
    });
    if (best < 0) break;
    alloc[best]--;
    out[best]++;
  }
  return out;
}

describe("planReclaim", () => {
  it("reclaims from the VM with the most pages per share first", () => {
    expect(planReclaim([{ allocatedPages: 800, minPages: 0, shares: 1 }, { allocatedPages: 200, minPages: 0, shares: 1 }], 400)).toEqual([400, 0]);
    expect(planReclaim([{ allocatedPages: 800, minPages: 0, shares: 1 }, { allocatedPages: 200, minPages: 0, shares: 1 }], 800)).toEqual([700, 100]); // both end at 100 pages
  });

  it("reclaims whole pages: a fractional need is rounded down", () => {
    expect(planReclaim([{ allocatedPages: 800, minPages: 0, shares: 1 }], 2.7)).toEqual([2]);
  });

  it("never reclaims below a reservation", () => {
    expect(planReclaim([{ allocatedPages: 800, minPages: 700, shares: 1 }, { allocatedPages: 200, minPages: 0, shares: 1 }], 500)).toEqual([100, 200]);
  });

  it("charges idle pages more through the cost factor (the idle memory tax)", () => {
    const idle = { allocatedPages: 500, minPages: 0, shares: 1, costFactor: 4 };
    const active = { allocatedPages: 500, minPages: 0, shares: 1, costFactor: 1 };
    const [fromIdle, fromActive] = planReclaim([idle, active], 300);
    expect(fromIdle).toBe(300);
    expect(fromActive).toBe(0);
  });

  it("matches the page-at-a-time definition (within one page per VM, for ties) and the total exactly", () => {
    const vm = fc.record({
      allocatedPages: fc.integer({ min: 0, max: 3000 }),
      minPages: fc.integer({ min: 0, max: 1000 }),
      shares: fc.integer({ min: 1, max: 5000 }),
      costFactor: fc.constantFrom(1, 1.5, 4),
    });
    fc.assert(fc.property(fc.array(vm, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 8000 }), (vms, need) => {
      const plan = planReclaim(vms, need);
      const ref = greedy(vms, need);
      const reclaimable = vms.reduce((a, v) => a + Math.max(0, v.allocatedPages - v.minPages), 0);
      expect(plan.reduce((a, b) => a + b, 0)).toBe(Math.min(need, reclaimable));
      plan.forEach((r, i) => {
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThanOrEqual(Math.max(0, vms[i].allocatedPages - vms[i].minPages));
        expect(Math.abs(r - ref[i])).toBeLessThanOrEqual(1);
      });
    }), { numRuns: 300 });
  });
});
