import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Host } from "../../src/host/host";
import { ExclusiveCache } from "../../src/host/exclusive-cache";
import { MachineMemory } from "../../src/host/machine-memory";
import { V_GUEST_SWAPPED, V_ON_FILE } from "../../src/host/page-state";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import "../../src/policy/exclusive-cache-tracer"; // registers the tracer the host builds for `tracing`
import { missRatioCurve } from "../../src/analysis/miss-ratio-curve";
import { createWorkload } from "../../src/workloads/create-workload";
import { Rng } from "../../src/util/rng";
import { READ, WRITE } from "../../src/workloads/workload";
import { range } from "./helpers";

const COSTS = { guestDiskReadNs: 1_000_000, cacheHitNs: 3_333, cachePutNs: 777 };

/** A VM of 64 pages (no kernel pages, no balloon) whose guest we drive access by access. */
function cachedGuest(cacheSize: number | string = 16, fileBackedFraction = 1) {
  const host = new Host({ memory: 10_000, seed: 1, costs: COSTS });
  const vm = host.addVm({ name: "g", memory: 64, balloon: false, guest: { kernelOverhead: 0, fileBackedFraction }, tracing: { exclusiveCache: { size: cacheSize } } });
  return { host, vm, guest: vm.guest, cache: vm.cache! };
}

/** Slots of virtual pages out of guest memory that the cache holds. */
function cachedSlots(vm: ReturnType<typeof cachedGuest>["vm"], upTo: number): number[] {
  return range(upTo).filter((p) => vm.cache!.has(p));
}

describe("ExclusiveCache (the mechanism)", () => {
  it("keeps LRU order among its entries, drops the oldest when full, and a probe hit removes the entry", () => {
    const machine = new MachineMemory(100);
    const cache = new ExclusiveCache(3, machine);
    for (const k of [10, 11, 12]) expect(cache.put(k)).toBe(true);
    expect(machine.freePages).toBe(97);
    cache.put(13); // full: 10, the least recent, leaves and its frame is reused
    expect([10, 11, 12, 13].map((k) => cache.has(k))).toEqual([false, true, true, true]);
    expect(cache.evictions).toBe(1);
    expect(machine.freePages).toBe(97);
    expect(cache.probe(12)).toBe(true);
    expect(cache.has(12)).toBe(false);
    expect(cache.probe(12)).toBe(false);
    expect(machine.freePages).toBe(98);
    expect([cache.puts, cache.probes, cache.hits]).toEqual([4, 2, 1]);
  });

  it("admits nothing at capacity 0, and shrinking drops LRU entries and frees their frames", () => {
    const machine = new MachineMemory(100);
    const cache = new ExclusiveCache(0, machine);
    expect(cache.put(1)).toBe(false);
    expect(cache.putsRejected).toBe(1);
    cache.setCapacity(50);
    for (let k = 0; k < 50; k++) cache.put(-k - 1); // hashed slots are negative keys
    expect(machine.freePages).toBe(50);
    cache.setCapacity(10);
    expect(cache.sizePages).toBe(10);
    expect(machine.freePages).toBe(90);
    expect(cache.has(-50)).toBe(true); // the 10 most recent stay
    expect(cache.has(-40)).toBe(false);
  });

  it("with no free machine frame, reuses its own LRU entry's frame, or does not admit", () => {
    const machine = new MachineMemory(2);
    const cache = new ExclusiveCache(10, machine);
    cache.put(1);
    cache.put(2);
    expect(cache.put(3)).toBe(true); // no free frame: 1's is reused
    expect(cache.has(1)).toBe(false);
    expect(cache.sizePages).toBe(2);
    const m = new MachineMemory(1);
    m.allocate();
    const none = new ExclusiveCache(10, m);
    expect(none.put(1)).toBe(false);
    expect(none.putsRejected).toBe(1);
  });

  it("agrees with a simple LRU model on random puts, probes and resizes, frames conserved", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: -30, max: 30 })), { maxLength: 400 }), (ops) => {
      const machine = new MachineMemory(64);
      const cache = new ExclusiveCache(8, machine);
      let model: number[] = []; // most recent first
      let capacity = 8;
      for (const [op, key] of ops) {
        if (op === 0) {
          const had = model.indexOf(key);
          if (had >= 0) model.splice(had, 1);
          else if (model.length === capacity) model.pop();
          if (capacity > 0) model.unshift(key);
          cache.put(key);
        } else if (op === 1) {
          const had = model.indexOf(key);
          expect(cache.probe(key)).toBe(had >= 0);
          if (had >= 0) model.splice(had, 1);
        } else {
          capacity = Math.abs(key) % 40;
          cache.setCapacity(capacity);
          model = model.slice(0, capacity);
        }
        expect(cache.sizePages).toBe(model.length);
        expect(machine.freePages + cache.sizePages).toBe(64);
      }
      const keys: number[] = [];
      cache.forEach((k) => keys.push(k));
      expect(keys).toEqual(model);
    }));
  });
});

describe("a VM with an exclusive cache", () => {
  it("serves the re-read of an evicted clean page from the cache, at cacheHitNs instead of a disk read", () => {
    const { guest, vm, cache } = cachedGuest();
    for (let p = 0; p < 64; p++) guest.access(p, READ); // fills the guest (file pages, clean)
    expect(cache.sizePages).toBe(0);
    guest.access(64, READ); // CLOCK evicts one clean page: dropped, and put in the cache
    const [evicted] = cachedSlots(vm, 64);
    expect(guest.vspace.get(evicted)).toBe(V_ON_FILE);
    expect(guest.guestPageOuts).toBe(0); // clean: dropped without a write
    // The re-read: a hit (3,333 ns), and the eviction that makes room puts a page (777 ns).
    expect(guest.access(evicted, READ)).toBe(COSTS.cacheHitNs + COSTS.cachePutNs + 100);
    expect(cache.has(evicted)).toBe(false);
    expect(cache.hits).toBe(1);
    expect(vm.cacheHits).toBe(1);
    vm.checkInvariants();
  });

  it("looks the read up before the eviction that makes room: the cache's LRU entry still hits when the cache is full", () => {
    const { guest, vm, cache } = cachedGuest(1);
    for (let p = 0; p < 65; p++) guest.access(p, READ); // one eviction: the cache's only entry
    const [only] = cachedSlots(vm, 64);
    // Probe first (a hit, the entry leaves), then CLOCK's eviction refills the one-page cache.
    expect(guest.access(only, READ)).toBe(COSTS.cacheHitNs + COSTS.cachePutNs + 100);
    expect(cache.sizePages).toBe(1);
    expect(cache.has(only)).toBe(false);
  });

  it("without a cache, the same re-read costs a disk read", () => {
    const host = new Host({ memory: 10_000, seed: 1, costs: COSTS });
    const vm = host.addVm({ name: "g", memory: 64, balloon: false, guest: { kernelOverhead: 0, fileBackedFraction: 1 } });
    for (let p = 0; p < 65; p++) vm.guest.access(p, READ);
    const evicted = range(64).find((p) => vm.guest.vspace.get(p) === V_ON_FILE)!;
    expect(vm.guest.access(evicted, READ)).toBe(COSTS.guestDiskReadNs + 100);
  });

  it("lets a dirty page in only once written back: an anonymous page goes to guest swap first, then the cache", () => {
    const { guest, vm, cache } = cachedGuest(16, 0);
    for (let p = 0; p < 64; p++) guest.access(p, WRITE); // anonymous, dirty
    const writesBefore = guest.swap.writes;
    guest.access(64, WRITE);
    const [evicted] = cachedSlots(vm, 64);
    expect(guest.vspace.get(evicted)).toBe(V_GUEST_SWAPPED);
    expect(guest.swap.writes).toBe(writesBefore + 1); // written to its swap slot: the copy matches it
    expect(guest.guestPageOuts).toBe(1);
    expect(cache.sizePages).toBe(1);
    // The swap-in is a cache hit; the page comes back clean with its swap copy.
    expect(guest.access(evicted, READ)).toBe(COSTS.cacheHitNs + COSTS.cachePutNs + 100);
    vm.checkInvariants();
  });

  it("sees first reads of file pages (a probe each, a miss at every size) but not zero-filled first touches", () => {
    const file = cachedGuest(16, 1);
    for (let p = 0; p < 40; p++) file.guest.access(p, READ);
    expect(file.cache.probes).toBe(40);
    expect(file.guest.guestDiskReads).toBe(40);
    const anon = cachedGuest(16, 0);
    for (let p = 0; p < 40; p++) anon.guest.access(p, READ);
    expect(anon.cache.probes).toBe(0);
    expect(anon.guest.minorFaults).toBe(40);
    const run = file.host.run({ seconds: 0.01 });
    expect(Array.from(run.cacheCurve("g").array("missRatio") as ArrayLike<number>).every((r) => r === 1)).toBe(true);
  });

  it("checkInvariants catches a block both in the cache and in guest memory", () => {
    const { guest, vm, cache } = cachedGuest();
    for (let p = 0; p < 10; p++) guest.access(p, READ);
    cache.put(3); // page 3 is in guest memory: not exclusive
    expect(() => vm.checkInvariants()).toThrow(/block 3 is both in the exclusive cache and in guest page/);
  });

  it("keeps to its capacity, stays exclusive, and conserves machine frames on a random run (invariants every quantum)", () => {
    const host = new Host({ memory: "16 MiB", seed: 3, costs: { guestDiskReadNs: 20_000 } });
    host.addVm({ name: "a", memory: 1024, guest: { fileBackedFraction: 0.5 }, workload: { kind: "zipf", pages: 2000, exponent: 0.7, writeFraction: 0.3 }, tracing: { exclusiveCache: { size: 300 } } });
    host.addVm({ name: "b", memory: 1024, workload: { kind: "uniform", pages: 1500, writeFraction: 0.5 }, tracing: { exclusiveCache: { size: 100 } } });
    const run = host.run({ seconds: 0.5, sampleEvery: 0.1, checkInvariants: true });
    const rows = run.timeline.objects() as Array<Record<string, number | string>>;
    for (const r of rows) expect(r.cachePages as number).toBeLessThanOrEqual(r.cacheCapacityPages as number);
    expect(Math.max(...rows.filter((r) => r.vm === "a").map((r) => r.cachePages as number))).toBe(300);
    expect(run.summary.vms[0].cache!.hits).toBeGreaterThan(0);
    expect(run.summary.vms[1].cache!.hits).toBeGreaterThan(0);
  });

  it("gives cache frames back when the host runs out of frames, before swapping any VM page", () => {
    // 2,200 frames: the guests' 2,048 pages fit; the caches would take 1,000 more.
    const host = new Host({ memory: 2200, seed: 4, costs: { guestDiskReadNs: 20_000 } });
    host.addVm({ name: "a", memory: 1024, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 1600 }, tracing: { exclusiveCache: { size: 500 } } });
    host.addVm({ name: "b", memory: 1024, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 1600 }, tracing: { exclusiveCache: { size: 500 } } });
    host.run({ seconds: 0.5, sampleEvery: 0.5, checkInvariants: true });
    expect(host.vms.reduce((a, v) => a + v.hostSwapOuts, 0)).toBe(0);
    expect(host.vms.reduce((a, v) => a + v.residentPages, 0)).toBe(2048);
    expect(host.vms.reduce((a, v) => a + v.cachePages, 0)).toBe(2200 - 2048);
    expect(host.machine.freePages).toBe(0);
  });

  it("without tracing, a run is exactly what it was before the feature (timeline, host timeline and summary digest)", () => {
    // The digest was taken at commit aaf67b7, before the exclusive cache existed (the same code,
    // run from `git archive aaf67b7 src`). A change here means runs without tracing changed.
    const host = new Host({ memory: "24 MiB", seed: 5, costs: { guestDiskReadNs: 50_000 }, policies: [new ReclamationPolicy({ periodSeconds: 1 })] });
    host.addVm({ name: "web", memory: "16 MiB", guest: { fileBackedFraction: 0.5 }, workload: { kind: "zipf", pages: "20 MiB", exponent: 0.8, writeFraction: 0.3 } });
    host.addVm({ name: "db", memory: "12 MiB", workload: { kind: "uniform", pages: "10 MiB", writeFraction: 0.5 } });
    const run = host.run({ seconds: 3, sampleEvery: 0.5 });
    expect(run.timeline.columnNames()).not.toContain("cacheHits");
    const text = JSON.stringify([run.timeline.objects(), run.hostTimeline.objects(), run.summary]);
    expect(createHash("sha256").update(text).digest("hex")).toBe("ea2889934ff5f05a60ea2e5e5fc500257275a205b2b2c0407ac593ae4cafe67a");
  });

  it("an inert cache (capacity 0, free puts) changes nothing the guest does: only the cache columns are added", () => {
    const build = (tracing: boolean) => {
      const host = new Host({ memory: "16 MiB", seed: 9, costs: { guestDiskReadNs: 50_000, cachePutNs: 0 } });
      host.addVm({ name: "web", memory: "8 MiB", guest: { fileBackedFraction: 0.5 }, workload: { kind: "zipf", pages: "12 MiB", exponent: 0.8, writeFraction: 0.3 }, ...(tracing ? { tracing: { exclusiveCache: { size: 0 } } } : {}) });
      return host.run({ seconds: 1, sampleEvery: 0.25 });
    };
    const off = build(false);
    const on = build(true);
    const columns = off.timeline.columnNames();
    expect(on.timeline.select(columns).objects()).toEqual(off.timeline.objects());
    expect(on.summary.vms[0].cache!.hits).toBe(0);
    expect(on.summary.vms[0].cache!.puts).toBeGreaterThan(0);
  });
});

describe("the hypervisor's curve through the cache (host level)", () => {
  it("is close to the exact LRU curve of the same access stream at every size ≥ v, and refuses sizes below v", () => {
    // Every page is file-backed, so every first touch is a disk read the hypervisor sees. The
    // guest replaces pages by CLOCK, not LRU, so its v pages are only nearly the v most recent:
    // the curves differ by the few accesses CLOCK and LRU place differently (0.0034 at most
    // here; 0.01 allowed). Exact LRU gives exact equality (test/policy/exclusive-cache-tracer.test.ts).
    const spec = { kind: "zipf", pages: 6000, exponent: 0.9 };
    const host = new Host({ memory: "64 MiB", seed: 1, costs: { guestDiskReadNs: 20_000 } });
    const vm = host.addVm({ name: "web", memory: 4096, balloon: false, guest: { fileBackedFraction: 1 }, workload: createWorkload(spec, new Rng(7)), tracing: { exclusiveCache: { size: 1024, ghosts: 4000, decay: 1 } } });
    const run = host.run({ seconds: 2, sampleEvery: 1 });
    const seen = run.cacheCurve("web");
    const sizes = seen.array("sizePages") as number[];
    const v = 4096 - 64; // configured memory minus the kernel's wired pages
    expect(sizes[0]).toBe(v);
    expect(sizes[sizes.length - 1]).toBe(v + 1024 + 4000);
    const exact = missRatioCurve(createWorkload(spec, new Rng(7)), { method: "exact", accesses: vm.accesses, sizes });
    const a = seen.array("missRatio") as ArrayLike<number>;
    const b = exact.array("missRatio") as ArrayLike<number>;
    let worst = 0;
    for (let i = 0; i < sizes.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(0.01);
    expect(() => run.cacheCurve("web", [v - 1])).toThrow(/blind below v/);
    expect(() => run.cacheCurve("db")).toThrow(/^vm: is not a VM with tracing.exclusiveCache in this run \(traced: web\)/);
    const need = run.cacheNeed("web")!;
    expect(need.bound).toBe("exact");
    expect(need.missRatio).toBeLessThanOrEqual(0.05);
  });

  it("timeline and explain: hits, puts, entries, capacity and the need per VM; settings first, a one-line summary last", () => {
    const host = new Host({ memory: "32 MiB", seed: 2, costs: { guestDiskReadNs: 20_000 } });
    host.addVm({ name: "web", memory: 2048, guest: { fileBackedFraction: 1 }, workload: { kind: "zipf", pages: 3000, exponent: 0.9 }, tracing: { exclusiveCache: { size: 512 } } });
    host.addVm({ name: "idle", memory: 1024 });
    const run = host.run({ seconds: 2, sampleEvery: 0.5 }); // the tracer publishes a need every second
    const rows = run.timeline.objects() as Array<Record<string, unknown>>;
    const web = rows.filter((r) => r.vm === "web");
    const idle = rows.filter((r) => r.vm === "idle");
    expect(web.reduce((a, r) => a + (r.cacheHits as number), 0)).toBe(run.summary.vms[0].cache!.hits);
    expect(web.reduce((a, r) => a + (r.cachePuts as number), 0)).toBe(run.summary.vms[0].cache!.puts);
    expect(web[web.length - 1].cacheCapacityPages).toBe(512);
    expect(web[web.length - 1].estimatedNeedPages).toBeGreaterThan(2048 - 32);
    expect(idle[0]).toMatchObject({ cacheCapacityPages: null, estimatedNeedPages: null, cachePages: 0, cacheHits: 0 });
    const text = run.explain();
    const lines = text.split("\n");
    expect(text.indexOf("VM web has a hypervisor exclusive cache")).toBeLessThan(text.indexOf("Run from"));
    expect(text).toMatch(/nothing below v/);
    expect(text).toMatch(/^Costs: .*exclusive-cache put 2500 ns and hit 2500 ns/m);
    expect(lines[lines.length - 1]).toMatch(/^Summary: .*Exclusive caches: [\d,]+ hits, [\d,]+ puts; .* of disk time saved, .* spent in puts\.$/);
  });

  it("explain names the tracer's real period per VM (not its 0.01 s tick), and the timeline says each estimate's bound", () => {
    const host = new Host({ memory: "32 MiB", seed: 2, costs: { guestDiskReadNs: 20_000 } });
    host.addVm({ name: "web", memory: 2048, guest: { fileBackedFraction: 1 }, workload: { kind: "zipf", pages: 3000, exponent: 0.9 }, tracing: { exclusiveCache: { size: 512, periodSeconds: 0.5 } } });
    host.addVm({ name: "small", memory: 2048, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 500 }, tracing: { exclusiveCache: { size: 64 } } });
    const run = host.run({ seconds: 2, sampleEvery: 1 });
    expect(run.explain()).toMatch(/^Policies: exclusive-cache tracer every 0\.5 s \(web\), 1 s \(small\): /m);
    expect(run.explain()).not.toMatch(/every 0\.01 s/);
    expect(inspect(host)).toMatch(/policies: exclusive-cache tracer every 0\.5 s \(web\), 1 s \(small\)/);
    const last = (vm: string) => (run.timeline.objects() as Array<Record<string, unknown>>).filter((r) => r.vm === vm).pop()!;
    expect(last("small")).toMatchObject({ estimatedNeedPages: 2048 - 32, estimatedNeedBound: "at-most" });
    expect(last("web").estimatedNeedBound).toBe(run.cacheNeed("web")!.bound);
    expect(["exact", "more-than"]).toContain(last("web").estimatedNeedBound);
  });

  it("refuses a cache larger than the machine before anything is built, with the figures and the JSON path", () => {
    const host = new Host({ memory: "64 MiB" });
    expect(() => host.addVm({ name: "a", memory: "16 MiB", workload: { kind: "uniform", pages: 1024 }, tracing: { exclusiveCache: { size: "1 TiB" } } }))
      .toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.size: is 268,435,456 pages \(1 TiB\), more than the host's 16,384 pages \(64 MiB\) of machine memory, which backs every cache entry \(got "1 TiB"\)$/);
    expect(host.vms).toHaveLength(0);
    expect(host.cacheTracer).toBeUndefined();
    expect(() => host.addVm({ name: "a", memory: "16 MiB", tracing: { exclusiveCache: { size: 16_385 } } })).toThrow(/exclusiveCache\.size: is 16,385 pages/);
    expect(host.addVm({ name: "a", memory: "16 MiB", tracing: { exclusiveCache: { size: 16_384 } } }).cacheCapacityPages).toBe(16_384);
    expect(() => host.addVm({ name: "b", memory: "1 MiB", tracing: { exclusiveCache: { size: 8, periodSeconds: 0.001 } } }))
      .toThrow(/^vms\[1\]\.tracing\.exclusiveCache\.periodSeconds: must be at least the host's quantum of 0\.01 s \(the tracer acts at most once a quantum\) \(got 0\.001\)$/);
    expect(host.addVm({ name: "b", memory: "1 MiB", tracing: { exclusiveCache: { size: 8, periodSeconds: 0.01 } } }).name).toBe("b");
  });

  it("a bare cache prints its counters in one line, not its arrays or the machine's", () => {
    const { cache } = cachedGuest(16);
    cache.put(3);
    cache.probe(3);
    expect(inspect(cache)).toBe("ExclusiveCache: 0 of 16 pages held; 1 puts (0 not admitted), 1 hits of 1 probes, 0 entries dropped");
  });
});
