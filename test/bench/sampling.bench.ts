/**
 * Working-set sampling benchmarks (issue 12):
 * - the cost of one sampling period (draw n pages, invalidate them, close the period) on a
 *   64 MiB VM and on a 64 GiB VM, for n = 100 and n = 1,000: O(n), whatever the VM's size;
 * - a host's throughput with sampling on against sampling off (target: within 10%), with
 *   Waldspurger's defaults, with an aggressive sampler and with DAMON-style regions;
 * - for reference, the cost of the ground truth: one timeline sample's count of touched pages.
 *
 * Throughput is measured in CPU time (this 2-core machine is shared; wall time drifts with the
 * load), alternating off and on runs, and reported as the median of the rounds.
 */
import { Host } from "../../src/host/host";
import { HostControl, VmView } from "../../src/host/host-policy";
import { WorkingSetSampler } from "../../src/policy/working-set-sampler";
import { DamonEstimator } from "../../src/policy/damon-estimator";
import { report, runBench } from "./harness";

function cpuSeconds(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A host whose one VM has touched (nearly) all its memory once, then idles. */
function touchedHost(memory: string): Host {
  const host = new Host({ memory, seed: 1 });
  const vm = host.addVm({ name: "a", memory, guest: { kernelOverhead: 1 / 64 } });
  host.setWorkload("a", { kind: "scan", pages: vm.memoryPages - vm.guest.settings.kernelPages - 1 });
  while (!vm.guest.finished) host.run({ seconds: 1, sampleEvery: 1 });
  return host;
}

/**
 * Microseconds of CPU per sampling period: the sampler is ticked on a view of the host whose VM
 * clock advances one period per tick, so every tick closes a period and starts the next.
 */
function periodCostMicros(host: Host, samplePages: number, periods: number): number {
  const vm = host.vms[0];
  let runSeconds = 0;
  const view = Object.create(vm, { runSeconds: { get: () => runSeconds } }) as VmView;
  const control = Object.create(host, { vms: { value: [view] } }) as HostControl;
  const sampler = new WorkingSetSampler({ vm: "a", samplePages, periodSeconds: 1 });
  sampler.tick(control); // the first period
  const seconds = cpuSeconds(() => {
    for (let i = 0; i < periods; i++) {
      runSeconds += 1;
      sampler.tick(control);
    }
  });
  if (sampler.periods.length !== periods) throw new Error(`expected ${periods} periods, got ${sampler.periods.length}`);
  return (seconds / periods) * 1e6;
}

/** Accesses per CPU second of one VM with a resident 256 MiB working set, with `policy` or without. */
function accessesPerSecond(policy: (() => ConstructorParameters<typeof Host>[0]["policies"]) | null): number {
  const host = new Host({ memory: "1 GiB", seed: 1, policies: policy ? policy() : [] });
  const vm = host.addVm({ name: "a", memory: "512 MiB", workload: { kind: "toucher", workingSetPages: "256 MiB" } });
  host.run({ seconds: 1 }); // warm: every page touched once
  const a0 = vm.accesses;
  const s = cpuSeconds(() => { host.run({ seconds: 2, sampleEvery: 1 }); });
  return (vm.accesses - a0) / s;
}

runBench(async () => {
  // 1. Cost per period: O(n) whatever the VM's size.
  const small = touchedHost("64 MiB");
  const large = touchedHost("64 GiB");
  report("sampling: VM pages (64 MiB / 64 GiB)", small.vms[0].memoryPages, "pages", undefined, `and ${large.vms[0].memoryPages.toLocaleString("en-US")} pages`);
  const costs: Record<string, number> = {};
  for (const n of [100, 1000]) {
    for (const [label, host] of [["64 MiB", small], ["64 GiB", large]] as const) {
      periodCostMicros(host, n, 50); // warm the JIT
      const us = median([1, 2, 3].map(() => periodCostMicros(host, n, 400)));
      costs[`${n} ${label}`] = us;
      report(`sampling: CPU per period, n = ${n}, ${label} VM`, us, "µs", "O(n): no term in the VM's size");
    }
    // The VM is 1,024 times larger; what remains is cache misses on its larger page arrays.
    report(`sampling: period cost 64 GiB ÷ 64 MiB, n = ${n}`, costs[`${n} 64 GiB`] / costs[`${n} 64 MiB`], "×", "≪ 1,024", "a few ×: cache misses on a 16M-page VM's arrays");
  }
  report("sampling: period cost n = 1,000 ÷ n = 100 (64 GiB VM)", costs["1000 64 GiB"] / costs["100 64 GiB"], "×", "≈ 10");

  // 2. Host throughput with sampling on against off (alternating rounds, medians).
  const setups: Array<[string, () => ConstructorParameters<typeof Host>[0]["policies"]]> = [
    ["sampling n = 100 per 30 s (ESX defaults)", () => [new WorkingSetSampler({ vm: "a" })]],
    ["sampling n = 1,000 per 1 s", () => [new WorkingSetSampler({ vm: "a", samplePages: 1000, periodSeconds: 1 })]],
    ["DAMON-style, 10–1,000 regions, 1 s", () => [new DamonEstimator({ vm: "a", periodSeconds: 1 })]],
  ];
  accessesPerSecond(null); // warm the JIT
  for (const [label, make] of setups) {
    const off: number[] = [];
    const on: number[] = [];
    for (let round = 0; round < 5; round++) {
      off.push(accessesPerSecond(null));
      on.push(accessesPerSecond(make));
    }
    const ratio = median(on) / median(off);
    report(`host throughput, ${label}`, median(on), "accesses/CPU-s", undefined, `off: ${Math.round(median(off)).toLocaleString("en-US")}`);
    report(`host throughput on ÷ off, ${label}`, ratio, "×", "≥ 0.9");
  }

  // 3. The ground truth's cost: counting the touched pages at one timeline sample, O(pages).
  for (const [label, host] of [["64 MiB", small], ["64 GiB", large]] as const) {
    const vm = host.vms[0];
    const us = median([1, 2, 3, 4, 5].map(() => cpuSeconds(() => vm.takeTouchedPages()) * 1e6));
    report(`truth: touched-page count per timeline sample, ${label} VM`, us, "µs", undefined, "O(pages), once per sample; nothing per access");
  }
});
