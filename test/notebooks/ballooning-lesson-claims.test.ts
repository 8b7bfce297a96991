/**
 * Notebook 03 states numbers in its prose; they must hold for the calls it makes (seed 42).
 * The overcommitted run's story (soft 25 s, low 26 s, high 27 s, soft 32–46 s, never hard,
 * hard with a fixed-rate balloon) is checked in test/experiments/overcommit.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ballooningComparison } from "../../src/experiments/ballooning";
import { overcommitScenario } from "../../src/experiments/overcommit";

const seed = 42;

describe("notebook 03's claims", () => {
  it("Figure 2 with the page-cache workload: throughput almost triples, the gap is about 1% at 128 MiB and about 0.5% at 224 MiB, random swapping 1.2–1.3× slower", () => {
    const gaps = ballooningComparison({ seed: seed, workload: "page-cache" }).gaps();
    const at = (mib: number) => gaps.find((g) => g.sizeMiB === mib)!;
    const rise = at(256).configured / at(128).configured;
    expect(rise).toBeGreaterThan(2.6);
    expect(rise).toBeLessThan(3);
    expect(at(128).balloonGapPercent).toBeGreaterThan(0.8);
    expect(at(128).balloonGapPercent).toBeLessThan(1.2);
    expect(at(224).balloonGapPercent).toBeGreaterThan(0.35);
    expect(at(224).balloonGapPercent).toBeLessThan(0.65);
    for (let i = 1; i < gaps.length - 1; i++) expect(gaps[i].balloonGapPercent).toBeLessThan(gaps[i - 1].balloonGapPercent);
    for (const g of gaps.slice(0, -1)) {
      expect(+g.swappedSlowdown.toFixed(1)).toBeGreaterThanOrEqual(1.2);
      expect(+g.swappedSlowdown.toFixed(1)).toBeLessThanOrEqual(1.3);
    }
  });

  it("the hot-cold comparison: a gap under 0.5%, random swapping mildly slower at 224 MiB and hundreds of times slower at 128 MiB, still loading", () => {
    const hotCold = ballooningComparison({ seed: seed });
    const gaps = hotCold.gaps();
    for (const g of gaps) expect(g.balloonGapPercent).toBeLessThan(0.5);
    expect(gaps.find((g) => g.sizeMiB === 224)!.swappedSlowdown).toBeLessThan(2);
    expect(gaps.find((g) => g.sizeMiB === 128)!.swappedSlowdown).toBeGreaterThan(100);
    const swapped128 = hotCold.rows.find((r) => r.sizeMiB === 128 && r.setup === "swapped")!;
    expect(swapped128.doublePagingEvents).toBeGreaterThan(0);
    expect(swapped128.hostSwapFaults).toBe(0); // it has not reached its hot-cold phase yet
  });

  it("the overcommitted host: every balloon inflates by 16,384 untouched pages at 25 s, about 11% is free at 27 s, free hovers between 5% and 6% in the long soft state", () => {
    const run = overcommitScenario({ seed: seed }).host.run({ seconds: 60, sampleEvery: 1 });
    const rows = run.timeline.objects() as Array<{ t: number; vm: string; balloonedPages: number; throughput: number }>;
    for (const r of rows.filter((r) => r.t === 26)) expect(r.balloonedPages).toBe(16384);
    const host = run.hostTimeline.objects() as Array<{ t: number; freeFraction: number; hostState: string }>;
    expect(host.find((r) => r.t === 27)!.freeFraction).toBeGreaterThan(0.105);
    expect(host.find((r) => r.t === 27)!.freeFraction).toBeLessThan(0.115);
    for (const r of host.filter((r) => r.t > 33 && r.t < 46)) expect(r.freeFraction).toBeGreaterThan(0.05);
    // Throughput: 100,000 a second before, none while blocked, a few thousand after, about a thousand at the end.
    const vm0 = rows.filter((r) => r.vm === "vm0");
    expect(vm0.find((r) => r.t === 20)!.throughput).toBeGreaterThan(99_000);
    expect(vm0.find((r) => r.t === 27)!.throughput).toBe(0);
    expect(Math.max(...vm0.filter((r) => r.t >= 28 && r.t <= 32).map((r) => r.throughput))).toBeLessThan(5000);
    expect(vm0[vm0.length - 1].throughput).toBeGreaterThan(700);
    expect(vm0[vm0.length - 1].throughput).toBeLessThan(1300);
  });

  it("question 4: without balloons the host swaps from soft on and never leaves it, with about the same throughput", () => {
    const on = overcommitScenario({ seed: seed }).host.run({ seconds: 60, sampleEvery: 1 });
    const off = overcommitScenario({ seed: seed, reclamation: { balloon: false } }).host.run({ seconds: 60, sampleEvery: 1 });
    expect(off.summary.stateChanges.map((c) => c.to)).toEqual(["soft"]);
    const total = (r: typeof on) => r.summary.vms.reduce((a, v) => a + v.throughput, 0);
    expect(Math.abs(total(off) / total(on) - 1)).toBeLessThan(0.1);
  });
});
