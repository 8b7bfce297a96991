/**
 * Waldspurger's ballooning experiment (OSDI 2002, Figure 2), in shape.
 *
 * For each memory size X, the same workload runs three ways, each on its own host:
 *
 *   configured   a VM configured with X                          (the baseline)
 *   ballooned    a VM configured with `largeSize`, limited to X: its balloon inflates to
 *                largeSize − X, and the guest's own CLOCK picks what to page out
 *   swapped      the same VM with no balloon driver: the host enforces X by swapping random
 *                pages, and double paging appears when the guest pages too
 *
 * Each run warms up (the workload loads its data, the balloon inflates), then is measured.
 * The result reports throughput per setup and X, the ballooned-vs-configured gap, and how much
 * worse random host swapping is.
 *
 * Invariant: every host is built from the same seed, so the three setups see the same access
 * stream; only memory management differs.
 */
import * as aq from "arquero";
import { formatBytes, formatCount, parsePages, PAGE_SIZE_BYTES } from "../util/units";
import { MemvirtError } from "../util/errors";
import { Host } from "../host/host";
import { AccessCosts } from "../host/costs";
import { ReclamationPolicy } from "../policy/reclamation-policy";

type Table = ReturnType<typeof aq.table>;

/** Options of the ballooning comparison (all optional). */
export interface BallooningOptions {
  /** The large configured size the ballooned and swapped VMs start from (default "256 MiB"). */
  largeSize?: number | string;
  /** The sizes X to compare (default 128, 160, 192, 224, 256 MiB). */
  sizes?: Array<number | string>;
  /** The workload's footprint (default "320 MiB": larger than the VM, so the guest pages too). */
  footprint?: number | string;
  /** Fraction of the footprint that is hot (default 0.3). */
  hotFraction?: number;
  /** Fraction of accesses to the hot pages (default 0.999). */
  hotAccessFraction?: number;
  /** Fraction of accesses that write (default 0.3). */
  writeFraction?: number;
  /** Seconds of warm-up: loading and balloon inflation (default 20). */
  warmupSeconds?: number;
  /** Seconds measured (default 20). */
  measureSeconds?: number;
  /** Balloon inflation rate, pages/s (default 2048, the driver's default). */
  balloonPagesPerSecond?: number;
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
  largePages: number;
  sizesPages: number[];
  footprint: number;
  hotFraction: number;
  hotAccessFraction: number;
  writeFraction: number;
  warmupSeconds: number;
  measureSeconds: number;
  balloonPagesPerSecond: number;
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
    lines.push(`Setting: each VM runs the same workload: it loads ${mib(o.footprint)} (writing every page), then makes ${(o.hotAccessFraction * 100).toFixed(1)}% of its accesses to the first ${(o.hotFraction * 100).toFixed(0)}% of it and the rest to the cold remainder, ${(o.writeFraction * 100).toFixed(0)}% writes.`);
    lines.push(`For each size X, three hosts: a VM configured with X; a VM configured with ${mib(o.largePages)} whose balloon (${formatCount(o.balloonPagesPerSecond)} pages/s) takes it down to X; and the same VM without a balloon driver, which the host keeps at X by swapping random pages.`);
    lines.push(`Each runs ${o.warmupSeconds} s of warm-up, then ${o.measureSeconds} s are measured (seed ${JSON.stringify(o.seed)}).`);
    lines.push("");
    let step = 1;
    for (const g of this.gaps()) {
      lines.push(`  ${step++}. X = ${g.sizeMiB} MiB: configured ${formatCount(Math.round(g.configured))}/s, ballooned ${formatCount(Math.round(g.ballooned))}/s (gap ${g.balloonGapPercent.toFixed(2)}%), ` +
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
  const largePages = parsePages(options.largeSize ?? "256 MiB", "largeSize");
  const sizesPages = (options.sizes ?? ["128 MiB", "160 MiB", "192 MiB", "224 MiB", "256 MiB"]).map((s, i) => parsePages(s, `sizes[${i}]`));
  sizesPages.forEach((p: number, i: number) => {
    if (p > largePages || p < 16) throw new MemvirtError(`must be between 16 pages and largeSize (${largePages} pages)`, { where: `sizes[${i}]`, value: options.sizes?.[i] });
  });
  const footprint = parsePages(options.footprint ?? "320 MiB", "footprint");
  const o: BallooningSettings = {
    largePages,
    sizesPages,
    footprint,
    hotFraction: options.hotFraction ?? 0.3,
    hotAccessFraction: options.hotAccessFraction ?? 0.999,
    writeFraction: options.writeFraction ?? 0.3,
    warmupSeconds: options.warmupSeconds ?? 20,
    measureSeconds: options.measureSeconds ?? 20,
    balloonPagesPerSecond: options.balloonPagesPerSecond ?? 2048,
    costs: { hitNs: 10_000, ...options.costs },
    seed: options.seed ?? 1,
  };
  const hot = Math.max(1, Math.round(o.hotFraction * footprint));
  // Load the cold part first and the hot part last, so the hot pages are the most recent.
  const workload = {
    kind: "phases",
    phases: [
      { workload: { kind: "scan", pages: footprint - hot, basePage: hot, writeFraction: 1 } },
      { workload: { kind: "scan", pages: hot, writeFraction: 1 } },
      { workload: { kind: "hot-cold", pages: footprint, hotFraction: hot / footprint, hotAccessFraction: o.hotAccessFraction, writeFraction: o.writeFraction } },
    ],
  };
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
        balloon: setup === "swapped" ? false : { inflatePagesPerSecond: o.balloonPagesPerSecond },
        guest: { swap: footprint * 2 },
      });
      // As in the paper, the VM is taken down to X before the benchmark starts: an idle period
      // long enough for the balloon (nothing happens in the other setups).
      const settle = Math.ceil((largePages - sizePages) / o.balloonPagesPerSecond) + 1;
      host.run({ seconds: settle, sampleEvery: settle });
      host.setWorkload("vm", workload);
      host.run({ seconds: o.warmupSeconds, sampleEvery: o.warmupSeconds });
      const run = host.run({ seconds: o.measureSeconds, sampleEvery: o.measureSeconds });
      const v = run.summary.vms[0];
      rows.push({
        sizePages,
        sizeMiB: (sizePages * PAGE_SIZE_BYTES) / 2 ** 20,
        setup,
        configuredPages: memory,
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
