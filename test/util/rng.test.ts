import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Rng, checkSeed, hashString128, hashString32, mix32 } from "../../src/util/rng";
import { MemvirtError } from "../../src/util/errors";

describe("Rng", () => {
  it("gives the same sequence for the same seed", () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      for (let i = 0; i < 20; i++) if (a.nextUint32() !== b.nextUint32()) return false;
      return true;
    }));
  });

  it("gives different sequences for different seeds and labels", () => {
    expect(new Rng(1).nextUint32()).not.toBe(new Rng(2).nextUint32());
    const root = new Rng(7);
    expect(root.split("vm:a").nextUint32()).not.toBe(root.split("vm:b").nextUint32());
  });

  it("splits independently of the order children are made in", () => {
    const r1 = new Rng(9);
    const a1 = r1.split("a").next();
    const r2 = new Rng(9);
    r2.split("b");
    r2.next();
    expect(r2.split("a").next()).toBe(a1);
  });

  it("draws integers in range, roughly uniformly", () => {
    const rng = new Rng(3);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer(), (n, seed) => {
      const v = new Rng(seed).int(n);
      return Number.isInteger(v) && v >= 0 && v < n;
    }));
  });

  it("accepts string seeds", () => {
    expect(new Rng("abc").nextUint32()).toBe(new Rng("abc").nextUint32());
    expect(hashString32("abc")).not.toBe(hashString32("abd"));
  });

  it("shuffles uniformly: every permutation about equally often, the identity and fixed points included", () => {
    const rng = new Rng(11);
    const counts = new Map<string, number>();
    let leftOneInPlace = 0;
    for (let i = 0; i < 6000; i++) {
      const p = rng.shuffle([0, 1, 2]);
      counts.set(p.join(), (counts.get(p.join()) ?? 0) + 1);
      if (p.some((v, k) => v === k)) leftOneInPlace++;
    }
    // Sattolo's variant (j drawn below i, not up to it) makes only the two 3-cycles.
    expect(leftOneInPlace).toBeGreaterThan(0);
    expect([...counts.keys()].sort()).toEqual(["0,1,2", "0,2,1", "1,0,2", "1,2,0", "2,0,1", "2,1,0"]);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150); // σ ≈ 29
  });

  it("draws integers above 2^32 with all their low bits, not 32 bits scaled up", () => {
    const rng = new Rng(5);
    const n = 2 ** 40;
    const draws = Array.from({ length: 1000 }, () => rng.int(n));
    expect(draws.some((v) => v >= 2 ** 32)).toBe(true);
    // 32 random bits scaled by 2^40 / 2^32 would give multiples of 256 only.
    expect(draws.filter((v) => v % 256 !== 0).length).toBeGreaterThan(990);
    expect(draws.filter((v) => v % 2 === 1).length).toBeGreaterThan(400);
    expect(Math.max(...draws)).toBeGreaterThan(0.9 * n);
  });
});

describe("Rng seeds", () => {
  const draws = (seed: number | string, n = 3) => {
    const r = new Rng(seed);
    return Array.from({ length: n }, () => r.nextUint32());
  };
  const state = (seed: number | string) => new Rng(seed).stateWords().join(",");

  it("keeps the streams integers in [0, 2^32) always had (notebook numbers do not move)", () => {
    expect(draws(0)).toEqual([1789933344, 44971166, 2521387044]);
    expect(draws(1)).toEqual([1942671963, 3572102120, 4154178918]);
    expect(draws(42)).toEqual([260431675, 1512114526, 2553649784]);
    expect(draws(2026)).toEqual([1076312800, 3843040292, 322717270]);
    expect(draws(4294967295)).toEqual([2307798277, 1883588001, 2251166215]);
    const child = new Rng(42).split("vm:web");
    expect([child.nextUint32(), child.nextUint32()]).toEqual([996973031, 4154247902]);
    expect(new Rng(7).split("a").split("b").nextUint32()).toBe(2134995337);
    expect(new Rng(1).reseeded().split("p2m").nextUint32()).toBe(new Rng(new Rng(1).seed).split("p2m").nextUint32());
    let acc = 0;
    for (let s = 0; s < 1000; s++) {
      const r = new Rng(s * 4294967 + s);
      const ch = r.split("x");
      acc = (Math.imul(acc, 31) + r.nextUint32() + r.nextUint32() + ch.nextUint32()) >>> 0;
    }
    expect(acc).toBe(3848434966);
  });

  it("gives the seeds that used to collide distinct streams", () => {
    // 1 and 2^32 were folded together, and so were 0, -1 and 2^32+1.
    const seeds = [0, 1, -1, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1)];
    expect(new Set(seeds.map((s) => draws(s, 4).join(","))).size).toBe(seeds.length);
    expect(new Set(seeds.map(state)).size).toBe(seeds.length);
  });

  it("rejects seeds it cannot represent, naming where they came from", () => {
    expect(() => new Rng(1.5)).toThrow("seed: must be a whole number between -(2^53-1) and 2^53-1, or a string (got 1.5)");
    expect(() => new Rng(1e300, "--seed")).toThrow(/^--seed: must be a whole number/);
    expect(() => new Rng(2 ** 53)).toThrow(MemvirtError);
    expect(() => new Rng(NaN)).toThrow(MemvirtError);
    expect(() => new Rng(Infinity)).toThrow(MemvirtError);
    expect(() => new Rng(true as never, "host.seed")).toThrow("host.seed: must be a whole number or a string (got true)");
    expect(() => checkSeed("1.5", "--seed")).toThrow(/^--seed: looks like a number but is not a plain whole number/);
    for (const s of ["007", "+7", "-0", "1e3", " 42", "0x2a", "Infinity"]) expect(() => checkSeed(s)).toThrow(MemvirtError);
    expect(() => checkSeed("9007199254740993", "seed")).toThrow(/beyond 2\^53-1/);
  });

  it("takes a canonical decimal string as the integer it spells", () => {
    expect(checkSeed("42")).toBe(42);
    expect(checkSeed("-5")).toBe(-5);
    expect(checkSeed(-0)).toBe(0);
    expect(checkSeed("run-a")).toBe("run-a");
    expect(draws("42", 4)).toEqual(draws(42, 4));
    expect(draws("4294967296", 4)).toEqual(draws(4294967296, 4));
    expect(new Rng("42").split("vm:web").nextUint32()).toBe(new Rng(42).split("vm:web").nextUint32());
  });

  it("hashes a string seed into all four state words", () => {
    // These two strings collide in 32 bits; a 32-bit seed hash would give them one stream.
    expect(hashString32("seed-649864")).toBe(hashString32("seed-1617280"));
    expect(state("seed-649864")).not.toBe(state("seed-1617280"));
    expect(draws("seed-649864", 4)).not.toEqual(draws("seed-1617280", 4));
    const [a, b] = [hashString128("seed-649864"), hashString128("seed-1617280")];
    for (let i = 0; i < 4; i++) expect(a[i]).not.toBe(b[i]);
  });

  it("gives distinct accepted seeds distinct states, and one seed one stream", () => {
    const safe = fc.maxSafeInteger().chain((m) => fc.constantFrom(m, -m));
    // Integers near the 2^32 seams, where the low word repeats and only the high part differs.
    const seam = fc.tuple(fc.integer({ min: 0, max: 2 ** 21 - 1 }), fc.constantFrom(0, 1, 2 ** 32 - 1), fc.boolean())
      .map(([hi, lo, neg]) => (neg ? -1 : 1) * (hi * 2 ** 32 + lo) || 0);
    const text = fc.string().filter((s) => { try { return typeof checkSeed(s) === "string"; } catch { return false; } });
    const seed = fc.oneof(safe, seam, fc.integer(), text);
    fc.assert(fc.property(seed, seed, (a, b) => {
      fc.pre(checkSeed(a) !== checkSeed(b));
      return state(a) !== state(b) && new Rng(a).split("vm:web").stateWords().join() !== new Rng(b).split("vm:web").stateWords().join();
    }), { numRuns: 2000 });
    fc.assert(fc.property(seed, (s) => draws(s, 8).join() === draws(s, 8).join() && state(String(s)) === state(s)));
  });

  it("never needs the all-zero guard for an integer seed (the injectivity argument in integerState)", () => {
    // s0 is 0 only for the low word whose mix32 is -γ; no sign and high word makes the rest 0 too.
    const unmix32 = (x: number) => {
      x >>>= 0; x ^= x >>> 16; x = Math.imul(x, 0x7ed1b41d); x ^= (x >>> 13) ^ (x >>> 26); x = Math.imul(x, 0xa5cb9243); x ^= x >>> 16;
      return x >>> 0;
    };
    const lo = unmix32((0 - 0x9e3779b9) >>> 0);
    expect(mix32(lo)).toBe((0 - 0x9e3779b9) >>> 0);
    expect(new Rng(lo).stateWords()[0]).toBe(0);
    for (let hi = 0; hi < 2 ** 21; hi++) {
      const n = hi * 2 ** 32 + lo;
      // The guard would set s0 to 1.
      if (new Rng(n).stateWords()[0] !== 0 || new Rng(-n).stateWords()[0] !== 0) throw new Error(`zero state for ±${n}`);
    }
  });

  it("splits a seed outside 32 bits by its whole state", () => {
    expect(new Rng(1).split("vm:web").stateWords()).not.toEqual(new Rng(2 ** 32 + 1).split("vm:web").stateWords());
    expect(new Rng(2 ** 32 + 1).split("a").stateWords()).not.toEqual(new Rng(2 ** 32 + 1).split("b").stateWords());
    expect(new Rng(2 ** 32 + 1).reseeded().stateWords()).not.toEqual(new Rng(1).reseeded().stateWords());
    expect(new Rng(-1).split("a").split("b").nextUint32()).toBe(new Rng(-1).split("a").split("b").nextUint32());
    // Two string seeds whose 32-bit digests collide: children keyed by the digest alone would collide.
    expect(new Rng("run-42641").seed).toBe(new Rng("run-67168").seed);
    expect(new Rng("run-42641").split("vm:web").stateWords()).not.toEqual(new Rng("run-67168").split("vm:web").stateWords());
    expect(new Rng("run-42641").reseeded().stateWords()).not.toEqual(new Rng("run-67168").reseeded().stateWords());
  });
});
