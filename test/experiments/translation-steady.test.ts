import { describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { simulateTranslation, simulateTranslationStream, TranslationRun, type SimulateTranslationOptions } from "../../src/experiments/translation";
import { compareTranslation } from "../../src/experiments/translation-sweep";
import { parseLackeyBuffer } from "../../src/trace/load-lackey";
import type { ModeName } from "../../src/virt/mode-name";

/**
 * Notebook 02's configurations at a quarter of their size: 1,024 pages instead of 4,096 with a
 * quarter of the TLB (the same ~63% miss rate), and every period and warm-up scaled by 1/4. Each
 * mode runs as real VMMs do it (the defaults: KVM's shadow MMU, Xen PV, lazy host backing) and
 * as the slides tell it.
 */
const hardware = { pwc: "stc" as const, nestedTlb: true, seed: 7, tlb: { entries: 384, ways: 12 } };
// 30 accesses per page: KVM's dirty-bit faults (a page's first store after a read) have drained.
const uniform = { workload: { kind: "uniform" as const, pages: 1024, writeFraction: 0.2 }, warmupAccesses: 30_000 };
const modes: Record<string, Partial<SimulateTranslationOptions> & { mode: ModeName }> = {
  "protected, slides (reads trap)": { mode: "protected", pvPolicy: "slides", trapReads: true },
  "protected, Xen PV": { mode: "protected" },
  "shadow, slides": { mode: "shadow", shadowPolicy: "slides" },
  "shadow, KVM": { mode: "shadow" },
  nested: { mode: "nested" },
};
const configurations: Record<string, { base: SimulateTranslationOptions; setups: Record<string, Partial<SimulateTranslationOptions>> }> = {
  "TLB-miss-heavy": { base: { ...hardware, ...uniform }, setups: modes },
  // Forks at 37.5k, 50k, 62.5k and 75k of the 30k–80k window: two in each half.
  "page-table-update-heavy": { base: { ...hardware, ...uniform, guest: { forkEvery: 12_500, unmapEvery: 100 } }, setups: modes },
  "four processes, shadows kept or not": {
    // Four address spaces to warm: four times the warm-up.
    base: { ...hardware, ...uniform, mode: "shadow", warmupAccesses: 120_000, guest: { processes: 4, switchEvery: 500 } },
    setups: { "1 shadow kept": { shadowCacheSize: 1 }, "4 shadows kept": { shadowCacheSize: 4 }, "4 shadows kept, slides": { shadowCacheSize: 4, shadowPolicy: "slides" }, nested: { mode: "nested" } },
  },
};

/** One line of text only: the last part of a warning. */
const unsteady = /^not a steady state: cycles per access went from [0-9.]+ in the first half of the measured window to [0-9.]+ in the second \([+−][0-9.]+%, beyond ±10%\)/;

describe("a measurement that does not depend on its length", () => {
  for (const [name, { base, setups }] of Object.entries(configurations)) {
    it(`${name}: doubling the measured window changes cycles per access by less than 10% for every mode, and flips no winner`, () => {
      const [short, long] = [50_000, 100_000].map((accesses) => compareTranslation({ mode: "nested", ...base, accesses }, setups, undefined, { native: false }).results);
      for (const setup of Object.keys(setups)) {
        const a = short[setup].totals.cyclesPerAccess;
        const b = long[setup].totals.cyclesPerAccess;
        expect(Math.abs(b / a - 1), `${setup}: ${a.toFixed(2)} then ${b.toFixed(2)}`).toBeLessThan(0.1);
        // Each window is steady on its own too, and says so.
        expect(short[setup].totals.steady, setup).toBe(true);
        expect(short[setup].warnings, setup).toEqual([]);
      }
      const order = (r: typeof short) => Object.keys(setups).sort((x, y) => r[x].totals.cyclesPerAccess - r[y].totals.cyclesPerAccess);
      expect(order(long)).toEqual(order(short));
    });
  }

  it("the warm-up runs the guest's activity: every process makes its first touches before measuring starts", () => {
    const r = simulateTranslation({ mode: "shadow", tlb: { entries: 64, ways: 4 }, workload: { kind: "uniform", pages: 256 }, accesses: 10_000, warmupAccesses: 40_000, guest: { processes: 4, switchEvery: 500 } });
    expect(r.totals.guest.switches).toBe(19); // measured switches only; the warm-up's are forgotten
    expect(r.totals.guestPageFaults).toBe(0);
    expect(r.totals.hiddenFaults).toBe(0);
  });

  it("the guest's periods run on one clock over warm-up and window: the guest cannot tell when measuring starts", () => {
    // Forks at 15k, 30k, 45k and 60k accesses (warm-up included); the one due at the very end (75k) does not start.
    const opts = { mode: "nested" as const, tlb: { entries: 64, ways: 4 }, workload: { kind: "uniform" as const, pages: 512 }, accesses: 65_000, warmupAccesses: 10_000, guest: { forkEvery: 15_000, forkTouchPages: 4 } };
    const r = simulateTranslation(opts);
    expect(r.totals.guest.forks).toBe(4);
    expect(r.totals.accesses).toBe(65_000 + 4 * 4);
    // Measured accesses at which the forks land: the interval rows carry their child accesses.
    const rows = simulateTranslation({ ...opts, intervalAccesses: 5000 }).toTable().objects() as Array<{ accessesEnd: number; accesses: number }>;
    expect(rows.filter((row) => row.accesses > 5000).map((row) => row.accessesEnd)).toEqual([5000, 20_000, 35_000, 50_000]);
  });

  it("the halves check warns on a deliberately short window and not on a long one", () => {
    const base = { mode: "native" as const, tlb: { entries: 64, ways: 4 }, workload: { kind: "uniform" as const, pages: 2048 } };
    const short = simulateTranslation({ ...base, accesses: 5000 });
    expect(short.totals.steady).toBe(false);
    expect(short.totals.halfDifference).toBeLessThan(-0.1); // first touches drain out of the window
    expect(short.warnings).toHaveLength(1);
    expect(short.warnings[0]).toMatch(unsteady);
    expect(short.explain()).toMatch(/\n {2}Halves of the measured window: [0-9.]+ then [0-9.]+ cycles per access \(−[0-9]+%\): not steady\.\n/);
    const long = simulateTranslation({ ...base, accesses: 50_000, warmupAccesses: 20_000 });
    expect(long.totals.steady).toBe(true);
    expect(Math.abs(long.totals.halfDifference)).toBeLessThan(0.1);
    expect(long.warnings).toEqual([]);
    expect(long.explain()).toMatch(/: steady\.\n/);
    // The tolerance is the caller's: 0 makes any difference unsteady.
    expect(simulateTranslation({ ...base, accesses: 50_000, warmupAccesses: 20_000, steadyTolerance: 0 }).warnings[0]).toMatch(/beyond ±0\.0%/);
    expect(() => simulateTranslation({ ...base, steadyTolerance: -1 })).toThrow(/steadyTolerance: must be a non-negative fraction/);
  });

  it("the halves are the two halves of the window, as the interval table counts them", () => {
    // 32,768 accesses: the middle (16,384) is a checkpoint, so the split is exact.
    const r = simulateTranslation({ mode: "shadow", tlb: { entries: 64, ways: 4 }, workload: { kind: "uniform", pages: 1024 }, accesses: 32_768, intervalAccesses: 16_384, guest: { unmapEvery: 50 } });
    const rows = r.toTable().objects() as Array<{ cyclesPerAccess: number }>;
    expect(rows).toHaveLength(2);
    expect(r.totals.halfCyclesPerAccess[0]).toBeCloseTo(rows[0].cyclesPerAccess, 9);
    expect(r.totals.halfCyclesPerAccess[1]).toBeCloseTo(rows[1].cyclesPerAccess, 9);
    expect(r.totals.halfDifference).toBeCloseTo(rows[1].cyclesPerAccess / rows[0].cyclesPerAccess - 1, 9);
  });

  it("a streamed trace (its length unknown in advance) splits at its middle", async () => {
    // 3,001 one-page records, measured after a warm-up of 1: 1,500 hits on one page, then a new page every access.
    const lines = ["==1== Lackey"];
    for (let i = 0; i < 3001; i++) lines.push(` L ${(0x400000 + (i <= 1500 ? 0 : i) * 4096).toString(16)},8`);
    const r = await simulateTranslationStream({ mode: "native", trace: Readable.from([Buffer.from(`${lines.join("\n")}\n`)]), warmupAccesses: 1, tlb: { entries: 64, ways: 4 } });
    const [first, second] = r.totals.halfCyclesPerAccess;
    expect(first).toBe(1); // TLB hits only
    expect(second).toBeGreaterThan(1000);
    expect(r.totals.steady).toBe(false);
    expect(r.warnings[0]).toMatch(unsteady);
  });

  it("keeps at most 1,024 checkpoints however long the run, and splits within 1/1,024 of the middle", () => {
    const run = new TranslationRun({ mode: "native", tlb: { entries: 64, ways: 4 } }, "pattern", Infinity);
    const n = 1_000_003;
    const pages = new Float64Array(n);
    for (let i = 0; i < n; i++) pages[i] = i < 500_001 ? 0 : 1 + (i % 4096); // a change at the middle
    run.feed(pages, new Uint8Array(n), n);
    const held = (run as unknown as { checkpoints: { done: number[] } }).checkpoints.done;
    expect(held.length).toBeLessThanOrEqual(1024);
    expect(held.length).toBeGreaterThanOrEqual(512);
    const r = run.finish();
    // Checkpoints every 1,024 accesses by now: the nearest to the middle (500,001) is 499,712, before the
    // change, so the first half is page 0's hits and its one first touch. A split past the change would
    // bring in first touches at thousands of cycles each; one far from the middle, the fault's share.
    const [first, second] = r.totals.halfCyclesPerAccess;
    expect(first).toBeLessThan(1.01);
    expect(second).toBeGreaterThan(100);
  });

  it("a trace measured whole from its start is a program, start-up included: figures, but no warning", () => {
    const lines = ["==1== Lackey"];
    for (let i = 0; i < 4000; i++) lines.push(` L ${(0x400000 + (i % 500) * 4096).toString(16)},8`);
    const trace = parseLackeyBuffer(`${lines.join("\n")}\n`, "t.lackey");
    const whole = simulateTranslation({ mode: "shadow", trace });
    expect(whole.totals.steady).toBe(false);
    expect(whole.warnings).toEqual([]);
    const warmed = simulateTranslation({ mode: "shadow", trace, warmupAccesses: 100 });
    expect(warmed.totals.steady).toBe(false);
    expect(warmed.warnings[0]).toMatch(unsteady);
  });

  it("a window too short to split says so; one that measured nothing adds nothing", () => {
    const one = simulateTranslation({ mode: "native", workload: { kind: "uniform", pages: 64 }, accesses: 1 });
    expect(Number.isNaN(one.totals.halfDifference)).toBe(true);
    expect(one.totals.steady).toBe(false);
    expect(one.warnings).toEqual(["the measured window (1 access) is too short to split in halves and check for a steady state"]);
  });
});
