/**
 * Benchmarks for miss-ratio curves (src/analysis), from in-memory traces:
 *
 * - the exact curve (Mattson's stack) in accesses/s, target ≥ 5M/s, on a zipf trace of about
 *   80,000 pages, and on harder ones (uniform: every reuse is deep; a million-page zipf);
 * - C-free comparisons: the same algorithm built the textbook way (a JS Map and a Fenwick node
 *   per access time) and a plain array LRU list (O(footprint) per access);
 * - SHARDS at rate 0.01 (target ≥ 50M/s) and 0.001, and at a fixed size;
 * - memory (JS heap + typed arrays) after a GC at 1M and 10M accesses: fixed-size SHARDS must stay flat while the
 *   footprint grows tenfold; the exact stack grows with the footprint, not the trace length.
 *
 * Figures are wall-clock (the harness's tinybench mean and range); on this shared 2-core machine
 * a busy neighbour halves them, so the CPU-time figure printed beside each is the steadier one.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ExactMissRatioCurve } from "../../src/analysis/mrc-estimator";
import { Shards } from "../../src/analysis/shards";
import { PageValueMap } from "../../src/util/page-value-map";
import { createWorkload, type WorkloadSpec } from "../../src/workloads/create-workload";
import { Rng } from "../../src/util/rng";
import { report, runBench, throughput } from "./harness";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function draw(spec: WorkloadSpec, accesses: number, seed = 1): Float64Array {
  const pages = new Float64Array(accesses);
  createWorkload(spec, new Rng(seed)).fill(pages, new Uint8Array(accesses));
  return pages;
}

/** Accesses per CPU-second of `fn` over `accesses` accesses (best of `runs`). */
function cpuRate(accesses: number, fn: () => void, runs = 3): number {
  let best = 0;
  for (let r = 0; r < runs; r++) {
    const u0 = process.cpuUsage();
    fn();
    const u = process.cpuUsage(u0);
    best = Math.max(best, accesses / ((u.user + u.system) / 1e6));
  }
  return best;
}

/** The textbook Mattson stack: a JS Map to last times and a Fenwick node per time (no compaction). */
function textbookExact(pages: Float64Array): number {
  const last = new Map<number, number>();
  const n = pages.length;
  const tree = new Int32Array(n + 1);
  let sink = 0;
  for (let t = 1; t <= n; t++) {
    const page = pages[t - 1];
    const t0 = last.get(page);
    if (t0 !== undefined) {
      let above = 0;
      for (let i = t - 1; i > 0; i -= i & -i) above += tree[i];
      for (let i = t0; i > 0; i -= i & -i) above -= tree[i];
      sink += above;
      for (let i = t0; i <= n; i += i & -i) tree[i]--;
    }
    for (let i = t; i <= n; i += i & -i) tree[i]++;
    last.set(page, t);
  }
  return sink;
}

/** A plain array LRU list: depth by indexOf, move to front. */
function arrayLru(pages: Float64Array): number {
  const stack: number[] = [];
  let sink = 0;
  for (let i = 0; i < pages.length; i++) {
    const d = stack.indexOf(pages[i]);
    if (d >= 0) {
      stack.splice(d, 1);
      sink += d;
    }
    stack.unshift(pages[i]);
  }
  return sink;
}

/** JS heap plus typed-array memory (which lives outside the heap), after a full GC. */
function heapMiB(): number {
  gc();
  gc(); // a second pass frees what the first one's finalizers released
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
}

runBench(async () => {
  let sink = 0;
  // Memory first, before the benchmark traces exist: 1M, then 10M accesses, drawn a batch at a
  // time (never held). A sampler's memory is what a GC frees once it is dropped.
  {
    const BATCH = 1 << 16;
    const batch = new Float64Array(BATCH);
    const kinds = new Uint8Array(BATCH);
    type Feeder = { feed: (p: Float64Array, from: number, n: number) => void };
    const sizeAfter = (spec: WorkloadSpec, make: () => Feeder, accesses: number): number => {
      const w = createWorkload(spec, new Rng(3));
      let sampler: Feeder | undefined = make();
      for (let done = 0; done < accesses;) {
        const n = w.fill(batch.subarray(0, Math.min(BATCH, accesses - done)), kinds);
        sampler.feed(batch, 0, n);
        done += n;
      }
      const withSampler = heapMiB();
      sampler = undefined;
      return withSampler - heapMiB();
    };
    const measure = (label: string, spec: WorkloadSpec, make: () => Feeder) => {
      const small = sizeAfter(spec, make, 1_000_000);
      const large = sizeAfter(spec, make, 10_000_000);
      report(`mrc: memory of ${label} at 1M accesses`, small, "MiB");
      report(`mrc: memory of ${label} at 10M accesses`, large, "MiB", undefined, `×${(large / small).toFixed(2)}`);
    };
    // Uniform over 64M pages: the footprint grows almost one page per access (~1M, then ~9.3M).
    const growing: WorkloadSpec = { kind: "uniform", pages: 1 << 26 };
    measure("SHARDS fixed size 8,192 (footprint 1M → 9.3M pages)", growing, () => new Shards({ maxSamples: 8192 }));
    measure("SHARDS rate 0.01 (footprint 1M → 9.3M pages)", growing, () => new Shards({ rate: 0.01 }));
    // A fixed footprint: the exact stack holds O(pages), not O(accesses), thanks to compaction.
    measure("exact, zipf(1) over 100K pages", { kind: "zipf", pages: 100_000, exponent: 1, scatter: true }, () => new ExactMissRatioCurve());
  }

  const N = 2_000_000;
  const zipf = draw({ kind: "zipf", pages: 100_000, exponent: 1, scatter: true }, N);
  const footprint = new Set(zipf).size;
  const cases: Array<[string, Float64Array]> = [
    [`zipf(1) over 100K pages (footprint ${Math.round(footprint / 1000)}K)`, zipf],
    ["uniform over 100K pages", draw({ kind: "uniform", pages: 100_000 }, N)],
    ["zipf(1) over 1M pages (hybrid)", draw({ kind: "zipf", pages: 1_000_000, exponent: 1, scatter: true }, N)],
    ["loop over 30K pages", draw({ kind: "loop", pages: 30_000 }, N)],
  ];

  for (const [label, pages] of cases) {
    const run = () => {
      const e = new ExactMissRatioCurve();
      e.feed(pages, 0, pages.length);
      sink += e.footprintPages();
    };
    const target = label.startsWith("zipf(1) over 100K") ? "≥ 5M" : undefined;
    await throughput(`mrc: exact, ${label}`, N, run, "accesses/s", target, 3000);
    report(`mrc: exact, ${label}, CPU time`, cpuRate(N, run), "accesses/s");
  }

  // C-free comparisons on the zipf trace.
  report("mrc: page → last time, PageValueMap (find + set in place), zipf, CPU time", cpuRate(N, () => {
    const m = new PageValueMap();
    for (let i = 0; i < N; i++) {
      const slot = m.find(zipf[i]);
      if (slot < 0) m.insertAt(slot, zipf[i], i);
      else m.setValueAt(slot, i);
    }
    sink += m.size;
  }), "accesses/s");
  report("mrc: page → last time, JS Map (get + set), zipf, CPU time", cpuRate(N, () => {
    const m = new Map<number, number>();
    for (let i = 0; i < N; i++) {
      if (m.get(zipf[i]) === -1) sink++;
      m.set(zipf[i], i);
    }
    sink += m.size;
  }), "accesses/s");
  report("mrc: textbook exact (JS Map + Fenwick per time), zipf, CPU time", cpuRate(N, () => { sink += textbookExact(zipf); }), "accesses/s");
  const short = zipf.subarray(0, 100_000);
  report("mrc: array LRU list (indexOf), first 100K zipf accesses, CPU time", cpuRate(short.length, () => { sink += arrayLru(short); }, 1), "accesses/s");

  for (const [label, options] of [["rate 0.01", { rate: 0.01 }], ["rate 0.001", { rate: 0.001 }], ["fixed size 8,192 pages", { maxSamples: 8192 }]] as const) {
    const run = () => {
      const s = new Shards(options);
      s.feed(zipf, 0, zipf.length);
      sink += s.trackedPages;
    };
    await throughput(`mrc: SHARDS ${label}, zipf`, N, run, "accesses/s", label === "rate 0.01" ? "≥ 50M" : undefined, 2000);
    report(`mrc: SHARDS ${label}, zipf, CPU time`, cpuRate(N, run), "accesses/s");
  }

  if (sink === 0.5) console.log(sink);
});
