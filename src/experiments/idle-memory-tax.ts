/**
 * Waldspurger's idle memory tax experiment (OSDI 2002, Figure 6), in shape: two VMs with equal
 * shares on an overcommitted host, one idle and one active.
 *
 *   warm-up (not recorded): the idle VM touches most of its memory once, then does nothing
 *   run: the active VM's working set grows for `growSeconds`, until both VMs together want more
 *        than the host has; the reclamation policy decides who gives memory up:
 *          τ = 0     proportional share: equal shares, so an even split, and the active VM pages
 *          τ = 0.75  idle pages cost 4 active ones: the idle VM gives up memory, the active one fits
 *
 * Both VMs are sampled (Waldspurger's sampler, periods shortened from 30 s to 5 s so the lesson
 * runs in seconds; the ratios are what matter). Every τ runs from the same seed, so the VMs see
 * the same access streams; only the allocation differs.
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { Rng } from "../util/rng";
import { formatCount, parsePages, PAGE_SIZE_BYTES } from "../util/units";
import { Host } from "../host/host";
import { AccessCosts } from "../host/costs";
import { Run } from "../host/run";
import { ToucherWorkload } from "../workloads/toucher";
import { Size } from "../workloads/validate";
import { ReclamationPolicy } from "../policy/reclamation-policy";
import { WorkingSetSampler } from "../policy/working-set-sampler";
import { checkTaxRate } from "../policy/shares-per-page";

type Table = ReturnType<typeof aq.table>;

/** Options of the idle-tax comparison (all optional). */
export interface IdleTaxOptions {
  /** Tax rates to run (default [0, 0.75]); 0 is always run, as the baseline of the gain. */
  taxRates?: number[];
  /** Machine memory (default "160 MiB"). */
  hostMemory?: Size;
  /** Each VM's configured memory (default "128 MiB"). */
  vmMemory?: Size;
  /** What the idle VM touches during the warm-up (default "100 MiB"). */
  idleFootprint?: Size;
  /** The active VM's working set once grown (default "90 MiB"). */
  activeWorkingSet?: Size;
  /** Seconds over which the active working set grows from 8 MiB (default 40). */
  growSeconds?: number;
  /** Seconds measured (default 150), and between timeline samples (default 2). */
  seconds?: number;
  sampleEvery?: number;
  /** Sampling: pages per period (default 100) and period (default 5 s). */
  samplePages?: number;
  samplingPeriodSeconds?: number;
  /** Costs (default hitNs 10 µs: an operation is 10 µs of work plus a page access). */
  costs?: Partial<AccessCosts>;
  seed?: number | string;
  onProgress?: (done: number, total: number) => void;
}

/** One τ's outcome, over the second half of the run (the steady state). */
export interface IdleTaxRow {
  taxRate: number;
  /** Mean resident memory of each VM, MiB. */
  idleMiB: number;
  activeMiB: number;
  /** The active VM's operations per simulated second. */
  activeThroughput: number;
  /** Against τ = 0, in percent. */
  gainPercent: number;
  activeGuestDiskReads: number;
}

/**
 * The outcome per τ, the combined timelines, and the story.
 *
 * @example
 * const r = idleTaxComparison({ seed: 42 });
 * r.table; r.timeline; console.log(r.explain());
 */
export class IdleTaxResult {
  readonly rows: readonly IdleTaxRow[];
  /** Every run's per-VM timeline, with a `taxRate` column. */
  readonly timeline: Table;
  readonly runs: ReadonlyMap<number, Run>;

  constructor(rows: IdleTaxRow[], timeline: Table, runs: Map<number, Run>) {
    this.rows = rows;
    this.timeline = timeline;
    this.runs = runs;
  }

  /** One row per τ: memory split, the active VM's throughput and its gain. */
  get table(): Table {
    return aq.from(this.rows as IdleTaxRow[]);
  }

  /**
   * The rows (for display helpers that look for `toTable`).
   *
   * @example
   * result.toTable().numRows()
   */
  toTable(): Table {
    return this.table;
  }

  /**
   * One line per τ, then the gain.
   *
   * @example
   * console.log(result.explain());
   */
  explain(): string {
    const lines = ["Two VMs with equal shares; the idle one touched its memory once and stopped, the active one's working set grew. In the second half of each run:"];
    for (const r of this.rows) {
      const k = 1 / (1 - r.taxRate);
      lines.push(`  τ = ${r.taxRate} (an idle page costs ${+k.toFixed(2)} active ones): idle VM ${r.idleMiB.toFixed(0)} MiB, active VM ${r.activeMiB.toFixed(0)} MiB, ` +
        `${formatCount(Math.round(r.activeThroughput))} operations/s${r.taxRate === 0 ? "" : ` (${r.gainPercent >= 0 ? "+" : ""}${formatCount(Math.round(r.gainPercent))}% against τ = 0)`}, ${formatCount(r.activeGuestDiskReads)} guest disk reads.`);
    }
    return lines.join("\n");
  }
}

/**
 * Run the two-VM experiment for each τ.
 *
 * @example
 * const sweep = idleTaxComparison({ seed: 42, taxRates: [0, 0.25, 0.5, 0.75, 0.9] });
 * show(lineChart(sweep.table, { x: "taxRate", y: ["idleMiB", "activeMiB"] }));
 */
export function idleTaxComparison(options: IdleTaxOptions = {}): IdleTaxResult {
  const given = options.taxRates ?? [0, 0.75];
  if (!Array.isArray(given) || given.length === 0) throw new MemvirtError("must be a non-empty array of tax rates, e.g. [0, 0.75]", { where: "taxRates", value: given });
  given.forEach((t, i) => checkTaxRate(t, `taxRates[${i}]`));
  const taxRates = [...new Set([0, ...given])].sort((a, b) => a - b);
  const seconds = options.seconds ?? 150;
  const rows: IdleTaxRow[] = [];
  const runs = new Map<number, Run>();
  let timeline: Table | undefined;
  taxRates.forEach((taxRate, i) => {
    const { run, host } = runOne(taxRate, options);
    runs.set(taxRate, run);
    const mid = run.summary.startSeconds + seconds / 2;
    const half = run.timeline.filter(aq.escape((d: { t: number }) => d.t > mid));
    const mean = (vm: string, col: string) => {
      const v = half.filter(aq.escape((d: { vm: string }) => d.vm === vm)).array(col) as ArrayLike<number>;
      let s = 0;
      for (let k = 0; k < v.length; k++) s += v[k];
      return v.length ? s / v.length : 0;
    };
    const active = run.summary.vms.find((v) => v.name === "active")!;
    rows.push({
      taxRate,
      idleMiB: (mean("idle", "residentPages") * PAGE_SIZE_BYTES) / 2 ** 20,
      activeMiB: (mean("active", "residentPages") * PAGE_SIZE_BYTES) / 2 ** 20,
      activeThroughput: active.steadyThroughput,
      gainPercent: 0,
      activeGuestDiskReads: host.vm("active").guest.guestDiskReads,
    });
    const tagged = run.timeline.derive({ taxRate: aq.escape(() => taxRate) });
    timeline = timeline ? timeline.concat(tagged) : tagged;
    options.onProgress?.(i + 1, taxRates.length);
  });
  const base = rows[0].activeThroughput;
  for (const r of rows) r.gainPercent = base > 0 ? ((r.activeThroughput - base) / base) * 100 : 0;
  const shown = rows.filter((r) => r.taxRate === 0 || given.includes(r.taxRate));
  return new IdleTaxResult(shown, timeline!, runs);
}

function runOne(taxRate: number, o: IdleTaxOptions): { run: Run; host: Host } {
  const seed = o.seed ?? 1;
  const host = new Host({ memory: o.hostMemory ?? "160 MiB", seed, costs: { hitNs: 10_000, ...o.costs } });
  host.addVm({ name: "idle", memory: o.vmMemory ?? "128 MiB", workload: { kind: "scan", pages: o.idleFootprint ?? "100 MiB", writeFraction: 1 } });
  host.addVm({ name: "active", memory: o.vmMemory ?? "128 MiB" });
  host.addPolicy(new ReclamationPolicy({ allocation: { taxRate } }));
  host.run({ seconds: 2 }); // warm-up: the idle VM touches its memory once
  const period = o.samplingPeriodSeconds ?? 5;
  for (const vm of ["idle", "active"]) host.addPolicy(new WorkingSetSampler({ vm, samplePages: o.samplePages ?? 100, periodSeconds: period }, "samplePages"));
  const target = parsePages(o.activeWorkingSet ?? "90 MiB", "activeWorkingSet");
  const start = Math.min(target, parsePages("8 MiB", "start"));
  const growSeconds = o.growSeconds ?? 40;
  const toucher = new ToucherWorkload({ workingSetPages: start, writeFraction: 0.3 }, new Rng(seed).split("active"), "activeWorkingSet");
  host.setWorkload("active", toucher);
  const t0 = host.nowSeconds;
  for (let s = 1; s <= growSeconds; s++) {
    const pages = Math.round(start + ((target - start) * s) / growSeconds);
    host.at(t0 + s, "", () => toucher.setWorkingSetPages(pages));
  }
  const run = host.run({ seconds: o.seconds ?? 150, sampleEvery: o.sampleEvery ?? 2 });
  return { run, host };
}
