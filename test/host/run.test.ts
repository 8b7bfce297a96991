import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";

function scenario(seed: number | string) {
  const host = new Host({ memory: 5000, seed, policies: [new ReclamationPolicy({ periodSeconds: 0.2 })] });
  host.addVm({ name: "web", memory: 3000, workload: { kind: "zipf", pages: 2800, exponent: 0.9, writeFraction: 0.2 } });
  host.addVm({ name: "db", memory: 3000, balloon: false, workload: { kind: "hot-cold", pages: 2500, hotFraction: 0.2, hotAccessFraction: 0.8, writeFraction: 0.5 } });
  return host;
}

describe("Run", () => {
  it("has the timeline columns the brief names, one row per VM per sample", () => {
    const run = scenario(1).run({ seconds: 1, sampleEvery: 0.25 });
    for (const col of ["t", "vm", "configuredPages", "residentPages", "balloonedPages", "hostSwappedPages", "guestSwappedPages",
      "minorFaults", "guestDiskReads", "hostAllocFaults", "hostSwapFaults", "doublePagingEvents", "throughput", "hostState"]) {
      expect(run.timeline.columnNames()).toContain(col);
    }
    expect(run.timeline.numRows()).toBe(8);
    expect(run.timeline.array("t")).toEqual([0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1]);
    expect(run.hostTimeline.numRows()).toBe(4);
    expect(run.toTable()).toBe(run.timeline);
  });

  it("gives the same timeline for the same seed, and a different one for another seed", () => {
    const a = scenario(42).run({ seconds: 1.5, sampleEvery: 0.5 });
    const b = scenario(42).run({ seconds: 1.5, sampleEvery: 0.5 });
    const c = scenario(43).run({ seconds: 1.5, sampleEvery: 0.5 });
    expect(b.timeline.objects()).toEqual(a.timeline.objects());
    expect(b.hostTimeline.objects()).toEqual(a.hostTimeline.objects());
    expect(b.summary).toEqual(a.summary);
    expect(c.timeline.objects()).not.toEqual(a.timeline.objects());
  });

  it("gives seeds that used to collide different timelines; a decimal string is its number", () => {
    const timeline = (seed: number | string) => scenario(seed).run({ seconds: 0.5, sampleEvery: 0.5 }).timeline.objects();
    // 1 and 2^32+... were folded onto one 32-bit seed, and so were 0 and -1.
    expect(timeline(2 ** 32 + 1)).not.toEqual(timeline(1));
    expect(timeline(-1)).not.toEqual(timeline(0));
    expect(timeline("42")).toEqual(timeline(42));
    expect(scenario("42").seed).toBe(42);
  });

  it("rejects a seed it cannot represent, naming host.seed", () => {
    expect(() => scenario(1.5)).toThrow("host.seed: must be a whole number between -(2^53-1) and 2^53-1, or a string (got 1.5)");
    expect(() => scenario(1e300)).toThrow(/^host\.seed: /);
    expect(() => scenario("1.5")).toThrow(/^host\.seed: looks like a number/);
    expect(() => new Host({ memory: 100, seed: {} as never })).toThrow(/^host\.seed: must be a whole number or a string/);
  });

  it("counts events per interval, summing to the run's totals; throughput is accesses per simulated second", () => {
    const run = scenario("sum").run({ seconds: 1, sampleEvery: 0.2 });
    const rows = run.timeline.objects() as Array<Record<string, number | string>>;
    for (const vm of run.summary.vms) {
      const mine = rows.filter((r) => r.vm === vm.name);
      for (const col of ["accesses", "guestDiskReads", "hostSwapFaults", "doublePagingEvents", "minorFaults"] as const) {
        expect(mine.reduce((a, r) => a + (r[col] as number), 0)).toBe(vm[col]);
      }
      for (const r of mine) expect(r.throughput).toBeCloseTo((r.accesses as number) / 0.2, 6);
      expect(vm.throughput).toBeCloseTo(vm.accesses / 1, 6);
    }
  });

  it("explains settings first, then events in order, then a one-line summary", () => {
    const run = scenario(3).run({ seconds: 2, sampleEvery: 0.5 });
    const text = run.explain();
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^Host: 5,000 pages .* seed 3\./);
    expect(text).toMatch(/Policies: reclamation every 0\.2 s: thresholds high 6%, soft 4%, hard 2%, low 1%/);
    expect(text).toMatch(/VM web: configured 3,000 pages/);
    expect(text).toMatch(/VM db: .* no balloon driver/);
    expect(text).toMatch(/state high → (soft|hard|low)/);
    expect(lines[lines.length - 1]).toMatch(/^Summary: .* accesses\/s across 2 VMs; free memory fell to/);
  });

  it("reports progress after each sample", () => {
    const seen: Array<[number, number]> = [];
    scenario(1).run({ seconds: 1, sampleEvery: 0.5, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([[0.5, 1], [1, 1]]);
  });

  it("records time spent in each reported state, adding up to the run", () => {
    const run = scenario(5).run({ seconds: 2, sampleEvery: 0.5 });
    const total = Object.values(run.summary.secondsInState).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(2, 9);
  });
});
