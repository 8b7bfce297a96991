/**
 * Notebook 07 states numbers in its prose; they must hold for the calls it makes (seed 42, the
 * same workloads, trace, sizes and options as its cells).
 */
import { describe, expect, it } from "vitest";
import { missRatioCurveData } from "../../src/analysis/miss-ratio-curve";
import { Shards } from "../../src/analysis/shards";
import { loadLackeyTraceSync } from "../../src/trace/load-lackey";
import { createWorkload } from "../../src/workloads/create-workload";
import { Rng } from "../../src/util/rng";
import { Host } from "../../src/host/host";
import { DEFAULT_COSTS } from "../../src/host/costs";
import { EXCLUSIVE_CACHE_DEFAULTS } from "../../src/host/host-config";
import { ExclusiveCacheAllocation } from "../../src/policy/exclusive-cache-allocation";
import { WorkingSetSampler } from "../../src/policy/working-set-sampler";
import "../../src/policy/exclusive-cache-tracer"; // registers the tracer the host builds for `tracing`

const seed = 42;
const V_PAGES = 4096;
const costs = { hitNs: 20_000, guestDiskReadNs: 100_000 };
const guest = { kernelOverhead: 0, fileBackedFraction: 1 };
const hotCold64 = { kind: "hot-cold", pages: "64 MiB", hotFraction: 0.25, hotAccessFraction: 0.9 };
const hotCold32 = { kind: "hot-cold", pages: "32 MiB", hotFraction: 0.5, hotAccessFraction: 0.95 };
const hotCold96 = { kind: "hot-cold", pages: "96 MiB", hotFraction: 0.5, hotAccessFraction: 0.95 };
const hotCold8 = { kind: "hot-cold", pages: "8 MiB", hotFraction: 0.25, hotAccessFraction: 0.9 };
type Row = Record<string, number>;

/** The notebook's tap: replace a VM's workload by one that keeps every page it hands the guest. */
function tap(host: Host, vmName: string): number[] {
  const inner = host.vm(vmName).workload!;
  const pages: number[] = [];
  host.setWorkload(vmName, {
    name: inner.name,
    fill: (buffer: Float64Array, kinds: Uint8Array) => {
      const n = inner.fill(buffer, kinds);
      for (let i = 0; i < n; i++) pages.push(buffer[i]);
      return n;
    },
  });
  return pages;
}

/** The notebook's allocation run: web and batch share a 48 MiB cache budget; batch grows at 30 s. */
function twoVms(need: object, seconds: number) {
  const allocation = new ExclusiveCacheAllocation({ budget: "48 MiB", periodSeconds: 5 });
  const h = new Host({ memory: "512 MiB", seed: seed, costs: costs, policies: [allocation] });
  const tracing = { exclusiveCache: { size: "8 MiB", ...need } };
  h.addVm({ name: "web", memory: "16 MiB", guest: guest, balloon: false, workload: hotCold64, tracing: tracing });
  h.addVm({ name: "batch", memory: "16 MiB", guest: guest, balloon: false, workload: hotCold32, tracing: tracing });
  h.at(30, "batch's working set grows to 96 MiB", () => h.setWorkload("batch", hotCold96));
  const run = h.run({ seconds: seconds, sampleEvery: 1 });
  h.checkInvariants();
  const rows = run.timeline.objects() as unknown as Array<Row & { vm: string }>;
  const at = (t: number, vm: string) => rows.find((r) => r.t === t && r.vm === vm)!;
  return { run, allocation, at };
}

/** 100 evenly spaced sizes up to the footprint, as the notebook's MAE uses. */
const evenSizes = (footprint: number) => Array.from({ length: 100 }, (_, i) => Math.max(1, Math.round((footprint * (i + 1)) / 100)));
const meanAbsoluteError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
};

describe("notebook 07's claims", () => {
  it("curve shapes: hot-cold's knee at 1,024 pages (0.26, then 0.094 at 1,536 and 0.043 at 3,072), zipf 0.307/0.164/0.076, loop 1 below 2,048 pages; cold-miss floors 0.010 and 0.020", () => {
    const sizes = [1024, 1536, 2048, 2047, 3072, 64];
    const curve = (spec: object) => missRatioCurveData(spec as never, { method: "exact", sizes, accesses: 200_000, seed: seed });
    const hot = curve({ kind: "hot-cold", pages: 4096, hotFraction: 0.25, hotAccessFraction: 0.9 });
    expect([hot.missRatios[0].toFixed(2), hot.missRatios[1].toFixed(3), hot.missRatios[4].toFixed(3)]).toEqual(["0.26", "0.094", "0.043"]);
    const zipf = curve({ kind: "zipf", pages: 4096, exponent: 0.9 });
    expect([zipf.missRatios[0].toFixed(3), zipf.missRatios[2].toFixed(3), zipf.missRatios[4].toFixed(3)]).toEqual(["0.307", "0.164", "0.076"]);
    const loop = curve({ kind: "loop", pages: 2048 });
    expect([loop.missRatios[5], loop.missRatios[3]]).toEqual([1, 1]);
    expect(loop.missRatios[2]).toBe(2048 / 200_000);
    expect(loop.coldMisses).toBe(2048);
    expect((loop.coldMisses / 200_000).toFixed(3)).toBe("0.010");
    expect([zipf.coldMisses, hot.coldMisses]).toEqual([4096, 4089]);
    for (const d of [zipf, hot]) expect((d.coldMisses / 200_000).toFixed(3)).toBe("0.020");
  });

  describe("what the hypervisor sees (one VM, v = 4,096 pages, a 16 MiB cache, 30 s)", () => {
    const host = new Host({ memory: "256 MiB", seed: seed, costs: costs });
    host.addVm({ name: "web", memory: V_PAGES, guest: guest, balloon: false, workload: hotCold64, tracing: { exclusiveCache: { size: "16 MiB", decay: 1 } } });
    const tapped = tap(host, "web");
    const run = host.run({ seconds: 30, sampleEvery: 1 });
    host.checkInvariants();
    const accessesDone = (run.timeline.objects() as unknown as Row[]).reduce((a, r) => a + r.accesses, 0);
    const sizes = [256, 4096, 4608, 6144, 7168, 8192, 10240, 12288];
    const exact = missRatioCurveData(tapped, { method: "exact", accesses: accessesDone, sizes }).missRatios;
    const seen = run.cacheCurve("web", sizes.slice(1)).array("missRatio") as number[];
    const at = (size: number) => ({ seen: seen[sizes.indexOf(size) - 1], exact: exact[sizes.indexOf(size)] });

    it("the tap saw the accesses the VM made, and the curve ends at v + 2c = 12,288 pages; sizes below v are refused", () => {
      expect(tapped.length).toBeGreaterThanOrEqual(accessesDone);
      expect(run.cacheCurve("web").array("sizePages")).toContain(12288);
      expect(Math.max(...(run.cacheCurve("web").array("sizePages") as number[]))).toBe(12288);
      expect(() => run.cacheCurve("web", [4095])).toThrow();
    });

    it("agrees with the exact curve to under 0.00002 from 8,192 pages, and within 0.0002 at 7,168; both about 0.0405 at 12,288", () => {
      for (const size of [8192, 10240, 12288]) expect(Math.abs(at(size).seen - at(size).exact)).toBeLessThan(0.00002);
      expect(Math.abs(at(7168).seen - at(7168).exact)).toBeLessThan(0.0002);
      expect(at(12288).seen.toFixed(4)).toBe("0.0405");
      expect(at(12288).exact.toFixed(4)).toBe("0.0405");
    });

    it("below v the exact curve falls from 0.95 at 256 pages to 0.26 at v; near v CLOCK makes it 0.284 against 0.260, 0.213 against 0.193 at 4,608", () => {
      expect(exact[0].toFixed(2)).toBe("0.95");
      expect(at(4096).exact.toFixed(2)).toBe("0.26");
      expect([at(4096).seen.toFixed(3), at(4096).exact.toFixed(3)]).toEqual(["0.284", "0.260"]);
      expect([at(4608).seen.toFixed(3), at(4608).exact.toFixed(3)]).toEqual(["0.213", "0.193"]);
    });

    it("at v the hypervisor's value is the VM's real miss ratio: its disk reads over its accesses", () => {
      const cache = run.summary.vms[0].cache!;
      expect(at(4096).seen).toBeCloseTo(cache.probes / accessesDone, 12);
    });
  });

  describe("allocation across two VMs (budget 48 MiB, batch grows at 30 s)", () => {
    const shared = twoVms({ targetMissRatio: 0.05 }, 60);
    const knee = twoVms({ need: "knee", kneeSlopeFraction: 0.3 }, 30);
    const decision = (t: number) => shared.allocation.decisions.find((d) => d.t === t)!;

    it("before 30 s the budget covers both: web's need near 10,400 pages, about 6,300 of cache; batch's about 5,000, its cache about 900 (3.5 MiB); over 40% of the budget free", () => {
      expect(Math.round(shared.at(30, "web").estimatedNeedPages / 100) * 100).toBe(10400);
      expect(Math.round(decision(30).capacities.web / 100) * 100).toBe(6300);
      expect(decision(30).capacities.web).toBe(decision(30).wants.web);
      expect(Math.round(shared.at(30, "batch").estimatedNeedPages / 100) * 100).toBe(5000);
      expect(Math.round(decision(30).capacities.batch / 100) * 100).toBe(900);
      expect((decision(30).capacities.batch / 256).toFixed(1)).toBe("3.5");
      for (const t of [5, 10, 15, 20, 25, 30]) expect(decision(t).short).toBe(false);
      const free = 1 - (decision(30).capacities.web + decision(30).capacities.batch) / decision(30).poolPages;
      expect(free).toBeGreaterThan(0.4);
      expect(free).toBeLessThan(0.45);
    });

    it("throughput: both about 38,000-39,000 accesses/s before 30 s; batch falls to about 12,000, climbs back to about 32,000; web ends near 34,000", () => {
      expect(Math.round(shared.at(30, "web").throughput / 1000)).toBe(38);
      expect(Math.round(shared.at(30, "batch").throughput / 1000)).toBe(39);
      expect(Math.round(shared.at(31, "batch").throughput / 1000)).toBe(12);
      expect(Math.round(shared.at(60, "batch").throughput / 1000)).toBe(32);
      expect(Math.round(shared.at(60, "web").throughput / 1000)).toBe(34);
    });

    it("after 30 s batch's estimate is 'more than' its tracked end and rises in 8 MiB steps; from 40 s the pool is short and web's cache is cut from 6,144 to 2,496 pages", () => {
      const needs = [35, 40, 45, 50].map((t) => shared.at(t, "batch").estimatedNeedPages);
      for (let i = 1; i < needs.length; i++) expect(needs[i] - needs[i - 1]).toBeGreaterThanOrEqual(2048 - 128);
      expect(needs[0]).toBe(V_PAGES + 2048 + 2048); // v + the 8 MiB cache + 8 MiB of ghosts
      expect(decision(35).short).toBe(false);
      for (const t of [40, 45, 50, 55]) expect(decision(t).short).toBe(true);
      expect(decision(40).capacities.web).toBe(6144);
      expect(decision(55).capacities.web).toBe(2496);
      expect(decision(55).capacities.web / 256).toBe(9.75);
      expect(decision(55).capacities.batch).toBeGreaterThan(decision(55).capacities.web);
    });

    it("web's estimate falls after 50 s only because its smaller cache tracks less far: 9,024 = v + 2,880 + 2,048 ghosts at 51 s", () => {
      expect(decision(50).capacities.web).toBe(2880);
      expect(shared.at(51, "web").estimatedNeedPages).toBe(V_PAGES + 2880 + 2048);
    });

    it("the default kneeSlopeFraction (0.1) puts web's knee at the end of what the tracer sees; the default decay 0.9 a second is a half-life of about 6.6 s", () => {
      const defaultKnee = twoVms({ need: "knee" }, 30).run.cacheNeed("web")!;
      expect(defaultKnee.bound).toBe("more-than");
      expect(EXCLUSIVE_CACHE_DEFAULTS.decay).toBe(0.9);
      expect((Math.log(0.5) / Math.log(EXCLUSIVE_CACHE_DEFAULTS.decay)).toFixed(1)).toBe("6.6");
    });

    it("target against knee at 30 s: web 10,362 against 6,724 (26.3 MiB); batch 4,998 against 8,181 (32.0 MiB)", () => {
      expect([shared.at(30, "web").estimatedNeedPages, knee.at(30, "web").estimatedNeedPages]).toEqual([10362, 6724]);
      expect([shared.at(30, "batch").estimatedNeedPages, knee.at(30, "batch").estimatedNeedPages]).toEqual([4998, 8181]);
      expect((6724 / 256).toFixed(1)).toBe("26.3");
      expect((8181 / 256).toFixed(1)).toBe("32.0");
    });
  });

  it("sampler against cache, 40 s: 4,096 (100%) and 2,048 (50%, 1,993 true); need 10,249 exact and at most 4,096; 300 traps, 15 µs/s; 398,567 puts, 303,442 hits, 44 ms/s (4.4%)", () => {
    const host = new Host({ memory: "256 MiB", seed: seed, costs: costs });
    host.addVm({ name: "big", memory: "16 MiB", guest: guest, balloon: false, workload: hotCold64, tracing: { exclusiveCache: { size: "16 MiB" } } });
    host.addVm({ name: "small", memory: "16 MiB", guest: guest, balloon: false, workload: hotCold8, tracing: { exclusiveCache: { size: "16 MiB" } } });
    for (const vm of ["big", "small"]) host.addPolicy(new WorkingSetSampler({ vm: vm, samplePages: 100, periodSeconds: 10 }));
    const run = host.run({ seconds: 40, sampleEvery: 1 });
    const rows = run.timeline.objects() as unknown as Array<Row & { vm: string }>;
    const last = (vm: string) => rows.filter((r) => r.vm === vm).at(-1)!;
    const traps = (vm: string) => rows.filter((r) => r.vm === vm).reduce((a, r) => a + r.trapFaults, 0);
    expect([last("big").estimatedActivePages, last("small").estimatedActivePages]).toEqual([4096, 2048]);
    expect([last("big").trueActivePages, last("small").trueActivePages]).toEqual([4096, 1993]);
    expect(run.cacheNeed("big")).toMatchObject({ needPages: 10249, bound: "exact" });
    expect((10249 / 256).toFixed(0)).toBe("40");
    expect((10249 / V_PAGES).toFixed(1)).toBe("2.5"); // "two and a half times what the VM has"
    expect(run.cacheNeed("small")).toMatchObject({ needPages: 4096, bound: "at-most" });
    expect(traps("big")).toBe(300);
    expect((traps("big") * DEFAULT_COSTS.trapNs) / 1e3 / 40).toBe(15);
    const big = run.summary.vms.find((v) => v.name === "big")!.cache!;
    expect([big.puts, big.hits]).toEqual([398567, 303442]);
    const msPerSecond = ((big.putSeconds + big.hitSeconds) * 1e3) / 40;
    expect(Math.round(msPerSecond)).toBe(44);
    expect((msPerSecond / 10).toFixed(1)).toBe("4.4");
    const small = run.summary.vms.find((v) => v.name === "small")!.cache!;
    expect([small.puts, small.hits]).toEqual([0, 0]);
  });

  describe("sort.lackey.gz", () => {
    const trace = loadLackeyTraceSync("data/traces/sort.lackey.gz");

    it("3.3 million accesses, a footprint of 220 pages; 0.55 in one page, under 1% from 12 pages, under 0.1% from 24", () => {
      const d = missRatioCurveData(trace, { method: "exact", sizes: [1, 11, 12, 23, 24] });
      expect((d.accesses / 1e6).toFixed(1)).toBe("3.3");
      expect([d.footprintPages, d.coldMisses]).toEqual([220, 220]);
      expect(d.missRatios[0].toFixed(2)).toBe("0.55");
      expect(d.missRatios[1]).toBeGreaterThanOrEqual(0.01);
      expect(d.missRatios[2]).toBeLessThan(0.01);
      expect(d.missRatios[3]).toBeGreaterThanOrEqual(0.001);
      expect(d.missRatios[4]).toBeLessThan(0.001);
    });

    it("SHARDS at 0.01 tracks 2 pages, estimates 200, MAE 0.026; a fixed size of 64 ends at rate 0.36, MAE 0.0024", () => {
      const sizes = evenSizes(220);
      const exact = missRatioCurveData(trace, { method: "exact", sizes }).missRatios;
      const atRate = missRatioCurveData(trace, { method: "shards", rate: 0.01, sizes });
      expect(Math.round(atRate.footprintPages)).toBe(200);
      expect(meanAbsoluteError(atRate.missRatios, exact).toFixed(3)).toBe("0.026");
      const fixed = missRatioCurveData(trace, { method: "shards", maxSamples: 64, sizes });
      expect(meanAbsoluteError(fixed.missRatios, exact).toFixed(4)).toBe("0.0024");
      const rateSampler = new Shards({ rate: 0.01 });
      rateSampler.feed(trace.pages, 0, trace.pages.length);
      expect(rateSampler.trackedPages).toBe(2);
      const fixedSampler = new Shards({ maxSamples: 64 });
      fixedSampler.feed(trace.pages, 0, trace.pages.length);
      expect(fixedSampler.rate.toFixed(2)).toBe("0.36");
    });
  });

  it("zipf, 100,000 pages, a million accesses: footprint 80,681, SHARDS at 0.01 tracks about 800 with MAE 0.0078, a fixed 64 pages a rate under 0.001 with MAE 0.0099", () => {
    const spec = { kind: "zipf", pages: 100_000, exponent: 1, scatter: true } as const;
    const sizes = Array.from({ length: 100 }, (_, i) => 800 * (i + 1)); // the notebook's: evenly spaced up to 80,000 pages
    const exact = missRatioCurveData(spec, { method: "exact", accesses: 1_000_000, seed: seed, sizes });
    expect(exact.footprintPages).toBe(80681);
    const exactRatios = exact.missRatios;
    const atRate = missRatioCurveData(spec, { method: "shards", rate: 0.01, accesses: 1_000_000, seed: seed, sizes });
    expect(meanAbsoluteError(atRate.missRatios, exactRatios).toFixed(4)).toBe("0.0078");
    const fixed = missRatioCurveData(spec, { method: "shards", maxSamples: 64, accesses: 1_000_000, seed: seed, sizes });
    expect(meanAbsoluteError(fixed.missRatios, exactRatios).toFixed(4)).toBe("0.0099");
    // The same accesses missRatioCurve draws (its workload stream), into samplers we can ask.
    const pages = new Float64Array(1_000_000);
    createWorkload(spec, new Rng(seed).split("workload"), "trace").fill(pages, new Uint8Array(pages.length));
    const rateSampler = new Shards({ rate: 0.01 });
    rateSampler.feed(pages, 0, pages.length);
    expect(Math.round(rateSampler.trackedPages / 100) * 100).toBe(800);
    const fixedSampler = new Shards({ maxSamples: 64 });
    fixedSampler.feed(pages, 0, pages.length);
    expect(fixedSampler.rate).toBeLessThan(0.001);
  });
});
