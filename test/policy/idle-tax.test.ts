/**
 * Share-based allocation with the idle memory tax: the reclamation policy's targets under
 * `allocation: { taxRate }`.
 */
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { HostControl, VmView } from "../../src/host/host-policy";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import { activeFractionOf, DEFAULT_TAX_RATE, resolveAllocation } from "../../src/policy/idle-tax";
import { idleCostFactor } from "../../src/policy/shares-per-page";

type MutableView = { -readonly [K in keyof VmView]: VmView[K] };

/** A scripted host that records every call a policy makes, in order. */
function fakeHost(machinePages: number, freePages: number, vms: Array<Partial<MutableView>>) {
  const calls: string[] = [];
  const notes: string[] = [];
  const views: MutableView[] = vms.map((v, i) => ({
    index: i, name: `vm${i}`, memoryPages: 8000, minPages: 0, maxPages: 8000, shares: 100, residentPages: 0, hostSwappedPages: 0,
    balloonedPages: 0, balloonTargetPages: 0, balloonMaxPages: 5200, targetPages: 8000, blocked: false, accesses: 0, hstate: new Uint8Array(0),
    estimatedActivePages: null, ...v,
  }));
  const host: HostControl & { freePages: number } = {
    nowSeconds: 0, machinePages, freePages, hostSwapCapacityPages: 1e6, hostSwapUsedPages: 0, vms: views,
    setBalloonTarget: (i, p) => { const kept = Math.max(0, Math.min(p, views[i].balloonMaxPages)); calls.push(`balloon ${i} ${kept}`); views[i].balloonTargetPages = kept; return kept; },
    swapOut: (i, p) => { calls.push(`swap ${i} ${p}`); return p; },
    setBlocked: (i, b) => { calls.push(`block ${i} ${b}`); views[i].blocked = b; },
    setTarget: (i, p) => { calls.push(`target ${i} ${p}`); views[i].targetPages = p; },
    invalidate: () => false,
    reportState: (label) => { calls.push(`state ${label}`); },
    note: (text) => { notes.push(text); },
  };
  return { host, calls, notes, views };
}

const vmArb = fc.record({
  memoryPages: fc.integer({ min: 500, max: 8000 }),
  residentFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  minFraction: fc.double({ min: 0, max: 0.5, noNaN: true }),
  maxFraction: fc.double({ min: 0.5, max: 1, noNaN: true }),
  shares: fc.integer({ min: 1, max: 5000 }),
  balloon: fc.boolean(),
  active: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
});

/** VMs from the arbitrary: resident ≤ max, min ≤ max; an estimate of active pages or none. */
function views(specs: Array<typeof vmArb extends fc.Arbitrary<infer T> ? T : never>): Array<Partial<MutableView>> {
  return specs.map((v) => {
    const maxPages = Math.max(1, Math.floor(v.memoryPages * v.maxFraction));
    const minPages = Math.min(maxPages, Math.floor(v.memoryPages * v.minFraction));
    const residentPages = Math.floor(maxPages * v.residentFraction);
    return {
      memoryPages: v.memoryPages, maxPages, minPages, residentPages, shares: v.shares, targetPages: maxPages,
      balloonMaxPages: v.balloon ? Math.floor(0.65 * v.memoryPages) : 0,
      estimatedActivePages: v.active === null ? null : Math.round(v.active * v.memoryPages),
    };
  });
}

describe("the allocation option", () => {
  it("defaults the tax to 0.75, and names a bad field or rate", () => {
    expect(DEFAULT_TAX_RATE).toBe(0.75);
    expect(resolveAllocation({})).toEqual({ taxRate: 0.75 });
    expect(resolveAllocation({ taxRate: 0 })).toEqual({ taxRate: 0 });
    expect(() => resolveAllocation({ taxRate: 1 })).toThrow(/^allocation\.taxRate: must be a tax rate from 0 up to, not including, 1 .*\(got 1\)$/);
    expect(() => resolveAllocation({ tax: 0.5 })).toThrow('allocation.tax: unknown field (valid fields: taxRate) (got 0.5)');
    expect(() => resolveAllocation(0.75)).toThrow(/^allocation: must be an object/);
    expect(() => new ReclamationPolicy({ allocation: { taxRate: -1 } })).toThrow(/^reclamation\.allocation\.taxRate: /);
  });

  it("takes f as the active share of the pages a VM holds, and 1 (no tax) without an estimate", () => {
    const v = (p: Partial<MutableView>) => ({ residentPages: 1000, estimatedActivePages: null, ...p }) as VmView;
    expect(activeFractionOf(v({ estimatedActivePages: 250 }))).toBe(0.25);
    expect(activeFractionOf(v({ estimatedActivePages: 5000 }))).toBe(1);
    expect(activeFractionOf(v({}))).toBe(1);
    expect(activeFractionOf(v({ estimatedActivePages: 10, residentPages: 0 }))).toBe(1);
  });

  it("at τ = 0 makes exactly today's decisions, tick after tick, whatever the estimates (property)", () => {
    fc.assert(fc.property(fc.array(vmArb, { minLength: 1, maxLength: 4 }), fc.array(fc.double({ min: 0, max: 0.12, noNaN: true }), { minLength: 1, maxLength: 5 }), (specs, frees) => {
      const M = 20_000;
      const plain = fakeHost(M, 0, views(specs));
      const taxed = fakeHost(M, 0, views(specs));
      const a = new ReclamationPolicy();
      const b = new ReclamationPolicy({ allocation: { taxRate: 0 } });
      for (const f of frees) {
        plain.host.freePages = Math.floor(f * M);
        taxed.host.freePages = Math.floor(f * M);
        a.tick(plain.host);
        b.tick(taxed.host);
      }
      expect(taxed.calls).toEqual(plain.calls);
      expect(b.targets).toEqual(a.targets);
    }), { numRuns: 300 });
  });

  it("keeps every target within min and max, reclaims what is needed, and takes from the lowest adjusted ρ first (property over VMs and τ)", () => {
    fc.assert(fc.property(fc.array(vmArb, { minLength: 1, maxLength: 5 }), fc.double({ min: 0, max: 0.95, noNaN: true }), fc.double({ min: 0.005, max: 0.039, noNaN: true }), (specs, taxRate, free) => {
      const M = 30_000;
      const { host, views: vs } = fakeHost(M, Math.floor(free * M), views(specs));
      const before = vs.map((v) => ({ ...v }));
      const policy = new ReclamationPolicy({ allocation: { taxRate } });
      policy.tick(host);
      const base = before.map((v) => Math.min(v.residentPages + (v.balloonMaxPages > 0 ? v.hostSwappedPages : 0), v.maxPages));
      const T = vs.map((v) => v.targetPages);
      const taken = T.map((t, i) => base[i] - Math.min(t, base[i]));
      vs.forEach((v, i) => {
        expect(T[i]).toBeLessThanOrEqual(v.maxPages);
        expect(T[i]).toBeGreaterThanOrEqual(Math.min(v.minPages, base[i]));
      });
      const need = Math.ceil(0.06 * M) - host.freePages;
      const reclaimable = before.reduce((a, v, i) => a + Math.max(0, base[i] - v.minPages), 0);
      expect(taken.reduce((a, b) => a + b, 0)).toBe(Math.min(need, reclaimable));
      // Min-funding revocation: no VM gave a page while another could have given one at a lower ρ.
      const w = before.map((v) => v.shares / idleCostFactor(activeFractionOf(v), taxRate));
      const keep = base.map((b, i) => b - taken[i]);
      for (let i = 0; i < vs.length; i++) {
        if (taken[i] === 0) continue;
        for (let j = 0; j < vs.length; j++) {
          if (j === i || keep[j] <= before[j].minPages) continue;
          expect(w[i] / (keep[i] + 1), `vm${i} gave pages at ρ ${w[i] / (keep[i] + 1)} while vm${j} kept ρ ${w[j] / keep[j]}`).toBeLessThanOrEqual((w[j] / keep[j]) * (1 + 1e-9));
        }
      }
    }), { numRuns: 500 });
  });

  it("reclaims from the idle VM first under τ = 0.75, and evenly from equals at τ = 0; says so in the events", () => {
    const vm = (active: number) => ({ residentPages: 6000, maxPages: 8000, targetPages: 8000, shares: 100, estimatedActivePages: active });
    const even = fakeHost(20_000, 500, [vm(0), vm(6000)]);
    new ReclamationPolicy({ allocation: { taxRate: 0 } }).tick(even.host);
    expect(even.views.map((v) => v.targetPages)).toEqual([5650, 5650]);
    const taxed = fakeHost(20_000, 500, [vm(0), vm(6000)]);
    new ReclamationPolicy({ allocation: { taxRate: 0.75 } }).tick(taxed.host);
    expect(taxed.views.map((v) => v.targetPages)).toEqual([5300, 8000]); // the busy VM keeps all 6,000 pages
    expect(taxed.notes.join("\n")).toMatch(/^idle memory tax: reclaiming from vm0, the lowest ρ: vm0 ρ = 0\.00417 \(0% active\); vm1 ρ = 0\.0167 \(100% active\)$/);
    // After the idle VM has given up so much that it is the cheaper one, the busy VM gives too.
    const deep = fakeHost(20_000, 500, [{ ...vm(0), residentPages: 1000 }, vm(6000)]);
    new ReclamationPolicy({ allocation: { taxRate: 0.75 } }).tick(deep.host);
    expect(deep.views[1].targetPages).toBeLessThan(6000);
  });

  it("gives memory back to the VM with the highest adjusted ρ first when it is plentiful", () => {
    const { host, views: vs } = fakeHost(40_000, 20_000, [
      { residentPages: 3000, maxPages: 8000, targetPages: 3000, estimatedActivePages: 0 },
      { residentPages: 3000, maxPages: 8000, targetPages: 3000, estimatedActivePages: 3000 },
    ]);
    const policy = new ReclamationPolicy({ allocation: { taxRate: 0.75 } });
    policy.targets.push(3000, 3000);
    host.freePages = Math.ceil(0.06 * 40_000) + Math.ceil(0.02 * 40_000) + 3000; // 3,000 pages beyond high + one band
    policy.tick(host);
    expect(vs.map((v) => v.targetPages)).toEqual([3000, 6000]);
  });

  it("describes the tax in explain()", () => {
    expect(new ReclamationPolicy({ allocation: {} }).describe()).toMatch(/idle memory tax of 75% \(an idle page costs k = 4 active ones; f from each VM's working-set estimate, 1 without one\)/);
    expect(new ReclamationPolicy().describe()).toMatch(/fewest shares per page first$/);
  });
});
