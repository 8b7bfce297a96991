/**
 * The narrow interface between the host (mechanism) and policies (decisions).
 *
 *   src/policy/*  ──implements──▶ HostPolicy        (tick every periodSeconds, optional hooks)
 *        │
 *        └──acts through──▶ HostControl / VmView   (read counters and state bytes; set balloon
 *                                                   targets, swap random pages, block, invalidate)
 *
 * The host defines these and never imports a policy; policies are injected with
 * `new Host({ policies: [...] })` or `host.addPolicy(...)`. Later policies (working-set
 * sampling, idle memory tax, page sharing, exclusive caches) plug in here too: `invalidate`
 * plus `onTrap` (and `onHostFault` for pages with no frame) is how a policy observes accesses
 * without slowing the hot path.
 *
 * The exclusive cache (Lu & Shen) is mechanism here and tracing is a policy: the host calls
 * `onCacheEvent` on each put and probe, and the tracer publishes what it learns through
 * `setEstimatedNeedPages` and `cacheTracer`. A VM's `accesses` is what a real hypervisor reads
 * from performance counters (retired loads and stores), not something it traps.
 *
 * Members added after the first policies are optional, so a hand-written fake HostControl in a
 * test need not provide them; the Host always does.
 */
import type * as aq from "arquero";
import { Rng } from "../util/rng";
import type { PageContents } from "./page-contents";
import type { SharedFrames } from "./shared-frames";

/** What a policy may read about one VM. Counts are in pages; `hstate` is read-only by contract. */
export interface VmView {
  readonly index: number;
  readonly name: string;
  /** Guest-physical pages the VM was configured with. */
  readonly memoryPages: number;
  /** Reservation: the host never reclaims the VM below this many machine pages. */
  readonly minPages: number;
  /** Limit: the VM never holds more than this many machine pages. */
  readonly maxPages: number;
  readonly shares: number;
  /** Machine frames held (RESIDENT + TRAPPED pages). */
  readonly residentPages: number;
  readonly hostSwappedPages: number;
  readonly balloonedPages: number;
  readonly balloonTargetPages: number;
  /** The balloon's cap; 0 when the VM has no balloon driver. */
  readonly balloonMaxPages: number;
  /** The allocation target last set by a policy (maxPages until one does). */
  readonly targetPages: number;
  readonly blocked: boolean;
  /**
   * Accesses the guest has made since boot. A real hypervisor cannot trap these; it reads them
   * from performance counters (retired loads and stores), as the exclusive cache's tracer does
   * for its miss ratio's denominator.
   */
  readonly accesses: number;
  /** Host state of each guest-physical page (page-state.ts). Do not write: use HostControl. */
  readonly hstate: Uint8Array;
  /** Simulated seconds the VM has run since boot, not counting time blocked: its own clock. */
  readonly runSeconds?: number;
  /** Active pages as last published by a working-set estimator; null (or absent) without one. */
  readonly estimatedActivePages?: number | null;
  /** P→M: the machine frame of each guest page (−1 without one). Read-only by contract (sharing). */
  readonly p2m?: Int32Array;
  /** What each guest page holds, when the VM was given contents (page sharing). */
  readonly contents?: PageContents;
  /**
   * The VM's direct memory v as the guest can use it: configured pages minus the kernel's wired
   * pages minus the balloon (the exclusive cache's tracer adds a probe's depth among evicted pages to it).
   */
  readonly directPages?: number;
  /** The exclusive cache's capacity in pages; null (or absent) when the VM has no cache. */
  readonly cacheCapacityPages?: number | null;
  /** Pages the exclusive cache holds now (0 without one). */
  readonly cachePages?: number;
  /** The memory need last published by the cache's tracer; null (or absent) without one. */
  readonly estimatedNeedPages?: number | null;
}

/** What the hypervisor saw happen in a VM's exclusive cache (the key is the guest's disk block). */
export type CacheEvent = "put" | "probe-hit" | "probe-miss";

/** A memory-need estimate from a miss-ratio curve that starts at v (the VM's direct pages). */
export interface NeedEstimate {
  /** Pages of memory (direct + cache) the VM needs. */
  needPages: number;
  /**
   * "exact": the curve crosses the rule inside the tracked range; "at-most": it already meets it
   * at v, and the hypervisor is blind below v, so the need is v or less; "more-than": it does
   * not meet it up to v + tracked pages, the end of what the tracer sees.
   */
  bound: "exact" | "at-most" | "more-than";
  /** The rule used: "target" (miss ratio ≤ targetMissRatio) or "knee". */
  rule: "target" | "knee";
  /** v when estimated. */
  directPages: number;
  /** The miss ratio at needPages (over the window). */
  missRatio: number;
  /**
   * The miss ratio no size can go below: misses of unknown depth (first reads, pages tracked no
   * longer) over the window's accesses. A target below it is met by no memory size at all.
   */
  floorMissRatio: number;
  /** Guest accesses behind the estimate (aged): few make it rough. */
  windowAccesses: number;
}

/**
 * What the exclusive cache's tracer (a policy, src/policy/exclusive-cache-tracer.ts) offers other
 * policies and the run: the miss-ratio curve of each traced VM at sizes ≥ v, and its estimate.
 */
export interface CacheTracerView {
  /** Whether VM `vm` is traced. */
  traces(vm: number): boolean;
  /** Misses (aged counts) VM `vm` would take with `sizePages` of memory, for sizes ≥ v up to v + tracked; Infinity-free. */
  missesAt(vm: number, sizePages: number): number;
  /** Aged accesses in the window (the curve's denominator). */
  windowAccesses(vm: number): number;
  /** The largest size the curve reaches: v + tracked pages. */
  maxSizePages(vm: number): number;
  /** The curve as a table (sizePages, missRatio) for sizes ≥ v. */
  curve(vm: number, sizesPages?: readonly number[]): aq.ColumnTable;
  /** The need estimate now (null before any access). */
  estimate(vm: number): NeedEstimate | null;
  /** A copy of VM `vm`'s curve and estimate now, which later events do not change (for a Run). */
  freeze(vm: number): CacheCurve;
}

/** A traced VM's miss-ratio curve (sizes ≥ v) and need estimate, frozen at one instant. */
export interface CacheCurve {
  /** v when frozen: the curve starts here; the hypervisor is blind below it. */
  readonly directPages: number;
  /** Where the curve starts: v, or the larger v the VM had earlier in the window (before a balloon took memory). */
  readonly startPages: number;
  /** v + tracked pages: the curve ends here. */
  readonly maxSizePages: number;
  readonly estimate: NeedEstimate | null;
  /** The curve as a table (sizePages, missRatio) at `sizesPages` (each ≥ v), or at default sizes from v to maxSizePages. */
  curve(sizesPages?: readonly number[]): aq.ColumnTable;
}

/** What a policy may do to the host. */
export interface HostControl {
  readonly nowSeconds: number;
  readonly machinePages: number;
  readonly freePages: number;
  readonly hostSwapCapacityPages: number;
  readonly hostSwapUsedPages: number;
  readonly vms: readonly VmView[];
  /** Ask VM `vm`'s balloon for `pages`; returns the target kept (clamped to the balloon's cap). */
  setBalloonTarget(vm: number, pages: number): number;
  /** Swap out up to `pages` randomly chosen resident pages of VM `vm`; returns how many went. */
  swapOut(vm: number, pages: number): number;
  /** Stop (or resume) running VM `vm`'s guest. */
  setBlocked(vm: number, blocked: boolean): void;
  /** Record VM `vm`'s allocation target (for the timeline, and the host's own victim choice). */
  setTarget(vm: number, pages: number): void;
  /** Unmap a resident page so that its next access traps (and calls `onTrap`). False if not resident. */
  invalidate(vm: number, ppn: number): boolean;
  /** Publish VM `vm`'s estimated active pages (null: no estimate), for other policies and the timeline. */
  setEstimatedActivePages?(vm: number, pages: number | null): void;
  /** A random stream of the host's seed, split by `label` (one per policy and VM, e.g. "sampling:web"). */
  randomStream?(label: string): Rng;
  /** Frames shared copy-on-write, with their reference counts and counters (page sharing). */
  readonly shared?: SharedFrames;
  /**
   * Share page `ppn` of VM `vm` (RESIDENT or TRAPPED) copy-on-write: frame −1 makes its own frame
   * shared; a shared frame merges it there, freeing its own. The caller compared the contents.
   */
  sharePage?(vm: number, ppn: number, frame: number): void;
  /** Set VM `vm`'s exclusive-cache capacity (pages); shrinking drops its LRU entries. Returns the capacity kept. */
  setCacheCapacity?(vm: number, pages: number): number;
  /** Publish VM `vm`'s estimated memory need (null: none), for other policies and the timeline. */
  setEstimatedNeedPages?(vm: number, pages: number | null, bound?: NeedEstimate["bound"] | null): void;
  /** The exclusive caches' tracer, when some VM has `tracing.exclusiveCache`. */
  readonly cacheTracer?: CacheTracerView;
  /** Publish the host's current reclamation state (shown in the timeline). */
  reportState(label: string): void;
  /** Add an event line to the run's explanation. */
  note(text: string): void;
}

/** A policy the host runs every `periodSeconds` of simulated time. */
export interface HostPolicy {
  /** Short name for explain text. */
  readonly name: string;
  /** Simulated seconds between ticks (rounded to whole host quanta). */
  readonly periodSeconds: number;
  /** Decide and act. Called at t = 0 and then every period. */
  tick(host: HostControl): void;
  /** A guest touched page `ppn` of VM `vm` after `invalidate`; the page is resident again. */
  onTrap?(host: HostControl, vm: number, ppn: number): void;
  /** A guest touched page `ppn` of VM `vm`, which had no frame (first touch or host swap-in); it has one now. */
  onHostFault?(host: HostControl, vm: number, ppn: number): void;
  /**
   * The hypervisor saw a cache event of VM `vm`: the guest evicted block `key` into the cache
   * (put), or read it from disk and the cache had it (probe-hit) or not (probe-miss, first reads
   * of file pages included). `key` is the guest's disk-block identity (a VirtualSpace slot).
   */
  onCacheEvent?(host: HostControl, vm: number, key: number, event: CacheEvent): void;
  /** One or two sentences on the policy's settings, for explain(). */
  describe?(): string;
  /**
   * How often it acts, for explain() ("every 1 s"), when that is not `periodSeconds` (a policy
   * that ticks every quantum and acts on its own schedule).
   */
  describePeriod?(): string;
}
