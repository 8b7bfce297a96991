/**
 * Exclusive-cache benchmarks (issue 14):
 * - guest accesses per second for one VM whose working set is resident, with and without an
 *   exclusive cache: the hit path must not slow down (it is the same code either way);
 * - the same for a VM that pages (reads its file pages back), where every miss is a put and a probe;
 * - events per second through the tracer alone (puts and probes of an exact-LRU VM, fed directly).
 */
import { Host } from "../../src/host/host";
import "../../src/policy/exclusive-cache-tracer";
import { ExclusiveCacheTracer } from "../../src/policy/exclusive-cache-tracer";
import { resolveTracing } from "../../src/host/host-config";
import type { HostControl, VmView } from "../../src/host/host-policy";
import { Rng } from "../../src/util/rng";
import { report, runBench, throughput } from "./harness";

runBench(async () => {
  // 1. Resident working set: every access is a hit; the cache is never consulted.
  for (const cached of [false, true]) {
    const host = new Host({ memory: "1 GiB", seed: 1 });
    const vm = host.addVm({ name: "a", memory: "512 MiB", workload: { kind: "loop", pages: "256 MiB" }, ...(cached ? { tracing: { exclusiveCache: { size: "64 MiB" } } } : {}) });
    host.run({ seconds: 1 });
    await throughput(`exclusive cache: resident loop, ${cached ? "with" : "without"} a cache`, 1_000_000, () => { host.run({ seconds: 0.1 }); }, "accesses/s", "≥ 10M");
    if (vm.guest.guestDiskReads > 0) throw new Error("the working set was not resident");
  }

  // 2. A paging VM (zipf over 1.5× its memory, page cache): with a cache, a miss is a probe and a put.
  for (const cached of [false, true]) {
    const host = new Host({ memory: "1 GiB", seed: 1, costs: { guestDiskReadNs: 20_000 } });
    const vm = host.addVm({ name: "a", memory: "64 MiB", balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "zipf", pages: "96 MiB", exponent: 0.8 },
      ...(cached ? { tracing: { exclusiveCache: { size: "16 MiB", ghosts: "32 MiB" } } } : {}) });
    host.run({ seconds: 2 });
    const t0 = performance.now();
    const a0 = vm.accesses;
    const r0 = vm.guest.guestDiskReads;
    host.run({ seconds: 10 });
    const wall = (performance.now() - t0) / 1000;
    report(`exclusive cache: paging zipf, ${cached ? "with" : "without"} a cache`, (vm.accesses - a0) / wall, "accesses/s");
    report(`exclusive cache: paging zipf, ${cached ? "with" : "without"} a cache: disk reads`, (vm.guest.guestDiskReads - r0) / wall, "reads/s (wall)");
    if (cached) report("exclusive cache: paging zipf, hits / disk reads", vm.cacheHits / vm.guest.guestDiskReads, "ratio");
  }

  // 3. The tracer alone: events of an exact-LRU VM of 16,384 pages over a zipf-like stream of 65,536 pages.
  {
    const v = 16_384;
    const tracer = new ExclusiveCacheTracer();
    tracer.traceVm(0, resolveTracing({ exclusiveCache: { size: 16_384, ghosts: 65_536 } }, "tracing")!);
    const view = { index: 0, name: "b", memoryPages: v, directPages: v, accesses: 0, cacheCapacityPages: 16_384 } as unknown as VmView;
    const host = { nowSeconds: 0, vms: [view], note: () => {}, setEstimatedNeedPages: () => {} } as unknown as HostControl;
    // Pre-compute an event stream: alternate puts of fresh evictions and probes at random depths.
    const rng = new Rng(1);
    const n = 1_000_000;
    const keys = new Int32Array(n);
    const kinds = new Uint8Array(n);
    let next = 0;
    const live: number[] = [];
    for (let i = 0; i < n; i++) {
      if (live.length < 1000 || rng.next() < 0.5) {
        keys[i] = next;
        live.push(next++);
        kinds[i] = 0;
      } else {
        const j = live.length - 1 - Math.floor(rng.next() ** 3 * live.length);
        keys[i] = live[j];
        live[j] = live[live.length - 1];
        live.pop();
        kinds[i] = 1;
      }
      if (live.length > 80_000) live.splice(0, 1000);
    }
    await throughput("exclusive cache: tracer events (put + probe, 80k tracked)", n, () => {
      for (let i = 0; i < n; i++) tracer.onCacheEvent(host, 0, keys[i], kinds[i] === 0 ? "put" : "probe-miss");
    }, "events/s", undefined, 3000);
  }
});
