/**
 * The result of `host.run(...)`: a per-VM timeline, a host timeline, a summary, and an
 * explanation in prose.
 *
 *   timeline     one row per (sample time t, VM): sizes in pages at t, and counts of events
 *                (faults, page-outs, accesses) during the interval (t − sampleEvery, t]
 *   hostTimeline one row per sample: free memory, reclamation state, totals
 *
 * Invariant: the tables are built from plain column arrays once, at the end of the run; the
 * simulation loop only appends numbers to them.
 */
import * as aq from "arquero";
import { inspect } from "node:util";
import { countOf } from "../util/plural";
import { formatBytes, formatCount, PAGE_SIZE_BYTES } from "../util/units";
import { MemvirtError } from "../util/errors";
import type { CacheCurve, NeedEstimate } from "./host-policy";

type Table = ReturnType<typeof aq.table>;

/**
 * Per-VM timeline columns that count events in the interval.
 * @internal
 */
export const INTERVAL_COLUMNS = [
  "accesses", "minorFaults", "guestDiskReads", "hostAllocFaults", "hostSwapFaults", "trapFaults",
  "doublePagingEvents", "guestPageOuts", "hostSwapOuts",
] as const;

/**
 * Per-VM timeline columns that are sizes at the sample time, in pages.
 * @internal
 */
export const SIZE_COLUMNS = [
  "configuredPages", "maxPages", "targetPages", "residentPages", "balloonedPages", "balloonTargetPages",
  "hostSwappedPages", "guestSwappedPages", "guestFreePages",
] as const;

/** One VM's line in a run summary. */
export interface VmRunSummary {
  name: string;
  workload: string;
  configuredPages: number;
  maxPages: number;
  /** Mean accesses per simulated second over the run. */
  throughput: number;
  /** Mean accesses per simulated second over the second half of the run (after warm-up). */
  steadyThroughput: number;
  accesses: number;
  minorFaults: number;
  guestDiskReads: number;
  hostAllocFaults: number;
  hostSwapFaults: number;
  trapFaults: number;
  doublePagingEvents: number;
  guestPageOuts: number;
  hostSwapOuts: number;
  blockedSeconds: number;
  finalResidentPages: number;
  finalBalloonedPages: number;
  finalHostSwappedPages: number;
  finalGuestSwappedPages: number;
  /** The VM's exclusive cache during the run (absent without `tracing.exclusiveCache`). */
  cache?: VmCacheSummary;
}

/**
 * What a VM's exclusive cache did during a run: its traffic, and that traffic's cost and saving
 * in simulated time (put hypercalls × cachePutNs; hits × (guestDiskReadNs − cacheHitNs)).
 */
export interface VmCacheSummary {
  /** Capacity at the end of the run. */
  capacityPages: number;
  /** Entries held at the end of the run. */
  finalPages: number;
  /** Put hypercalls (one per eviction of a page whose contents match storage). */
  puts: number;
  /** Puts the cache could not admit (capacity 0, or no frame). */
  putsRejected: number;
  /** Disk reads the hypervisor looked up in the cache. */
  probes: number;
  /** Disk reads the cache served. */
  hits: number;
  /** Entries dropped (LRU) to make room or to shrink, or to give the host a frame. */
  evictions: number;
  /** Guest time spent in put hypercalls. */
  putSeconds: number;
  /** Guest time spent on cache hits. */
  hitSeconds: number;
  /** Guest time the hits saved against reading from disk. */
  savedSeconds: number;
  /** The tracer's last estimate of the VM's memory need (null: none yet). */
  estimatedNeedPages: number | null;
  /** v at the end of the run. */
  directPages: number;
}

/** A state change of the host, as reported by its reclamation policy. */
export interface StateChange {
  t: number;
  from: string;
  to: string;
}

/** The summary of a run. */
export interface RunSummary {
  startSeconds: number;
  endSeconds: number;
  sampleEverySeconds: number;
  machinePages: number;
  hostSwapPages: number;
  minFreePages: number;
  minFreeFraction: number;
  /** Simulated seconds spent in each reported host state. */
  secondsInState: Record<string, number>;
  stateChanges: StateChange[];
  vms: VmRunSummary[];
}

/** Settings shown at the top of explain(). */
export interface RunSettings {
  machinePages: number;
  hostSwapPages: number;
  quantumSeconds: number;
  seed: number | string;
  costsLine: string;
  policies: string[];
  vms: Array<{ name: string; memoryPages: number; minPages: number; maxPages: number; shares: number; balloon: string; workload: string; kernelPages: number }>;
}

/**
 * A finished run. `timeline` is what notebooks plot; `explain()` tells the story.
 *
 * @example
 * const run = host.run({ seconds: 60, sampleEvery: 1 });
 * run.timeline.filter((d) => d.vm === "web").objects();
 * console.log(run.explain());
 */
export class Run {
  readonly timeline: Table;
  readonly hostTimeline: Table;
  readonly summary: RunSummary;
  readonly settings: RunSettings;
  /** Event lines from the host and its policies, with their times. */
  readonly events: ReadonlyArray<{ t: number; text: string }>;
  /**
   * What a reader must not miss about this run, e.g. an overcommitted host that runs no policy
   * (explain() puts these first); empty when none.
   */
  readonly warnings: readonly string[];
  /** Each traced VM's curve and estimate at the end of the run, by VM name. */
  private readonly caches: ReadonlyMap<string, CacheCurve>;

  constructor(timeline: Table, hostTimeline: Table, summary: RunSummary, settings: RunSettings, events: Array<{ t: number; text: string }>, warnings: string[] = [], caches: ReadonlyMap<string, CacheCurve> = new Map()) {
    this.caches = caches;
    this.timeline = timeline;
    this.hostTimeline = hostTimeline;
    this.summary = summary;
    this.settings = settings;
    this.events = events;
    this.warnings = warnings;
  }

  /**
   * The per-VM timeline (for display helpers that look for `toTable`).
   *
   * @example
   * run.toTable().numRows()
   */
  toTable(): Table {
    return this.timeline;
  }

  /**
   * The miss-ratio curve the hypervisor saw through VM `vm`'s exclusive cache, at the end of the
   * run: columns `sizePages`, `missRatio`, for sizes from v (the VM's direct pages) up to v +
   * tracked pages. Sizes below v are refused: the hypervisor sees only what the VM evicts.
   *
   * @example
   * run.cacheCurve("web").objects() // [{ sizePages: 24000, missRatio: 0.31 }, ...]
   * run.cacheCurve("web", [30000, 40000])
   */
  cacheCurve(vm: string, sizesPages?: readonly number[]): Table {
    return this.cacheOf(vm).curve(sizesPages);
  }

  /**
   * VM `vm`'s memory-need estimate at the end of the run (null before any access), with its bound:
   * "at-most" (the curve already meets the rule at v), "more-than" (not within the tracked range)
   * or "exact".
   *
   * @example
   * run.cacheNeed("web") // { needPages: 31000, bound: "exact", rule: "target", directPages: 24000, missRatio: 0.049 }
   */
  cacheNeed(vm: string): NeedEstimate | null {
    return this.cacheOf(vm).estimate;
  }

  private cacheOf(vm: string): CacheCurve {
    const c = this.caches.get(vm);
    if (!c) {
      const traced = [...this.caches.keys()];
      throw new MemvirtError(`is not a VM with tracing.exclusiveCache in this run (traced: ${traced.join(", ") || "none"})`, { where: "vm", value: vm });
    }
    return c;
  }

  /**
   * What a bare `run` at the end of a notebook cell prints (Node's inspector): a few lines on
   * what happened and where to look, instead of its tables' internals.
   *
   * @internal
   * @example
   * console.log(run); // Run from t = 0 s to 20 s, sampled every 1 s: 2 VMs; ...
   */
  [inspect.custom](): string {
    const s = this.summary;
    const lines = [`Run from t = ${formatSeconds(s.startSeconds)} to ${formatSeconds(s.endSeconds)}, sampled every ${formatSeconds(s.sampleEverySeconds)}: ` +
      `${countOf(s.vms.length, "VM")}; .timeline ${rowsOf(this.timeline)} (one per VM per sample), .hostTimeline ${rowsOf(this.hostTimeline)}`];
    const shown = 4;
    for (const vm of s.vms.slice(0, shown)) {
      lines.push(`  ${vm.name}: ${formatCount(Math.round(vm.throughput))} accesses/s; ends with ${formatCount(vm.finalResidentPages)} pages resident, ` +
        `${formatCount(vm.finalBalloonedPages)} ballooned, ${formatCount(vm.finalHostSwappedPages)} host-swapped`);
    }
    if (s.vms.length > shown) lines.push(`  ... and ${s.vms.length - shown} more VMs (.summary.vms)`);
    const states = Object.entries(s.secondsInState).filter(([k]) => k !== "none").map(([k, v]) => `${k} ${formatSeconds(v)}`).join(", ");
    lines.push(`  host states: ${states || "none reported (no policy)"}; ${countOf(this.events.length, "event")}; free memory fell to ${(s.minFreeFraction * 100).toFixed(1)}%`);
    for (const w of this.warnings) lines.push(`  WARNING: ${w}`);
    lines.push("  .explain() or show(run) tells the story");
    return lines.join("\n");
  }

  /**
   * The run in prose: settings, then what happened in order, then a one-line result.
   *
   * @example
   * console.log(run.explain());
   */
  explain(): string {
    const s = this.summary;
    const st = this.settings;
    const pages = (n: number) => `${formatCount(n)} pages (${formatBytes(n * PAGE_SIZE_BYTES)})`;
    const lines: string[] = [];
    for (const w of this.warnings) lines.push(`WARNING: ${w}.`, "");
    lines.push(`Host: ${pages(st.machinePages)} of machine memory, a hypervisor swap device of ${pages(st.hostSwapPages)}; VMs take turns in ${st.quantumSeconds * 1000} ms quanta; seed ${JSON.stringify(st.seed)}.`);
    lines.push(`Costs: ${st.costsLine}.`);
    lines.push(st.policies.length ? `Policies: ${st.policies.join(" ")}` : "Policies: none, so the host reclaims only when it runs out of frames (random swapping) or a VM hits its limit.");
    for (const vm of st.vms) {
      lines.push(`VM ${vm.name}: configured ${pages(vm.memoryPages)}, min ${formatCount(vm.minPages)}, max ${formatCount(vm.maxPages)} pages, ${formatCount(vm.shares)} shares, ${vm.balloon}; the guest kernel wires ${formatCount(vm.kernelPages)} pages; runs ${vm.workload}.`);
    }
    for (const [name, c] of this.caches) {
      const vm = s.vms.find((v) => v.name === name);
      lines.push(`VM ${name} has a hypervisor exclusive cache of ${pages(vm?.cache?.capacityPages ?? 0)} at the end; the hypervisor traces what the VM evicts and reads back, ` +
        `so it sees the miss-ratio curve from v = ${formatCount(c.directPages)} pages up to ${formatCount(c.maxSizePages)} and nothing below v${c.startPages > c.directPages ? ` (its counts start at ${formatCount(c.startPages)}, the larger v it had earlier in the window)` : ""} (nor the first touches of anonymous pages, which are zero-filled, not read).`);
    }
    lines.push("");
    lines.push(`Run from t = ${s.startSeconds} s to ${s.endSeconds} s, sampled every ${s.sampleEverySeconds} s:`);
    const events = this.events.slice(0, 40);
    let step = 1;
    for (const e of events) lines.push(`  ${step++}. t = ${formatSeconds(e.t)}: ${e.text}`);
    if (this.events.length > events.length) lines.push(`  ... and ${this.events.length - events.length} more events.`);
    for (const vm of s.vms) {
      lines.push(`  ${step++}. ${vm.name}: ${formatCount(Math.round(vm.throughput))} accesses/s (${formatCount(Math.round(vm.steadyThroughput))}/s in the second half); ` +
        `${formatCount(vm.minorFaults)} zero-fill faults, ${formatCount(vm.guestDiskReads)} guest disk reads, ${formatCount(vm.hostSwapFaults)} host swap faults, ` +
        `${formatCount(vm.doublePagingEvents)} double-paging events; ends with ${formatCount(vm.finalResidentPages)} resident, ${formatCount(vm.finalBalloonedPages)} ballooned, ` +
        `${formatCount(vm.finalHostSwappedPages)} host-swapped pages${vm.blockedSeconds > 0 ? `; blocked ${formatSeconds(vm.blockedSeconds)}` : ""}.`);
    }
    for (const vm of s.vms) {
      const c = vm.cache;
      if (!c) continue;
      const est = this.caches.get(vm.name)?.estimate ?? null;
      const need = est === null ? "no estimate yet" : `estimated need ${est.bound === "at-most" ? "at most " : est.bound === "more-than" ? "more than " : ""}${pages(est.needPages)} (${est.rule === "knee" ? "the knee" : "the target miss ratio"})`;
      lines.push(`  ${step++}. ${vm.name}'s exclusive cache: ${formatCount(c.hits)} hits of ${formatCount(c.probes)} disk reads looked up, ${formatCount(c.puts)} puts ` +
        `(${formatCount(c.putsRejected)} not admitted), ${formatCount(c.evictions)} entries dropped; it saved ${formatSeconds(c.savedSeconds)} of disk time and cost ` +
        `${formatSeconds(c.putSeconds)} in put hypercalls; ${need}.`);
    }
    const states = Object.entries(s.secondsInState).map(([k, v]) => `${k} ${formatSeconds(v)}`).join(", ");
    const total = s.vms.reduce((a, v) => a + v.throughput, 0);
    const dp = s.vms.reduce((a, v) => a + v.doublePagingEvents, 0);
    lines.push("");
    lines.push(`Summary: ${formatCount(Math.round(total))} accesses/s across ${s.vms.length} VM${s.vms.length === 1 ? "" : "s"}; free memory fell to ${(s.minFreeFraction * 100).toFixed(1)}%` +
      `${states ? ` (time by state: ${states})` : ""}; ${formatCount(dp)} double-paging events.` + cacheSummaryLine(s.vms));
    return lines.join("\n");
  }
}

/** The explain summary's words on exclusive caches ("" without any). */
function cacheSummaryLine(vms: readonly VmRunSummary[]): string {
  const cached = vms.filter((v) => v.cache);
  if (cached.length === 0) return "";
  const sum = (f: (c: VmCacheSummary) => number) => cached.reduce((a, v) => a + f(v.cache!), 0);
  return ` Exclusive caches: ${formatCount(sum((c) => c.hits))} hits, ${formatCount(sum((c) => c.puts))} puts; ${formatSeconds(sum((c) => c.savedSeconds))} of disk time saved, ` +
    `${formatSeconds(sum((c) => c.putSeconds))} spent in puts.`;
}

/** Rows of a table, for inspect views. */
function rowsOf(table: Table): string {
  return countOf(table.numRows(), "row");
}

function formatSeconds(seconds: number): string {
  return `${+seconds.toFixed(3)} s`;
}
