/**
 * Host benchmarks (issue 4):
 * - guest accesses per second for one VM whose working set is resident (target ≥ 10M/s);
 * - the same with a guest that pages, and with ballooning under way (for reference);
 * - a 256 GiB host with 64 VMs of 4 GiB (67M guest pages): bytes of state per guest page and
 *   peak RSS (target: within 4 GiB of process memory).
 */
import { Host } from "../../src/host/host";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import { peakRssBytes, report, runBench, throughput } from "./harness";

runBench(async () => {
  // 1. One VM, resident working set: every access is a hit (100 ns each, so 1M per 0.1 s).
  for (const [label, spec] of [
    ["loop over 256 MiB", { kind: "loop", pages: "256 MiB" }],
    ["uniform over 256 MiB", { kind: "uniform", pages: "256 MiB" }],
    ["zipf(0.9) over 256 MiB", { kind: "zipf", pages: "256 MiB", exponent: 0.9 }],
  ] as const) {
    const host = new Host({ memory: "1 GiB", seed: 1 });
    const vm = host.addVm({ name: "a", memory: "512 MiB", workload: spec as never });
    host.run({ seconds: 1 }); // warm: every page touched once
    const before = vm.accesses;
    await throughput(`host: 1 VM, resident set, ${label}`, 1_000_000, () => { host.run({ seconds: 0.1 }); }, "accesses/s", label.startsWith("loop") ? "≥ 10M" : undefined);
    if (vm.guest.guestDiskReads > 0 || (vm.accesses - before) % 1_000_000 !== 0) throw new Error("the working set was not resident");
  }

  // 2. For reference: a guest that pages (working set 1.5× its memory), and a VM being ballooned.
  {
    const host = new Host({ memory: "1 GiB", seed: 1 });
    const vm = host.addVm({ name: "a", memory: "64 MiB", guest: { swap: "256 MiB" }, workload: { kind: "uniform", pages: "96 MiB", writeFraction: 0.3 } });
    host.run({ seconds: 5 });
    const t0 = performance.now();
    const a0 = vm.accesses;
    host.run({ seconds: 100 });
    report("host: 1 VM paging in the guest (uniform, 1.5× memory)", (vm.accesses - a0) / ((performance.now() - t0) / 1000), "accesses/s");
  }
  {
    const host = new Host({ memory: "256 MiB", seed: 1, costs: { hitNs: 1000 }, policies: [new ReclamationPolicy()] });
    for (let i = 0; i < 4; i++) host.addVm({ name: `vm${i}`, memory: "128 MiB", workload: { kind: "hot-cold", pages: "100 MiB", hotFraction: 0.2, hotAccessFraction: 0.9, writeFraction: 0.3 } });
    const t0 = performance.now();
    host.run({ seconds: 30 });
    const accesses = host.vms.reduce((a, v) => a + v.accesses, 0);
    report("host: 4 overcommitted VMs, balloon + swap (30 s simulated)", accesses / ((performance.now() - t0) / 1000), "accesses/s");
  }

  // 3. A 256 GiB host: 64 VMs × 4 GiB = 67,108,864 guest pages, each VM touching 2 GiB.
  {
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const host = new Host({ memory: "256 GiB", seed: 1, costs: { hitNs: 1000 }, policies: [new ReclamationPolicy()] });
    for (let i = 0; i < 64; i++) host.addVm({ name: `vm${i}`, memory: "4 GiB", workload: { kind: "toucher", workingSetPages: "2 GiB", writeFraction: 0.2 } });
    const guestPages = host.vms.reduce((a, v) => a + v.memoryPages, 0);
    const buildSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    host.run({ seconds: 2, sampleEvery: 1 });
    const runSeconds = (performance.now() - t1) / 1000;
    const accesses = host.vms.reduce((a, v) => a + v.accesses, 0);
    const touched = host.vms.reduce((a, v) => a + v.residentPages, 0);
    report("host 256 GiB / 64 VMs: guest pages", guestPages, "pages");
    report("host 256 GiB / 64 VMs: resident pages after 2 s", touched, "pages");
    report("host 256 GiB / 64 VMs: typed-array state per guest page", host.stateBytes / guestPages, "bytes/page");
    report("host 256 GiB / 64 VMs: RSS growth per guest page", (process.memoryUsage().rss - rss0) / guestPages, "bytes/page");
    report("host 256 GiB / 64 VMs: peak RSS", peakRssBytes() / 2 ** 30, "GiB", "≤ 4 GiB");
    report("host 256 GiB / 64 VMs: build time", buildSeconds, "s");
    report("host 256 GiB / 64 VMs: simulation speed", accesses / runSeconds, "accesses/s");
    if (peakRssBytes() > 4 * 2 ** 30) throw new Error("the 64-VM host exceeded 4 GiB of process memory");
  }
});
