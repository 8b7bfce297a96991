/**
 * `simulateTranslation`: run a workload or a Lackey trace through an Mmu in one mode, with a
 * guest OS that also switches processes, forks and unmaps, and report totals plus a table per
 * interval.
 *
 *   workload / trace ──batches──▶ TranslationRun.feed ──▶ mmu.run(batch slice)
 *                                      │ every switchEvery / forkEvery / unmapEvery accesses
 *                                      ▼
 *                               guest kernel: MOV CR3, fork+exec+exit burst, munmap
 *                                      │ every intervalAccesses
 *                                      ▼
 *                               one row of the interval table
 *
 * Guest activity (all optional, all counted in workload accesses):
 * - `processes`: P address spaces time-share the CPU, each running the workload in its own
 *   address space (same virtual pages, different frames), switching every `switchEvery`.
 * - `forkEvery`: the running process forks; the child execs (its copy is torn down), maps
 *   `forkTouchPages` pages of its new image, and exits. The classic page-table-update burst.
 * - `unmapEvery`: the guest unmaps one random mapped page (freeing memory); touching it again
 *   demand-pages it back.
 *
 * The guest's activity runs on the whole stream, warm-up included (the guest cannot tell when
 * measuring starts): its periods count every access, so the warm-up also makes every process's
 * first touches, switches, forks and unmaps, and the measured window starts in the state the
 * run settles into.
 *
 * Steady state: the measured window is split in two halves (by workload accesses) and their
 * cycles per access compared; `totals.halfDifference` is (second − first) / first and
 * `totals.steady` says whether it is within `steadyTolerance` (10%). A window that is not steady
 * gets a warning: its number is mostly start-up, or phases, or events too rare for its length.
 * A trace measured from its first access (no warm-up) is a whole program on purpose, start-up
 * included, so it gets the figures but no warning.
 *
 * Cycles: `cyclesPerAccess` is what memory management costs per access (TLB, walks, guest
 * kernel, VMM); `programCyclesPerAccess` adds the program's own data access
 * (`costs.dataAccessCycles`), the figure to compare when asking how much faster a program runs.
 *
 * Invariants: memory is flat in trace length: batches are streamed, interval rows go to
 * `onInterval` as they close and at most `keepIntervals` of them stay in the result (the
 * last ones; a warning says when some were dropped), and the halves check keeps at most
 * 2 × HALF_CHECKPOINTS checkpoints; the same options and seed give the same numbers; counters
 * cover measured accesses only (an input that ends during the warm-up measures nothing, and
 * says so in `warnings`).
 */
import * as aq from "arquero";
import { inspect } from "node:util";
import { MemvirtError, pathJoin } from "../util/errors";
import { formatBytes, formatCount } from "../util/units";
import { countOf } from "../util/plural";
import { Rng, type Seed } from "../util/rng";
import { createWorkload, type WorkloadSpec } from "../workloads/create-workload";
import type { Workload } from "../workloads/workload";
import { WRITE } from "../workloads/workload";
import { loadLackeyTraceSync, type LackeyTrace } from "../trace/load-lackey";
import { readLackey, type TraceSource } from "../trace/read-lackey";
import type { LackeyStats } from "../trace/lackey-parser";
import { replayWorkload } from "../trace/replay";
import { Mmu, type MmuOptions, type MmuSettings } from "../virt/mmu";
import { addressBitsOf } from "../mmu/page-size";
import type { TranslationCounts, TrapCounts } from "../virt/translation-stats";
import type { GuestKernelCounts } from "../virt/guest-kernel";

/** What the guest OS does besides running the workload. */
export interface GuestActivityOptions {
  /** Processes time-sharing the CPU, each running the workload in its own address space (default 1). */
  processes?: number;
  /** Switch to the next process every this many accesses (default 10,000 when processes > 1). */
  switchEvery?: number;
  /** A fork + exec + exit burst every this many accesses (default: never). */
  forkEvery?: number;
  /** Pages the exec'd child maps before it exits (default 16). */
  forkTouchPages?: number;
  /** Unmap one random mapped page every this many accesses (default: never). */
  unmapEvery?: number;
}

/** Options of `simulateTranslation`: the Mmu's options plus the input and the guest's activity. */
export interface SimulateTranslationOptions extends MmuOptions {
  /** A workload object or spec (e.g. `{ kind: "zipf", pages: 4096, exponent: 1 }`). */
  workload?: Workload | WorkloadSpec;
  /** A Lackey trace: a loaded trace, or a file path (read whole; see simulateTranslationStream for streaming). */
  trace?: LackeyTrace | string;
  /** Stop after this many workload accesses (default: the whole trace; 1,000,000 for endless workloads). */
  accesses?: number;
  /**
   * Accesses run first and not measured (default 0), guest activity included: lets first
   * touches, shadows and caches settle, so the totals describe the steady state. They do not
   * count toward `accesses`. Too short a warm-up shows as `totals.steady === false`.
   */
  warmupAccesses?: number;
  /**
   * How far apart the cycles per access of the measured window's two halves may be, relative to
   * the first half, for the run to count as steady (default 0.1, i.e. 10%).
   */
  steadyTolerance?: number;
  /** Accesses per row of the interval table (default: accesses / 50, at least 1,000; 100,000 for streams). */
  intervalAccesses?: number;
  /** What the guest OS does besides running the workload. */
  guest?: GuestActivityOptions;
  /** Progress callback: workload accesses done, out of the total (NaN when unknown). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Receives each interval row as it closes, so a long run can stream its table (to a file, a
   * chart) without keeping it. The object is fresh for each call.
   */
  onInterval?: (row: TranslationIntervalRow) => void;
  /**
   * Interval rows kept in the result's table (default 100,000, about 10 MB): the last ones.
   * 0 keeps none (use `onInterval`). When rows are dropped (and neither `onInterval` nor 0
   * says that is intended), `warnings` says how many.
   */
  keepIntervals?: number;
}

/**
 * Interval rows kept in a result unless `keepIntervals` says otherwise.
 * @internal
 */
export const DEFAULT_KEEP_INTERVALS = 100_000;

/** Totals of a run. */
export interface TranslationTotals {
  /** All translated accesses (the workload's, plus those of fork children). */
  accesses: number;
  /** Accesses that came from the workload or trace. */
  workloadAccesses: number;
  tlbHits: number;
  tlbMisses: number;
  tlbMissRate: number;
  /** Page-walk memory references, both dimensions. */
  memoryReferences: number;
  /** memoryReferences / tlbMisses. */
  referencesPerMiss: number;
  walkCacheHits: number;
  nestedTlbHits: number;
  traps: TrapCounts;
  hiddenFaults: number;
  guestPageFaults: number;
  ptReads: number;
  ptWrites: number;
  /** Page-table writes that were plain stores (tables nothing shadows or pins, unsync leaf tables): no trap. */
  directPtWrites: number;
  /** Page-table writes queued into multicalls (Xen PV). */
  batchedPtWrites: number;
  /** Entries the VMM validated when the guest pinned its tables (Xen PV). */
  validatedEntries: number;
  /** Shadow entries resynced from out-of-sync guest tables at INVLPG or a CR3 switch (KVM). */
  resyncedEntries: number;
  /** Shadow tables dropped by write-flood detection (KVM). */
  unshadowedTables: number;
  cr3Switches: number;
  /** Memory-management cycles: translation + guest kernel + VMM (the data accesses are not in it). */
  cycles: number;
  /** cycles / accesses: what memory management costs per access, the data access left out. */
  cyclesPerAccess: number;
  /** cycles + accesses × costs.dataAccessCycles: the program's cycles, its own loads and stores included. */
  programCycles: number;
  /** programCycles / accesses = cyclesPerAccess + costs.dataAccessCycles. */
  programCyclesPerAccess: number;
  /** cyclesPerAccess over the first and the second half of the measured window (NaN when it is too short to split). */
  halfCyclesPerAccess: [number, number];
  /**
   * (second half − first half) / first half of cyclesPerAccess: negative while start-up costs
   * are still draining out of the window. NaN when the window is too short to split.
   */
  halfDifference: number;
  /** |halfDifference| ≤ steadyTolerance: the window measures a steady state. */
  steady: boolean;
  cyclesTranslation: number;
  cyclesGuest: number;
  cyclesVmm: number;
  guestPageTableBytes: number;
  hostPageTableBytes: number;
  shadowBytes: number;
  peakShadowBytes: number;
  /** What the guest kernel did: faults, forks, unmaps, switches... */
  guest: GuestKernelCounts;
}

const INTERVAL_COLUMNS = ["interval", "accessesEnd", "accesses", "tlbMisses", "memoryReferences", "referencesPerMiss", "traps", "hiddenFaults", "ptWrites", "cycles", "cyclesPerAccess", "shadowBytes"] as const;

/**
 * The default of `steadyTolerance`: halves within 10% of each other.
 * @internal
 */
export const DEFAULT_STEADY_TOLERANCE = 0.1;

/**
 * Checkpoints the halves check keeps: when 2× this many are held, every other one is dropped
 * and the spacing doubles, so the split lands within 1/HALF_CHECKPOINTS of the window's middle.
 */
const HALF_CHECKPOINTS = 512;

/** The columns of the interval table, in order (`mode` first). */
export const TRANSLATION_INTERVAL_COLUMNS = ["mode", ...INTERVAL_COLUMNS] as const;

/** One row of the interval table: counts over `accesses` accesses ending at workload access `accessesEnd`. */
export type TranslationIntervalRow = { mode: string } & Record<(typeof INTERVAL_COLUMNS)[number], number>;

/**
 * The outcome of a translation run: totals, the interval table, explain().
 *
 * @example
 * const r = simulateTranslation({ mode: "shadow", workload: { kind: "uniform", pages: 4096 }, accesses: 100000 });
 * r.totals.cyclesPerAccess; r.toTable(); console.log(r.explain());
 */
export class TranslationResult {
  readonly settings: MmuSettings;
  readonly inputName: string;
  readonly guestActivity: Required<GuestActivityOptions>;
  readonly totals: TranslationTotals;
  /** One row per interval (the last `keepIntervals` of them): see TRANSLATION_INTERVAL_COLUMNS. */
  readonly intervals: aq.ColumnTable;
  /** Caveats about the numbers (an input that ended early, interval rows dropped); empty when none. */
  readonly warnings: string[];
  /**
   * What the Lackey reader saw, when the input was a trace: record lines, page accesses (a record
   * crossing a page is one per page), records crossing a page, and skipped lines.
   */
  traceStats: LackeyStats | undefined;

  /** @internal */
  constructor(settings: MmuSettings, inputName: string, guestActivity: Required<GuestActivityOptions>, totals: TranslationTotals, intervals: aq.ColumnTable, warnings: string[] = []) {
    this.settings = settings;
    this.inputName = inputName;
    this.guestActivity = guestActivity;
    this.totals = totals;
    this.intervals = intervals;
    this.warnings = warnings;
    this.traceStats = undefined;
  }

  /** The interval table (arquero). */
  toTable(): aq.ColumnTable {
    return this.intervals;
  }

  /**
   * What a bare result at the end of a notebook cell prints (Node's inspector): the headline
   * numbers and where to look next, instead of the settings, totals and table objects.
   *
   * @internal
   * @example
   * console.log(simulateTranslation({ mode: "shadow", workload: { kind: "uniform", pages: 4096 }, accesses: 10000 }));
   */
  [inspect.custom](): string {
    const s = this.settings;
    const t = this.totals;
    const lines = [
      `TranslationResult: ${s.mode} paging on ${this.inputName}`,
      `  ${countOf(t.accesses, "access", "accesses")}: ${t.cyclesPerAccess.toFixed(2)} cycles per access, ${(100 * t.tlbMissRate).toFixed(2)}% TLB misses at ` +
        `${t.referencesPerMiss.toFixed(1)} references each, ${countOf(t.traps.total, "trap")}`,
      `  .intervals: ${countOf(this.intervals.numRows(), "row")}, one per interval; .totals: every counter`,
    ];
    for (const w of this.warnings.slice(0, 2)) lines.push(`  WARNING: ${w}`);
    if (this.warnings.length > 2) lines.push(`  ... and ${this.warnings.length - 2} more warnings (.warnings)`);
    lines.push("  .explain() or show(…) tells the story");
    return lines.join("\n");
  }

  /**
   * Settings, what happened, and a one-line summary.
   *
   * @example
   * console.log(result.explain());
   */
  explain(): string {
    const s = this.settings;
    const t = this.totals;
    const g = this.guestActivity;
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    const lines: string[] = [];
    const host = s.mode === "native" ? "" : `; host ${s.hostLevels}-level tables, ${s.hostPageSize} pages`;
    lines.push(`Settings: ${s.mode} paging; guest ${s.guestLevels}-level tables, ${s.guestPageSize} pages${host}; TLB ${s.tlb ? `${s.tlb.entries} entries, ${s.tlb.ways}-way` : "off"}; ${s.pwc}${s.mode === "nested" ? `; ${s.nestedTlb}` : ""}.`);
    const activity: string[] = [countOf(g.processes, "process", "processes")];
    const every = (n: number) => (n === 1 ? "every access" : `every ${formatCount(n)} accesses`);
    if (g.processes > 1) activity.push(`switching ${every(g.switchEvery)}`);
    if (g.forkEvery > 0) activity.push(`a fork+exec burst ${every(g.forkEvery)}`);
    if (g.unmapEvery > 0) activity.push(`an unmap ${every(g.unmapEvery)}`);
    lines.push(`Input: ${this.inputName}; guest: ${activity.join(", ")}.`);
    const ts = this.traceStats;
    if (ts) lines.push(`  The trace: ${countOf(ts.records, "record")}, ${countOf(ts.accesses, "page access", "page accesses")} (${countOf(ts.multiPageRecords, "record")} crossing a page); ${countOf(ts.skipped, "other line")} skipped.`);
    lines.push(`  ${countOf(t.accesses, "access", "accesses")}: ${countOf(t.tlbHits, "TLB hit")}, ${countOf(t.tlbMisses, "miss", "misses")} (${pct(t.tlbMissRate)}).`);
    lines.push(`  Walks made ${countOf(t.memoryReferences, "memory reference")}, ${t.referencesPerMiss.toFixed(2)} per miss; the page-walk cache answered ${countOf(t.walkCacheHits, "lookup")}${s.mode === "nested" ? ` and the nested TLB ${formatCount(t.nestedTlbHits)}` : ""}.`);
    lines.push(`  The guest OS took ${countOf(t.guestPageFaults, "page fault")} and made ${countOf(t.ptWrites, "page-table write")}, ${countOf(t.ptReads, "read")} and ${countOf(t.cr3Switches, "CR3 switch", "CR3 switches")} (${countOf(t.guest.forks, "fork")}, ${countOf(t.guest.unmaps, "unmap")}).`);
    // What the policies did with the writes, only where it happened.
    const policy = ([["direct (no trap)", t.directPtWrites], ["batched into multicalls", t.batchedPtWrites], ["entries validated at pins", t.validatedEntries], ["shadow entries resynced", t.resyncedEntries], ["shadow tables unshadowed", t.unshadowedTables]] as const)
      .filter(([, n]) => n > 0).map(([name, n]) => `${formatCount(n)} ${name}`);
    if (policy.length > 0) lines.push(`  Of those writes: ${policy.join(", ")}.`);
    const tr = t.traps;
    // The policies' own kinds, only where they happened.
    const extra = ([["unsyncs", tr.unsync], ["dirty-bit faults", tr.dirtyBit], ["multicalls", tr.multicall], ["pins", tr.pin], ["EPT violations", tr.eptViolation]] as const)
      .filter(([, n]) => n > 0).map(([name, n]) => `, ${name} ${formatCount(n)}`).join("");
    lines.push(`  Traps to the VMM: ${formatCount(tr.total)} (page-table writes ${formatCount(tr.ptWrite)}, reads ${formatCount(tr.ptRead)}, page faults ${formatCount(tr.pageFault)}, hidden faults ${formatCount(tr.hiddenFault)}, CR3 ${formatCount(tr.cr3Switch)}, TLB flushes ${formatCount(tr.tlbFlush)}${extra}).`);
    lines.push(`  Cycles: ${formatCount(t.cycles)} = translation ${formatCount(t.cyclesTranslation)} + guest kernel ${formatCount(t.cyclesGuest)} + VMM ${formatCount(t.cyclesVmm)}; with the program's own data accesses (${formatCount(s.costs.dataAccessCycles)} cycles each), ${formatCount(t.programCycles)}, ${t.programCyclesPerAccess.toFixed(2)} per access.`);
    const [first, second] = t.halfCyclesPerAccess;
    if (!Number.isNaN(t.halfDifference)) lines.push(`  Halves of the measured window: ${first.toFixed(2)} then ${second.toFixed(2)} cycles per access (${signedPercent(t.halfDifference)}): ${t.steady ? "steady" : "not steady"}.`);
    lines.push(`  Memory: guest page tables ${formatBytes(t.guestPageTableBytes)}${s.mode === "nested" ? `, host page tables ${formatBytes(t.hostPageTableBytes)}` : ""}${s.mode === "shadow" ? `, shadow tables ${formatBytes(t.shadowBytes)} (peak ${formatBytes(t.peakShadowBytes)})` : ""}.`);
    for (const w of this.warnings) lines.push(`Warning: ${w}`);
    lines.push(`Summary: ${s.mode} paging costs ${t.cyclesPerAccess.toFixed(2)} cycles per access: ${pct(t.tlbMissRate)} TLB misses at ${t.referencesPerMiss.toFixed(1)} ${t.referencesPerMiss === 1 ? "reference" : "references"} each, ${countOf(tr.total, "trap")}.`);
    return lines.join("\n");
  }
}

/**
 * A run in progress: feed it batches, then `finish()`. Used by both entry points.
 *
 * @internal
 * @example
 * const run = new TranslationRun({ mode: "nested" }, "my trace", NaN);
 * run.feed(pages, kinds, n);
 * const result = run.finish();
 */
export class TranslationRun {
  readonly mmu: Mmu;
  private readonly activity: Required<GuestActivityOptions>;
  private readonly limit: number;
  private readonly intervalAccesses: number;
  private readonly inputName: string;
  private readonly total: number;
  private readonly onProgress?: (done: number, total: number) => void;
  private readonly onInterval?: (row: TranslationIntervalRow) => void;
  private readonly keepIntervals: number;
  /** The access count the caller asked for, if any (to say when the input fell short). */
  private readonly askedAccesses: number | undefined;
  private readonly warmupAsked: number;
  private readonly rng: Rng;
  private readonly processes: number[] = [];
  private current = 0;
  private done = 0;
  /** Unmeasured accesses still to run before measuring starts. */
  private warmup: number;
  /** Accesses fed, warm-up included: the guest activity's clock. */
  private fed = 0;
  /** Whether an unsteady window gets a warning (not for a trace measured whole from its start). */
  private readonly warnUnsteady: boolean;
  private readonly steadyTolerance: number;
  /** Halves check: measured workload accesses, accesses and cycles at every `checkpointStride` accesses. */
  private readonly checkpoints: { done: number[]; accesses: number[]; cycles: number[] } = { done: [], accesses: [], cycles: [] };
  private checkpointStride = 1;
  private nextCheckpoint = 1;
  private nextInterval: number;
  private nextSwitch: number;
  private nextFork: number;
  private nextUnmap: number;
  private intervalStart: TranslationCounts;
  /** The last intervals (up to 2 × keepIntervals before trimming). */
  private readonly columns: Record<(typeof INTERVAL_COLUMNS)[number], number[]>;
  private intervalsClosed = 0;
  private lastIntervalEnd = 0;
  private childBase = 0x7e0000000;

  /**
   * `input` says what is measured: a "trace" run without a warm-up is a whole program, start-up
   * included on purpose, so an unsteady window is not warned about.
   */
  constructor(options: SimulateTranslationOptions, inputName: string, limit: number, where = "", input: "workload" | "trace" = "workload") {
    const { workload: _w, trace: _t, accesses: _a, intervalAccesses, warmupAccesses, steadyTolerance, guest, onProgress, onInterval, keepIntervals, ...mmuOptions } = options;
    void _w; void _t; void _a;
    this.mmu = new Mmu(mmuOptions, where);
    this.activity = resolveActivity(guest, pathJoin(where, "guest"));
    const warmup = warmupAccesses ?? 0;
    if (!Number.isInteger(warmup) || warmup < 0) throw new MemvirtError("must be a whole number of accesses", { where: pathJoin(where, "warmupAccesses"), value: warmupAccesses });
    this.warmup = warmup;
    this.warmupAsked = warmup;
    const tolerance = steadyTolerance ?? DEFAULT_STEADY_TOLERANCE;
    if (typeof tolerance !== "number" || !(tolerance >= 0)) throw new MemvirtError("must be a non-negative fraction (0.1 is 10%)", { where: pathJoin(where, "steadyTolerance"), value: steadyTolerance });
    this.steadyTolerance = tolerance;
    this.warnUnsteady = input === "workload" || warmup > 0;
    this.askedAccesses = options.accesses;
    if (onInterval !== undefined && typeof onInterval !== "function") throw new MemvirtError("must be a function (row) => void", { where: pathJoin(where, "onInterval"), value: typeof onInterval });
    this.onInterval = onInterval;
    const keep = keepIntervals ?? DEFAULT_KEEP_INTERVALS;
    if (!Number.isInteger(keep) || keep < 0) throw new MemvirtError("must be a whole number of rows (0 keeps none)", { where: pathJoin(where, "keepIntervals"), value: keepIntervals });
    this.keepIntervals = keep;
    this.limit = limit;
    this.total = limit;
    this.inputName = inputName;
    this.onProgress = onProgress;
    const interval = intervalAccesses ?? (Number.isFinite(limit) ? Math.max(1000, Math.ceil(limit / 50)) : 100_000);
    if (!Number.isInteger(interval) || interval < 1) throw new MemvirtError("must be a positive whole number", { where: pathJoin(where, "intervalAccesses"), value: intervalAccesses });
    this.intervalAccesses = interval;
    this.rng = new Rng(options.seed ?? 1).split("guest:activity");
    const g = this.mmu.guest;
    this.processes.push(g.current);
    for (let i = 1; i < this.activity.processes; i++) this.processes.push(g.createProcess());
    this.mmu.resetStats();
    this.nextInterval = interval;
    this.nextSwitch = this.activity.processes > 1 ? this.activity.switchEvery : Infinity;
    this.nextFork = this.activity.forkEvery > 0 ? this.activity.forkEvery : Infinity;
    this.nextUnmap = this.activity.unmapEvery > 0 ? this.activity.unmapEvery : Infinity;
    this.intervalStart = this.mmu.counts();
    this.columns = Object.fromEntries(INTERVAL_COLUMNS.map((c) => [c, [] as number[]])) as unknown as Record<(typeof INTERVAL_COLUMNS)[number], number[]>;
  }

  /** Workload accesses fed so far. */
  get accessesDone(): number {
    return this.done;
  }

  /** True once the access limit is reached. */
  get full(): boolean {
    return this.done >= this.limit;
  }

  /** Total accesses wanted from the input: warm-up plus measured. */
  get wanted(): number {
    return this.warmup + this.limit - this.done;
  }

  /**
   * Translate `count` accesses from the batch, with guest activity at its due points. Returns
   * how many were used (fewer when the limit is reached).
   */
  feed(pages: Float64Array, kinds: Uint8Array, count: number): number {
    let i = 0;
    // The warm-up runs the guest's activity too: only the counters are thrown away.
    while (this.warmup > 0 && i < count) {
      const j = i + Math.min(count - i, this.warmup, this.nextActivity() - this.fed);
      this.mmu.run(pages, kinds, i, j);
      this.fed += j - i;
      this.warmup -= j - i;
      i = j;
      this.dueActivity();
      if (this.warmup === 0) this.startMeasuring();
    }
    if (this.warmup > 0) return count;
    const n = i + Math.min(count - i, this.limit - this.done);
    while (i < n) {
      const next = Math.min(this.nextInterval, this.nextCheckpoint, this.limit) - this.done;
      const j = Math.min(n, i + next, i + (this.nextActivity() - this.fed));
      this.mmu.run(pages, kinds, i, j);
      this.done += j - i;
      this.fed += j - i;
      i = j;
      this.dueEvents();
    }
    if (this.onProgress) this.onProgress(this.done, this.total);
    return n;
  }

  /** Forget the warm-up: zero the counters (tables and caches stay warm). */
  private startMeasuring(): void {
    this.mmu.resetStats();
    this.intervalStart = this.mmu.counts();
  }

  /** Close the last interval and build the result. */
  finish(): TranslationResult {
    const warnings: string[] = [];
    if (this.warmup > 0) {
      // The input ended inside the warm-up: none of it may be reported as measured.
      const ran = this.warmupAsked - this.warmup;
      warnings.push(`the input ended during the warm-up, after ${countOf(ran, "access", "accesses")} of the ${formatCount(this.warmupAsked)} asked for: nothing was measured, every count is 0`);
      this.startMeasuring();
    } else if (this.askedAccesses !== undefined && this.done < this.askedAccesses) {
      warnings.push(`the input ended after ${countOf(this.done, "measured access", "measured accesses")} of the ${formatCount(this.askedAccesses)} asked for`);
    }
    if (this.done > 0 && this.lastIntervalEnd !== this.done) this.closeInterval();
    const kept = Math.min(this.intervalsClosed, this.keepIntervals);
    // Dropped rows matter only when nobody received them and some were wanted.
    if (kept < this.intervalsClosed && this.onInterval === undefined && this.keepIntervals > 0) {
      warnings.push(`the interval table keeps the last ${countOf(kept, "row")} of ${formatCount(this.intervalsClosed)} (keepIntervals); pass onInterval to receive every row as it closes`);
    }
    const c = this.mmu.counts();
    const mem = this.mmu.memory();
    const dataCycles = c.accesses * this.mmu.settings.costs.dataAccessCycles;
    const halves = this.halves(c.accesses, c.cycles);
    const halfDifference = halves[0] === halves[1] ? 0 : (halves[1] - halves[0]) / halves[0];
    const steady = Math.abs(halfDifference) <= this.steadyTolerance;
    if (this.done > 0 && this.warnUnsteady) {
      if (Number.isNaN(halfDifference)) {
        warnings.push(`the measured window (${countOf(this.done, "access", "accesses")}) is too short to split in halves and check for a steady state`);
      } else if (!steady) {
        warnings.push(`not a steady state: cycles per access went from ${halves[0].toFixed(2)} in the first half of the measured window to ${halves[1].toFixed(2)} in the second (${signedPercent(halfDifference)}, beyond ±${formatPercent(this.steadyTolerance)}); ` +
          `start-up (first touches, cold shadows and caches) is still in the window, or it has phases or events too rare for its length: raise warmupAccesses or accesses`);
      }
    }
    const totals: TranslationTotals = {
      accesses: c.accesses,
      workloadAccesses: this.done,
      tlbHits: c.tlbHits,
      tlbMisses: c.tlbMisses,
      tlbMissRate: c.accesses ? c.tlbMisses / c.accesses : 0,
      memoryReferences: c.memoryReferences,
      referencesPerMiss: c.tlbMisses ? c.memoryReferences / c.tlbMisses : 0,
      walkCacheHits: c.walkCacheHits,
      nestedTlbHits: c.nestedTlbHits,
      traps: c.traps,
      hiddenFaults: c.hiddenFaults,
      guestPageFaults: c.guestPageFaults,
      ptReads: c.ptReads,
      ptWrites: c.ptWrites,
      directPtWrites: c.directPtWrites,
      batchedPtWrites: c.batchedPtWrites,
      validatedEntries: c.validatedEntries,
      resyncedEntries: c.resyncedEntries,
      unshadowedTables: c.unshadowedTables,
      cr3Switches: c.cr3Switches,
      cycles: c.cycles,
      cyclesPerAccess: c.accesses ? c.cycles / c.accesses : 0,
      programCycles: c.cycles + dataCycles,
      programCyclesPerAccess: c.accesses ? (c.cycles + dataCycles) / c.accesses : 0,
      halfCyclesPerAccess: halves,
      halfDifference,
      steady,
      cyclesTranslation: c.cyclesTranslation,
      cyclesGuest: c.cyclesGuest,
      cyclesVmm: c.cyclesVmm,
      guestPageTableBytes: mem.guestPageTableBytes,
      hostPageTableBytes: mem.hostPageTableBytes,
      shadowBytes: mem.shadowBytes,
      peakShadowBytes: mem.peakShadowBytes,
      guest: { ...this.mmu.guest.counts },
    };
    const cols: Record<string, unknown[]> = {};
    for (const name of INTERVAL_COLUMNS) cols[name] = this.columns[name].slice(this.columns[name].length - kept);
    cols.mode = cols.interval.map(() => this.mmu.settings.mode);
    const ordered = Object.fromEntries(TRANSLATION_INTERVAL_COLUMNS.map((name) => [name, cols[name]]));
    return new TranslationResult(this.mmu.settings, this.inputName, this.activity, totals, aq.table(ordered), warnings);
  }

  private dueEvents(): void {
    const done = this.done;
    if (done >= this.nextCheckpoint) this.checkpoint();
    if (done >= this.limit) {
      // The run is over: close the last interval, start no more guest activity.
      if (done >= this.nextInterval) this.closeInterval();
      return;
    }
    this.dueActivity();
    if (done >= this.nextInterval) {
      this.closeInterval();
      this.nextInterval += this.intervalAccesses;
    }
  }

  /** The next access count (on the `fed` clock) at which guest activity is due. */
  private nextActivity(): number {
    return Math.min(this.nextSwitch, this.nextFork, this.nextUnmap);
  }

  /** Switches, fork bursts and unmaps due by now (`fed` accesses, warm-up included). */
  private dueActivity(): void {
    const fed = this.fed;
    if (fed >= this.nextSwitch) {
      this.current = (this.current + 1) % this.processes.length;
      this.mmu.guest.switchTo(this.processes[this.current]);
      this.nextSwitch += this.activity.switchEvery;
    }
    if (fed >= this.nextFork) {
      this.forkBurst();
      this.nextFork += this.activity.forkEvery;
    }
    if (fed >= this.nextUnmap) {
      this.mmu.guest.unmapRandom(this.rng);
      this.nextUnmap += this.activity.unmapEvery;
    }
  }

  /**
   * Record the counters for the halves check. Checkpoints sit every `checkpointStride` measured
   * accesses; when 2 × HALF_CHECKPOINTS are held, every other one goes and the stride doubles,
   * so the memory stays bounded however long the run.
   */
  private checkpoint(): void {
    const cp = this.checkpoints;
    const c = this.mmu.stats;
    cp.done.push(this.done);
    cp.accesses.push(c.accesses);
    cp.cycles.push(c.cyclesTranslation + c.cyclesGuest + c.cyclesVmm);
    if (cp.done.length >= 2 * HALF_CHECKPOINTS) {
      // Checkpoint k sits at (k + 1) × stride: the odd ones are the multiples of 2 × stride.
      for (const list of [cp.done, cp.accesses, cp.cycles]) {
        for (let k = 1, w = 0; k < list.length; k += 2, w++) list[w] = list[k];
        list.length = HALF_CHECKPOINTS;
      }
      this.checkpointStride *= 2;
    }
    this.nextCheckpoint = (cp.done.length + 1) * this.checkpointStride;
  }

  /**
   * Cycles per access of the two halves of the measured window, split at the checkpoint nearest
   * its middle; NaN for both when no checkpoint lies strictly inside it.
   */
  private halves(accesses: number, cycles: number): [number, number] {
    const cp = this.checkpoints;
    const middle = this.done / 2;
    let best = -1;
    for (let k = 0; k < cp.done.length; k++) {
      if (cp.done[k] <= 0 || cp.done[k] >= this.done) continue;
      if (best < 0 || Math.abs(cp.done[k] - middle) < Math.abs(cp.done[best] - middle)) best = k;
    }
    if (best < 0) return [NaN, NaN];
    const a = cp.accesses[best];
    const y = cp.cycles[best];
    return [a ? y / a : 0, accesses - a ? (cycles - y) / (accesses - a) : 0];
  }

  /** fork; the child execs, maps a few pages of its new image, exits. */
  private forkBurst(): void {
    const g = this.mmu.guest;
    const parent = g.current;
    const child = g.fork(parent);
    g.switchTo(child);
    g.exec(child);
    for (let p = 0; p < this.activity.forkTouchPages; p++) this.mmu.accessPage(this.childBase + p, WRITE);
    g.switchTo(parent);
    g.exit(child);
  }

  private closeInterval(): void {
    const now = this.mmu.counts();
    const s = this.intervalStart;
    const accesses = now.accesses - s.accesses;
    const misses = now.tlbMisses - s.tlbMisses;
    const refs = now.memoryReferences - s.memoryReferences;
    const cycles = now.cycles - s.cycles;
    const row: TranslationIntervalRow = {
      mode: this.mmu.settings.mode,
      interval: this.intervalsClosed,
      accessesEnd: this.done,
      accesses,
      tlbMisses: misses,
      memoryReferences: refs,
      referencesPerMiss: misses ? refs / misses : 0,
      traps: now.traps.total - s.traps.total,
      hiddenFaults: now.hiddenFaults - s.hiddenFaults,
      ptWrites: now.ptWrites - s.ptWrites,
      cycles,
      cyclesPerAccess: accesses ? cycles / accesses : 0,
      shadowBytes: this.mmu.memory().shadowBytes,
    };
    this.intervalsClosed++;
    this.lastIntervalEnd = this.done;
    this.intervalStart = now;
    if (this.keepIntervals > 0) {
      const c = this.columns;
      for (const name of INTERVAL_COLUMNS) c[name].push(row[name]);
      // Keep memory bounded: trim to the last keepIntervals rows once twice that many are held.
      if (c.interval.length >= 2 * this.keepIntervals) {
        for (const name of INTERVAL_COLUMNS) c[name].splice(0, c[name].length - this.keepIntervals);
      }
    }
    this.onInterval?.(row);
  }
}

/**
 * Run a workload or a (small, loaded) Lackey trace through one translation mode.
 *
 * @example
 * const r = simulateTranslation({
 *   mode: "nested", pwc: "uptc", nestedTlb: true,
 *   workload: { kind: "zipf", pages: 65536, exponent: 0.9 }, accesses: 200000,
 *   guest: { processes: 2, switchEvery: 5000, forkEvery: 50000 },
 * });
 * r.totals.referencesPerMiss
 */
export function simulateTranslation(options: SimulateTranslationOptions): TranslationResult {
  if (typeof options !== "object" || options === null) throw new MemvirtError("expected an options object", { where: "simulateTranslation", value: options });
  if ((options.workload === undefined) === (options.trace === undefined)) {
    throw new MemvirtError("give exactly one of workload or trace", { where: "simulateTranslation", value: Object.keys(options) });
  }
  let workload: Workload;
  let inputName: string;
  let limit = options.accesses ?? NaN;
  let traceStats: LackeyStats | undefined;
  if (options.trace !== undefined) {
    const trace = typeof options.trace === "string" ? loadLackeyTraceSync(options.trace) : options.trace;
    if (typeof trace !== "object" || trace === null || !(trace.pages instanceof Float64Array)) throw new MemvirtError("expected a trace path or a loaded trace", { where: "trace", value: options.trace });
    workload = replayWorkload(trace);
    inputName = `Lackey trace ${trace.fileName} (${formatCount(trace.stats.records)} records)`;
    if (Number.isNaN(limit)) limit = trace.pages.length; // accesses: a record crossing a page is several
    traceStats = trace.stats;
  } else {
    const w = options.workload as Workload | WorkloadSpec;
    workload = typeof (w as Workload).fill === "function" ? (w as Workload) : createWorkload(w, new Rng(options.seed ?? 1).split("workload"), "workload");
    inputName = `workload ${workload.name}`;
    if (Number.isNaN(limit)) limit = 1_000_000;
  }
  checkLimit(limit);
  const run = new TranslationRun(options, inputName, limit, "", options.trace !== undefined ? "trace" : "workload");
  const pages = new Float64Array(4096);
  const kinds = new Uint8Array(4096);
  while (!run.full) {
    const n = workload.fill(pages, kinds);
    if (n === 0) break;
    run.feed(pages, kinds, n);
  }
  const result = run.finish();
  result.traceStats = traceStats;
  return result;
}

/**
 * Stream a Lackey trace (file, `-` for stdin, gzip or plain) through one translation mode,
 * without holding it in memory. The CLI's `memvirt translate` uses this; `onBytes` reports
 * progress in (compressed) bytes read, with a NaN total for stdin. Interval rows stream to
 * `onInterval` as they close; pass `keepIntervals: 0` when only the stream is wanted.
 *
 * @example
 * const r = await simulateTranslationStream({ mode: "nested", trace: "data/traces/sort.lackey.gz" });
 * // every interval row, without holding the table:
 * await simulateTranslationStream({ mode: "nested", trace: "big.lackey.gz", intervalAccesses: 1, keepIntervals: 0,
 *   onInterval: (row) => out.write(`${row.interval},${row.tlbMisses}\n`) });
 */
export async function simulateTranslationStream(options: Omit<SimulateTranslationOptions, "trace" | "workload"> & { trace: TraceSource; traceName?: string; onBytes?: (doneBytes: number, totalBytes: number) => void }): Promise<TranslationResult> {
  const { trace, traceName, onBytes, ...rest } = options;
  const limit = rest.accesses ?? Infinity;
  if (Number.isFinite(limit)) checkLimit(limit);
  const name = traceName ?? (typeof trace === "string" ? (trace === "-" ? "<stdin>" : trace) : "<stream>");
  const run = new TranslationRun(rest, `Lackey trace ${name}`, limit, "", "trace");
  const stats = await readLackey(trace, {
    fileName: name,
    maxRecords: Number.isFinite(limit) ? limit + (rest.warmupAccesses ?? 0) : undefined,
    // A record beyond the guest's address space fails at FILE:LINE with its hex, not in the Mmu.
    addressBits: addressBitsOf(run.mmu.settings.guestLevels),
    onBatch: (pages, kinds, n) => { run.feed(pages, kinds, n); },
    onProgress: onBytes,
  });
  const result = run.finish();
  result.traceStats = stats;
  return result;
}

/** +12.3% / −4.5%, for the halves check. */
function signedPercent(x: number): string {
  return `${x >= 0 ? "+" : "−"}${formatPercent(Math.abs(x))}`;
}

function formatPercent(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new MemvirtError("must be a positive whole number of accesses", { where: "accesses", value: limit });
}

function resolveActivity(options: GuestActivityOptions | undefined, where: string): Required<GuestActivityOptions> {
  const o = options ?? {};
  if (typeof o !== "object" || o === null) throw new MemvirtError("expected an object", { where, value: options });
  const known = ["processes", "switchEvery", "forkEvery", "forkTouchPages", "unmapEvery"];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new MemvirtError(`unknown option (known: ${known.join(", ")})`, { where: pathJoin(where, k), value: k });
  const count = (name: keyof GuestActivityOptions, value: number | undefined, fallback: number, min: number) => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min) throw new MemvirtError(`must be a whole number ≥ ${min}`, { where: pathJoin(where, name), value: v });
    return v;
  };
  return {
    processes: count("processes", o.processes, 1, 1),
    switchEvery: count("switchEvery", o.switchEvery, 10_000, 1),
    forkEvery: count("forkEvery", o.forkEvery, 0, 0),
    forkTouchPages: count("forkTouchPages", o.forkTouchPages, 16, 0),
    unmapEvery: count("unmapEvery", o.unmapEvery, 0, 0),
  };
}
