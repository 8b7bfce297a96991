/**
 * Collects samples during a run into column arrays, and turns them into a `Run` at the end.
 *
 * Invariant: interval columns are differences of cumulative counters between consecutive
 * samples, so their sum over a run equals the counter's growth over the run.
 */
import * as aq from "arquero";
import { INTERVAL_COLUMNS, Run, RunSettings, RunSummary, SIZE_COLUMNS, StateChange, VmCacheSummary, VmRunSummary } from "./run";
import { Vm } from "./vm";
import { AccessCosts } from "./costs";
import { SharedFrames } from "./shared-frames";
import type { CacheCurve, CacheTracerView } from "./host-policy";

/**
 * What the recorder reads from the host at each sample.
 * @internal
 */
export interface SampledHost {
  readonly nowSeconds: number;
  readonly machinePages: number;
  readonly freePages: number;
  readonly hostSwapUsedPages: number;
  readonly hostSwapCapacityPages: number;
  readonly stateLabel: string;
  readonly vms: readonly Vm[];
  readonly costs: AccessCosts;
  /** Frames shared copy-on-write (absent: no sharing columns). */
  readonly shared?: SharedFrames;
  /** The host's policies; a page-sharing scanner among them reports its scan cost. */
  readonly policies?: readonly object[];
  /** The exclusive caches' tracer, when some VM has one (its curves go into the Run). */
  readonly cacheTracer?: CacheTracerView;
}

/**
 * Exclusive-cache columns of the per-VM timeline, present when some VM has `tracing.exclusiveCache`:
 * disk reads the cache served and put hypercalls during the interval, entries held and capacity
 * at the sample, and the tracer's memory-need estimate with its bound ("exact", "at-most": v
 * already meets the rule, "more-than": the tracked range does not; null for a VM without a cache).
 * @internal
 */
export const VM_CACHE_COLUMNS = ["cacheHits", "cachePuts", "cachePages", "cacheCapacityPages", "estimatedNeedPages", "estimatedNeedBound"] as const;

/**
 * Page-sharing columns of the host timeline, present when some VM has page contents:
 * shared frames, guest pages mapping them, machine pages saved (their difference), and per
 * interval copy-on-write breaks, pages hashed and compared, and the scanners' modelled CPU seconds.
 * @internal
 */
export const HOST_SHARING_COLUMNS = ["sharedFrames", "sharedPages", "savedPages", "cowBreaks", "pagesHashed", "pagesCompared", "scanCpuSeconds"] as const;

/**
 * Page-sharing columns of the per-VM timeline, present with the host's: guest pages of the VM
 * mapping a shared frame at the sample, and its copy-on-write breaks during the interval.
 * @internal
 */
export const VM_SHARING_COLUMNS = ["sharedPages", "cowBreaks"] as const;

/** What a page-sharing scanner reports (duck-typed: the host never imports a policy). */
interface ScanCounters {
  pagesHashed: number;
  pagesCompared: number;
  cpuSeconds: number;
}

/** Cumulative sharing counters: COW breaks, then the scanners' pages hashed, compared, CPU seconds. */
function sharingCounters(host: SampledHost): [number, number, number, number] {
  const out: [number, number, number, number] = [host.shared?.cowBreaks ?? 0, 0, 0, 0];
  for (const p of host.policies ?? []) {
    const c = p as Partial<ScanCounters>;
    if (typeof c.pagesHashed === "number" && typeof c.pagesCompared === "number" && typeof c.cpuSeconds === "number") {
      out[1] += c.pagesHashed;
      out[2] += c.pagesCompared;
      out[3] += c.cpuSeconds;
    }
  }
  return out;
}

/**
 * Working-set columns, after `blockedFraction`: the estimate an estimator last published (null
 * without one), the exact number of distinct pages the guest touched in the interval (the
 * ground truth, from the host's touch stamps), and the share of the interval the VM spent in
 * sampling traps (trapFaults × trapNs; only estimators invalidate pages).
 * @internal
 */
export const WORKING_SET_COLUMNS = ["estimatedActivePages", "trueActivePages", "samplingOverheadFraction"] as const;

type Counter = (typeof INTERVAL_COLUMNS)[number];

function counterOf(vm: Vm, name: Counter): number {
  switch (name) {
    case "accesses": return vm.guest.accesses;
    case "minorFaults": return vm.guest.minorFaults;
    case "guestDiskReads": return vm.guest.guestDiskReads;
    case "guestPageOuts": return vm.guest.guestPageOuts;
    case "hostAllocFaults": return vm.hostAllocFaults;
    case "hostSwapFaults": return vm.hostSwapFaults;
    case "trapFaults": return vm.trapFaults;
    case "doublePagingEvents": return vm.doublePagingEvents;
    case "hostSwapOuts": return vm.hostSwapOuts;
  }
}

function sizeOf(vm: Vm, name: (typeof SIZE_COLUMNS)[number]): number {
  switch (name) {
    case "configuredPages": return vm.memoryPages;
    case "maxPages": return vm.maxPages;
    case "targetPages": return vm.targetPages;
    case "residentPages": return vm.residentPages;
    case "balloonedPages": return vm.balloonedPages;
    case "balloonTargetPages": return vm.balloonTargetPages;
    case "hostSwappedPages": return vm.hostSwappedPages;
    case "guestSwappedPages": return vm.guest.guestSwappedPages;
    case "guestFreePages": return vm.guest.freePages;
  }
}

/**
 * Records one run.
 *
 * @internal
 * @example
 * const rec = new TimelineRecorder(host, 1);
 * rec.sample(host); // at each sample time
 * const run = rec.finish(host, settings, events);
 */
export class TimelineRecorder {
  private readonly columns: Record<string, Array<number | string | null>> = {};
  private readonly hostColumns: Record<string, Array<number | string>> = {};
  private readonly startCounters: Float64Array[];
  private readonly lastCounters: Float64Array[];
  private readonly startBlocked: number[];
  private lastBlocked: number[];
  private readonly startSeconds: number;
  private lastSampleSeconds: number;
  private readonly sampleEverySeconds: number;
  private minFreePages: number;
  private readonly secondsInState: Record<string, number> = {};
  private readonly stateChanges: StateChange[] = [];
  private lastState: string;
  private lastStateSeconds: number;
  private readonly steadyFrom: number;
  private readonly steadyCounters: Float64Array;
  private steadyTaken = false;
  private readonly withSharing: boolean;
  private lastSharing: [number, number, number, number];
  private lastCowBreaks: number[] = [];
  private readonly withCache: boolean;
  /** Per VM: cumulative cache hits, puts and probes at the run's start, and at the last sample. */
  private readonly startCache: Float64Array[];
  private readonly lastCache: Float64Array[];

  constructor(host: SampledHost, sampleEverySeconds: number, endSeconds: number) {
    this.startSeconds = host.nowSeconds;
    this.lastSampleSeconds = host.nowSeconds;
    this.sampleEverySeconds = sampleEverySeconds;
    this.startCounters = host.vms.map((vm) => Float64Array.from(INTERVAL_COLUMNS, (c) => counterOf(vm, c)));
    this.lastCounters = this.startCounters.map((a) => a.slice());
    this.startBlocked = host.vms.map((vm) => vm.blockedSeconds);
    this.lastBlocked = this.startBlocked.slice();
    this.minFreePages = host.freePages;
    this.lastState = host.stateLabel;
    this.lastStateSeconds = host.nowSeconds;
    this.steadyFrom = host.nowSeconds + (endSeconds - host.nowSeconds) / 2;
    this.steadyCounters = new Float64Array(host.vms.length);
    for (const name of ["t", "vm", "hostState", ...SIZE_COLUMNS, ...INTERVAL_COLUMNS, "throughput", "blockedFraction", ...WORKING_SET_COLUMNS]) this.columns[name] = [];
    for (const name of ["t", "hostState", "freePages", "freeFraction", "usedPages", "hostSwapUsedPages", "balloonedPages", "hostSwappedPages", "blockedVms"]) this.hostColumns[name] = [];
    this.withSharing = host.shared !== undefined && host.vms.some((vm) => vm.contents !== undefined);
    if (this.withSharing) for (const name of HOST_SHARING_COLUMNS) this.hostColumns[name] = [];
    if (this.withSharing) for (const name of VM_SHARING_COLUMNS) this.columns[name] = [];
    this.lastCowBreaks = host.vms.map((vm) => vm.cowBreaks);
    this.withCache = host.vms.some((vm) => vm.cache !== undefined);
    if (this.withCache) for (const name of VM_CACHE_COLUMNS) this.columns[name] = [];
    this.startCache = host.vms.map((vm) => cacheCounters(vm));
    this.lastCache = this.startCache.map((a) => a.slice());
    this.lastSharing = sharingCounters(host);
  }

  /**
   * Note the host's state at the current step (called every quantum, cheap), so state
   * durations and the minimum of free memory are exact, not sampled.
   *
   * @example
   * rec.observe(host);
   */
  observe(host: SampledHost): void {
    if (host.freePages < this.minFreePages) this.minFreePages = host.freePages;
    if (host.stateLabel !== this.lastState) {
      const spent = host.nowSeconds - this.lastStateSeconds;
      if (spent > 0) this.secondsInState[this.lastState] = (this.secondsInState[this.lastState] ?? 0) + spent;
      if (this.lastState !== "none") this.stateChanges.push({ t: host.nowSeconds, from: this.lastState, to: host.stateLabel });
      this.lastState = host.stateLabel;
      this.lastStateSeconds = host.nowSeconds;
    }
    if (!this.steadyTaken && host.nowSeconds >= this.steadyFrom) {
      this.steadyTaken = true;
      host.vms.forEach((vm, i) => { this.steadyCounters[i] = vm.guest.accesses; });
    }
  }

  /**
   * Append one sample: a row per VM and a host row, at the host's current time.
   *
   * @example
   * rec.sample(host);
   */
  sample(host: SampledHost): void {
    this.observe(host);
    const t = host.nowSeconds;
    const dt = t - this.lastSampleSeconds;
    const c = this.columns;
    let ballooned = 0;
    let swapped = 0;
    let blockedVms = 0;
    host.vms.forEach((vm, i) => {
      c.t.push(round(t));
      c.vm.push(vm.name);
      c.hostState.push(host.stateLabel);
      for (const name of SIZE_COLUMNS) c[name].push(sizeOf(vm, name));
      const last = this.lastCounters[i];
      INTERVAL_COLUMNS.forEach((name, k) => {
        const now = counterOf(vm, name);
        c[name].push(now - last[k]);
        last[k] = now;
      });
      const accesses = c.accesses[c.accesses.length - 1] as number;
      c.throughput.push(dt > 0 ? accesses / dt : 0);
      c.blockedFraction.push(dt > 0 ? round((vm.blockedSeconds - this.lastBlocked[i]) / dt) : 0);
      this.lastBlocked[i] = vm.blockedSeconds;
      c.estimatedActivePages.push(vm.estimatedActivePages);
      c.trueActivePages.push(vm.takeTouchedPages());
      const traps = c.trapFaults[c.trapFaults.length - 1] as number;
      c.samplingOverheadFraction.push(dt > 0 ? (traps * host.costs.trapNs) / (dt * 1e9) : 0);
      if (this.withSharing) {
        c.sharedPages.push(vm.countSharedPages());
        c.cowBreaks.push(vm.cowBreaks - this.lastCowBreaks[i]);
        this.lastCowBreaks[i] = vm.cowBreaks;
      }
      if (this.withCache) {
        const now = cacheCounters(vm);
        const last = this.lastCache[i];
        c.cacheHits.push(now[0] - last[0]);
        c.cachePuts.push(now[1] - last[1]);
        this.lastCache[i] = now;
        c.cachePages.push(vm.cachePages);
        c.cacheCapacityPages.push(vm.cacheCapacityPages);
        c.estimatedNeedPages.push(vm.estimatedNeedPages);
        c.estimatedNeedBound.push(vm.estimatedNeedBound);
      }
      ballooned += vm.balloonedPages;
      swapped += vm.hostSwappedPages;
      if (vm.blocked) blockedVms++;
    });
    const h = this.hostColumns;
    h.t.push(round(t));
    h.hostState.push(host.stateLabel);
    h.freePages.push(host.freePages);
    h.freeFraction.push(host.freePages / host.machinePages);
    h.usedPages.push(host.machinePages - host.freePages);
    h.hostSwapUsedPages.push(host.hostSwapUsedPages);
    h.balloonedPages.push(ballooned);
    h.hostSwappedPages.push(swapped);
    h.blockedVms.push(blockedVms);
    if (this.withSharing) {
      const shared = host.shared!;
      h.sharedFrames.push(shared.frameCount);
      h.sharedPages.push(shared.pageCount);
      h.savedPages.push(shared.pageCount - shared.frameCount);
      const now = sharingCounters(host);
      h.cowBreaks.push(now[0] - this.lastSharing[0]);
      h.pagesHashed.push(now[1] - this.lastSharing[1]);
      h.pagesCompared.push(now[2] - this.lastSharing[2]);
      h.scanCpuSeconds.push(now[3] - this.lastSharing[3]);
      this.lastSharing = now;
    }
    this.lastSampleSeconds = t;
  }

  /**
   * Build the Run.
   *
   * @example
   * const run = rec.finish(host, settings, events, []);
   */
  finish(host: SampledHost, settings: RunSettings, events: Array<{ t: number; text: string }>, warnings: string[] = []): Run {
    this.observe(host);
    const end = host.nowSeconds;
    if (end > this.lastStateSeconds) this.secondsInState[this.lastState] = (this.secondsInState[this.lastState] ?? 0) + (end - this.lastStateSeconds);
    const duration = end - this.startSeconds;
    const vms: VmRunSummary[] = host.vms.map((vm, i) => {
      const start = this.startCounters[i] ?? new Float64Array(INTERVAL_COLUMNS.length);
      const totals = {} as Record<Counter, number>;
      INTERVAL_COLUMNS.forEach((name, k) => { totals[name] = counterOf(vm, name) - start[k]; });
      const steadySeconds = end - this.steadyFrom;
      const steadyAccesses = this.steadyTaken ? vm.guest.accesses - this.steadyCounters[i] : 0;
      return {
        name: vm.name,
        workload: vm.workload?.name ?? "nothing (idle)",
        configuredPages: vm.memoryPages,
        maxPages: vm.maxPages,
        throughput: duration > 0 ? totals.accesses / duration : 0,
        steadyThroughput: steadySeconds > 0 ? steadyAccesses / steadySeconds : 0,
        ...totals,
        blockedSeconds: round(vm.blockedSeconds - (this.startBlocked[i] ?? 0)),
        finalResidentPages: vm.residentPages,
        finalBalloonedPages: vm.balloonedPages,
        finalHostSwappedPages: vm.hostSwappedPages,
        finalGuestSwappedPages: vm.guest.guestSwappedPages,
        ...(vm.cache ? { cache: this.cacheSummary(host, vm, i) } : {}),
      };
    });
    const summary: RunSummary = {
      startSeconds: round(this.startSeconds),
      endSeconds: round(end),
      sampleEverySeconds: this.sampleEverySeconds,
      machinePages: host.machinePages,
      hostSwapPages: host.hostSwapCapacityPages,
      minFreePages: this.minFreePages,
      minFreeFraction: this.minFreePages / host.machinePages,
      secondsInState: Object.fromEntries(Object.entries(this.secondsInState).map(([k, v]) => [k, round(v)])),
      stateChanges: this.stateChanges.map((s) => ({ ...s, t: round(s.t) })),
      vms,
    };
    return new Run(aq.table(this.columns), aq.table(this.hostColumns), summary, settings, events, warnings, this.cacheCurves(host));
  }

  /** What the exclusive cache of `vm` did during the run, and what it cost and saved in time. */
  private cacheSummary(host: SampledHost, vm: Vm, i: number): VmCacheSummary {
    const now = cacheCounters(vm);
    const start = this.startCache[i];
    const hits = now[0] - start[0];
    const puts = now[1] - start[1];
    const c = host.costs;
    return {
      capacityPages: vm.cacheCapacityPages ?? 0,
      finalPages: vm.cachePages,
      puts,
      putsRejected: now[3] - start[3],
      probes: now[2] - start[2],
      hits,
      evictions: now[4] - start[4],
      putSeconds: (puts * c.cachePutNs) / 1e9,
      hitSeconds: (hits * c.cacheHitNs) / 1e9,
      savedSeconds: (hits * (c.guestDiskReadNs - c.cacheHitNs)) / 1e9,
      estimatedNeedPages: vm.estimatedNeedPages,
      directPages: vm.directPages,
    };
  }

  /** Each traced VM's curve and estimate at the end of the run, by name. */
  private cacheCurves(host: SampledHost): Map<string, CacheCurve> {
    const out = new Map<string, CacheCurve>();
    const tracer = host.cacheTracer;
    if (!tracer) return out;
    host.vms.forEach((vm, i) => {
      if (tracer.traces(i)) out.set(vm.name, tracer.freeze(i));
    });
    return out;
  }
}

/** Cumulative cache counters of a VM: hits, puts, probes, rejected puts, evictions (zeros without a cache). */
function cacheCounters(vm: Vm): Float64Array {
  const c = vm.cache;
  return Float64Array.of(c?.hits ?? 0, c?.puts ?? 0, c?.probes ?? 0, c?.putsRejected ?? 0, c?.evictions ?? 0);
}

/** Round away float noise from quantum arithmetic (1e-9 s resolution). */
function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
