/**
 * Working-set estimation experiments (notebook 04), each against the host's exact ground truth.
 *
 *   workingSetSteps     a toucher whose working set steps up and down; the sampler's slow, fast
 *                       and max estimates beside the truth (Waldspurger's Figure 5, in shape)
 *   samplingAccuracy    the error of f = t/n against the truth, period by period, over seeds and
 *                       sample sizes n: its mean (the bias) and spread (√(f(1−f)/n))
 *   compareEstimators   sampling and DAMON-style regions on the same steps: accuracy and cost
 *                       (pages checked, traps, VM time) per period, in the same units
 *
 * Timing: each period of an estimator ends at a host tick, where the timeline samples too (with
 * `sampleEvery` = the period), so the timeline row at the period's end holds that period's truth.
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { Rng } from "../util/rng";
import { parsePages } from "../util/units";
import { Host } from "../host/host";
import { AccessCosts } from "../host/costs";
import { Run } from "../host/run";
import { ToucherWorkload } from "../workloads/toucher";
import { Size } from "../workloads/validate";
import { lineChart, ChartOptions, ColumnTable } from "../display/charts";
import { Figure } from "../display/figure";
import { WorkingSetSampler } from "../policy/working-set-sampler";
import { createEstimator, EstimatorOptions } from "../policy/estimator-options";
import { EstimatorPeriod, VmEstimator } from "../policy/vm-estimator";

type Table = ReturnType<typeof aq.table>;

/** A change of the toucher's working set at a time (seconds). */
export interface WorkingSetStep {
  at: number;
  workingSet: Size;
}

/** Options of the stepping-toucher run (all optional). */
export interface WorkingSetStepsOptions {
  /** The VM's configured memory (default "256 MiB"). */
  vmMemory?: Size;
  /** The working set at t = 0 (default "64 MiB"). */
  workingSet?: Size;
  /** Later changes (default: 192 MiB at 300 s, 32 MiB at 600 s, 128 MiB at 1200 s). */
  steps?: WorkingSetStep[];
  /** Simulated seconds (default 1,500). */
  seconds?: number;
  /** Pages sampled per period (default 100). */
  samplePages?: number;
  /** Sampling period in seconds (default 30). */
  periodSeconds?: number;
  /** Seconds between the rows of `estimates` (default 5). */
  resolutionSeconds?: number;
  /** Cost overrides (default hitNs 100 µs: 10,000 accesses a second, enough to touch a working set within a period). */
  costs?: Partial<AccessCosts>;
  seed?: number | string;
}

/** The stepping-toucher run. */
export interface WorkingSetStepsResult {
  run: Run;
  sampler: WorkingSetSampler;
  memoryPages: number;
  /**
   * Long form for plotting: t, series ("truth", "slow", "fast", "fast + current", "estimate"),
   * percent (of the VM's memory). The truth is the pages touched in each period, at its end.
   */
  estimates: Table;
  /** One row per period: t, truthPercent, sampledPercent (t/n), slowPercent, fastPercent, estimatePercent. */
  periods: Table;
}

const DEFAULT_STEPS: WorkingSetStep[] = [
  { at: 300, workingSet: "192 MiB" },
  { at: 600, workingSet: "32 MiB" },
  { at: 1200, workingSet: "128 MiB" },
];

/**
 * A VM whose toucher's working set steps up and down, sampled by Waldspurger's sampler; the
 * estimates every `resolutionSeconds`, and the truth of each period.
 *
 * @example
 * const r = workingSetSteps({ seed: 42 });
 * show(lineChart(r.estimates, { x: "t", y: "percent", color: "series" }));
 */
export function workingSetSteps(options: WorkingSetStepsOptions = {}): WorkingSetStepsResult {
  const seed = options.seed ?? 1;
  const period = options.periodSeconds ?? 30;
  const seconds = options.seconds ?? 1500;
  const resolution = options.resolutionSeconds ?? 5;
  const host = new Host({ memory: parsePages(options.vmMemory ?? "256 MiB", "vmMemory") * 2, seed, costs: { hitNs: 100_000, ...options.costs } });
  const toucher = new ToucherWorkload({ workingSetPages: options.workingSet ?? "64 MiB", writeFraction: 0.2 }, new Rng(seed).split("toucher"), "workingSet");
  const vm = host.addVm({ name: "toucher", memory: options.vmMemory ?? "256 MiB", workload: toucher });
  const sampler = new WorkingSetSampler({ vm: "toucher", samplePages: options.samplePages ?? 100, periodSeconds: period }, "samplePages");
  host.addPolicy(sampler);
  for (const [i, step] of (options.steps ?? DEFAULT_STEPS).entries()) {
    const pages = parsePages(step.workingSet, `steps[${i}].workingSet`);
    host.at(step.at, `the working set becomes ${step.workingSet}${typeof step.workingSet === "number" ? " pages" : ""}`, () => toucher.setWorkingSetPages(pages));
  }
  const P = vm.memoryPages;
  const snaps: Array<{ t: number; series: string; percent: number }> = [];
  for (let t = resolution; t < seconds; t += resolution) {
    host.at(t, "", () => {
      const s = sampler.snapshot();
      if (!s) return;
      const now = Math.round(host.nowSeconds * 1e6) / 1e6;
      snaps.push({ t: now, series: "slow", percent: s.slow * 100 }, { t: now, series: "fast", percent: s.fast * 100 },
        { t: now, series: "fast + current", percent: s.fastCurrent * 100 }, { t: now, series: "estimate", percent: s.estimate * 100 });
    });
  }
  const run = host.run({ seconds, sampleEvery: period });
  const truth = truthByTime(run);
  const rows = sampler.periods.map((p) => ({
    t: p.t,
    truthPercent: ((truth.get(p.t) ?? NaN) / P) * 100,
    sampledPercent: p.periodFraction * 100,
    slowPercent: p.slow! * 100,
    fastPercent: p.fast! * 100,
    estimatePercent: p.estimate * 100,
  }));
  const truthRows = [...truth.entries()].map(([t, pages]) => ({ t, series: "truth", percent: (pages / P) * 100 }));
  return { run, sampler, memoryPages: P, estimates: aq.from([...truthRows, ...snaps]), periods: aq.from(rows) };
}

/** Pages touched per timeline interval, by the interval's end time (one VM). */
function truthByTime(run: Run, vm?: string): Map<number, number> {
  const t = run.timeline.array("t") as ArrayLike<number>;
  const v = run.timeline.array("vm") as ArrayLike<string>;
  const pages = run.timeline.array("trueActivePages") as ArrayLike<number>;
  const out = new Map<number, number>();
  for (let i = 0; i < t.length; i++) if (vm === undefined || v[i] === vm) out.set(t[i], pages[i]);
  return out;
}

/** Options of the accuracy sweep (all optional). */
export interface SamplingAccuracyOptions {
  /** Sample sizes n (default 10, 30, 100, 300, 1000). */
  samplePages?: number[];
  /** Seeds per n (default 20). */
  seeds?: number;
  /** Periods measured per seed (default 5). */
  periods?: number;
  /** The VM's memory (default "64 MiB") and its toucher's working set (default "25 MiB"). */
  vmMemory?: Size;
  workingSet?: Size;
  /** Sampling period (default 1 s). */
  periodSeconds?: number;
  /** Costs (default hitNs 50 µs). */
  costs?: Partial<AccessCosts>;
  seed?: number | string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * For each n: the sampled fraction's error against the truth over seeds × periods: meanError
 * (bias), sdError (spread), expectedSd = √(f(1−f)/n · (P−n)/(P−1)), all in percent of memory.
 *
 * @example
 * const acc = samplingAccuracy({ seed: 42 });
 * show(accuracyChart(acc));
 */
export function samplingAccuracy(options: SamplingAccuracyOptions = {}): Table {
  const ns = options.samplePages ?? [10, 30, 100, 300, 1000];
  const seeds = options.seeds ?? 20;
  const periods = options.periods ?? 5;
  const period = options.periodSeconds ?? 1;
  const base = options.seed ?? 1;
  if (!Number.isInteger(seeds) || seeds < 2) throw new MemvirtError("must be a whole number, at least 2 (a spread needs two runs)", { where: "seeds", value: seeds });
  const rows = [];
  let done = 0;
  for (const n of ns) {
    const errors: number[] = [];
    let fq = 0;
    let P = 0;
    for (let s = 0; s < seeds; s++) {
      const host = new Host({ memory: parsePages(options.vmMemory ?? "64 MiB", "vmMemory") * 2, seed: `${base}:${n}:${s}`, costs: { hitNs: 50_000, ...options.costs } });
      const vm = host.addVm({ name: "toucher", memory: options.vmMemory ?? "64 MiB", workload: { kind: "toucher", workingSetPages: options.workingSet ?? "25 MiB" } });
      const sampler = new WorkingSetSampler({ vm: "toucher", samplePages: n, periodSeconds: period }, "samplePages");
      host.addPolicy(sampler);
      const run = host.run({ seconds: period * (periods + 1), sampleEvery: period });
      const truth = truthByTime(run);
      P = vm.memoryPages;
      for (const p of sampler.periods) {
        const f = (truth.get(p.t) ?? NaN) / P;
        errors.push(p.periodFraction - f);
        fq += f * (1 - f);
      }
      options.onProgress?.(++done, ns.length * seeds);
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((a, b) => a + (b - mean) ** 2, 0) / (errors.length - 1));
    const nEff = Math.min(n, P);
    rows.push({
      samplePages: n,
      estimates: errors.length,
      meanErrorPercent: mean * 100,
      sdErrorPercent: sd * 100,
      expectedSdPercent: Math.sqrt(((fq / errors.length) / nEff) * ((P - nEff) / Math.max(1, P - 1))) * 100,
      maxAbsErrorPercent: Math.max(...errors.map(Math.abs)) * 100,
    });
  }
  return aq.from(rows);
}

/**
 * A line chart of a column with ± error bars from another (one trace per colour value).
 *
 * @example
 * show(errorBarChart(acc, { x: "samplePages", y: "meanErrorPercent", error: "sdErrorPercent", logX: true }));
 */
export function errorBarChart(table: ColumnTable, options: ChartOptions & { y: string; error: string }): Figure {
  const fig = lineChart(table, options);
  const err = table.array(options.error);
  const colors = options.color ? table.array(options.color) : undefined;
  for (const trace of fig.data) {
    const values: unknown[] = [];
    for (let i = 0; i < table.numRows(); i++) if (!colors || String(colors[i]) === trace.name) values.push(err[i]);
    trace.error_y = { type: "data", array: values, visible: true };
  }
  return fig;
}

/**
 * The accuracy sweep as a chart: the mean error with ± one standard deviation, and the
 * theoretical spread √(f(1−f)/n), against n on a log axis.
 *
 * @example
 * show(accuracyChart(samplingAccuracy({ seed: 42 })));
 */
export function accuracyChart(table: Table): Figure {
  const long = table.derive({ upper: (d: { expectedSdPercent: number }) => d.expectedSdPercent, lower: (d: { expectedSdPercent: number }) => -d.expectedSdPercent });
  const fig = errorBarChart(long, { x: "samplePages", y: "meanErrorPercent", error: "sdErrorPercent", logX: true, title: "Sampled f − true f, over seeds and periods (± one standard deviation)", xTitle: "pages sampled per period (n)", yTitle: "error", yUnit: "% of memory", markers: true });
  const theory = lineChart(long, { x: "samplePages", y: ["upper", "lower"], logX: true });
  for (const t of theory.data) {
    t.name = t.name === "upper" ? "± √(f(1−f)/n)" : "";
    t.showlegend = t.name !== "";
    t.line = { color: "#888", dash: "dot" };
    t.mode = "lines";
    t.legendgroup = "theory";
    fig.data.push(t);
  }
  fig.data[0].name = "mean error ± sd";
  fig.data[0].showlegend = true;
  return fig;
}

/** One estimator to compare: a label and the VM's `sampling` options. */
export interface EstimatorSetup {
  label: string;
  sampling: EstimatorOptions;
}

/** Options of the estimator comparison (all optional). */
export interface CompareEstimatorsOptions extends Omit<WorkingSetStepsOptions, "samplePages" | "resolutionSeconds"> {
  // costs: default hitNs 200 µs here (5,000 accesses a second: a 192 MiB working set is still
  // 95% touched each 30 s period, and the truth counts exactly what was).
  /** The estimators (default: sampling n = 100 and n = 1,000; DAMON with 10–1,000 and 10–100 regions). */
  setups?: EstimatorSetup[];
  /** Seeds per estimator (default 1). */
  seeds?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Each estimator on the stepping toucher: per period, its own measurement against the truth, and
 * what it cost. `summary` has one row per estimator: meanAbsErrorPercent, pagesCheckedPerPeriod,
 * trapsPerPeriod, overheadPercent (VM time in sampling traps); `periods` every period.
 *
 * @example
 * const cmp = compareEstimators({ seed: 42 });
 * show(cmp.summary);
 */
export function compareEstimators(options: CompareEstimatorsOptions = {}): { summary: Table; periods: Table } {
  const period = options.periodSeconds ?? 30;
  const setups = options.setups ?? [
    { label: "sampling, n = 100", sampling: { samplePages: 100, periodSeconds: period } },
    { label: "sampling, n = 1,000", sampling: { samplePages: 1000, periodSeconds: period } },
    { label: "DAMON, 10–1,000 regions", sampling: { estimator: "damon", periodSeconds: period } },
    { label: "DAMON, 10–100 regions", sampling: { estimator: "damon", periodSeconds: period, maxRegions: 100 } },
  ] as EstimatorSetup[];
  const seeds = options.seeds ?? 1;
  const seconds = options.seconds ?? 1500;
  const all: Array<EstimatorPeriod & { label: string; seed: string; truthPercent: number; errorPercent: number; traps: number; overheadPercent: number }> = [];
  let done = 0;
  for (const setup of setups) {
    for (let s = 0; s < seeds; s++) {
      const seed = `${options.seed ?? 1}:${s}`;
      const memory = options.vmMemory ?? "256 MiB";
      const host = new Host({ memory: parsePages(memory, "vmMemory") * 2, seed, costs: { hitNs: 200_000, ...options.costs } });
      const toucher = new ToucherWorkload({ workingSetPages: options.workingSet ?? "64 MiB", writeFraction: 0.2 }, new Rng(seed).split("toucher"), "workingSet");
      const vm = host.addVm({ name: "toucher", memory, workload: toucher });
      const estimator = createEstimator("toucher", setup.sampling, `setups[${setups.indexOf(setup)}].sampling`) as VmEstimator;
      host.addPolicy(estimator);
      for (const [i, step] of (options.steps ?? DEFAULT_STEPS).entries()) {
        const pages = parsePages(step.workingSet, `steps[${i}].workingSet`);
        host.at(step.at, "", () => toucher.setWorkingSetPages(pages));
      }
      const run = host.run({ seconds, sampleEvery: period });
      const truth = truthByTime(run);
      const traps = new Map<number, number>();
      const overhead = new Map<number, number>();
      const t = run.timeline.array("t") as ArrayLike<number>;
      const trapCol = run.timeline.array("trapFaults") as ArrayLike<number>;
      const ovCol = run.timeline.array("samplingOverheadFraction") as ArrayLike<number>;
      for (let i = 0; i < t.length; i++) {
        traps.set(t[i], trapCol[i]);
        overhead.set(t[i], ovCol[i]);
      }
      for (const p of estimator.periods) {
        const truthPercent = ((truth.get(p.t) ?? NaN) / vm.memoryPages) * 100;
        all.push({ ...p, label: setup.label, seed, truthPercent, errorPercent: p.periodFraction * 100 - truthPercent, traps: traps.get(p.t) ?? NaN, overheadPercent: (overhead.get(p.t) ?? NaN) * 100 });
      }
      options.onProgress?.(++done, setups.length * seeds);
    }
  }
  const periods = aq.from(all);
  const summary = aq.from(setups.map((setup) => {
    const rows = all.filter((r) => r.label === setup.label);
    const mean = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0) / Math.max(1, rows.length);
    return {
      estimator: setup.label,
      periods: rows.length,
      meanAbsErrorPercent: mean((r) => Math.abs(r.errorPercent)),
      pagesCheckedPerPeriod: mean((r) => r.pagesChecked),
      trapsPerPeriod: mean((r) => r.traps),
      overheadPercent: mean((r) => r.overheadPercent),
    };
  }));
  return { summary, periods };
}
