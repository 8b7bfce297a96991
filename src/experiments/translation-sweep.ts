/**
 * Comparing translation modes on the same input, and sweeping one knob to find where the
 * cheapest mode changes (shadow vs nested paging: TLB-miss-heavy vs page-table-update-heavy).
 *
 *   for each value v of the knob:           table row per (v, mode):
 *     for each mode:                          x, mode, cyclesPerAccess, programCyclesPerAccess,
 *       simulateTranslation(base + set(v))    overheadVsNative, tlbMissRate, referencesPerMiss,
 *     a native run of the same input          ptWritesPer1k, ptWritesPer1kMisses, trapsPer1k, ...
 *
 * `findCrossover` reads such a table and interpolates the x at which one mode's cost curve
 * crosses another's; `crossoverTable` finds the shadow/nested crossover for each host page size
 * and trap cost.
 *
 * Overhead vs native: every table compares each run with a native run of the same input (the
 * same workload or trace, warm-up, guest activity, TLB, walk cache, guest page tables and the
 * costs native pays). A native run among the compared ones is reused; otherwise the functions
 * run it themselves, once per distinct native configuration (`native: false` skips it, and
 * the column is NaN). overheadVsNative = programCyclesPerAccess / native's − 1: how much slower
 * the program runs, its own data accesses included, not just how much dearer translation is.
 *
 * Crossovers per TLB miss: page-table writes per 1,000 *accesses* at a crossover depend on the
 * workload's TLB miss rate (nested paging pays per miss, shadow paging per write), so a
 * crossover stated per access is an artifact of the workload. `ptWritesPer1kMisses` states it
 * per miss: the trade-off between what a write costs one mode and a miss costs the other.
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { MODE_NAMES, type ModeName } from "../virt/mode-name";
import { simulateTranslation, type SimulateTranslationOptions, type TranslationResult } from "./translation";

/** A run's options with its mode, as the compare and sweep functions build them. */
type RunOptions = SimulateTranslationOptions & { mode?: ModeName };

/**
 * Options a native run ignores (it has no host dimension, no VMM): runs differing only in these
 * share one native reference. Leaving an option out of this list only costs an extra native
 * run, never a wrong reference.
 */
const NATIVE_IGNORES = new Set(["mode", "hostLevels", "hostPageSize", "hostBacking", "nestedTlb", "trapReads", "shadowCacheSize", "p2m", "shadowPolicy", "pvPolicy", "onProgress", "onInterval", "keepIntervals", "intervalAccesses", "steadyTolerance"]);
/** Costs no native run pays (VM exits, hypercalls, VMM work, host backing, the nested TLB). */
const NATIVE_IGNORES_COSTS = new Set(["trapCycles", "hypercallCycles", "pteValidateCycles", "shadowUpdateCycles", "hiddenFaultCycles", "shadowSwitchCycles", "m2pLookupCycles", "unsyncCycles", "resyncEntryCycles", "unshadowCycles", "eptViolationCycles", "hostPageZeroCycles", "nestedTlbHitCycles"]);

/**
 * Native references for a set of runs: `key` names a run's native configuration, `result` gives
 * (after `runMissing`) the native result for a key.
 */
class NativeReferences {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly results = new Map<string, TranslationResult>();
  private readonly wanted = new Map<string, RunOptions>();

  /** A canonical text of the options a native run of `options` would depend on. */
  key(options: RunOptions): string {
    const canonical = (value: unknown, path: string): unknown => {
      if (typeof value === "function") return undefined;
      if (typeof value !== "object" || value === null) return value;
      // A trace or workload object is an input of its own: named by identity, not content.
      if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) {
        if (!this.ids.has(value)) this.ids.set(value, this.nextId++);
        return `#${this.ids.get(value)}`;
      }
      if (Array.isArray(value)) return value.map((v, i) => canonical(v, `${path}[${i}]`));
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(value).sort()) {
        if (path === "" && NATIVE_IGNORES.has(k)) continue;
        if (path === "costs" && NATIVE_IGNORES_COSTS.has(k)) continue;
        out[k] = canonical((value as Record<string, unknown>)[k], path === "" ? k : `${path}.${k}`);
      }
      return out;
    };
    return JSON.stringify(canonical(options, ""));
  }

  /** Note that `options` needs a reference; a native run among the compared ones is one. */
  want(options: RunOptions): string {
    const key = this.key(options);
    if (!this.wanted.has(key) || options.mode === "native") this.wanted.set(key, options);
    return key;
  }

  /** Keys still without a native result, if every wanted run were done. */
  missing(): string[] {
    return [...this.wanted.entries()].filter(([key, o]) => o.mode !== "native" && !this.results.has(key)).map(([key]) => key);
  }

  /** Record a finished run: a native one is its key's reference. */
  record(options: RunOptions, result: TranslationResult): void {
    if (options.mode === "native") {
      const key = this.key(options);
      if (!this.results.has(key)) this.results.set(key, result);
    }
  }

  /** Run the references no compared run provided. */
  runMissing(onRun: () => void): void {
    for (const key of this.missing()) {
      const { onProgress: _p, onInterval: _i, ...options } = this.wanted.get(key)!;
      void _p; void _i;
      this.results.set(key, simulateTranslation({ ...options, mode: "native" }));
      onRun();
    }
  }

  /** overheadVsNative for a result whose native configuration is `key` (NaN without one). */
  overhead(key: string | undefined, result: TranslationResult): number {
    const native = key === undefined ? undefined : this.results.get(key);
    if (native === undefined) return NaN;
    const base = native.totals.programCyclesPerAccess;
    return base > 0 ? result.totals.programCyclesPerAccess / base - 1 : NaN;
  }
}

/** One row per (knob value, mode). */
function row(x: number, result: TranslationResult, overheadVsNative: number): Record<string, number | string | boolean> {
  const t = result.totals;
  const per1k = (n: number) => (t.accesses ? (1000 * n) / t.accesses : 0);
  return {
    x,
    mode: result.settings.mode,
    cyclesPerAccess: t.cyclesPerAccess,
    programCyclesPerAccess: t.programCyclesPerAccess,
    overheadVsNative,
    tlbMissRate: t.tlbMissRate,
    referencesPerMiss: t.referencesPerMiss,
    ptWritesPer1k: per1k(t.ptWrites),
    ptWritesPer1kMisses: t.tlbMisses ? (1000 * t.ptWrites) / t.tlbMisses : 0,
    trapsPer1k: per1k(t.traps.total),
    hiddenFaultsPer1k: per1k(t.hiddenFaults),
    cyclesTranslationPerAccess: t.accesses ? t.cyclesTranslation / t.accesses : 0,
    cyclesVmmPerAccess: t.accesses ? t.cyclesVmm / t.accesses : 0,
    cyclesGuestPerAccess: t.accesses ? t.cyclesGuest / t.accesses : 0,
    halfDifference: t.halfDifference,
    steady: t.steady,
  };
}

/**
 * Run a list of option sets, native references included, and build one row per run.
 * `label(i)` puts extra columns first (e.g. the setup's name).
 */
function runAll(runs: Array<{ x: number; options: RunOptions; label?: Record<string, string> }>, native: boolean, onProgress?: (done: number, total: number) => void): { results: TranslationResult[]; rows: Array<Record<string, number | string | boolean>> } {
  const refs = new NativeReferences();
  const keys = runs.map((r) => (native ? refs.want(r.options) : undefined));
  const total = runs.length + refs.missing().length;
  let done = 0;
  const results = runs.map((r) => {
    const result = simulateTranslation(r.options);
    refs.record(r.options, result);
    onProgress?.(++done, total);
    return result;
  });
  if (native) refs.runMissing(() => onProgress?.(++done, total));
  const rows = runs.map((r, i) => ({ ...r.label, ...row(r.x, results[i], refs.overhead(keys[i], results[i])) }));
  return { results, rows };
}

/**
 * Run the same input under several modes. Returns each result and a table with one row per
 * mode (x = 0), with overhead vs a native run of the same input (`native: false` skips it).
 *
 * @example
 * const { table } = compareTranslationModes({ modes: ["protected", "shadow", "nested"], workload: { kind: "zipf", pages: 8192, exponent: 0.8 }, accesses: 100000 });
 * table.select("mode", "cyclesPerAccess", "programCyclesPerAccess", "overheadVsNative", "steady")
 */
export function compareTranslationModes(options: Omit<SimulateTranslationOptions, "mode"> & { modes?: ModeName[]; native?: boolean }): { results: Partial<Record<ModeName, TranslationResult>>; table: aq.ColumnTable } {
  const { modes = ["protected", "shadow", "nested"], native = true, ...base } = options;
  checkModes(modes);
  const { results: list, rows } = runAll(modes.map((mode) => ({ x: 0, options: { ...base, mode } })), native);
  const results: Partial<Record<ModeName, TranslationResult>> = {};
  modes.forEach((mode, i) => { results[mode] = list[i]; });
  return { results, table: aq.from(rows) };
}

/**
 * Run named setups (each a set of option overrides on a shared base) on the same input.
 * Returns each result and a table with one row per setup: setup, mode, cyclesPerAccess,
 * programCyclesPerAccess, overheadVsNative, ..., halfDifference, steady. The native reference
 * runs count in `onProgress`; `{ native: false }` skips them.
 *
 * @example
 * const { table } = compareTranslation({ trace, mode: "nested", tlb: { entries: 16, ways: 16 } }, {
 *   "no caches": {}, "UPTC": { pwc: "uptc" }, "STC + nested TLB": { pwc: "stc", nestedTlb: true },
 * });
 */
export function compareTranslation(base: SimulateTranslationOptions, setups: Record<string, Partial<SimulateTranslationOptions>>, onProgress?: (done: number, total: number) => void, options: { native?: boolean } = {}): { results: Record<string, TranslationResult>; table: aq.ColumnTable } {
  const names = Object.keys(setups);
  if (names.length === 0) throw new MemvirtError("expected at least one setup", { where: "setups", value: setups });
  const runs = names.map((name) => {
    const o = setups[name];
    return { x: 0, options: merge(base, o), label: { setup: name } };
  });
  const { results: list, rows } = runAll(runs, options.native ?? true, onProgress);
  const results: Record<string, TranslationResult> = {};
  names.forEach((name, i) => { results[name] = list[i]; });
  return { results, table: aq.from(rows).select(aq.not("x")) };
}

/** Options of `sweepTranslation`. */
export interface TranslationSweepOptions {
  /** Options shared by every run (mode excluded). */
  base: Omit<SimulateTranslationOptions, "mode">;
  /** Modes to compare (default protected, shadow, nested). Ignored when `setups` is given. */
  modes?: ModeName[];
  /**
   * Named setups to compare instead of bare modes, each a set of overrides that names its mode,
   * e.g. two variants of one mode side by side. Rows then carry a `setup` column, which
   * `findCrossover(t, { …, mode: "setup" })` reads.
   */
  setups?: Record<string, Partial<SimulateTranslationOptions> & { mode: ModeName }>;
  /** Values of the knob, in increasing order. */
  values: number[];
  /** Option overrides for one knob value, e.g. `(v) => ({ guest: { unmapEvery: v } })`. */
  set: (value: number) => Partial<SimulateTranslationOptions>;
  /** Run a native reference per knob value for `overheadVsNative` (default true; false leaves it NaN). */
  native?: boolean;
  /** Progress: runs done out of runs in total (native references included). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Sweep one knob across modes. Returns a table with one row per (value, mode): x, mode,
 * cyclesPerAccess, programCyclesPerAccess, overheadVsNative, tlbMissRate, referencesPerMiss,
 * ptWritesPer1k, ptWritesPer1kMisses, trapsPer1k, ..., halfDifference, steady.
 *
 * @example
 * const t = sweepTranslation({ base, values: [0, 1000, 100, 20], set: (v) => ({ guest: { unmapEvery: v } }) });
 * // two variants of protected paging beside nested, one row per (value, setup):
 * const v = sweepTranslation({ base, values: [0, 100], set: (u) => ({ guest: { unmapEvery: u } }),
 *   setups: { "protected, reads trap": { mode: "protected", trapReads: true }, nested: { mode: "nested" } } });
 */
export function sweepTranslation(options: TranslationSweepOptions): aq.ColumnTable {
  const { base, modes = ["protected", "shadow", "nested"], setups, values, set, native = true, onProgress } = options;
  const variants: Array<[string | undefined, Partial<SimulateTranslationOptions> & { mode: ModeName }]> = setups === undefined
    ? (checkModes(modes), modes.map((mode) => [undefined, { mode }]))
    : checkSetups(setups);
  if (!Array.isArray(values) || values.length === 0) throw new MemvirtError("expected a non-empty array of numbers", { where: "values", value: values });
  const runs = values.flatMap((v) => {
    const overrides = set(v);
    return variants.map(([name, setup]) => ({
      x: v,
      options: merge(base, overrides, setup),
      label: name === undefined ? undefined : { setup: name },
    }));
  });
  return aq.from(runAll(runs, native, onProgress).rows);
}

/**
 * Where do two modes' cost curves cross? Pairs the rows of `a` and `b` run at the same knob
 * value (the `x` column, when the table has one; otherwise in order of `options.x`), orders
 * the pairs along `options.x` (the mean of the two rows), and interpolates linearly between
 * the two points around the first sign change of (y_a − y_b). Returns null when they never
 * cross. Ordering along the axis, not the knob, matters: a knob such as unmapEvery runs the
 * other way from the page-table writes it causes, and 0 (never) sits at the low end of both.
 *
 * @example
 * findCrossover(table, { x: "ptWritesPer1kMisses", y: "cyclesPerAccess", a: "shadow", b: "nested" })
 */
export function findCrossover(table: aq.ColumnTable, options: { x: string; y: string; a: string; b: string; mode?: string }): number | null {
  const modeCol = options.mode ?? "mode";
  const { x, y } = options;
  const pick = (m: string) => table.filter(aq.escape((d: Record<string, unknown>) => d[modeCol] === m)).objects() as Array<Record<string, number>>;
  const a = pick(options.a);
  const b = pick(options.b);
  let pairs: Array<[Record<string, number>, Record<string, number>]>;
  if (table.columnNames().includes("x")) {
    const byKnob = new Map(b.map((r) => [r.x, r]));
    pairs = a.filter((r) => byKnob.has(r.x)).map((r) => [r, byKnob.get(r.x)!]);
  } else {
    const along = (rows: Array<Record<string, number>>) => [...rows].sort((p, q) => p[x] - q[x]);
    const sa = along(a);
    const sb = along(b);
    pairs = sa.slice(0, Math.min(sa.length, sb.length)).map((r, i) => [r, sb[i]]);
  }
  const at = (p: [Record<string, number>, Record<string, number>]) => (p[0][x] + p[1][x]) / 2;
  pairs.sort((p, q) => at(p) - at(q));
  for (let i = 1; i < pairs.length; i++) {
    const d0 = pairs[i - 1][0][y] - pairs[i - 1][1][y];
    const d1 = pairs[i][0][y] - pairs[i][1][y];
    if (d0 === 0) return at(pairs[i - 1]);
    if (Math.sign(d0) !== Math.sign(d1)) {
      const x0 = at(pairs[i - 1]);
      const x1 = at(pairs[i]);
      return x0 + (x1 - x0) * (d0 / (d0 - d1));
    }
  }
  return null;
}

/** Options of `crossoverTable`. */
export interface CrossoverTableOptions {
  /** Options shared by every run (mode excluded); `hostPageSize` and `costs.trapCycles` are set per row. */
  base: Omit<SimulateTranslationOptions, "mode">;
  /** The mode that pays per page-table write (default `{ mode: "shadow" }`). */
  a?: Partial<SimulateTranslationOptions> & { mode: ModeName };
  /** The mode that pays per TLB miss (default `{ mode: "nested" }`). */
  b?: Partial<SimulateTranslationOptions> & { mode: ModeName };
  /** Host page sizes, one group of rows each (default ["4K", "2M"]). */
  hostPageSizes?: string[];
  /** VM-exit prices (`costs.trapCycles`), one row each per host page size (default: base's, or 1,200). */
  trapCycles?: number[];
  /** Knob values that drive page-table writes (default [0, 1000, 300, 100, 50, 25], unmap intervals). */
  values?: number[];
  /** Overrides for one knob value (default `(v) => ({ guest: { unmapEvery: v } })`). */
  set?: (value: number) => Partial<SimulateTranslationOptions>;
  /** Progress: runs done out of runs in total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The a/b crossover (shadow vs nested by default) for every host page size × trap cost: one
 * row each with hostPageSize, trapCycles, the TLB miss rate and b's references per miss (at the
 * first knob value), and the crossover in page-table writes per 1,000 misses
 * (`crossoverPtWritesPer1kMisses`) and per 1,000 accesses (`crossoverPtWritesPer1k`); null
 * where the curves never cross over the swept range. A row's numbers come from a
 * `sweepTranslation` of `values` (no native runs).
 *
 * @example
 * crossoverTable({ base: { pwc: "stc", nestedTlb: true, workload: { kind: "uniform", pages: 4096 }, accesses: 100_000, warmupAccesses: 60_000 },
 *   hostPageSizes: ["4K", "2M"], trapCycles: [600, 1200, 2500] })
 */
export function crossoverTable(options: CrossoverTableOptions): aq.ColumnTable {
  const { base, a = { mode: "shadow" }, b = { mode: "nested" }, hostPageSizes = ["4K", "2M"], values = [0, 1000, 300, 100, 50, 25], set = (v: number) => ({ guest: { unmapEvery: v } }), onProgress } = options;
  const trapCycles = options.trapCycles ?? [base.costs?.trapCycles ?? 1200];
  if (!Array.isArray(hostPageSizes) || hostPageSizes.length === 0) throw new MemvirtError("expected a non-empty array of page sizes", { where: "hostPageSizes", value: hostPageSizes });
  if (!Array.isArray(trapCycles) || trapCycles.length === 0) throw new MemvirtError("expected a non-empty array of cycle counts", { where: "trapCycles", value: options.trapCycles });
  for (const [name, setup] of [["a", a], ["b", b]] as const) {
    if (!(MODE_NAMES as readonly string[]).includes(setup?.mode as string)) throw new MemvirtError(`expected a mode from ${MODE_NAMES.join(", ")}`, { where: `${name}.mode`, value: setup?.mode });
  }
  const total = hostPageSizes.length * trapCycles.length * values.length * 2;
  let before = 0;
  const rows: Array<Record<string, number | string | null>> = [];
  for (const hostPageSize of hostPageSizes) {
    for (const trap of trapCycles) {
      const setting = { ...base, hostPageSize, costs: { ...base.costs, trapCycles: trap } };
      const sweep = sweepTranslation({
        base: setting, values, set, native: false,
        // The setting's trap price wins over a setup's own costs.
        setups: { a: { ...a, costs: { ...a.costs, trapCycles: trap } }, b: { ...b, costs: { ...b.costs, trapCycles: trap } } },
        onProgress: onProgress === undefined ? undefined : (done) => onProgress(before + done, total),
      });
      before += values.length * 2;
      const first = (sweep.objects() as Array<Record<string, number | string>>).find((r) => r.setup === "b")!;
      const cross = (axis: string) => findCrossover(sweep, { x: axis, y: "cyclesPerAccess", a: "a", b: "b", mode: "setup" });
      rows.push({
        hostPageSize, trapCycles: trap,
        tlbMissRate: first.tlbMissRate as number,
        referencesPerMiss: first.referencesPerMiss as number,
        crossoverPtWritesPer1kMisses: cross("ptWritesPer1kMisses"),
        crossoverPtWritesPer1k: cross("ptWritesPer1k"),
      });
    }
  }
  return aq.from(rows);
}

/**
 * Layers of options, later ones winning; `guest` and `costs` merge key by key, so a setup that
 * changes one cost or one guest knob keeps the others of the base.
 */
function merge(...layers: Array<Partial<SimulateTranslationOptions>>): RunOptions {
  const out = Object.assign({}, ...layers) as RunOptions;
  if (layers.some((l) => l.guest !== undefined)) out.guest = Object.assign({}, ...layers.map((l) => l.guest));
  if (layers.some((l) => l.costs !== undefined)) out.costs = Object.assign({}, ...layers.map((l) => l.costs));
  return out;
}

function checkSetups(setups: unknown): Array<[string, Partial<SimulateTranslationOptions> & { mode: ModeName }]> {
  if (typeof setups !== "object" || setups === null || Object.keys(setups).length === 0) throw new MemvirtError("expected an object of named setups", { where: "setups", value: setups });
  return Object.entries(setups as Record<string, Partial<SimulateTranslationOptions>>).map(([name, setup]) => {
    if (!(MODE_NAMES as readonly string[]).includes(setup?.mode as string)) throw new MemvirtError(`expected a mode from ${MODE_NAMES.join(", ")}`, { where: `setups["${name}"].mode`, value: setup?.mode });
    return [name, setup as Partial<SimulateTranslationOptions> & { mode: ModeName }];
  });
}

function checkModes(modes: unknown): void {
  if (!Array.isArray(modes) || modes.length === 0 || modes.some((m) => !(MODE_NAMES as readonly string[]).includes(m))) {
    throw new MemvirtError(`expected a non-empty list of modes from ${MODE_NAMES.join(", ")}`, { where: "modes", value: modes });
  }
}
