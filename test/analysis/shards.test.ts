import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Shards, shardsHash, SHARDS_MODULUS } from "../../src/analysis/shards";
import { ExactMissRatioCurve } from "../../src/analysis/mrc-estimator";
import { createWorkload } from "../../src/workloads/create-workload";
import { Rng } from "../../src/util/rng";

const trace = fc.array(fc.integer({ min: 0, max: 300 }), { size: "max", minLength: 1, maxLength: 2000 });

function exactRatios(pages: ArrayLike<number>, sizes: number[]): Float64Array {
  const e = new ExactMissRatioCurve();
  e.feed(pages, 0, pages.length);
  return e.missRatios(sizes);
}

/** Mean absolute error of an estimate over 100 sizes evenly spaced up to the footprint. */
function meanAbsoluteError(pages: Float64Array, footprint: number, exact: Float64Array, s: Shards): number {
  s.feed(pages, 0, pages.length);
  const est = s.missRatios(evenSizes(footprint));
  let sum = 0;
  for (let i = 0; i < est.length; i++) sum += Math.abs(est[i] - exact[i]);
  return sum / est.length;
}

function evenSizes(footprint: number): number[] {
  return Array.from({ length: 100 }, (_, i) => Math.max(1, Math.round((footprint * (i + 1)) / 100)));
}

describe("SHARDS", () => {
  it("at rate 1 samples every page and gives the exact curve", () => {
    fc.assert(fc.property(trace, (pages) => {
      const sizes = Array.from({ length: 310 }, (_, i) => i + 1);
      const s = new Shards({ rate: 1 });
      s.feed(pages, 0, pages.length);
      expect(s.sampledAccesses).toBe(pages.length);
      expect(s.footprintPages()).toBe(new Set(pages).size);
      expect(s.missRatios(sizes)).toEqual(exactRatios(pages, sizes));
    }), { numRuns: 50 });
  });

  it("fixed size with room for every page stays at rate 1 and is exact", () => {
    fc.assert(fc.property(trace, (pages) => {
      const sizes = [1, 2, 5, 20, 100, 301];
      const s = new Shards({ maxSamples: 301 });
      pages.forEach((p) => s.access(p));
      expect(s.rate).toBe(1);
      expect(s.missRatios(sizes)).toEqual(exactRatios(pages, sizes));
    }), { numRuns: 50 });
  });

  it("fixed size keeps at most maxSamples pages: exactly the distinct pages hashing below the final threshold", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { size: "max", maxLength: 3000 }), fc.integer({ min: 1, max: 200 }), fc.nat({ max: 1000 }), (pages, maxSamples, salt) => {
      const s = new Shards({ maxSamples, salt });
      s.feed(pages, 0, pages.length);
      expect(s.trackedPages).toBeLessThanOrEqual(maxSamples);
      const threshold = s.rate * SHARDS_MODULUS;
      const below = new Set(pages.filter((p) => shardsHash(p, salt) < threshold));
      expect(s.trackedPages).toBe(below.size);
      // The threshold fell to a hash the sample held: the largest hash ever sampled, or below.
      if (s.rate < 1) expect(pages.some((p) => shardsHash(p, salt) === threshold)).toBe(true);
    }), { numRuns: 100 });
  });

  it("scales a sampled reuse distance by 1/R: depth (d − 1)/R + 1, so a page reused after one other sampled page sits at 1 + 1/R", () => {
    const threshold = 0.5 * SHARDS_MODULUS;
    const [a, b] = Array.from({ length: 100 }, (_, p) => p).filter((p) => shardsHash(p) < threshold);
    const s = new Shards({ rate: 0.5, adjust: false });
    for (const p of [a, b, a, a]) s.access(p);
    // Sampled depths ∞, ∞, 2, 1 → estimated depths ∞, ∞, 3, 1.
    expect(Array.from(s.missRatios([1, 2, 3]))).toEqual([0.75, 0.75, 0.5]);
  });

  it("fixed size drops every page of the largest hash at once, ties included", () => {
    // Two pages with the same hash (a birthday pair among the first 2^16 pages), and a smaller one.
    const first = new Map<number, number>();
    let pair: [number, number, number] | undefined;
    for (let p = 0; pair === undefined; p++) {
      const h = shardsHash(p);
      const q = first.get(h);
      if (q !== undefined && h > SHARDS_MODULUS / 4) pair = [q, p, h];
      else first.set(h, p);
    }
    const [a, b, tie] = pair;
    let c = 0;
    while (shardsHash(c) >= tie) c++;
    const s = new Shards({ maxSamples: 2 });
    for (const p of [a, b, c]) s.access(p);
    expect(s.trackedPages).toBe(1);
    expect(s.rate).toBe(tie / SHARDS_MODULUS);
  });

  it("SHARDS_adj: the adjusted miss ratio is the unadjusted one times sampled / expected accesses (N·R)", () => {
    const w = createWorkload({ kind: "zipf", pages: 20_000, exponent: 0.9, scatter: true }, new Rng(5));
    const pages = new Float64Array(200_000);
    w.fill(pages, new Uint8Array(pages.length));
    const sizes = [100, 1000, 5000, 20_000];
    for (const options of [{ rate: 0.05 }, { maxSamples: 500 }]) {
      const adjusted = new Shards({ ...options });
      const plain = new Shards({ ...options, adjust: false });
      adjusted.feed(pages, 0, pages.length);
      plain.feed(pages, 0, pages.length);
      const sampled = plain.sampledWeight; // rescaled to the final rate in fixed-size mode
      if (options.rate !== undefined) expect(sampled).toBe(plain.sampledAccesses);
      const expected = pages.length * plain.rate;
      expect(Math.abs(sampled - expected)).toBeGreaterThan(1); // the adjustment has something to do
      const a = adjusted.missRatios(sizes);
      const p = plain.missRatios(sizes);
      for (let i = 0; i < sizes.length; i++) expect(a[i]).toBeCloseTo(Math.min(1, (p[i] * sampled) / expected), 12);
    }
  });

  it("estimates a million-access zipf trace of ~80,000 pages within 0.02 mean absolute error at rate 0.01", () => {
    const w = createWorkload({ kind: "zipf", pages: 100_000, exponent: 1, scatter: true }, new Rng(1));
    const pages = new Float64Array(1_000_000);
    w.fill(pages, new Uint8Array(pages.length));
    const e = new ExactMissRatioCurve();
    e.feed(pages, 0, pages.length);
    const footprint = e.footprintPages();
    expect(footprint).toBeGreaterThan(70_000);
    const exact = e.missRatios(evenSizes(footprint));
    // Ten samples (salts), not one lucky one: each within 0.02, and 0.012 on average.
    const errors = Array.from({ length: 10 }, (_, salt) => meanAbsoluteError(pages, footprint, exact, new Shards({ rate: 0.01, salt })));
    for (const err of errors) expect(err).toBeLessThanOrEqual(0.02);
    expect(errors.reduce((a, b) => a + b) / errors.length).toBeLessThanOrEqual(0.012);
    // Without SHARDS_adj the same samples miss by several times more (hot pages over- or under-sampled).
    const plain = Array.from({ length: 10 }, (_, salt) => meanAbsoluteError(pages, footprint, exact, new Shards({ rate: 0.01, salt, adjust: false })));
    expect(plain.reduce((a, b) => a + b)).toBeGreaterThan(3 * errors.reduce((a, b) => a + b));
    // Fixed size: 4,096 pages tracked (the rate falls to about 5%), within 0.01.
    const fixed = new Shards({ maxSamples: 4096 });
    expect(meanAbsoluteError(pages, footprint, exact, fixed)).toBeLessThanOrEqual(0.01);
    expect(fixed.trackedPages).toBeLessThanOrEqual(4096);
    expect(fixed.footprintPages() / footprint).toBeGreaterThan(0.9);
    expect(fixed.footprintPages() / footprint).toBeLessThan(1.1);
  });

  it("fixed size stays small as the footprint grows: tracked pages and histogram buckets bounded", () => {
    const s = new Shards({ maxSamples: 1000 });
    const batch = new Float64Array(100_000);
    const buckets: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < batch.length; i++) batch[i] = round * batch.length + i; // 2M distinct pages
      s.feed(batch, 0, batch.length);
      expect(s.trackedPages).toBeLessThanOrEqual(1000);
      buckets.push(s.histogramBuckets);
    }
    expect(Math.max(...buckets)).toBeLessThan(4096 + 256 * 12);
  });

  it("hashes pages to [0, 2^24) uniformly and reproducibly; a salt draws another sample", () => {
    expect([0, 1, 0x400, 2 ** 40 + 3].map((p) => shardsHash(p))).toEqual([13632595, 10959347, 5074325, 13266568]);
    let sampled = 0;
    let both = 0;
    let outside = 0;
    const threshold = 0.01 * SHARDS_MODULUS;
    for (let p = 0; p < 1_000_000; p++) {
      const h = shardsHash(p);
      if (!(h >= 0 && h < SHARDS_MODULUS && Number.isInteger(h))) outside++;
      if (h < threshold) {
        sampled++;
        if (shardsHash(p, 7) < threshold) both++;
      }
    }
    expect(outside).toBe(0);
    expect(sampled).toBeGreaterThan(9_500);
    expect(sampled).toBeLessThan(10_500);
    expect(both).toBeLessThan(300); // independent samples overlap by about R² = 1 in 10,000
  });

  it("refuses a rate outside (0, 1], below 2^-24, a bad maxSamples, salt or adjust", () => {
    for (const rate of [0, -0.1, 1.01, NaN, "0.1"]) expect(() => new Shards({ rate: rate as number })).toThrow(/^rate: must be a sampling rate in \(0, 1\]/);
    expect(() => new Shards({ rate: 1e-9 })).toThrow(/^rate: is below the sampler's resolution of 2\^-24/);
    for (const m of [0, 1.5, 2 ** 30]) expect(() => new Shards({ maxSamples: m })).toThrow(/^maxSamples: must be a whole number of pages from 1 to 2\^28/);
    expect(() => new Shards({ salt: -1 })).toThrow(/^salt: must be a whole number from 0 to 2\^32-1/);
    expect(() => new Shards({ adjust: "yes" as unknown as boolean })).toThrow(/^adjust: must be true or false/);
    expect(() => new Shards({ rate: 2 }, "options")).toThrow(/^options\.rate: /);
  });
});
