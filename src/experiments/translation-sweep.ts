/**
 * Comparing translation modes on the same input, and sweeping one knob to find where the
 * cheapest mode changes (shadow vs nested paging: TLB-miss-heavy vs page-table-update-heavy).
 *
 *   for each value v of the knob:           table row per (v, mode):
 *     for each mode:                          x, mode, cyclesPerAccess, tlbMissRate,
 *       simulateTranslation(base + set(v))    referencesPerMiss, ptWritesPer1k, trapsPer1k
 *
 * `findCrossover` reads such a table and interpolates the x at which one mode's cost curve
 * crosses another's.
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { MODE_NAMES, type ModeName } from "../virt/mode-name";
import { simulateTranslation, type SimulateTranslationOptions, type TranslationResult } from "./translation";

/** One row per (knob value, mode). */
function row(x: number, result: TranslationResult): Record<string, number | string> {
  const t = result.totals;
  const per1k = (n: number) => (t.accesses ? (1000 * n) / t.accesses : 0);
  return {
    x,
    mode: result.settings.mode,
    cyclesPerAccess: t.cyclesPerAccess,
    tlbMissRate: t.tlbMissRate,
    referencesPerMiss: t.referencesPerMiss,
    ptWritesPer1k: per1k(t.ptWrites),
    trapsPer1k: per1k(t.traps.total),
    hiddenFaultsPer1k: per1k(t.hiddenFaults),
    cyclesTranslationPerAccess: t.accesses ? t.cyclesTranslation / t.accesses : 0,
    cyclesVmmPerAccess: t.accesses ? t.cyclesVmm / t.accesses : 0,
    cyclesGuestPerAccess: t.accesses ? t.cyclesGuest / t.accesses : 0,
  };
}

/**
 * Run the same input under several modes. Returns each result and a table with one row per
 * mode (x = 0).
 *
 * @example
 * const { table } = compareTranslationModes({ modes: ["protected", "shadow", "nested"], workload: { kind: "zipf", pages: 8192, exponent: 0.8 }, accesses: 100000 });
 */
export function compareTranslationModes(options: Omit<SimulateTranslationOptions, "mode"> & { modes?: ModeName[] }): { results: Partial<Record<ModeName, TranslationResult>>; table: aq.ColumnTable } {
  const { modes = ["protected", "shadow", "nested"], ...base } = options;
  checkModes(modes);
  const results: Partial<Record<ModeName, TranslationResult>> = {};
  const rows = modes.map((mode) => {
    const r = simulateTranslation({ ...base, mode });
    results[mode] = r;
    return row(0, r);
  });
  return { results, table: aq.from(rows) };
}

/**
 * Run named setups (each a set of option overrides on a shared base) on the same input.
 * Returns each result and a table with one row per setup: setup, mode, cyclesPerAccess, ...
 *
 * @example
 * const { table } = compareTranslation({ trace, mode: "nested", tlb: { entries: 16, ways: 16 } }, {
 *   "no caches": {}, "UPTC": { pwc: "uptc" }, "STC + nested TLB": { pwc: "stc", nestedTlb: true },
 * });
 */
export function compareTranslation(base: SimulateTranslationOptions, setups: Record<string, Partial<SimulateTranslationOptions>>, onProgress?: (done: number, total: number) => void): { results: Record<string, TranslationResult>; table: aq.ColumnTable } {
  const names = Object.keys(setups);
  if (names.length === 0) throw new MemvirtError("expected at least one setup", { where: "setups", value: setups });
  const results: Record<string, TranslationResult> = {};
  const rows = names.map((name, i) => {
    const o = setups[name];
    const r = simulateTranslation({ ...base, ...o, guest: { ...base.guest, ...o.guest } });
    results[name] = r;
    onProgress?.(i + 1, names.length);
    return { setup: name, ...row(0, r) };
  });
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
  /** Progress: runs done out of runs in total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Sweep one knob across modes. Returns a table with one row per (value, mode): x, mode,
 * cyclesPerAccess, tlbMissRate, referencesPerMiss, ptWritesPer1k, trapsPer1k, ...
 *
 * @example
 * const t = sweepTranslation({ base, values: [0, 1000, 100, 20], set: (v) => ({ guest: { unmapEvery: v } }) });
 * // two variants of protected paging beside nested, one row per (value, setup):
 * const v = sweepTranslation({ base, values: [0, 100], set: (u) => ({ guest: { unmapEvery: u } }),
 *   setups: { "protected, reads trap": { mode: "protected", trapReads: true }, nested: { mode: "nested" } } });
 */
export function sweepTranslation(options: TranslationSweepOptions): aq.ColumnTable {
  const { base, modes = ["protected", "shadow", "nested"], setups, values, set, onProgress } = options;
  const runs: Array<[string | undefined, Partial<SimulateTranslationOptions> & { mode: ModeName }]> = setups === undefined
    ? (checkModes(modes), modes.map((mode) => [undefined, { mode }]))
    : checkSetups(setups);
  if (!Array.isArray(values) || values.length === 0) throw new MemvirtError("expected a non-empty array of numbers", { where: "values", value: values });
  const rows: Array<Record<string, number | string>> = [];
  const total = values.length * runs.length;
  for (const v of values) {
    const overrides = set(v);
    for (const [name, setup] of runs) {
      const result = simulateTranslation({ ...base, ...overrides, ...setup, guest: { ...base.guest, ...overrides.guest, ...setup.guest } });
      rows.push(name === undefined ? row(v, result) : { setup: name, ...row(v, result) });
      onProgress?.(rows.length, total);
    }
  }
  return aq.from(rows);
}

/**
 * Where do two modes' cost curves cross? Walks the rows of `a` and `b` in order of `x` and
 * interpolates linearly between the two points around the first sign change of
 * (y_a − y_b). Returns null when they never cross.
 *
 * @example
 * findCrossover(table, { x: "ptWritesPer1k", y: "cyclesPerAccess", a: "shadow", b: "nested" })
 */
export function findCrossover(table: aq.ColumnTable, options: { x: string; y: string; a: string; b: string; mode?: string }): number | null {
  const modeCol = options.mode ?? "mode";
  const pick = (m: string) => table.filter(aq.escape((d: Record<string, unknown>) => d[modeCol] === m)).orderby("x").objects() as Array<Record<string, number>>;
  const a = pick(options.a);
  const b = pick(options.b);
  const n = Math.min(a.length, b.length);
  for (let i = 1; i < n; i++) {
    const d0 = a[i - 1][options.y] - b[i - 1][options.y];
    const d1 = a[i][options.y] - b[i][options.y];
    if (d0 === 0) return (a[i - 1][options.x] + b[i - 1][options.x]) / 2;
    if (Math.sign(d0) !== Math.sign(d1)) {
      const x0 = (a[i - 1][options.x] + b[i - 1][options.x]) / 2;
      const x1 = (a[i][options.x] + b[i][options.x]) / 2;
      return x0 + (x1 - x0) * (d0 / (d0 - d1));
    }
  }
  return null;
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
