/**
 * Benchmarks for the workload generators: accesses generated per second, in batches of 4096
 * (the way simulators call `fill`).
 */
import { Rng } from "../../src/util/rng";
import { createWorkload, WorkloadSpec } from "../../src/workloads/create-workload";
import { runBench, throughput } from "./harness";

runBench(async () => {
  const BATCH = 4096;
  const RUNS = 256; // ~1M accesses per timed call
  const pages = new Float64Array(BATCH);
  const kinds = new Uint8Array(BATCH);
  let sink = 0;
  const cases: Array<[string, WorkloadSpec]> = [
    ["uniform, 1M pages", { kind: "uniform", pages: 1 << 20 }],
    ["uniform, 1M pages, 30% writes", { kind: "uniform", pages: 1 << 20, writeFraction: 0.3 }],
    ["zipf(1.1), 64K pages (alias)", { kind: "zipf", pages: 1 << 16, exponent: 1.1 }],
    ["zipf(1.1), 64K pages (alias), scattered", { kind: "zipf", pages: 1 << 16, exponent: 1.1, scatter: true }],
    ["zipf(1.1), 1M pages (hybrid), scattered", { kind: "zipf", pages: 1 << 20, exponent: 1.1, scatter: true }],
    ["zipf(1.1), 64M pages (hybrid)", { kind: "zipf", pages: 1 << 26, exponent: 1.1 }],
    ["zipf(0.8), 64M pages (hybrid)", { kind: "zipf", pages: 1 << 26, exponent: 0.8 }],
    ["zipf(1.1), 64M pages (pure rejection-inversion)", { kind: "zipf", pages: 1 << 26, exponent: 1.1, method: "rejection" }],
    ["hot-cold 90/10, 1M pages", { kind: "hot-cold", pages: 1 << 20, hotFraction: 0.1, hotAccessFraction: 0.9 }],
    ["loop, 1M pages", { kind: "loop", pages: 1 << 20 }],
    ["toucher, 256K-page working set", { kind: "toucher", workingSetPages: 1 << 18 }],
  ];
  for (const [label, spec] of cases) {
    const w = createWorkload(spec, new Rng(1));
    await throughput(`workloads: ${label}`, BATCH * RUNS, () => {
      for (let r = 0; r < RUNS; r++) {
        w.fill(pages, kinds);
        sink += pages[r];
      }
    }, "accesses/s", undefined, 1000);
  }
  if (sink === 0.5) console.log(sink);
});
