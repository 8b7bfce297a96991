import { describe, expect, it } from "vitest";
import { Rng, zipfAliasTable, zipfPartialSum, zipfProbability, zipfSampler } from "../../src";

/** Empirical rank frequencies from `draws` samples. */
function frequencies(pages: number, exponent: number, method: "alias" | "rejection" | "hybrid", draws: number, seed = 1): Float64Array {
  // A 10-rank head makes the hybrid's head/tail boundary fall inside the checked ranks.
  const s = zipfSampler(pages, exponent, method, 10);
  const rng = new Rng(seed);
  const f = new Float64Array(pages);
  for (let i = 0; i < draws; i++) f[s.sample(rng)]++;
  for (let i = 0; i < pages; i++) f[i] /= draws;
  return f;
}

describe("zipf samplers", () => {
  for (const method of ["alias", "rejection", "hybrid"] as const) {
    for (const exponent of [0, 0.8, 1, 1.5]) {
      it(`${method}: rank frequencies follow r^-s / H(N, s) for s = ${exponent}`, () => {
        const pages = 50;
        const draws = 200_000;
        const f = frequencies(pages, exponent, method, draws);
        for (let r = 0; r < pages; r++) {
          const p = zipfProbability(r, pages, exponent);
          const sd = Math.sqrt((p * (1 - p)) / draws);
          expect(Math.abs(f[r] - p)).toBeLessThan(5 * sd + 1e-9);
        }
      });
    }
  }

  it("the alias table encodes the Zipf probabilities (to 32-bit threshold precision)", () => {
    // P(col) = (keep[col] + sum of (1 - keep[j]) over j with alias[j] = col) / N
    const n = 300;
    const s = 1.2;
    const { entries } = zipfAliasTable(n, s);
    const mass = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const keep = entries[2 * j + 1] === j ? 1 : entries[2 * j] / 2 ** 32;
      mass[j] += keep / n;
      mass[entries[2 * j + 1]] += (1 - keep) / n;
    }
    for (let r = 0; r < n; r++) expect(Math.abs(mass[r] - zipfProbability(r, n, s))).toBeLessThan(1e-11);
  });

  it("tables are shared between samplers of the same shape", () => {
    expect(zipfAliasTable(1000, 1.1)).toBe(zipfAliasTable(1000, 1.1));
  });

  it("above 2^18 pages uses an alias head and a rejection-inversion tail, without an O(N) table", () => {
    const s = zipfSampler(2 ** 30, 1.1);
    expect(s.method).toBe("hybrid");
    const rng = new Rng(3);
    let top = 0;
    let tail = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = s.sample(rng);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(2 ** 30);
      if (r === 0) top++;
      if (r >= 1 << 16) tail++;
    }
    // H(2^30, 1.1) = 1 + zipfPartialSum(2, 2^30): P(rank 1) = 1/H, P(rank > 2^16) = partial / H.
    const h = 1 + zipfPartialSum(2, 2 ** 30, 1.1);
    const pTail = zipfPartialSum(2 ** 16 + 1, 2 ** 30, 1.1) / h;
    expect(Math.abs(top / 20_000 - 1 / h)).toBeLessThan(5 * Math.sqrt((1 / h) / 20_000));
    expect(Math.abs(tail / 20_000 - pTail)).toBeLessThan(5 * Math.sqrt(pTail / 20_000));
  });

  it("the Euler–Maclaurin partial sum matches brute force", () => {
    for (const s of [0.5, 1, 1.1, 2]) {
      let brute = 0;
      for (let k = 100_000; k >= 50; k--) brute += Math.pow(k, -s);
      expect(Math.abs(zipfPartialSum(50, 100_000, s) - brute) / brute).toBeLessThan(1e-11);
    }
  });
});
