import { describe, expect, it } from "vitest";
import { Rng, zipfAliasTable, zipfProbability, zipfSampler } from "../../src";

/** Empirical rank frequencies from `draws` samples. */
function frequencies(pages: number, exponent: number, method: "alias" | "rejection", draws: number, seed = 1): Float64Array {
  const s = zipfSampler(pages, exponent, method);
  const rng = new Rng(seed);
  const f = new Float64Array(pages);
  for (let i = 0; i < draws; i++) f[s.sample(rng)]++;
  for (let i = 0; i < pages; i++) f[i] /= draws;
  return f;
}

describe("zipf samplers", () => {
  for (const method of ["alias", "rejection"] as const) {
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

  it("uses rejection-inversion above 2^22 pages, without a table", () => {
    const s = zipfSampler(2 ** 30, 1.1);
    expect(s.method).toBe("rejection");
    const rng = new Rng(3);
    let top = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = s.sample(rng);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(2 ** 30);
      if (r === 0) top++;
    }
    // P(rank 1) = 1 / H(2^30, 1.1), with H ~ zeta(1.1) - tail ~ 7.9
    expect(top / 10_000).toBeGreaterThan(0.1);
    expect(top / 10_000).toBeLessThan(0.16);
  });
});
