/**
 * Waldspurger's ballooning experiment (OSDI 2002, Figure 2), in shape.
 *
 * For each memory size X, the same workload runs three ways, each on its own host:
 *
 *   configured   a VM configured with X                          (the paper's black bars)
 *   ballooned    a VM configured with `largeSize`, limited to X: its balloon inflates to
 *                largeSize − X, and the guest's own CLOCK picks what to page out (grey bars)
 *   swapped      the same VM with no balloon driver: the host enforces X by swapping random
 *                pages, and double paging appears when the guest pages too (ours: the paper's
 *                figure has no such bars)
 *
 * Two workloads (`workload`):
 *   "hot-cold"    anonymous memory: load `footprint`, then mostly touch its hot part. Throughput
 *                 barely depends on memory, so the ballooned-vs-configured gap is tiny.
 *   "page-cache"  dbench-like, as memory-sensitive as the paper's: read a `footprint`-sized file
 *                 set once, then read and write its pages uniformly at random. Every page is
 *                 file-backed, the guest caches what fits, and each miss is a disk read, so
 *                 throughput rises with memory over the whole range of X.
 *
 * Where the gap comes from: the guest kernel wires page descriptors sized by *configured* memory
 * (1/64 of it by default), so a guest ballooned down from largeSize has fewer pages left at X
 * than one configured with X. Waldspurger attributes his 1.4–4.4% to such structures.
 *
 * Each run warms up (the workload loads its data, the balloon inflates), then is measured.
 *
 * Invariant: every host is built from the same seed, so the three setups see the same access
 * stream; only memory management differs.
 */
import * as aq from "arquero";
import { formatBytes, formatCount, parsePages, PAGE_SIZE_BYTES } from "../util/units";
import { MemvirtError } from "../util/errors";
import { Host } from "../host/host";
import { AccessCosts, DEFAULT_COSTS } from "../host/costs";
import { VMW_BALLOON_RATES } from "../host/balloon-driver";
import { DEFAULT_KERNEL_OVERHEAD } from "../host/host-config";
import { ReclamationPolicy } from "../policy/reclamation-policy";
import { PhasesWorkload } from "../workloads/phases";
import { Workload } from "../workloads/workload";

type Table = ReturnType<typeof aq.table>;

/** The workloads the comparison can run. */
export const BALLOONING_WORKLOADS = ["hot-cold", "page-cache"] as const;
export type BallooningWorkload = (typeof BALLOONING_WORKLOADS)[number];

/** Options of the ballooning comparison (all optional). */
export interface BallooningOptions {
  /** "hot-cold" (default): anonymous, nearly flat in memory; "page-cache": dbench-like, memory-sensitive. */
  workload?: BallooningWorkload;
  /** The large configured size the ballooned and swapped VMs start from (default "256 MiB"). */
  largeSize?: number | string;
  /** The sizes X to compare (default 128, 160, 192, 224, 256 MiB). */
  sizes?: Array<number | string>;
  /** The workload's footprint, or the page-cache workload's file set (default "320 MiB": larger than the VM). */
  footprint?: number | string;
  /** Hot-cold only: fraction of the footprint that is hot (default 0.3). */
  hotFraction?: number;
  /** Hot-cold only: fraction of accesses to the hot pages (default 0.999). */
  hotAccessFraction?: number;
  /** Fraction of accesses that write (default 0.3). */
  writeFraction?: number;
  /**
   * Seconds of warm-up (default 20). The page-cache workload first runs until its file set is
   * read, then warms up 600 s by default: where the host swaps, the guest's cache turns over
   * slowly, and double paging only starts once dirty pages reach the end of its CLOCK.
   */
  warmupSeconds?: number;
  /** Seconds measured (default 20; page-cache 600: at a few hundred disk-bound accesses a second, shorter windows are noisy). */
  measureSeconds?: number;
  /** A fixed balloon rate, pages/s (default: the driver's adaptive rate, 16,384 pages/s from free memory). */
  balloonPagesPerSecond?: number;
  /** The guest kernel's memory-sized structures as a fraction of configured memory (default 1/64). */
  kernelOverhead?: number;
  /** Cost overrides (default: hitNs 10 µs, i.e. an operation is 10 µs of work plus one page access). */
  costs?: Partial<AccessCosts>;
  seed?: number | string;
  /** Called after each run with runs done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** The three ways of getting a VM down to X. */
export const BALLOONING_SETUPS = ["configured", "ballooned", "swapped"] as const;
export type BallooningSetup = (typeof BALLOONING_SETUPS)[number];

/** One measured run. */
export interface BallooningRow {
  sizePages: number;
  sizeMiB: number;
  setup: BallooningSetup;
  configuredPages: number;
  /** Pages the guest kernel wires, sized by configured memory. */
  kernelPages: number;
  /** Page-cache workload: simulated seconds it took to read the file set before the warm-up (0 otherwise). */
  loadSeconds: number;
  /** Accesses per simulated second over the measured window. */
  throughput: number;
  guestDiskReads: number;
  hostSwapFaults: number;
  doublePagingEvents: number;
  balloonedPages: number;
  hostSwappedPages: number;
}

/** The settings a comparison ran with, resolved (sizes in pages). */
export interface BallooningSettings {
  workload: BallooningWorkload;
  largePages: number;
  sizesPages: number[];
  footprint: number;
  hotFraction: number;
  hotAccessFraction: number;
  writeFraction: number;
  warmupSeconds: number;
  measureSeconds: number;
  /** A fixed balloon rate, or undefined for the driver's adaptive rate. */
  balloonPagesPerSecond: number | undefined;
  kernelOverhead: number;
  costs: Partial<AccessCosts>;
  seed: number | string;
}

/**
 * The result: a row per (X, setup), the gaps, and the story.
 *
 * @example
 * const result = ballooningComparison({ sizes: ["128 MiB", "192 MiB", "256 MiB"] });
 * result.table; result.gapTable; console.log(result.explain());
 */
export class BallooningResult {
  readonly rows: readonly BallooningRow[];
  readonly options: BallooningSettings;

  constructor(rows: BallooningRow[], options: BallooningSettings) {
    this.rows = rows;
    this.options = options;
  }

  /** All runs: sizeMiB, setup, throughput, faults, double paging. */
  get table(): Table {
    return aq.from(this.rows as BallooningRow[]);
  }

  /** Per size: throughput of each setup, the ballooned gap (%) and the swapped slowdown (×). */
  get gapTable(): Table {
    return aq.from(this.gaps());
  }

  /**
   * The gaps as plain rows.
   *
   * @example
   * result.gaps()[0].balloonGapPercent
   */
  gaps(): Array<{ sizeMiB: number; configured: number; ballooned: number; swapped: number; balloonGapPercent: number; swappedSlowdown: number; swappedDoublePaging: number }> {
    return this.options.sizesPages.map((pages) => {
      const at = (s: BallooningSetup) => this.rows.find((r) => r.sizePages === pages && r.setup === s)!;
      const c = at("configured");
      const b = at("ballooned");
      const s = at("swapped");
      return {
        sizeMiB: c.sizeMiB,
        configured: c.throughput,
        ballooned: b.throughput,
        swapped: s.throughput,
        balloonGapPercent: c.throughput > 0 ? ((c.throughput - b.throughput) / c.throughput) * 100 : 0,
        swappedSlowdown: s.throughput > 0 ? c.throughput / s.throughput : Infinity,
        swappedDoublePaging: s.doublePagingEvents,
      };
    });
  }

  /**
   * The runs (for display helpers that look for `toTable`).
   *
   * @example
   * result.toTable().numRows() // sizes × 3
   */
  toTable(): Table {
    return this.table;
  }

  /**
   * Settings, then each size, then a one-line summary with the gap and the slowdown.
   *
   * @example
   * console.log(result.explain());
   */
  explain(): string {
    const o = this.options;
    const mib = (pages: number) => formatBytes(pages * PAGE_SIZE_BYTES);
    const lines: string[] = [];
    if (o.workload === "page-cache") {
      lines.push(`Setting: each VM runs the same page-cache-bound workload (dbench-like): it reads a ${mib(o.footprint)} file set once, then reads and writes (${(o.writeFraction * 100).toFixed(0)}% writes) its pages uniformly at random; the guest caches what fits, and every miss is a disk read.`);
    } else {
      lines.push(`Setting: each VM runs the same workload: it loads ${mib(o.footprint)} (writing every page), then makes ${(o.hotAccessFraction * 100).toFixed(1)}% of its accesses to the first ${(o.hotFraction * 100).toFixed(0)}% of it and the rest to the cold remainder, ${(o.writeFraction * 100).toFixed(0)}% writes.`);
    }
    const rate = o.balloonPagesPerSecond === undefined ? "the driver's adaptive rate" : `a fixed ${formatCount(o.balloonPagesPerSecond)} pages/s`;
    lines.push(`For each size X, three hosts: a VM configured with X; a VM configured with ${mib(o.largePages)} whose balloon (${rate}) takes it down to X; and the same VM without a balloon driver, which the host keeps at X by swapping random pages (our addition: Waldspurger's figure has the first two).`);
    if (o.workload === "page-cache") {
      const loads = this.rows.map((r) => r.loadSeconds);
      lines.push(`Each first reads its file set (${Math.min(...loads)}–${Math.max(...loads)} s, longer where the host swaps), warms up ${o.warmupSeconds} s more, then ${o.measureSeconds} s are measured (seed ${JSON.stringify(o.seed)}).`);
    } else {
      lines.push(`Each runs ${o.warmupSeconds} s of warm-up, then ${o.measureSeconds} s are measured (seed ${JSON.stringify(o.seed)}).`);
    }
    lines.push("");
    let step = 1;
    for (const g of this.gaps()) {
      const kernel = (s: BallooningSetup) => this.rows.find((r) => r.sizeMiB === g.sizeMiB && r.setup === s)!.kernelPages;
      const extraKernel = kernel("ballooned") - kernel("configured");
      lines.push(`  ${step++}. X = ${g.sizeMiB} MiB: configured ${formatCount(Math.round(g.configured))}/s, ballooned ${formatCount(Math.round(g.ballooned))}/s (gap ${g.balloonGapPercent.toFixed(2)}%${extraKernel > 0 ? `; its kernel wires ${formatCount(extraKernel)} pages more` : ""}), ` +
        `host swapping ${formatCount(Math.round(g.swapped))}/s (${Number.isFinite(g.swappedSlowdown) ? `${g.swappedSlowdown.toFixed(1)}× slower` : "stalled"}, ${formatCount(g.swappedDoublePaging)} double-paging events).`);
    }
    const gaps = this.gaps().filter((g) => g.sizeMiB * 256 < o.largePages);
    const gapValues = gaps.map((g) => g.balloonGapPercent);
    const slow = gaps.map((g) => g.swappedSlowdown).filter(Number.isFinite);
    lines.push("");
    if (gaps.length > 0) {
      lines.push(`Summary: ballooned down to X, the VM runs within ${Math.min(...gapValues).toFixed(2)}–${Math.max(...gapValues).toFixed(2)}% of a VM configured with X (Waldspurger measured 1.4–4.4%); ` +
        `reclaiming the same memory by random host swapping is ${slow.length ? `${Math.min(...slow).toFixed(1)}–${Math.max(...slow).toFixed(1)}×` : "far"} slower, with ${formatCount(gaps.reduce((a, g) => a + g.swappedDoublePaging, 0))} double-paging events.`);
    } else {
      lines.push("Summary: no size below the large configured size, so nothing was reclaimed.");
    }
    return lines.join("\n");
  }
}

/**
 * Run the comparison.
 *
 * @example
 * const result = ballooningComparison({ seed: 42 });
 * show(lineChart(result.table, { x: "sizeMiB", y: "throughput", color: "setup" }));
 */
export function ballooningComparison(options: BallooningOptions = {}): BallooningResult {
  const kind = options.workload ?? "hot-cold";
  if (!(BALLOONING_WORKLOADS as readonly unknown[]).includes(kind)) {
    throw new MemvirtError(`must be one of ${BALLOONING_WORKLOADS.map((w) => `"${w}"`).join(", ")}`, { where: "workload", value: kind });
  }
  if (kind === "page-cache") {
    for (const key of ["hotFraction", "hotAccessFraction"] as const) {
      if (options[key] !== undefined) throw new MemvirtError('applies to workload "hot-cold" only (the page-cache workload is uniform over its file set)', { where: key, value: options[key] });
    }
  }
  const largePages = parsePages(options.largeSize ?? "256 MiB", "largeSize");
  const sizesPages = (options.sizes ?? ["128 MiB", "160 MiB", "192 MiB", "224 MiB", "256 MiB"]).map((s, i) => parsePages(s, `sizes[${i}]`));
  sizesPages.forEach((p: number, i: number) => {
    if (p > largePages || p < 16) throw new MemvirtError(`must be between 16 pages and largeSize (${largePages} pages)`, { where: `sizes[${i}]`, value: options.sizes?.[i] });
  });
  const footprint = parsePages(options.footprint ?? "320 MiB", "footprint");
  const costs = { hitNs: 10_000, ...options.costs };
  const rate = options.balloonPagesPerSecond;
  if (rate !== undefined && (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0)) throw new MemvirtError("must be a positive number of pages per second", { where: "balloonPagesPerSecond", value: rate });
  const kernelOverhead = options.kernelOverhead;
  if (kernelOverhead !== undefined && (typeof kernelOverhead !== "number" || !(kernelOverhead >= 0 && kernelOverhead <= 0.5))) {
    throw new MemvirtError("must be a fraction of configured memory between 0 and 0.5", { where: "kernelOverhead", value: kernelOverhead });
  }
  const o: BallooningSettings = {
    workload: kind,
    largePages,
    sizesPages,
    footprint,
    hotFraction: options.hotFraction ?? 0.3,
    hotAccessFraction: options.hotAccessFraction ?? 0.999,
    writeFraction: options.writeFraction ?? 0.3,
    warmupSeconds: options.warmupSeconds ?? (kind === "page-cache" ? 600 : 20),
    measureSeconds: options.measureSeconds ?? (kind === "page-cache" ? 600 : 20),
    balloonPagesPerSecond: rate,
    kernelOverhead: kernelOverhead ?? DEFAULT_KERNEL_OVERHEAD,
    costs,
    seed: options.seed ?? 1,
  };
  const workload = kind === "page-cache" ? pageCacheWorkload(footprint, o.writeFraction) : hotColdWorkload(footprint, o);
  const rows: BallooningRow[] = [];
  const total = sizesPages.length * BALLOONING_SETUPS.length;
  for (const sizePages of sizesPages) {
    for (const setup of BALLOONING_SETUPS) {
      const memory = setup === "configured" ? sizePages : largePages;
      const host = new Host({ memory: largePages * 4, seed: o.seed, costs: o.costs, policies: [new ReclamationPolicy({ periodSeconds: 0.5 })] });
      const vm = host.addVm({
        name: "vm",
        memory,
        max: sizePages,
        balloon: setup === "swapped" ? false : rate === undefined ? {} : { inflatePagesPerSecond: rate },
        guest: { swap: footprint * 2, kernelOverhead: o.kernelOverhead, fileBackedFraction: kind === "page-cache" ? 1 : 0 },
      });
      // As in the paper, the VM is taken down to X before the benchmark starts: an idle period
      // long enough for the balloon (its free pages go at the driver's no-sleep rate; nothing
      // happens in the other setups).
      const settle = Math.ceil((largePages - sizePages) / (rate ?? VMW_BALLOON_RATES.noSleepAllocMaxPages)) + 1;
      host.run({ seconds: settle, sampleEvery: settle });
      host.setWorkload("vm", workload);
      const loadSeconds = kind === "page-cache" ? loadFileSet(host, vm.workload, footprint, costs) : 0;
      host.run({ seconds: o.warmupSeconds, sampleEvery: o.warmupSeconds });
      const run = host.run({ seconds: o.measureSeconds, sampleEvery: o.measureSeconds });
      const v = run.summary.vms[0];
      rows.push({
        sizePages,
        sizeMiB: (sizePages * PAGE_SIZE_BYTES) / 2 ** 20,
        setup,
        configuredPages: memory,
        kernelPages: vm.guest.settings.kernelPages,
        loadSeconds,
        throughput: v.throughput,
        guestDiskReads: v.guestDiskReads,
        hostSwapFaults: v.hostSwapFaults,
        doublePagingEvents: v.doublePagingEvents,
        balloonedPages: vm.balloonedPages,
        hostSwappedPages: vm.hostSwappedPages,
      });
      options.onProgress?.(rows.length, total);
    }
  }
  return new BallooningResult(rows, o);
}

/** Load the cold part first and the hot part last, so the hot pages are the most recent. */
function hotColdWorkload(footprint: number, o: BallooningSettings): Record<string, unknown> {
  const hot = Math.max(1, Math.round(o.hotFraction * footprint));
  return {
    kind: "phases",
    phases: [
      { workload: { kind: "scan", pages: footprint - hot, basePage: hot, writeFraction: 1 } },
      { workload: { kind: "scan", pages: hot, writeFraction: 1 } },
      { workload: { kind: "hot-cold", pages: footprint, hotFraction: hot / footprint, hotAccessFraction: o.hotAccessFraction, writeFraction: o.writeFraction } },
    ],
  };
}

/** dbench-like: read the file set once (every page a disk read), then uniform reads and writes over it. */
function pageCacheWorkload(filePages: number, writeFraction: number): Record<string, unknown> {
  return {
    kind: "phases",
    phases: [
      { workload: { kind: "scan", pages: filePages } },
      { workload: { kind: "uniform", pages: filePages, writeFraction } },
    ],
  };
}

/**
 * Run until the page-cache workload has read its file set (its first phase): every page is a
 * disk read, and where the host swaps, reusing a page the host swapped costs a swap-in too, so
 * the time differs by setup. Returns the seconds it took (bounded, in case a setup crawls).
 */
function loadFileSet(host: Host, workload: Workload | undefined, filePages: number, costs: Partial<AccessCosts>): number {
  if (!(workload instanceof PhasesWorkload)) throw new Error("internal: the page-cache workload is a phases workload");
  const chunkSeconds = 10;
  const boundSeconds = 10 * Math.ceil((filePages * (costs.guestDiskReadNs ?? DEFAULT_COSTS.guestDiskReadNs)) / 1e9) + chunkSeconds;
  let seconds = 0;
  while (workload.phaseIndex === 0 && seconds < boundSeconds) {
    host.run({ seconds: chunkSeconds, sampleEvery: chunkSeconds });
    seconds += chunkSeconds;
  }
  return seconds;
}
